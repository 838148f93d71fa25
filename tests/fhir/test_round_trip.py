"""The round trip: a clinic built over the API exports the same as the same clinic
imported from a file with ``import_clinic``. The first tests build part of it over the API
(the rest from a file or as the admin makes it); the last builds the whole clinic, every
section of the exchange format, with API calls only."""

from __future__ import annotations

import copy

import pytest
from django.db import transaction

from booking.models import AppointmentType
from clinics.exchange import export_clinic, import_clinic
from clinics.models import Clinic, Patient, PatientList
from fhirapi.mapping import consent as cm
from fhirapi.mapping import identifiers
from fhirapi.mapping.patient import CONFIDENTIAL_ADDRESS
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
    if row.get("confidential_address"):
        resource["extension"] = [{"url": CONFIDENTIAL_ADDRESS, "valueBoolean": True}]
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


def full_document():
    """The whole sample: the clinic's own fields, medications, a parent and child, a
    patient with a confidential address, powers of attorney (from the journal, given in the
    portal, with and without an end) and a service matrix that is not the standard package
    (booking ticked for a list, urgent for patients without a GP, eConsultation configured
    with nobody, renewal the standard package)."""
    data = whole_document()
    data["clinic"].update(
        address="Storgata 1, 0155 Oslo",
        phone="+4722000000",
        website="https://rt.example.no/",
        login_methods=["bankid"],
    )
    data["patients"][0]["medications"] = [
        {
            "key": "m1",
            "name": "Levaxin",
            "strength": "50 mikrog",
            "form": "tablett",
            "atc": "H03AA01",
            "group": "C",
            "last_prescribed": "2026-10-01",
            "runs_out": "2027-01-31",
        },
        {
            "key": "m2",
            "name": "Paralgin forte",
            "strength": None,
            "form": None,
            "atc": "N02AJ06",
            "group": "B",
            "last_prescribed": None,
            "runs_out": None,
        },
    ]
    data["patients"].append(
        {
            "national_id": factories.national_id(year=2016),
            "name": "Dina D",
            "mobile": None,
            "journal_active": True,
            "patient_list": "l1",
        }
    )
    data["patients"].append(
        {
            "national_id": factories.national_id(year=1990),
            "name": "Eva E",
            "mobile": "+4790055667",
            "journal_active": True,
            "patient_list": "l2",
            "confidential_address": True,
        }
    )
    parent, child, holder, other = (data["patients"][i]["national_id"] for i in (0, 3, 1, 2))
    data["parent_child"] = [
        {"parent": parent, "child": child, "same_address": True, "parental_responsibility": True}
    ]
    data["service_matrix"] = [
        {"service": "booking", "patient_list": "l1", "practitioners": ["p1", "p2"]},
        {"service": "urgent", "patient_list": None, "practitioners": ["p2"]},
        {"service": "econsult", "patient_list": None, "practitioners": []},
    ]
    data["powers_of_attorney"] = [
        {
            "giver": parent,
            "holder": holder,
            "valid_from": "2026-01-01",
            "valid_to": None,
            "services": ["booking"],
            "source": "import",
        },
        {
            "giver": holder,
            "holder": other,
            "valid_from": "2026-03-01",
            "valid_to": "2027-06-30",
            "services": ["econsult", "renewal"],
            "source": "portal",
        },
    ]
    return data


