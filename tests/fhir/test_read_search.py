"""Reads and searches: clinic-scoped, valid R4 resources, identifiers as no-basis, paging,
_lastUpdated, constant queries per page, audited with the client as actor."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.services import appointment_book
from clinics.models import AuditEvent
from fhirapi.mapping import identifiers
from tests import factories

from .conftest import Api

pytestmark = pytest.mark.django_db


def test_metadata_is_public_and_a_valid_capability_statement(db):
    response = Api(None).get("metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    statement = response.fhir
    assert statement["fhirVersion"] == "4.0.1"
    types = [r["type"] for r in statement["rest"][0]["resource"]]
    assert types == [
        "Organization",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Group",
        "HealthcareService",
        "Schedule",
        "Slot",
        "Appointment",
        "MedicationStatement",
        "RelatedPerson",
        "Consent",
    ]
    appointment = statement["rest"][0]["resource"][types.index("Appointment")]
    assert {o["name"] for o in appointment["operation"]} == {"find", "book"}


def test_smart_configuration(db):
    for path in ("/fhir/r4/.well-known/smart-configuration", "/.well-known/smart-configuration"):
        data = Api(None).get(path).json()
        assert data["token_endpoint"].endswith("/fhir/oauth/token/")
        assert data["grant_types_supported"] == ["client_credentials"]
        assert "system/Patient.read" in data["scopes_supported"]


def test_patient_read_has_the_no_basis_identifier_and_an_etag(world):
    dnr = factories.make_patient(world.clinic, national_id=factories.national_id("dnr"))
    response = world.api.get(f"Patient/{world.patient.pk}")
    assert response.status_code == 200
    patient = response.fhir
    assert patient["identifier"][0] == {
        "use": "official",
        "system": identifiers.FNR,
        "value": world.patient.national_id,
    }
    assert patient["telecom"][0] == {"system": "phone", "value": "+4741234567", "use": "mobile"}
    assert patient["generalPractitioner"] == [{"reference": f"Practitioner/{world.gp.pk}"}]
    assert response["ETag"] == f'W/"{patient["meta"]["versionId"]}"'
    assert world.api.get(f"Patient/{dnr.pk}").fhir["identifier"][0]["system"] == identifiers.DNR


def test_every_resource_type_reads_and_searches(world):
    appointment = appointment_book(patient=world.patient, slot_id=world.slot.pk, reason="Kontroll")
    world.gp.hpr = "9100001"
    world.gp.save()
    reads = {
        "Patient": world.patient.pk,
        "Practitioner": world.gp.pk,
        "PractitionerRole": world.gp.pk,
        "Schedule": world.gp.pk,
        "Slot": world.slot.pk,
        "Appointment": appointment.pk,
    }
    for resource, pk in reads.items():
        response = world.api.get(f"{resource}/{pk}")
        assert response.status_code == 200, (resource, response.content)
        assert response.fhir["resourceType"] == resource
        found = world.api.get(resource)
        assert found.status_code == 200
        assert found.fhir["type"] == "searchset"
        assert str(pk) in [e["resource"]["id"] for e in found.fhir["entry"]]
    assert world.api.get(f"Slot/{world.slot.pk}").fhir["status"] == "busy"
    assert world.api.get(f"Slot/{world.later.pk}").fhir["status"] == "free"
    practitioner = world.api.get(f"Practitioner/{world.gp.pk}").fhir
    assert practitioner["identifier"][0]["system"] == identifiers.HPR
    booked = world.api.get(f"Appointment/{appointment.pk}").fhir
    assert booked["status"] == "booked"
    assert {p["actor"]["reference"] for p in booked["participant"]} == {
        f"Patient/{world.patient.pk}",
        f"Practitioner/{world.gp.pk}",
    }
    assert booked["slot"] == [{"reference": f"Slot/{world.slot.pk}"}]


def test_search_by_identifier(world):
    value = world.patient.national_id
    found = world.api.get(f"Patient?identifier={identifiers.FNR}|{value}").fhir
    assert [e["resource"]["id"] for e in found["entry"]] == [str(world.patient.pk)]
    assert world.api.get(f"Patient?identifier={identifiers.DNR}|{value}").fhir["total"] == 0
    assert world.api.get(f"Patient?identifier={value}").fhir["total"] == 1


def test_search_pages_with_links_and_a_total(world):
    for _ in range(4):
        factories.make_patient(world.clinic)
    first = world.api.get("Patient?_count=2").fhir
    assert first["total"] == 5
    assert len(first["entry"]) == 2
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    ids = [e["resource"]["id"] for e in first["entry"]]
    while next_url:
        page = world.api.get(next_url.split("testserver", 1)[1]).fhir
        ids += [e["resource"]["id"] for e in page["entry"]]
        next_url = next((x["url"] for x in page["link"] if x["relation"] == "next"), None)
    assert len(ids) == len(set(ids)) == 5


def test_last_updated_polls_for_changes(world):
    since = timezone.now()
    old = world.api.get(f"Patient?_lastUpdated=gt{since.isoformat()}".replace("+", "%2B")).fhir
    assert old["total"] == 0
    world.patient.name = "Ola Ny"
    world.patient.save()
    new = world.api.get(f"Patient?_lastUpdated=gt{since.isoformat()}".replace("+", "%2B")).fhir
    assert [e["resource"]["id"] for e in new["entry"]] == [str(world.patient.pk)]
    appointment_book(patient=world.patient, slot_id=world.later.pk, reason="x")
    slots = world.api.get(f"Slot?_lastUpdated=gt{since.isoformat()}".replace("+", "%2B")).fhir
    assert [e["resource"]["id"] for e in slots["entry"]] == [str(world.later.pk)]


@pytest.mark.parametrize(
    "resource", ["Patient", "Slot", "Appointment", "Schedule", "PractitionerRole"]
)
def test_a_page_costs_the_same_queries_whatever_its_size(world, resource):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert world.api.get(f"{resource}?_count=100").status_code == 200
        return len(ctx.captured_queries)

    small = queries()
    for n in range(6):
        patient = factories.make_patient(world.clinic, patient_list=world.gp_list)
        practitioner = factories.make_practitioner(world.clinic)
        slot = factories.make_slot(
            practitioner, world.ep, timezone.now() + datetime.timedelta(days=2, hours=n)
        )
        factories.make_slot(
            world.gp, world.ep, timezone.now() + datetime.timedelta(days=4, hours=n)
        )
        from booking.models import Appointment

        Appointment.objects.create(
            slot=slot, patient=patient, practitioner=practitioner, start=slot.start, end=slot.end
        )
    assert queries() == small


def test_reads_and_searches_are_audited_with_the_client_as_actor(world):
    world.api.get(f"Patient/{world.patient.pk}")
    world.api.get("Patient")
    events = AuditEvent.objects.filter(action__startswith="fhir.").order_by("pk")
    read, search = events
    assert read.action == "fhir.read"
    assert read.actor_type == AuditEvent.ActorType.API
    assert read.details["client"] == world.api_client.application.client_id
    assert read.subject_id == world.patient.pk
    assert read.clinic_id == world.clinic.pk
    assert search.action == "fhir.search"
    assert search.details["total"] == 1
