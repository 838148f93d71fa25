"""The round trip, as far as the API writes today: a clinic's patients created over the
API (no file) export the same as the same patients imported with ``import_clinic``. The
clinic, its practitioners and lists come from a file without patients: the API does not
write them yet (docs/api.md, "Not yet")."""

from __future__ import annotations

import copy

import pytest
from django.db import transaction

from booking.models import AppointmentType
from clinics.exchange import export_clinic, import_clinic
from clinics.models import Clinic, Patient, PatientList
from fhirapi.mapping import identifiers
from fhirapi.mapping.practitioner import ROLE_SYSTEM
from fhirapi.mapping.schedule import TEMPLATE
from fhirapi.mapping.slot import APPOINTMENT_TYPE_SYSTEM
from tests import factories

from .conftest import Api, register_client, token_for

pytestmark = pytest.mark.django_db


def document():
    return {
        "format": "eportal-clinic/1",
        "clinic": {"ep_ident": "RT", "name": "Rundtur legekontor"},
        "practitioners": [
            {"key": "p1", "name": "Kari Nordmann", "hpr": "9100001", "eportal_enabled": True},
            {"key": "p2", "name": "Per Hansen", "eportal_enabled": True},
        ],
        "patient_lists": [
            {"key": "l1", "name": "Liste Nordmann", "gp": "p1"},
            {"key": "l2", "name": "Liste Hansen", "gp": "p2"},
        ],
        "patients": [
            {"national_id": factories.national_id(), "name": "Anna A", "mobile": "+4741234567",
             "journal_active": True, "patient_list": "l1"},
            {"national_id": factories.national_id("dnr"), "name": "Bjørn B", "mobile": None,
             "journal_active": True, "patient_list": "l2"},
            {"national_id": factories.national_id(), "name": "Cecilie C", "mobile": "+4790011223",
             "journal_active": False, "patient_list": None},
        ],
    }  # fmt: skip


def as_fhir(row, gp_ids):
    kind = "dnr" if int(row["national_id"][:2]) > 40 else "fnr"
    resource = {
        "resourceType": "Patient",
        "identifier": [
            {"system": identifiers.DNR if kind == "dnr" else identifiers.FNR,
             "value": row["national_id"]}
        ],
        "name": [{"text": row["name"]}],
        "active": row["journal_active"],
    }  # fmt: skip
    if row["mobile"]:
        resource["telecom"] = [{"system": "phone", "use": "mobile", "value": row["mobile"]}]
    if row["patient_list"]:
        resource["generalPractitioner"] = [
            {"reference": f"Practitioner/{gp_ids[row['patient_list']]}"}
        ]
    return resource


def test_patients_over_the_api_export_as_the_file_import(db):
    data = document()
    with transaction.atomic():
        sid = transaction.savepoint()
        import_clinic(copy.deepcopy(data))
        expected = export_clinic(Clinic.objects.get(ep_ident="RT"))
        transaction.savepoint_rollback(sid)
    assert not Clinic.objects.exists()

    import_clinic(dict(copy.deepcopy(data), patients=[]))
    clinic = Clinic.objects.get(ep_ident="RT")
    api = Api(token_for(register_client(clinic)))
    gp_ids = {pl.key: pl.gp_id for pl in clinic.patient_lists.all()}
    for row in data["patients"]:
        response = api.post("Patient", as_fhir(row, gp_ids))
        assert response.status_code == 201, response.content
    assert Patient.objects.filter(clinic=clinic).count() == 3
    assert export_clinic(clinic) == expected


def whole_document():
    """The sample clinic with practitioners of several roles, lists, patients, appointment
    types and two practitioners' templates."""
    data = document()
    data["practitioners"].append(
        {"key": "p3", "name": "Siv Sykepleier", "role": "nurse", "eportal_enabled": False}
    )
    data["appointment_types"] = [
        {"key": "ep", "name": "ePortal", "minutes": 20, "colour": "#0d6efd", "online": True},
        {"key": "int", "name": "Intern", "minutes": 30, "colour": "#1a7f37", "online": False},
    ]
    data["schedule_templates"] = [
        {"practitioner": "p1", "valid_from": "2026-01-05", "valid_to": "2026-06-30", "rules": [
            {"weekday": 1, "start": "08:00", "end": "11:00", "slot_minutes": 20,
             "appointment_type": "ep"},
            {"weekday": 3, "start": "12:00", "end": "15:30", "slot_minutes": 30,
             "appointment_type": "int"}]},
        {"practitioner": "p1", "valid_from": "2026-07-01", "valid_to": None, "rules": [
            {"weekday": 2, "start": "09:00", "end": "12:00", "slot_minutes": 20,
             "appointment_type": "ep"}]},
        {"practitioner": "p2", "valid_from": "2026-01-05", "valid_to": None, "rules": []},
    ]  # fmt: skip
    return data


