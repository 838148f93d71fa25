"""Writes: Patient create and update (If-Match, 412), bad input as an OperationOutcome with
the place and nothing stored, Appointment cancel, $find and $book."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.models import Appointment
from clinics.models import AuditEvent, Patient
from fhirapi.mapping import identifiers
from tests import factories

pytestmark = pytest.mark.django_db


def _off_by_one(number):
    """The number with its last check digit wrong."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def patient_resource(national_id, **extra):
    return {
        "resourceType": "Patient",
        "identifier": [{"system": identifiers.FNR, "value": national_id}],
        "name": [{"text": "Nina Ny"}],
        "telecom": [{"system": "phone", "value": "41234568", "use": "mobile"}],
        **extra,
    }


def test_patient_create(world):
    number = factories.national_id()
    body = patient_resource(
        number, generalPractitioner=[{"reference": f"Practitioner/{world.gp.pk}"}]
    )
    response = world.api.post("Patient", body)
    assert response.status_code == 201, response.content
    patient = Patient.objects.get(national_id=number)
    assert patient.clinic == world.clinic
    assert patient.mobile == "+4741234568"
    assert patient.patient_list == world.gp_list
    assert response["Location"] == f"http://testserver/fhir/r4/Patient/{patient.pk}"
    event = AuditEvent.objects.get(action="fhir.create")
    assert event.subject_id == patient.pk
    assert event.actor_type == AuditEvent.ActorType.API
    assert world.api.post("Patient", body).status_code == 409


@pytest.mark.parametrize(
    ("change", "status", "place"),
    [
        (
            lambda b: b["identifier"][0].update(value=_off_by_one(b["identifier"][0]["value"])),
            422,
            "Patient.identifier[0].value",
        ),
        (
            lambda b: b["identifier"][0].update(system=identifiers.DNR),
            422,
            "Patient.identifier[0].value",
        ),
        (lambda b: b.pop("identifier"), 422, "Patient.identifier"),
        (lambda b: b["telecom"][0].update(value="22000000"), 422, "Patient.telecom[0].value"),
        (
            lambda b: b.update(generalPractitioner=[{"reference": "Practitioner/999999"}]),
            422,
            "Patient.generalPractitioner[0]",
        ),
        (lambda b: b.update(birthDate="not-a-date"), 400, "Patient.birthDate"),
        (lambda b: b.update(unknownField=1), 400, "Patient.unknownField"),
        (lambda b: b.update(resourceType="Person"), 400, "resourceType"),
    ],
)
def test_bad_patients_are_refused_with_the_place_and_nothing_stored(world, change, status, place):
    number = factories.national_id()
    body = patient_resource(number)
    change(body)
    response = world.api.post("Patient", body)
    assert response.status_code == status, response.content
    outcome = response.fhir
    assert outcome["resourceType"] == "OperationOutcome"
    assert place in [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert not Patient.objects.filter(national_id=number).exists()
    assert Patient.objects.count() == 1


def test_an_identity_number_with_wrong_check_digits(world):
    wrong = _off_by_one(factories.national_id())
    response = world.api.post("Patient", patient_resource(wrong))
    assert response.status_code == 422
    assert response.fhir["issue"][0]["expression"] == ["Patient.identifier[0].value"]
    assert "check digits" in response.fhir["issue"][0]["diagnostics"]


def test_patient_update_needs_the_version_read(world):
    read = world.api.get(f"Patient/{world.patient.pk}")
    body = dict(read.fhir, name=[{"text": "Ola Endret"}])
    body.pop("meta")
    assert world.api.put(f"Patient/{world.patient.pk}", body).status_code == 428
    stale = world.api.put(f"Patient/{world.patient.pk}", body, **{"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    ok = world.api.put(f"Patient/{world.patient.pk}", body, **{"If-Match": read["ETag"]})
    assert ok.status_code == 200, ok.content
    assert ok.fhir["name"][0]["text"] == "Ola Endret"
    assert ok["ETag"] != read["ETag"]
    again = world.api.put(f"Patient/{world.patient.pk}", body, **{"If-Match": read["ETag"]})
    assert again.status_code == 412
    world.patient.refresh_from_db()
    assert world.patient.name == "Ola Endret"
    event = AuditEvent.objects.get(action="fhir.update")
    assert event.details["fields"] == ["name"]


def _book(world, slot, patient=None):
    return world.api.post(
        "Appointment/$book",
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "slot", "valueReference": {"reference": f"Slot/{slot.pk}"}},
                {
                    "name": "patient",
                    "valueReference": {"reference": f"Patient/{(patient or world.patient).pk}"},
                },
                {"name": "reason", "valueString": "Kontroll"},
            ],
        },
    )


