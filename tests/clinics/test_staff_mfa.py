"""Staff reach the admin site only after TOTP two-factor authentication (docs/operations.md)."""

from __future__ import annotations

import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _require_mfa(settings):
    settings.EPORTAL_STAFF_MFA_REQUIRED = True


@pytest.fixture(autouse=True)
def _frozen_clock():
    # The code is computed and checked in the same 30-second step, whatever the real clock.
    with time_machine.travel(time.time(), tick=False):
        yield


def current_code(secret: str, offset: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def password_login(client, user):
    return client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})


def test_staff_without_totp_is_sent_to_set_it_up(client, clinic_admin):
    password_login(client, clinic_admin)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/")


def test_setting_up_totp_opens_the_admin_site(client, clinic_admin):
    password_login(client, clinic_admin)
    # The password typed a moment ago is enough: no second "Bekreft tilgang" (issue #16).
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": current_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=clinic_admin, type="totp").exists()
    assert client.get("/admin/").status_code == 200


def test_a_while_after_the_login_the_password_is_asked_again_and_why(client, clinic_admin):
    password_login(client, clinic_admin)
    client.cookies["eportal_language"] = "en"
    with time_machine.travel(time.time() + 301, tick=False):
        page = client.get("/accounts/2fa/totp/activate/")
        assert page["Location"].startswith("/accounts/reauthenticate/")
        body = client.get(page["Location"]).content.decode()
        assert "type it once more to show that it is you" in body
        client.post("/accounts/reauthenticate/", {"password": PASSWORD})
        assert client.get("/accounts/2fa/totp/activate/").status_code == 200


def test_totp_setup_page_shows_the_whole_secret_and_a_plain_qr_text(client, clinic_admin):
    import re

    password_login(client, clinic_admin)
    client.cookies["eportal_language"] = "en"
    body = client.get("/accounts/2fa/totp/activate/").content.decode()
    secret = client.session["mfa.totp.secret"]
    shown = re.search(r'<p class="totp-secret"[^>]*>(.*?)</p>', body, re.S).group(1)
    groups = re.findall(r'<span class="totp-secret-group">(\w+)</span>', shown)
    assert "".join(groups) == secret  # all of it, in groups of four
    assert all(len(g) == 4 for g in groups[:-1])
    assert "disabled" not in shown
    alt = re.search(r'<img class="totp-qr"[^>]*alt="([^"]*)"', body).group(1)
    assert alt == "QR code for your authenticator app"
    assert secret not in alt


def test_after_activation_the_codes_page_says_what_next_with_a_link(client, clinic_admin):
    password_login(client, clinic_admin)
    client.cookies["eportal_language"] = "en"
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": current_code(secret)})
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    body = client.get(response["Location"]).content.decode()
    assert 'id="next-step"' in body
    assert 'href="/admin/"' in body
    assert "Go to the ePortal administration" in body


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/2fa/totp/activate/", "/accounts/password/reset/"]
)
def test_staff_pages_have_the_admins_look_not_the_patients(client, clinic_admin, url):
    # Issue #16, item 2: no patient footer (113 / 116117), the admin's styles and buttons.
    if "2fa" in url:
        password_login(client, clinic_admin)
    body = client.get(url).content.decode()
    assert "116117" not in body and "113" not in body.split("<body", 1)[1]
    assert "admin/css/base.css" in body
    assert 'id="header"' in body and 'href="/admin/"' in body
    assert "bootstrap" not in body
    assert 'class="button default"' in body or 'class="default"' in body


def test_login_with_totp_asks_for_the_code(client, clinic_admin):
    secret = generate_totp_secret()
    TOTP.activate(clinic_admin, secret)
    response = password_login(client, clinic_admin)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert client.get("/admin/").status_code == 302  # not in yet
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    response = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_session_without_the_second_factor_is_refused(client, clinic_admin):
    TOTP.activate(clinic_admin, generate_totp_secret())
    client.force_login(clinic_admin, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/admin/clinics/patient/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_signup_is_closed(client, db):
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.org", "password1": PASSWORD + "x", "password2": PASSWORD + "x"},
    )
    from clinics.models import User

    assert not User.objects.filter(email="new@example.org").exists()
    assert response.status_code in (200, 302, 403)


def test_staff_login_page_does_not_invite_to_sign_up(client, db):
    body = client.get("/accounts/login/").content.decode()
    assert "/accounts/signup/" not in body


def test_staff_password_reset_sends_an_email(client, clinic_admin, mailoutbox):
    client.post("/accounts/password/reset/", {"email": clinic_admin.email})
    assert len(mailoutbox) == 1
    assert clinic_admin.email in mailoutbox[0].to


def test_allauth_rate_limits_failed_staff_logins(client, clinic_admin):
    for _ in range(5):
        client.post("/accounts/login/", {"login": clinic_admin.email, "password": "wrong-one"})
    response = client.post("/accounts/login/", {"login": clinic_admin.email, "password": PASSWORD})
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session  # locked out for now, even with the password
