"""After login the patient sees their clinic's home page with the services they may use."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from clinics.models import Patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    import io

    call_command("loaddemo", stdout=io.StringIO())


def test_patient_with_a_gp_sees_booking_with_gp_and_locum(patient_client_for, demo):
    patient = Patient.objects.get(name="Kari Testesen")
    body = patient_client_for(patient).get("/c/DEMO/home/").content.decode()
    assert "Kari Nordmann" in body  # own GP
    assert "Vera Vikar" in body  # the locum (the leaflet's example)
    assert "Tore Turnus" in body  # urgent appointments


def test_patient_without_gp_here_is_served_by_the_junior_doctor(patient_client_for, demo):
    patient = Patient.objects.get(name="Per Uten Fastlege")
    body = patient_client_for(patient).get("/c/DEMO/home/").content.decode()
    assert "Tore Turnus" in body
    assert "Kari Nordmann" not in body
    assert "Per Hansen" not in body


def test_home_page_is_never_cached(patient_client_for, demo):
    patient = Patient.objects.get(name="Kari Testesen")
    response = patient_client_for(patient).get("/c/DEMO/home/")
    assert "no-store" in response["Cache-Control"]


def test_clinic_can_require_bankid_for_econsultation(patient_client_for, demo, settings):
    from clinics.models import Clinic

    settings.OIDC_RP_CLIENT_ID = "eportal"
    settings.OIDC_OP_ISSUER = "https://idp.example"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.example/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example/token"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/jwks"

    Clinic.objects.filter(ep_ident="DEMO").update(econsult_requires_bankid=True)
    patient = Patient.objects.get(name="Kari Testesen")
    body = patient_client_for(patient).get("/c/DEMO/home/").content.decode()
    assert "/c/DEMO/bankid/" in body  # asked to log in with BankID for eConsultation


def test_bankid_session_may_use_econsultation_when_required(patient_client_for, demo):
    from clinics.models import Clinic

    Clinic.objects.filter(ep_ident="DEMO").update(econsult_requires_bankid=True)
    patient = Patient.objects.get(name="Kari Testesen")
    body = patient_client_for(patient, method="bankid").get("/c/DEMO/home/").content.decode()
    assert "/c/DEMO/bankid/" not in body
