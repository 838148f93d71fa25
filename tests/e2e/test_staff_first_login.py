"""A new clinic administrator's first login in a real browser (issue #16, items 1 and 2):
password, then setting up the authenticator app, then the recovery codes and on to the
admin site. Every page axe-clean, in the admin's look.

Found by structure (ids, URLs, field names), not by wording.
"""

from __future__ import annotations

import os
import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import Page, expect

from tests import factories
from tests.e2e.conftest import assert_accessible

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
SHOTS = os.environ.get("EPORTAL_E2E_SCREENSHOTS", "")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


@pytest.fixture(autouse=True)
def _require_mfa(settings):
    settings.EPORTAL_STAFF_MFA_REQUIRED = True


def test_first_login_sets_up_the_app_and_lands_in_the_admin(page: Page, live_server):
    clinic = factories.make_clinic(name="Elvebakken legekontor")
    admin = factories.make_staff(clinic, password=PASSWORD)

    page.goto(f"{live_server.url}/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("#header")).to_have_count(1)  # the admin's look
    expect(page.locator("footer, #footer")).not_to_contain_text("116117")
    shot(page, "login")
    assert_accessible(page)

    page.locator("input[name=login]").fill(admin.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()

    # Straight to the set-up: no second password prompt.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret_box = page.locator("#authenticator_secret")
    secret = secret_box.inner_text().replace(" ", "").replace("\n", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    box = secret_box.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["x"] + box["width"] <= viewport["width"]  # all of it in view
    alt = page.locator("img.totp-qr").get_attribute("alt") or ""
    assert alt and secret not in alt.replace(" ", "")
    shot(page, "totp")
    assert_accessible(page)

    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    page.locator("input[name=code]").fill(code)
    page.locator("form:has(input[name=code]) [type=submit]").click()

    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/"))
    next_step = page.locator("#next-step a[href='/admin/']")
    expect(next_step).to_have_count(1)
    shot(page, "recovery")
    assert_accessible(page)
    next_step.click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    assert_accessible(page)