def test_a_whole_clinic_over_the_api_only_exports_as_the_file_import(db):
    """Clinic B is made with API calls only, after the one thing an administrator does:
    registering the record system, which needs the clinic row (its EP identifier). Its
    whole export equals clinic A's (the file imported): nothing left out, nothing
    normalised."""
    from fhirapi.mapping import group as group_map
    from fhirapi.mapping import healthcare_service as hs
    from fhirapi.mapping import medication as med
    from fhirapi.mapping import organization as org
    from fhirapi.mapping import related_person as rp

    data = full_document()
    with transaction.atomic():
        sid = transaction.savepoint()
        import_clinic(copy.deepcopy(data))
        expected = export_clinic(Clinic.objects.get(ep_ident="RT"))
        transaction.savepoint_rollback(sid)
    assert not Clinic.objects.exists()
    assert all(expected[k] for k in ("parent_child", "service_matrix", "powers_of_attorney"))
    assert any(p.get("confidential_address") for p in expected["patients"])
    # The export orders patients by identity number, which the factories' counter makes.
    exported = {row["national_id"]: row for row in expected["patients"]}
    assert exported[data["patients"][0]["national_id"]]["medications"]

    clinic = Clinic.objects.create(ep_ident="RT", name="(registered)")  # the admin's part
    api = Api(token_for(register_client(clinic)))

    def put(path, change):
        read = api.get(path)
        body = dict(read.fhir)
        body.pop("meta")
        change(body)
        response = api.put(path, body, **{"If-Match": read["ETag"]})
        assert response.status_code == 200, response.content

    c = data["clinic"]

    def organization(body):
        body.update(name=c["name"], address=[{"text": c["address"]}], active=True)
        body["telecom"] = [
            {"system": "phone", "value": c["phone"]},
            {"system": "url", "value": c["website"]},
        ]
        body["extension"] = [
            {
                "url": org.LOGIN_METHODS,
                "extension": [
                    {"url": m, "valueBoolean": m in c["login_methods"]} for m in ("bankid", "sms")
                ],
            }
        ]

    put(f"Organization/{clinic.pk}", organization)

    for row in data["appointment_types"]:
        made = api.post(
            "HealthcareService",
            {
                "resourceType": "HealthcareService",
                "name": row["name"],
                "identifier": [{"system": APPOINTMENT_TYPE_SYSTEM, "value": row["key"]}],
                "extension": [
                    {"url": hs.MINUTES, "valueDuration": {"value": row["minutes"], "code": "min"}},
                    {"url": hs.COLOUR, "valueString": row["colour"]},
                    {"url": hs.ONLINE, "valueBoolean": row["online"]},
                ],
            },
        )
        assert made.status_code == 201, made.content

    ids = {}
    for row in data["practitioners"]:
        found = [{"system": identifiers.PRACTITIONER_KEY, "value": row["key"]}]
        if row.get("hpr"):
            found.insert(0, {"system": identifiers.HPR, "value": row["hpr"]})
        made = api.post(
            "Practitioner",
            {"resourceType": "Practitioner", "identifier": found, "name": [{"text": row["name"]}]},
        )
        assert made.status_code == 201, made.content
        ids[row["key"]] = int(made.fhir["id"])

        def role(body, row=row):
            body["active"] = row["eportal_enabled"]
            body["code"] = [{"coding": [{"system": ROLE_SYSTEM, "code": row.get("role", "gp")}]}]

        put(f"PractitionerRole/{made.fhir['id']}", role)

    list_ids = {}
    for row in data["patient_lists"]:
        made = api.post(
            "Group",
            {
                "resourceType": "Group",
                "type": "person",
                "actual": True,
                "name": row["name"],
                "identifier": [{"system": group_map.LIST_KEY, "value": row["key"]}],
                "managingEntity": {"reference": f"Practitioner/{ids[row['gp']]}"},
            },
        )
        assert made.status_code == 201, made.content
        list_ids[row["key"]] = made.fhir["id"]

    gp_ids = {row["key"]: ids[row["gp"]] for row in data["patient_lists"]}
    patient_ids = {}
    for row in data["patients"]:
        made = api.post("Patient", as_fhir(row, gp_ids))
        assert made.status_code == 201, made.content
        patient_ids[row["national_id"]] = made.fhir["id"]
        for m in row.get("medications", []):
            extension = [
                {"url": url, f"value{kind}": m[name]}
                for url, name, kind in (
                    (med.STRENGTH, "strength", "String"),
                    (med.FORM, "form", "String"),
                    (med.LAST_PRESCRIBED, "last_prescribed", "Date"),
                    (med.RUNS_OUT, "runs_out", "Date"),
                )
                if m[name]
            ]
            body = {
                "resourceType": "MedicationStatement",
                "status": "active",
                "identifier": [{"system": med.MEDICATION_KEY, "value": m["key"]}],
                "subject": {"reference": f"Patient/{made.fhir['id']}"},
                "medicationCodeableConcept": {
                    "text": m["name"],
                    "coding": [{"system": med.ATC, "code": m["atc"]}],
                },
                "category": {"coding": [{"system": med.GROUP, "code": m["group"]}]},
            }
            if extension:
                body["extension"] = extension
            assert api.post("MedicationStatement", body).status_code == 201

    for link in data["parent_child"]:
        made = api.post(
            "RelatedPerson",
            {
                "resourceType": "RelatedPerson",
                "patient": {"reference": f"Patient/{patient_ids[link['child']]}"},
                "relationship": [{"coding": [{"system": rp.ROLE_CODE, "code": "PRN"}]}],
                "extension": [
                    {
                        "url": rp.PARENT_PATIENT,
                        "valueReference": {"reference": f"Patient/{patient_ids[link['parent']]}"},
                    },
                    {"url": rp.SAME_ADDRESS, "valueBoolean": link["same_address"]},
                    {"url": rp.RESPONSIBILITY, "valueBoolean": link["parental_responsibility"]},
                ],
            },
        )
        assert made.status_code == 201, made.content

    for key, pk in ids.items():
        rows = [t for t in data["schedule_templates"] if t["practitioner"] == key]
        if rows:
            put(
                f"Schedule/{pk}",
                lambda b, rows=rows: b.update(extension=[_template_extension(t) for t in rows]),
            )

    for a in data["powers_of_attorney"]:
        period = {"start": a["valid_from"]}
        if a["valid_to"]:
            period["end"] = a["valid_to"]
        made = api.post(
            "Consent",
            {
                "resourceType": "Consent",
                "status": "active",
                "extension": [{"url": cm.SOURCE, "valueCode": a["source"]}],
                "scope": {"coding": [{"system": cm.SCOPE, "code": "patient-privacy"}]},
                "category": [{"coding": [{"system": cm.LOINC, "code": "59284-0"}]}],
                "patient": {"reference": f"Patient/{patient_ids[a['giver']]}"},
                "provision": {
                    "period": period,
                    "actor": [
                        {
                            "role": {"coding": [{"system": cm.ROLE_CODE, "code": "POWATT"}]},
                            "reference": {"reference": f"Patient/{patient_ids[a['holder']]}"},
                        }
                    ],
                    "action": [
                        {"coding": [{"system": cm.SERVICE, "code": s}]} for s in a["services"]
                    ],
                },
            },
        )
        assert made.status_code == 201, made.content

    services = {}
    for row in data["service_matrix"]:
        head = (
            {"name": "patientList", "valueReference": {"reference": f"Group/{list_ids[key]}"}}
            if (key := row["patient_list"])
            else {"name": "noGp", "valueBoolean": True}
        )
        practitioners = [
            {"name": "practitioner", "valueReference": {"reference": f"Practitioner/{ids[k]}"}}
            for k in row["practitioners"]
        ]
        services.setdefault(row["service"], []).append(
            {"name": "row", "part": [head, *practitioners]}
        )
    matrix = api.post(
        "$service-matrix",
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "service", "part": [{"name": "code", "valueCode": code}, *rows]}
                for code, rows in services.items()
            ],
        },
    )
    assert matrix.status_code == 200, matrix.content

    clinic.refresh_from_db()
    assert export_clinic(clinic) == expected
