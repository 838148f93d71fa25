"""A small OpenID Connect provider for the BankID tests, run as its own process.

It speaks the protocol for real, over HTTP on 127.0.0.1: discovery, an authorization endpoint
(with a login form where the "user" chooses who they are and at which assurance level), a
token endpoint that authenticates the client and checks the PKCE ``code_verifier``, a JWKS
endpoint and userinfo. Authorization codes are single-use and short-lived.

What a real provider would never do, it does on request: the login form has a *tamper* field
that makes the next ID token bad in one chosen way (a foreign signing key, ``alg: none``, a
wrong issuer or audience, an expired token, a replayed nonce, ...), so the relying party's
refusals can be tested end to end. Run it with::

    python tests/oidc_provider/provider.py --client-id ID --client-secret SECRET \\
        --redirect-uri http://testserver/oidc/callback/

It binds a free port (``--port 0``) and prints one JSON line, ``{"issuer": ..., "port": ...}``,
when it is ready.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ACR_LEVELS = ("idporten-loa-substantial", "idporten-loa-high")
#: tamper value -> what the login's ID token gets wrong
TAMPERING = {
    "": "nothing: a correct ID token",
    "bad_signature": "signed by a key that is not in the JWKS (with the JWKS key's kid)",
    "alg_none": "not signed at all (alg: none)",
    "alg_hs256": "HS256 with the client secret as key (algorithm confusion)",
    "wrong_issuer": "the iss of another provider",
    "wrong_audience": "an aud for another client",
    "foreign_azp": "aud includes this client, but azp names another one",
    "expired": "exp an hour ago",
    "not_yet_valid": "nbf and iat ten minutes ahead",
    "replay_nonce": "the nonce of the previous login instead of this one's",
    "no_identity": "no identity-number claim",
}
CODE_TTL = 60
ID_TOKEN_TTL = 120
KID = "test-signing-key"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass
class Grant:
    """What an authorization code stands for until the client redeems it."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    pid: str
    acr: str
    tamper: str
    expires: float


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    rogue_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    previous_nonce: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "acr_values_supported": list(ACR_LEVELS),
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "pid", "acr", "amr", "auth_time", "nonce"],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": KID, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    # The authorization endpoint

    def check_client(self, params: dict[str, str]) -> str | None:
        """The error text when the request must not be redirected anywhere (RFC 6749 4.1.2.1)."""
        if params.get("client_id") != self.client_id:
            return "unknown client_id"
        if params.get("redirect_uri") not in self.redirect_uris:
            return "redirect_uri is not registered for this client"
        return None

    def check_request(self, params: dict[str, str]) -> str | None:
        """The OAuth error code for a request that can be answered at the redirect_uri."""
        if params.get("response_type") != "code":
            return "unsupported_response_type"
        if "openid" not in params.get("scope", "").split():
            return "invalid_scope"
        if not params.get("state"):
            return "invalid_request"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "invalid_request"  # PKCE is mandatory, as at ID-porten
        return None

    def grant(self, params: dict[str, str], *, pid: str, acr: str, tamper: str) -> str:
        code = secrets.token_urlsafe(32)
        nonce = params.get("nonce") or None
        with self.lock:
            token_nonce = self.previous_nonce if tamper == "replay_nonce" else nonce
            self.previous_nonce = nonce
            self.grants[code] = Grant(
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                code_challenge=params["code_challenge"],
                nonce=token_nonce,
                pid=pid,
                acr=acr,
                tamper=tamper,
                expires=time.time() + CODE_TTL,
            )
        return code

    # The token endpoint

    def authenticate_client(self, headers: Any, form: dict[str, str]) -> bool:
        authorization = headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            if "client_secret" in form:
                return False  # one method per request (RFC 6749 2.3)
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return False
            client_id, _, secret = decoded.partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
            if form.get("client_id", client_id) != client_id:
                return False
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and hmac.compare_digest(
            secret.encode(), self.client_secret.encode()
        )

    def redeem(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self.lock:
            grant = self.grants.pop(form.get("code", ""), None)  # single use, hit or miss
        if grant is None or grant.expires < time.time():
            return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
        if grant.client_id != self.client_id or grant.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(
            s256(verifier), grant.code_challenge
        ):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        access_token = secrets.token_urlsafe(32)
        claims = self.id_token_claims(grant)
        with self.lock:
            self.access_tokens[access_token] = {
                key: claims[key] for key in ("sub", "pid") if key in claims
            }
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_TTL,
            "scope": "openid profile",
            "id_token": self.sign(claims, grant.tamper),
        }

    def id_token_claims(self, grant: Grant) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            # Pairwise and stable per person, as ID-porten's sub; never the identity number.
            "sub": b64url(hashlib.sha256(f"{self.client_id}:{grant.pid}".encode()).digest()),
            "iat": now,
            "exp": now + ID_TOKEN_TTL,
            "auth_time": now,
            "jti": secrets.token_urlsafe(16),
            "acr": grant.acr,
            "amr": ["BankID"],
            "pid": grant.pid,
            "locale": "nb",
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        match grant.tamper:
            case "wrong_issuer":
                claims["iss"] = "https://evil.example/"
            case "wrong_audience":
                claims["aud"] = "some-other-client"
            case "foreign_azp":
                claims["aud"] = [self.client_id, "some-other-client"]
                claims["azp"] = "some-other-client"
            case "expired":
                claims.update(iat=now - 3600, auth_time=now - 3600, exp=now - 1800)
            case "not_yet_valid":
                claims.update(iat=now + 600, nbf=now + 600, exp=now + 600 + ID_TOKEN_TTL)
            case "no_identity":
                del claims["pid"]
        return claims

    def sign(self, claims: dict[str, Any], tamper: str) -> str:
        headers = {"kid": KID}
        if tamper == "alg_none":
            header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": KID}).encode())
            return f"{header}.{b64url(json.dumps(claims).encode())}."
        if tamper == "alg_hs256":
            return jwt.encode(claims, self.client_secret, algorithm="HS256", headers=headers)
        key = self.rogue_key if tamper == "bad_signature" else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers=headers)


