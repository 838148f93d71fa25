"""Practitioner create and update (HPR number checked as the import checks it, the clinic's
key), and PractitionerRole update ("Aktiver ePortal" and the role): If-Match, bad input as
an OperationOutcome with the place, nothing stored."""

from __future__ import annotations

import pytest

from clinics.models import AuditEvent, Practitioner
from fhirapi.mapping import identifiers
from fhirapi.mapping.practitioner import ROLE_SYSTEM

pytestmark = pytest.mark.django_db


def practitioner_resource(hpr="9144900", key="p-ny", name="Nils Ny"):
    found = []
    if hpr is not None:
        found.append({"system": identifiers.HPR, "value": hpr})
    if key is not None:
        found.append({"system": identifiers.PRACTITIONER_KEY, "value": key})
    return {"resourceType": "Practitioner", "identifier": found, "name": [{"text": name}]}


def test_practitioner_create_and_update(world):
    made = world.api.post("Practitioner", practitioner_resource())
    assert made.status_code == 201, made.content
    practitioner = Practitioner.objects.get(pk=made.fhir["id"])
    assert (practitioner.clinic, practitioner.hpr, practitioner.key) == (
        world.clinic,
        "9144900",
        "p-ny",
    )
    assert (practitioner.role, practitioner.eportal_enabled) == ("gp", False)
    assert AuditEvent.objects.filter(action="fhir.create", object_id=str(practitioner.pk)).exists()
    assert world.api.post("Practitioner", practitioner_resource(hpr=None)).status_code == 409
    assert world.api.post("Practitioner", practitioner_resource(key="p-2")).status_code == 409
    keyless = world.api.post("Practitioner", practitioner_resource(hpr=None, key=None))
    assert keyless.status_code == 201  # a key is made
    assert Practitioner.objects.get(pk=keyless.fhir["id"]).key

    body = dict(made.fhir, name=[{"text": "Nils Endret"}])
    body.pop("meta")
    path = f"Practitioner/{practitioner.pk}"
    assert world.api.put(path, body).status_code == 428
    assert world.api.put(path, body, **{"If-Match": 'W/"1"'}).status_code == 412
    ok = world.api.put(path, body, **{"If-Match": made["ETag"]})
    assert ok.status_code == 200, ok.content
    practitioner.refresh_from_db()
    assert practitioner.name == "Nils Endret"


@pytest.mark.parametrize(
    ("body", "status", "place"),
    [
        (practitioner_resource(hpr="12"), 422, "Practitioner.identifier[0].value"),
        (practitioner_resource(hpr="12345678901"), 422, "Practitioner.identifier[0].value"),
        (practitioner_resource(hpr="91449OO"), 422, "Practitioner.identifier[0].value"),
        (practitioner_resource(key="has space"), 422, "Practitioner.identifier[1].value"),
        (practitioner_resource(name=""), 400, "Practitioner.name[0].text"),
        (dict(practitioner_resource(), name=[]), 422, "Practitioner.name"),
        (dict(practitioner_resource(), active=False), 422, "Practitioner.active"),
        (dict(practitioner_resource(), birthDate="x"), 400, "Practitioner.birthDate"),
    ],
)
def test_bad_practitioners_are_refused_with_the_place(world, body, status, place):
    before = Practitioner.objects.count()
    response = world.api.post("Practitioner", body)
    assert response.status_code == status, response.content
    places = [e for issue in response.fhir["issue"] for e in issue.get("expression", [])]
    assert any(p.startswith(place) for p in places), places
    assert Practitioner.objects.count() == before


def test_practitioner_role_update(world, other):
    read = world.api.get(f"PractitionerRole/{world.gp.pk}")
    body = dict(read.fhir, active=False)
    body["code"] = [{"coding": [{"system": ROLE_SYSTEM, "code": "locum"}]}]
    body.pop("meta")
    path = f"PractitionerRole/{world.gp.pk}"
    ok = world.api.put(path, body, **{"If-Match": read["ETag"]})
    assert ok.status_code == 200, ok.content
    world.gp.refresh_from_db()
    assert (world.gp.eportal_enabled, world.gp.role) == (False, "locum")
    assert ok.fhir["active"] is False
    bad = dict(body, code=[{"coding": [{"system": ROLE_SYSTEM, "code": "surgeon"}]}])
    refused = world.api.put(path, bad, **{"If-Match": ok["ETag"]})
    assert refused.status_code == 422
    assert refused.fhir["issue"][0]["expression"] == ["PractitionerRole.code[0].coding[0].code"]
    theirs = dict(body, practitioner={"reference": f"Practitioner/{other.gp.pk}"})
    assert world.api.put(path, theirs, **{"If-Match": ok["ETag"]}).status_code == 422
    assert world.api.post("PractitionerRole", body).status_code == 405
    other.gp.refresh_from_db()
    assert other.gp.role == "gp"
