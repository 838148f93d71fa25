"""The first journeys through a real browser: a patient's entry link, a clinic administrator
switching a practitioner on, and the language switch.

The UI text is still being translated, so these tests find things by structure and data
(names, URLs, form field names, the ``lang`` attribute, database state), never by wording.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from clinics.models import Practitioner
from tests import factories
from tests.e2e.conftest import assert_accessible

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
ENABLED_CHECKBOX = "input[type=checkbox][name$=eportal_enabled]"  # list_editable "Aktiver ePortal"


def test_patient_entry_link_opens_the_clinic_start_page(page: Page, live_server):
    clinic = factories.make_clinic("FJORD7", name="Fjordtun legesenter", address="Kaia 2, 5003")

    page.goto(f"{live_server.url}/Login.aspx?ClinicId={clinic.ep_ident}")

    expect(page).to_have_url(f"{live_server.url}/c/{clinic.ep_ident}/")
    expect(page.locator("h1")).to_contain_text(clinic.name)
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    assert_accessible(page)


def test_clinic_admin_switches_a_practitioner_on_in_eportal_services(page: Page, live_server):
    clinic = factories.make_clinic(name="Elvebakken legekontor")
    admin = factories.make_staff(clinic, password=PASSWORD)
    doctor = factories.make_practitioner(clinic, name="Kari Nordmann")
    colleague = factories.make_practitioner(clinic, name="Ola Hansen")
    stranger = factories.make_practitioner(factories.make_clinic(), name="Per Utenfor")

    page.goto(f"{live_server.url}/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert_accessible(page)

    page.locator("input[name=login]").fill(admin.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    assert_accessible(page)

    page.locator('a[href="/admin/clinics/eportalservice/"]').first.click()
    expect(page).to_have_url(f"{live_server.url}/admin/clinics/eportalservice/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)  # only this clinic's practitioners
    expect(page.locator("#result_list")).not_to_contain_text(stranger.name)
    assert_accessible(page)

    switch = rows.filter(has_text=doctor.name).locator(ENABLED_CHECKBOX)
    expect(switch).not_to_be_checked()
    switch.check()
    page.locator("#changelist-form [name=_save]").click()

    expect(page).to_have_url(f"{live_server.url}/admin/clinics/eportalservice/")
    expect(rows.filter(has_text=doctor.name).locator(ENABLED_CHECKBOX)).to_be_checked()
    assert_accessible(page)
    enabled = dict(Practitioner.objects.values_list("name", "eportal_enabled"))
    assert enabled == {doctor.name: True, colleague.name: False, stranger.name: False}


def test_language_switch_changes_the_start_page_to_english_and_back(page: Page, live_server):
    clinic = factories.make_clinic(name="Sjøsiden legesenter")
    start_url = f"{live_server.url}/c/{clinic.ep_ident}/"
    html = page.locator("html")
    switch = page.locator("header form[action='/i18n/setlang/']")

    page.goto(start_url)
    expect(html).to_have_attribute("lang", "nb")
    expect(switch.locator("button[value=nb]")).to_have_attribute("aria-current", "true")

    switch.locator("button[value=en]").click()
    expect(page).to_have_url(start_url)
    expect(html).to_have_attribute("lang", "en")
    expect(switch.locator("button[value=en]")).to_have_attribute("aria-current", "true")
    expect(page.locator("h1")).to_contain_text(clinic.name)
    assert_accessible(page)

    switch.locator("button[value=nb]").click()
    expect(page).to_have_url(start_url)
    expect(html).to_have_attribute("lang", "nb")
    expect(page.locator("h1")).to_contain_text(clinic.name)
