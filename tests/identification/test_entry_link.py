from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_entry_link_leads_to_the_clinic_start_page(client, clinic):
    response = client.get("/Login.aspx?ClinicId=DEMO1")
    assert response.status_code == 302
    assert response["Location"] == "/c/DEMO1/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Bakkehuset legekontor" in page.content.decode()


@pytest.mark.parametrize(
    "url",
    ["/login.aspx?ClinicId=DEMO1", "/LOGIN.ASPX?clinicid=demo1", "/Login.aspx?ClinicId=demo1"],
)
def test_entry_link_is_matched_case_insensitively(client, clinic, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/c/DEMO1/"


@pytest.mark.parametrize(
    "query", ["", "?ClinicId=", "?ClinicId=NOPE", "?ClinicId=%00%27", "?ClinicId=" + "A" * 500]
)
def test_wrong_entry_link_gets_a_friendly_norwegian_404(client, clinic, query):
    response = client.get("/Login.aspx" + query)
    assert response.status_code == 404
    body = response.content.decode()
    assert "Vi fant ikke legekontoret" in body
    assert "Bakkehuset" not in body  # never a list of clinics


def test_inactive_clinic_is_not_found(client):
    factories.make_clinic("SLEEPY", name="Sovende legekontor", active=False)
    response = client.get("/Login.aspx?ClinicId=SLEEPY")
    assert response.status_code == 404
    assert client.get("/c/SLEEPY/").status_code == 404


def test_start_page_shows_contact_details_and_login_methods(client, clinic):
    body = client.get("/c/DEMO1/").content.decode()
    assert "Bakken 1, 0123 Oslo" in body
    assert "22 00 00 00" in body
    assert "tel:+4722000000" in body
    assert "BankID" in body


def test_start_page_case_redirects_to_canonical(client, clinic):
    response = client.get("/c/demo1/")
    assert response.status_code == 302
    assert response["Location"] == "/c/DEMO1/"


def test_bankid_button_only_when_the_provider_is_configured(client, clinic, settings):
    assert "/c/DEMO1/bankid/" not in client.get("/c/DEMO1/").content.decode()
    settings.OIDC_RP_CLIENT_ID = "eportal"
    settings.OIDC_OP_ISSUER = "https://idp.example"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.example/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example/token"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/jwks"
    assert "/c/DEMO1/bankid/" in client.get("/c/DEMO1/").content.decode()
