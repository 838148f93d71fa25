"""HL7 Norway's no-basis profiles: the resources that have one claim it in ``meta.profile``
(Schedule and Slot have none and stay base R4), and identity numbers carry the no-basis
systems: FNR, DNR and FH-numbers by OID, an H-number as the slice HNR with the clinic as
assigner. Every answer still validates as R4 (the test client checks each one)."""

from __future__ import annotations

import datetime

import pytest

from clinics.models import Patient
from clinics.national_id import make as make_national_id
from fhirapi.mapping import identifiers
from tests import factories

pytestmark = pytest.mark.django_db

NO_BASIS = "http://hl7.no/fhir/StructureDefinition/no-basis-"


def hnr() -> str:
    return make_national_id(datetime.date(1971, 3, 9), individual=211, kind="hnr", synthetic=False)


def profiles(resource):
    return resource.get("meta", {}).get("profile", [])


def test_served_resources_claim_their_no_basis_profile(world):
    from booking.services import appointment_book

    appointment = appointment_book(patient=world.patient, slot_id=world.slot.pk, reason="x")
    for path, name in (
        (f"Patient/{world.patient.pk}", "Patient"),
        (f"Practitioner/{world.gp.pk}", "Practitioner"),
        (f"PractitionerRole/{world.gp.pk}", "PractitionerRole"),
        (f"Appointment/{appointment.pk}", "Appointment"),
    ):
        assert profiles(world.api.get(path).fhir) == [NO_BASIS + name], path
    for path in (f"Schedule/{world.gp.pk}", f"Slot/{world.later.pk}"):
        assert profiles(world.api.get(path).fhir) == [], path
    found = world.api.get("Patient").fhir
    assert all(profiles(e["resource"]) == [NO_BASIS + "Patient"] for e in found["entry"])


def test_identity_numbers_carry_the_no_basis_systems(world):
    kinds = {
        identifiers.FNR: factories.national_id("fnr"),
        identifiers.DNR: factories.national_id("dnr"),
        identifiers.FHNR: factories.national_id("fhnr"),
    }
    for system, number in kinds.items():
        patient = factories.make_patient(world.clinic, national_id=number)
        identifier = world.api.get(f"Patient/{patient.pk}").fhir["identifier"]
        assert identifier == [{"use": "official", "system": system, "value": number}]
    patient = factories.make_patient(world.clinic, national_id=hnr())
    assert world.api.get(f"Patient/{patient.pk}").fhir["identifier"] == [
        {
            "use": "official",
            "system": "HNR",
            "type": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.8327", "code": "HNR"}]},
            "value": patient.national_id,
            "assigner": {"reference": f"Organization/{world.clinic.pk}"},
        }
    ]
    world.gp.hpr = "9144900"
    world.gp.save()
    assert world.api.get(f"Practitioner/{world.gp.pk}").fhir["identifier"][0] == (
        {"use": "official", "system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144900"}
    )


def test_h_and_fh_numbers_are_written_and_searched_by_their_systems(world):
    number, fh = hnr(), factories.national_id("fhnr")
    for system, value in (("HNR", number), (identifiers.FHNR, fh)):
        body = {
            "resourceType": "Patient",
            "identifier": [{"system": system, "value": value}],
            "name": [{"text": "Hjelpenummer Hansen"}],
        }
        assert world.api.post("Patient", body).status_code == 201, value
        found = world.api.get(f"Patient?identifier={system}|{value}").fhir
        assert found["total"] == 1
        assert world.api.get(f"Patient?identifier={identifiers.FNR}|{value}").fhir["total"] == 0
    # The system ePortal served H- and FH-numbers with before still reads and searches.
    assert world.api.get(f"Patient?identifier=urn:eportal:national-id|{fh}").fhir["total"] == 1
    legacy = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:eportal:national-id", "value": fh}],
        "name": [{"text": "Ny Navn"}],
    }
    patient = Patient.objects.get(clinic=world.clinic, national_id=fh)
    read = world.api.get(f"Patient/{patient.pk}")
    put = world.api.put(
        f"Patient/{patient.pk}", dict(legacy, id=str(patient.pk)), **{"If-Match": read["ETag"]}
    )
    assert put.status_code == 200, put.content
    assert put.fhir["identifier"][0]["system"] == identifiers.FHNR
    # A number of another kind than its system says: refused at its place.
    wrong = dict(legacy, identifier=[{"system": "HNR", "value": fh}])
    response = world.api.post("Patient", wrong)
    assert response.status_code == 422
    assert response.fhir["issue"][0]["expression"] == ["Patient.identifier[0].value"]