LOGIN_FORM = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Test BankID</title></head>
<body><main>
<h1>Test identity provider</h1>
<form method="post" action="/authorize">
{hidden}
<p><label for="pid">Identity number (pid)</label>
<input id="pid" name="pid" inputmode="numeric" autocomplete="off"></p>
<p><label for="acr">Assurance level (acr)</label>
<select id="acr" name="acr">{acr_options}</select></p>
<p><label for="tamper">Make the ID token bad (tests only)</label>
<select id="tamper" name="tamper">{tamper_options}</select></p>
<p><button name="action" value="login">Log in</button>
<button name="action" value="cancel">Cancel</button></p>
</form>
</main></body></html>
"""


def login_form(params: dict[str, str]) -> str:
    hidden = "\n".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
    )
    acr_options = "".join(
        f"<option{' selected' if level == ACR_LEVELS[-1] else ''}>{level}</option>"
        for level in ACR_LEVELS
    )
    tamper_options = "".join(
        f'<option value="{key}">{html.escape(text)}</option>' for key, text in TAMPERING.items()
    )
    return LOGIN_FORM.format(hidden=hidden, acr_options=acr_options, tamper_options=tamper_options)


AUTHORIZATION_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "acr_values",
    "ui_locales",
    "prompt",
)


class Handler(BaseHTTPRequestHandler):
    provider: Provider  # set on the subclass made by serve()
    server_version = "TestOIDC/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows stderr of failing tests only, and it would be noise

    # Responses

    def send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def send_html(self, status: int, text: str) -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def redirect(self, uri: str, params: dict[str, str]) -> None:
        separator = "&" if urlsplit(uri).query else "?"
        self.send_response(302)
        self.send_header("Location", f"{uri}{separator}{urlencode(params)}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # Requests

    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/.well-known/openid-configuration":
            self.send_json(200, self.provider.discovery())
        elif path == "/jwks":
            self.send_json(200, self.provider.jwks())
        elif path == "/authorize":
            self.authorize(self.query(), show_form=True)
        elif path == "/userinfo":
            self.userinfo()
        else:
            self.send_json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/authorize":
            self.authorize(self.form(), show_form=False)
        elif path == "/token":
            self.token()
        else:
            self.send_json(404, {"error": "not_found"})

    def authorize(self, params: dict[str, str], *, show_form: bool) -> None:
        provider = self.provider
        problem = provider.check_client(params)
        if problem:
            self.send_html(400, f"<p>Invalid authorization request: {html.escape(problem)}</p>")
            return
        error = provider.check_request(params)
        back = {"state": params["state"]} if params.get("state") else {}
        if error:
            self.redirect(params["redirect_uri"], {"error": error, **back})
            return
        if show_form:
            request = {k: params[k] for k in AUTHORIZATION_PARAMS if k in params}
            self.send_html(200, login_form(request))
            return
        if params.get("action") == "cancel":
            self.redirect(params["redirect_uri"], {"error": "access_denied", **back})
            return
        acr, tamper = params.get("acr", ACR_LEVELS[-1]), params.get("tamper", "")
        if acr not in ACR_LEVELS or tamper not in TAMPERING:
            self.send_html(400, "<p>Unknown acr or tamper value</p>")
            return
        code = provider.grant(params, pid=params.get("pid", "").strip(), acr=acr, tamper=tamper)
        self.redirect(params["redirect_uri"], {"code": code, **back})

    def token(self) -> None:
        form = self.form()
        if not self.provider.authenticate_client(self.headers, form):
            self.send_json(
                401, {"error": "invalid_client"}, {"WWW-Authenticate": 'Basic realm="token"'}
            )
            return
        status, body = self.provider.redeem(form)
        self.send_json(status, body)

    def userinfo(self) -> None:
        authorization = self.headers.get("Authorization", "")
        with self.provider.lock:
            claims = self.provider.access_tokens.get(authorization.removeprefix("Bearer "))
        if not authorization.startswith("Bearer ") or claims is None:
            self.send_json(401, {"error": "invalid_token"}, {"WWW-Authenticate": "Bearer"})
            return
        self.send_json(200, claims)


def serve(args: argparse.Namespace) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", args.port), BaseHTTPRequestHandler)
    port = server.server_address[1]
    provider = Provider(
        issuer=f"http://127.0.0.1:{port}",
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=args.redirect_uri,
    )
    server.RequestHandlerClass = type("BoundHandler", (Handler,), {"provider": provider})
    server.daemon_threads = True
    print(json.dumps({"issuer": provider.issuer, "port": port}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", action="append", required=True)
    serve(parser.parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
