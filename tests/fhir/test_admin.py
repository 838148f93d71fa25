"""'API clients' in the admin: a clinic administrator registers their record system; the
secret is shown once and stored hashed; another clinic's clients are not theirs to see."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import check_password

from clinics.models import AuditEvent
from fhirapi.models import ApiClient

from .conftest import register_client

pytestmark = pytest.mark.django_db


def test_registering_a_client_shows_the_secret_once(client, clinic, clinic_admin, other_clinic):
    client.force_login(clinic_admin)
    client.cookies["eportal_language"] = "en"  # the message's words are the catalogue's
    response = client.post(
        "/admin/fhirapi/apiclient/add/",
        {
            "name": "Journal",
            "scope_choices": ["system/Patient.read", "system/Slot.read"],
            "active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    registered = ApiClient.objects.get()
    assert registered.clinic == clinic
    assert registered.scope_list == ["system/Patient.read", "system/Slot.read"]
    shown = re.search(r"(?:secret|hemmelighet) (\S+):", response.content.decode())
    assert shown is not None
    secret = shown.group(1)
    assert registered.application.client_secret != secret
    assert check_password(secret, registered.application.client_secret)
    assert (
        secret
        not in client.get(f"/admin/fhirapi/apiclient/{registered.pk}/change/").content.decode()
    )
    assert AuditEvent.objects.filter(action="fhir.client_registered", clinic=clinic).exists()

    theirs = register_client(other_clinic, name="Deres")
    assert client.get(f"/admin/fhirapi/apiclient/{theirs.pk}/change/").status_code in (302, 404)
    assert "Deres" not in client.get("/admin/fhirapi/apiclient/").content.decode()
