"""Start the test reverse proxy (``server.py``) as a process, and a client that can speak
from a chosen loopback address (127.0.0.2, 127.0.0.3, ...) so that two "people" differ.
"""

from __future__ import annotations

import http.client
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from tests.processes import json_server

SERVER = Path(__file__).with_name("server.py")


@contextmanager
def running_proxy(*upstreams: str) -> Iterator[int]:
    """A proxy in front of ``upstreams`` (``host:port``; more than one: in turn, a request
    each); yields the port it listens on."""
    command = [sys.executable, str(SERVER), "--port", "0"]
    for upstream in upstreams:
        command += ["--upstream", upstream]
    with json_server(command, name="the test proxy") as ready:
        yield ready["port"]


class Browser:
    """A minimal cookie-keeping HTTP client bound to one source address."""

    def __init__(self, port: int, *, source: str, host: str = "127.0.0.1") -> None:
        self.host, self.port, self.source = host, port, source
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, *, form: dict[str, str] | None = None, headers=None
    ) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=30, source_address=(self.source, 0)
        )
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    for morsel in SimpleCookie(value).values():
                        self.cookies[morsel.key] = morsel.value
            return response.status, dict(response.getheaders()), text
        finally:
            connection.close()

    def get(self, path: str, **kw) -> tuple[int, dict[str, str], str]:
        return self.request("GET", path, **kw)

    def post_form(self, path: str, form: dict[str, str], **kw) -> tuple[int, dict[str, str], str]:
        """GET the page for its CSRF token, then POST the form with it."""
        status, _headers, page = self.get(path)
        assert status == 200, (status, page[:300])
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, "no CSRF token on the page"
        return self.request(
            "POST", path, form={"csrfmiddlewaretoken": match.group(1), **form}, **kw
        )
