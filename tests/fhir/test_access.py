"""Access: no token 401, an expired or unknown one 401, a missing scope 403, and one
clinic's client never sees or changes another clinic's data (404 for every endpoint and
method with the other clinic's ids). The token endpoint: client credentials only, the
scopes of the registration, ten minutes."""

from __future__ import annotations

import base64

import pytest
from oauth2_provider.models import AccessToken

from booking.models import Appointment, Slot
from booking.services import appointment_book
from clinics.models import AuditEvent, Patient, Practitioner

from .conftest import Api, register_client, token_for

pytestmark = pytest.mark.django_db


def endpoints(w):
    """(method, path, body) of every endpoint that takes an id, with ``w``'s ids."""
    appointment = appointment_book(patient=w.patient, slot_id=w.slot.pk, reason="x")
    ids = {
        "Patient": w.patient.pk,
        "Practitioner": w.gp.pk,
        "PractitionerRole": w.gp.pk,
        "Schedule": w.gp.pk,
        "Slot": w.later.pk,
        "Appointment": appointment.pk,
    }
    found = [("GET", f"{resource}/{pk}", None) for resource, pk in ids.items()]
    found.append(
        (
            "PUT",
            f"Patient/{w.patient.pk}",
            {"resourceType": "Patient", "id": str(w.patient.pk), "name": [{"text": "X"}]},
        )
    )
    found.append(
        (
            "PUT",
            f"Appointment/{appointment.pk}",
            {
                "resourceType": "Appointment",
                "id": str(appointment.pk),
                "status": "cancelled",
                "participant": [{"status": "accepted"}],
            },
        )
    )
    pid = str(w.gp.pk)
    ref = {"reference": f"Practitioner/{pid}"}
    found += [
        ("PUT", f"Practitioner/{pid}", {"resourceType": "Practitioner", "id": pid,
                                        "name": [{"text": "X"}]}),
        ("PUT", f"PractitionerRole/{pid}", {"resourceType": "PractitionerRole", "id": pid,
                                            "practitioner": ref, "active": False}),
        ("PUT", f"Schedule/{pid}", {"resourceType": "Schedule", "id": pid, "actor": [ref]}),
        ("PUT", f"Slot/{w.later.pk}", {
            "resourceType": "Slot", "id": str(w.later.pk), "status": "busy-unavailable",
            "schedule": {"reference": f"Schedule/{pid}"},
            "start": "2030-01-07T08:00:00Z", "end": "2030-01-07T08:20:00Z"}),
        ("DELETE", f"Slot/{w.later.pk}", None),
    ]  # fmt: skip
    found.append(
        (
            "PATCH",
            f"Appointment/{appointment.pk}",
            [{"op": "replace", "path": "/status", "value": "cancelled"}],
        )
    )
    return found


def test_no_token_is_401_with_an_operation_outcome(world):
    anonymous = Api(None)
    for method, path, body in endpoints(world):
        response = anonymous.call(method, path, body)
        assert response.status_code == 401, (method, path)
        assert response.fhir["resourceType"] == "OperationOutcome"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.get("Patient").status_code == 401
    assert anonymous.post("Appointment/$book", {"resourceType": "Parameters"}).status_code == 401


def test_an_unknown_or_expired_token_is_401(world):
    assert Api("not-a-token").get("Patient").status_code == 401
    expired = Api(token_for(world.api_client, minutes=-1))
    assert expired.get("Patient").status_code == 401
    world.api_client.active = False
    world.api_client.save()
    assert world.api.get("Patient").status_code == 401


def test_a_missing_scope_is_403(world):
    reader = Api(token_for(world.api_client, ["system/Patient.read"]))
    assert reader.get("Patient").status_code == 200
    assert reader.get("Slot").status_code == 403
    assert reader.post("Patient", {"resourceType": "Patient"}).status_code == 403
    assert reader.post("Appointment/$book", {"resourceType": "Parameters"}).status_code == 403
    assert reader.get("Appointment/$find").status_code == 403


def test_another_clinics_ids_are_404_for_every_endpoint_and_method(world, other):
    before = Patient.objects.get(pk=other.patient.pk)
    for method, path, body in endpoints(other):
        headers = {"If-Match": 'W/"1"'} if method in ("PUT", "PATCH") else {}
        response = world.api.call(method, path, body, **headers)
        assert response.status_code == 404, (method, path, response.content)
        assert response.fhir["resourceType"] == "OperationOutcome"
    assert Patient.objects.get(pk=other.patient.pk).name == before.name
    gp = Practitioner.objects.get(pk=other.gp.pk)
    assert (gp.name, gp.eportal_enabled) == (other.gp.name, True)
    assert Slot.objects.filter(pk=other.later.pk, blocked=False).exists()
    assert not Appointment.objects.filter(patient=other.patient, status="cancelled").exists()


def test_another_clinics_data_never_shows_in_searches(world, other):
    for resource in ("Patient", "Practitioner", "PractitionerRole", "Schedule", "Slot"):
        mine = world.api.get(resource).fhir
        theirs = other.api.get(resource).fhir
        assert {e["resource"]["id"] for e in mine["entry"]}.isdisjoint(
            {e["resource"]["id"] for e in theirs["entry"]}
        ), resource
    assert world.api.get(f"Patient?_id={other.patient.pk}").fhir["total"] == 0
    assert world.api.get(f"Slot?schedule=Schedule/{other.gp.pk}").fhir["total"] == 0


def test_operations_refuse_another_clinics_references(world, other):
    book = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "slot", "valueReference": {"reference": f"Slot/{other.slot.pk}"}},
            {"name": "patient", "valueReference": {"reference": f"Patient/{world.patient.pk}"}},
        ],
    }
    response = world.api.post("Appointment/$book", book)
    assert response.status_code == 422
    assert response.fhir["issue"][0]["expression"] == ["Parameters.parameter[slot]"]
    book["parameter"] = [
        {"name": "slot", "valueReference": {"reference": f"Slot/{world.slot.pk}"}},
        {"name": "patient", "valueReference": {"reference": f"Patient/{other.patient.pk}"}},
    ]
    assert world.api.post("Appointment/$book", book).status_code == 422
    assert not Appointment.objects.exists()
    found = world.api.get(f"Appointment/$find?practitioner=Practitioner/{other.gp.pk}").fhir
    assert found["total"] == 0


def _basic(client, secret):
    raw = f"{client.application.client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def test_the_token_endpoint_gives_short_lived_tokens_of_the_registered_scopes(clinic, client):
    registered = register_client(clinic, scopes=["system/Patient.read", "system/Slot.read"])
    secret = "known-secret-123"
    registered.application.client_secret = secret
    registered.application.save()
    response = client.post(
        "/fhir/oauth/token/",
        {"grant_type": "client_credentials"},
        headers={"Authorization": _basic(registered, secret)},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["expires_in"] == 600
    assert set(data["scope"].split()) == {"system/Patient.read", "system/Slot.read"}
    assert Api(data["access_token"]).get("Patient").status_code == 200
    event = AuditEvent.objects.get(action="fhir.token")
    assert event.actor_type == AuditEvent.ActorType.API
    # More than registered: refused.
    wider = client.post(
        "/fhir/oauth/token/",
        {"grant_type": "client_credentials", "scope": "system/Patient.write"},
        headers={"Authorization": _basic(registered, secret)},
    )
    assert wider.status_code == 400
    wrong = client.post(
        "/fhir/oauth/token/",
        {"grant_type": "client_credentials"},
        headers={"Authorization": _basic(registered, "wrong")},
    )
    assert wrong.status_code == 401
    assert AccessToken.objects.count() == 1