def _template_extension(row):
    parts = [{"url": "validFrom", "valueDate": row["valid_from"]}]
    if row["valid_to"]:
        parts.append({"url": "validTo", "valueDate": row["valid_to"]})
    for r in row["rules"]:
        parts.append({"url": "rule", "extension": [
            {"url": "weekday", "valueInteger": r["weekday"]},
            {"url": "start", "valueTime": r["start"] + ":00"},
            {"url": "end", "valueTime": r["end"] + ":00"},
            {"url": "slotMinutes", "valueInteger": r["slot_minutes"]},
            {"url": "appointmentType",
             "valueCoding": {"system": APPOINTMENT_TYPE_SYSTEM, "code": r["appointment_type"]}},
        ]})  # fmt: skip
    return {"url": TEMPLATE, "extension": parts}


def test_a_clinic_over_the_api_exports_as_the_file_import(db):
    """Practitioners, their roles, patients and schedules over the API only. What the API
    does not write is made as the clinic's administrator makes it in the admin: the clinic
    itself, its appointment types and its patient lists (no FHIR resource here). Nothing
    is normalised: clinic B is made with clinic A's identity, after A is rolled back."""
    data = whole_document()
    with transaction.atomic():
        sid = transaction.savepoint()
        import_clinic(copy.deepcopy(data))
        expected = export_clinic(Clinic.objects.get(ep_ident="RT"))
        transaction.savepoint_rollback(sid)
    assert not Clinic.objects.exists()
    assert expected["schedule_templates"] and expected["appointment_types"]

    # The admin's part.
    clinic = Clinic.objects.create(ep_ident="RT", name="Rundtur legekontor")
    for row in data["appointment_types"]:
        AppointmentType.objects.create(clinic=clinic, **row)
    api = Api(token_for(register_client(clinic)))

    ids = {}
    for row in data["practitioners"]:
        found = [{"system": identifiers.PRACTITIONER_KEY, "value": row["key"]}]
        if row.get("hpr"):
            found.insert(0, {"system": identifiers.HPR, "value": row["hpr"]})
        made = api.post("Practitioner", {"resourceType": "Practitioner", "identifier": found,
                                         "name": [{"text": row["name"]}]})  # fmt: skip
        assert made.status_code == 201, made.content
        ids[row["key"]] = int(made.fhir["id"])
        role = api.get(f"PractitionerRole/{made.fhir['id']}")
        body = dict(role.fhir, active=row["eportal_enabled"])
        body.pop("meta")
        body["code"] = [{"coding": [{"system": ROLE_SYSTEM, "code": row.get("role", "gp")}]}]
        put = api.put(f"PractitionerRole/{made.fhir['id']}", body, **{"If-Match": role["ETag"]})
        assert put.status_code == 200, put.content

    for row in data["patient_lists"]:  # the admin's part
        PatientList.objects.create(
            clinic=clinic, key=row["key"], name=row["name"], gp_id=ids[row["gp"]]
        )
    gp_ids = {row["key"]: ids[row["gp"]] for row in data["patient_lists"]}
    for row in data["patients"]:
        assert api.post("Patient", as_fhir(row, gp_ids)).status_code == 201

    for key, pk in ids.items():
        rows = [t for t in data["schedule_templates"] if t["practitioner"] == key]
        read = api.get(f"Schedule/{pk}")
        body = dict(read.fhir)
        body.pop("meta")
        if rows:
            body["extension"] = [_template_extension(t) for t in rows]
        put = api.put(f"Schedule/{pk}", body, **{"If-Match": read["ETag"]})
        assert put.status_code == 200, put.content

    assert export_clinic(clinic) == expected
