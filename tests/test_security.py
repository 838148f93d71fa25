"""Security headers, production settings and identity numbers kept out of logs."""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from eportal.logging import RedactIdentityNumbers
from tests import factories

BASE_DIR = Path(django_settings.BASE_DIR)


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """A clean production environment: nothing inherited from the test settings."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DJANGO_SETTINGS_MODULE": "eportal.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "portal.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        # production sends real SMS (placeholder account; nothing is sent by these tests)
        "SMS_BACKEND": "sms.backends.twilio.TwilioBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "placeholder-token",
        "TWILIO_FROM": "ePortal",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


# The interpreter running the tests, with the same flags (e.g. -S) so that it finds the same code.
PYTHON = [sys.executable, *(["-S"] if sys.flags.no_site else [])]


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PYTHON, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRINT_SECURITY = (
    "import django; from django.conf import settings as s; "
    "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, "
    "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.DEBUG)"
)


# Headers on a public page


def _csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.fixture
def start_page(client, db):
    factories.make_clinic("SIKKER", name="Sikker legekontor")
    response = client.get("/Login.aspx?ClinicId=SIKKER", follow=True)
    assert response.redirect_chain
    assert response.status_code == 200
    return response


def test_start_page_has_a_strict_content_security_policy(start_page):
    csp = _csp(start_page)
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    script_src = csp.get("script-src", csp["default-src"])
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "'unsafe-inline'" not in csp.get("style-src", csp["default-src"])


def test_start_page_has_the_other_security_headers(start_page):
    assert start_page.headers["X-Frame-Options"] == "DENY"
    assert start_page.headers["X-Content-Type-Options"] == "nosniff"
    assert start_page.headers["Referrer-Policy"]


def test_start_page_has_no_inline_script(start_page):
    body = start_page.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", body):
        assert "src=" in tag, tag
    assert re.search(r"\son[a-z]+\s*=", body) is None  # no inline event handlers


def test_not_found_page_has_the_same_headers(client, db):
    response = client.get("/Login.aspx?ClinicId=FINNESIKKE")
    assert response.status_code == 404
    assert _csp(response)["object-src"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


# Production settings


def test_check_deploy_prints_no_warnings(tmp_path):
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_about_synthetic_identity_numbers(tmp_path):
    env = production_env(tmp_path, EPORTAL_ALLOW_SYNTHETIC_IDS="1")
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "clinics.W001" in output
    assert "EPORTAL_ALLOW_SYNTHETIC_IDS" in output


def test_production_turns_on_hsts_and_secure_cookies(tmp_path):
    result = run_python(PRINT_SECURITY, production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    hsts, subdomains, session_secure, csrf_secure, ssl_redirect, debug = result.stdout.split()
    assert int(hsts) >= 31536000
    assert (subdomains, session_secure, csrf_secure, ssl_redirect, debug) == (
        "True",
        "True",
        "True",
        "True",
        "False",
    )


def test_debug_turns_off_hsts_and_secure_cookies(tmp_path):
    result = run_python(PRINT_SECURITY, production_env(tmp_path, DEBUG="1", SECRET_KEY=None))
    assert result.returncode == 0, result.stderr
    hsts, _subdomains, session_secure, csrf_secure, _ssl_redirect, debug = result.stdout.split()
    assert (hsts, session_secure, csrf_secure, debug) == ("0", "False", "False", "True")


@pytest.mark.parametrize(
    "secret_key",
    [
        None,
        "",
        "too-short",
        "django-insecure-" + secrets.token_urlsafe(64),
        "a" * 80,
    ],
    ids=["missing", "empty", "short", "django-insecure", "one-letter"],
)
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, secret_key):
    result = run_python("import eportal.settings", production_env(tmp_path, SECRET_KEY=secret_key))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_starts_with_a_real_secret_key(tmp_path):
    result = run_python("import eportal.settings", production_env(tmp_path))
    assert result.returncode == 0, result.stderr


def test_production_refuses_synthetic_identity_numbers_by_default(tmp_path):
    code = "import eportal.settings as s; print(s.EPORTAL_ALLOW_SYNTHETIC_IDS)"
    result = run_python(code, production_env(tmp_path))
    assert result.stdout.strip() == "False"


# Identity numbers never reach a log line


NUMBER = "01018012345"  # shaped like an identity number; the filter does not check digits


@pytest.fixture
def redacted_log():
    """A logger whose only handler carries the project's redaction filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactIdentityNumbers())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("patient %s logged in", (NUMBER,)),
        (f"patient {NUMBER} logged in", ()),
        ("patient %s logged in", ("010180 12345",)),
        ("patient %(id)s logged in", ({"id": NUMBER},)),
        ("lookup national_id=%s clinic=%d", (NUMBER, 7)),
    ],
)
def test_identity_number_is_redacted_from_log_lines(redacted_log, message, args):
    logger, stream = redacted_log
    logger.info(message, *args)
    output = stream.getvalue()
    assert "logged in" in output or "clinic=7" in output
    assert NUMBER not in output
    assert "12345" not in output


def test_other_numbers_are_left_alone(redacted_log):
    logger, stream = redacted_log
    logger.info("sms to %s, order %s", "+4741234567", "123456789012")
    assert "+4741234567" in stream.getvalue()
    assert "123456789012" in stream.getvalue()


def test_identity_number_in_an_exception_is_redacted(redacted_log):
    logger, stream = redacted_log
    try:
        raise ValueError(f"duplicate key national_id={NUMBER}")
    except ValueError:
        logger.exception("import failed")
    assert "import failed" in stream.getvalue()
    assert NUMBER not in stream.getvalue()


def test_configured_handlers_redact(caplog):
    """The console handler from settings.LOGGING carries the filter for root and django."""
    for name in ("", "django"):
        handlers = logging.getLogger(name).handlers
        filtered = [
            h for h in handlers if any(isinstance(f, RedactIdentityNumbers) for f in h.filters)
        ]
        assert filtered, f"logger {name!r} has no redacting handler"


# Login pages are never cached; the session cookie ends with the browser.


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", ["login/", "password/", "login/code/"])
def test_login_pages_are_never_cached(client, clinic, page):
    patient = factories.make_patient(clinic, mobile="+4741234567")
    client.post("/c/DEMO1/password/", {"national_id": patient.national_id})
    response = client.get(f"/c/DEMO1/{page}")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_the_session_cookie_ends_with_the_browser_and_the_server_session_within_8_hours(
    client, clinic
):
    patient = factories.make_patient(clinic, mobile="+4741234567")
    response = client.post("/c/DEMO1/password/", {"national_id": patient.national_id})
    cookie = response.cookies["sessionid"]
    assert not cookie["max-age"]
    assert not cookie["expires"]
    assert client.session.get_expiry_age() <= 8 * 60 * 60
