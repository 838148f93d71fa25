"""A patient's first use and login with password + SMS code, in a real browser.

The SMS goes through the file backend (one text file per message), as a black-box tester
would read it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.e2e.conftest import assert_accessible

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "fjelltur-i-oktober-2026"


def latest_code(sms_dir) -> str:
    files = sorted(sms_dir.iterdir())
    assert files, "no SMS was written"
    return re.search(r"\b(\d{6})\b", files[-1].read_text(encoding="utf-8")).group(1)


def test_new_user_sets_a_password_and_logs_in(page: Page, live_server, sms_dir):
    clinic = factories.make_clinic("SOLLIA", name="Sollia legesenter")
    gp = factories.make_practitioner(clinic, name="Kari Nordmann", eportal_enabled=True)
    patient = factories.make_patient(
        clinic, mobile="+4741234567", patient_list=factories.make_list(clinic, gp=gp)
    )
    base = f"{live_server.url}/c/{clinic.ep_ident}"

    page.goto(f"{live_server.url}/Login.aspx?ClinicId={clinic.ep_ident}")
    assert_accessible(page)
    page.locator(f'a[href="/c/{clinic.ep_ident}/password/"]').first.click()
    assert_accessible(page)
    page.locator("input[name=national_id]").fill(patient.national_id)
    page.locator("form:has(input[name=national_id]) [type=submit]").click()

    expect(page).to_have_url(f"{base}/login/code/")
    expect(page.locator("main")).not_to_contain_text("567")  # no digits of the mobile (#16)
    assert_accessible(page)
    page.locator("input[name=code]").fill(latest_code(sms_dir))
    page.locator("form:has(input[name=code]) [type=submit]").click()

    expect(page).to_have_url(f"{base}/password/new/")
    assert_accessible(page)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("form:has(input[name=password1]) [type=submit]").click()

    expect(page).to_have_url(f"{base}/login/")
    assert_accessible(page)
    page.locator("input[name=national_id]").fill(patient.national_id)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page).to_have_url(f"{base}/login/code/")
    page.locator("input[name=code]").fill(latest_code(sms_dir))
    page.locator("form:has(input[name=code]) [type=submit]").click()

    expect(page).to_have_url(f"{base}/home/")
    expect(page.locator("h1")).to_contain_text(patient.name)
    assert_accessible(page)

    # Log out from the header: the home page is closed afterwards.
    page.locator(f'form[action="/c/{clinic.ep_ident}/logout/"] button').click()
    page.goto(f"{base}/home/")
    expect(page).to_have_url(f"{base}/login/")


def test_wrong_identity_number_shows_a_field_error(page: Page, live_server, sms_dir):
    clinic = factories.make_clinic("SOLLIB", name="Sollia B")
    page.goto(f"{live_server.url}/c/{clinic.ep_ident}/login/")
    page.locator("input[name=national_id]").fill("12345678901")
    page.locator("input[name=password]").fill("whatever-password")
    page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page.locator("input[name=national_id]")).to_have_class(re.compile("is-invalid"))
    assert_accessible(page)
    assert not list(sms_dir.iterdir())
