"""BankID login in a real browser: ePortal's live server and the test OpenID Connect provider.

Chromium follows every redirect itself (start page → provider's login form → callback →
home), so cookies, SameSite and the CSP are those a patient's browser meets. Found by
structure and data, never by wording (the UI text is being translated).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from clinics.models import AuditEvent
from tests import factories
from tests.e2e.conftest import assert_accessible
from tests.oidc_provider import SUBSTANTIAL, TestProvider, running_provider

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser_provider(live_server) -> Iterator[TestProvider]:
    with running_provider(
        client_id="eportal-e2e",
        client_secret="e2e-client-secret-" + "q" * 32,
        redirect_uris=[f"{live_server.url}/oidc/callback/"],
    ) as provider:
        yield provider


@pytest.fixture
def provider(settings, browser_provider: TestProvider) -> TestProvider:
    for name, value in browser_provider.settings().items():
        setattr(settings, name, value)
    return browser_provider


def log_in_at_provider(page: Page, provider: TestProvider, pid: str, acr: str | None = None):
    expect(page).to_have_url(re.compile("^" + re.escape(f"{provider.issuer}/authorize?")))
    page.locator("input[name=pid]").fill(pid)
    if acr:
        page.locator("select[name=acr]").select_option(acr)
    page.locator("button[name=action][value=login]").click()


def test_patient_logs_in_with_bankid_in_a_browser(page: Page, live_server, provider):
    clinic = factories.make_clinic("BANKID1", name="Bankhuset legekontor")
    patient = factories.make_patient(clinic)

    page.goto(f"{live_server.url}/c/{clinic.ep_ident}/")
    page.locator(f'a[href="/c/{clinic.ep_ident}/bankid/"]').click()
    log_in_at_provider(page, provider, patient.national_id)

    expect(page).to_have_url(f"{live_server.url}/c/{clinic.ep_ident}/home/")
    assert AuditEvent.objects.filter(action="patient.login", patient=patient).exists()


def test_low_level_login_gets_an_accessible_refusal(page: Page, live_server, provider):
    clinic = factories.make_clinic("BANKID2", name="Bankhuset legekontor")
    patient = factories.make_patient(clinic)

    page.goto(f"{live_server.url}/c/{clinic.ep_ident}/bankid/")
    log_in_at_provider(page, provider, patient.national_id, acr=SUBSTANTIAL)

    expect(page).to_have_url(re.compile(r"/oidc/callback/\?"))
    expect(page.locator(f'main a[href="/c/{clinic.ep_ident}/"]')).to_be_visible()
    refusal = AuditEvent.objects.get(action="patient.login_failed")
    assert refusal.details["reason"] == "acr"
    assert_accessible(page)


def test_stranger_gets_an_accessible_refusal_and_can_go_back(page: Page, live_server, provider):
    clinic = factories.make_clinic("BANKID3", name="Bankhuset legekontor")

    page.goto(f"{live_server.url}/c/{clinic.ep_ident}/bankid/")
    log_in_at_provider(page, provider, factories.national_id())

    expect(page).to_have_url(re.compile(r"/oidc/callback/\?"))
    assert AuditEvent.objects.get(action="patient.login_failed").details["reason"] == (
        "not_patient"
    )
    assert_accessible(page)
    page.locator(f'main a[href="/c/{clinic.ep_ident}/"]').click()
    expect(page).to_have_url(f"{live_server.url}/c/{clinic.ep_ident}/")


def test_cancelling_at_the_provider_leads_back(page: Page, live_server, provider):
    clinic = factories.make_clinic("BANKID4", name="Bankhuset legekontor")

    page.goto(f"{live_server.url}/c/{clinic.ep_ident}/bankid/")
    page.locator("button[name=action][value=cancel]").click()

    expect(page).to_have_url(re.compile(r"/oidc/callback/\?error=access_denied"))
    assert_accessible(page)
    page.locator(f'main a[href="/c/{clinic.ep_ident}/"]').click()
    expect(page).to_have_url(f"{live_server.url}/c/{clinic.ep_ident}/")
