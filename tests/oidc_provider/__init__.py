"""Start the test OpenID Connect provider (``provider.py``) as a process and talk to it.

:func:`running_provider` starts it on a free port of 127.0.0.1 and stops it afterwards;
:class:`TestProvider` knows its endpoints, the settings that point ePortal at it, and how to
"log in" at its authorization endpoint the way a browser would.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from tests.processes import json_server

PROVIDER = Path(__file__).with_name("provider.py")
HIGH = "idporten-loa-high"
SUBSTANTIAL = "idporten-loa-substantial"


@dataclass(frozen=True)
class TestProvider:
    __test__ = False  # not a test class, whatever its name

    issuer: str
    client_id: str
    client_secret: str

    def settings(self) -> dict[str, Any]:
        """ePortal's OIDC settings for this provider (mozilla-django-oidc's names)."""
        return {
            "OIDC_RP_CLIENT_ID": self.client_id,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_RP_SIGN_ALGO": "RS256",
            "OIDC_RP_SCOPES": "openid profile",
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/jwks",
            "OIDC_OP_LOGOUT_ENDPOINT": "",
            "OIDC_USE_PKCE": True,
            "OIDC_USE_NONCE": True,
            "OIDC_VERIFY_SSL": True,
            "OIDC_TIMEOUT": 10,
            "EPORTAL_OIDC_ID_CLAIM": "pid",
            "EPORTAL_OIDC_MIN_ACR": [HIGH],
        }

    def log_in(
        self,
        authorize_url: str,
        *,
        pid: str = "",
        acr: str = HIGH,
        tamper: str = "",
        cancel: bool = False,
    ) -> str:
        """Open the authorization URL, submit the login form; return the redirect back.

        The redirect carries ``code`` and ``state`` (or ``error`` and ``state``) to the
        relying party's redirect URI.
        """
        assert authorize_url.startswith(f"{self.issuer}/authorize?"), authorize_url
        page = requests.get(authorize_url, allow_redirects=False, timeout=10)
        if page.status_code == 302:
            return page.headers["Location"]  # the provider refused the request itself
        assert page.status_code == 200, page.text
        assert 'name="pid"' in page.text  # the login form
        form = dict(parse_qsl(urlsplit(authorize_url).query))
        form.update(pid=pid, acr=acr, tamper=tamper, action="cancel" if cancel else "login")
        answer = requests.post(
            f"{self.issuer}/authorize", data=form, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


@contextmanager
def running_provider(
    *, client_id: str, client_secret: str, redirect_uris: list[str]
) -> Iterator[TestProvider]:
    command = [sys.executable, str(PROVIDER), "--port", "0"]
    command += ["--client-id", client_id, "--client-secret", client_secret]
    for uri in redirect_uris:
        command += ["--redirect-uri", uri]
    with json_server(command, name="the test OIDC provider") as ready:
        yield TestProvider(issuer=ready["issuer"], client_id=client_id, client_secret=client_secret)