def test_find_then_book_then_cancel(world):
    found = world.api.get(f"Appointment/$find?practitioner=Practitioner/{world.gp.pk}").fhir
    proposed = [e["resource"] for e in found["entry"] if e["search"]["mode"] == "match"]
    slots = [e["resource"] for e in found["entry"] if e["search"]["mode"] == "include"]
    assert [a["slot"][0]["reference"] for a in proposed] == [
        f"Slot/{world.slot.pk}",
        f"Slot/{world.later.pk}",
    ]
    assert {s["status"] for s in slots} == {"free"}

    booked = _book(world, world.slot)
    assert booked.status_code == 201, booked.content
    appointment = Appointment.objects.get()
    assert booked.fhir["status"] == "booked"
    assert appointment.reason == "Kontroll"
    assert AuditEvent.objects.filter(action="fhir.book", subject=world.patient).exists()
    assert AuditEvent.objects.filter(action="booking.book").exists()  # the service's own

    taken = _book(
        world, world.slot, factories.make_patient(world.clinic, patient_list=world.gp_list)
    )
    assert taken.status_code == 409
    assert taken.fhir["issue"][0]["code"] == "conflict"
    again = world.api.get(f"Appointment/$find?practitioner=Practitioner/{world.gp.pk}").fhir
    assert [e["resource"]["id"] for e in again["entry"] if e["search"]["mode"] == "include"] == [
        str(world.later.pk)
    ]

    cancel = world.api.patch(
        f"Appointment/{appointment.pk}",
        [{"op": "replace", "path": "/status", "value": "cancelled"}],
        content_type="application/json-patch+json",
    )
    assert cancel.status_code == 200, cancel.content
    assert cancel.fhir["status"] == "cancelled"
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert AuditEvent.objects.filter(action="fhir.cancel").exists()
    assert world.api.get(f"Slot/{world.slot.pk}").fhir["status"] == "free"


def test_book_with_an_ihe_appointment_parameter(world):
    found = world.api.get("Appointment/$find").fhir
    proposal = found["entry"][0]["resource"]
    proposal["participant"].append(
        {"actor": {"reference": f"Patient/{world.patient.pk}"}, "status": "accepted"}
    )
    response = world.api.post(
        "Appointment/$book",
        {
            "resourceType": "Parameters",
            "parameter": [{"name": "appointment", "resource": proposal}],
        },
    )
    assert response.status_code == 201, response.content
    assert Appointment.objects.get().slot_id == world.slot.pk


def test_cancel_by_put_and_only_to_cancelled(world):
    _book(world, world.slot)
    appointment = Appointment.objects.get()
    body = world.api.get(f"Appointment/{appointment.pk}").fhir
    body.pop("meta")
    wrong = dict(body, status="noshow")
    assert world.api.put(f"Appointment/{appointment.pk}", wrong).status_code == 422
    assert Appointment.objects.get().status == "booked"
    ok = world.api.put(f"Appointment/{appointment.pk}", dict(body, status="cancelled"))
    assert ok.status_code == 200
    assert Appointment.objects.get().status == "cancelled"


def test_bad_book_parameters_store_nothing(world):
    missing = world.api.post("Appointment/$book", {"resourceType": "Parameters", "parameter": []})
    assert missing.status_code == 422
    unknown = _book(world, world.slot, patient=type("P", (), {"pk": 999999})())
    assert unknown.status_code == 422
    assert unknown.fhir["issue"][0]["expression"] == ["Parameters.parameter[patient]"]
    not_json = world.api.client.post(
        "/fhir/r4/Appointment/$book",
        "{",
        content_type="application/fhir+json",
        headers={"Authorization": f"Bearer {world.api.token}"},
    )
    assert not_json.status_code == 400
    assert not Appointment.objects.exists()


def test_find_for_a_practitioner_week_costs_constant_queries(world):
    monday = timezone.now() + datetime.timedelta(days=2)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = world.api.get(f"Appointment/$find?practitioner={world.gp.pk}")
            assert response.status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for hour in range(30):
        factories.make_slot(
            world.gp,
            world.ep,
            monday.replace(minute=0) + datetime.timedelta(hours=hour * 3, minutes=7),
        )
    assert queries() == few
