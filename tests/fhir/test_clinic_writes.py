"""The clinic's own rows over the API: Organization (the client's clinic: read, update),
Group (patient lists), HealthcareService (appointment types), MedicationStatement and
RelatedPerson (parent-child links). Checked by the file import's validators (errors at
their place), written by the owning apps' services, versioned (If-Match), audited, and
another clinic's ids are 404 for every method."""

from __future__ import annotations

import pytest

from booking.models import AppointmentType
from clinics.models import AuditEvent, Clinic, Medication, ParentChild, PatientList
from fhirapi.mapping import healthcare_service as hs
from fhirapi.mapping import medication as med
from fhirapi.mapping import related_person as rp
from fhirapi.mapping.group import LIST_KEY
from fhirapi.mapping.organization import LOGIN_METHODS
from tests import factories

from .conftest import Api, token_for

pytestmark = pytest.mark.django_db
NO_BASIS = "http://hl7.no/fhir/StructureDefinition/no-basis-"


def put(api, path, change):
    read = api.get(path)
    body = dict(read.fhir)
    body.pop("meta")
    change(body)
    return api.put(path, body, **{"If-Match": read["ETag"]})


def test_organization_is_the_clients_clinic(world, other):
    api, clinic = world.api, world.clinic
    read = api.get(f"Organization/{clinic.pk}")
    assert read.status_code == 200
    assert read.fhir["meta"]["profile"] == [NO_BASIS + "Organization"]
    assert read.fhir["identifier"] == [{"system": "urn:eportal:ep-ident", "value": clinic.ep_ident}]
    assert api.get("Organization").fhir["total"] == 1
    assert api.post("Organization", {"resourceType": "Organization"}).status_code == 405

    def change(body):
        body.update(name="Nytt navn legekontor", address=[{"text": "Storgata 2, 0155 Oslo"}])
        body["telecom"] = [
            {"system": "phone", "value": "+4722110000"},
            {"system": "url", "value": "https://ny.example.no/"},
        ]
        body["extension"] = [
            {
                "url": LOGIN_METHODS,
                "extension": [
                    {"url": "bankid", "valueBoolean": True},
                    {"url": "sms", "valueBoolean": False},
                ],
            }
        ]

    response = put(api, f"Organization/{clinic.pk}", change)
    assert response.status_code == 200, response.content
    clinic = Clinic.objects.get(pk=clinic.pk)
    assert (clinic.name, clinic.address, clinic.phone, clinic.website) == (
        "Nytt navn legekontor",
        "Storgata 2, 0155 Oslo",
        "+4722110000",
        "https://ny.example.no/",
    )
    assert clinic.login_methods == ["bankid"]
    # The EP identifier stays, and a bad website is refused at its place.
    bad = put(api, f"Organization/{clinic.pk}", lambda b: b["identifier"][0].update(value="X"))
    assert bad.status_code == 422
    assert bad.fhir["issue"][0]["expression"] == ["Organization.identifier[0].value"]
    bad = put(api, f"Organization/{clinic.pk}", lambda b: b["telecom"][1].update(value="nope"))
    assert bad.status_code == 422
    assert bad.fhir["issue"][0]["expression"] == ["Organization.telecom[1].value"]
    stale = api.put(f"Organization/{clinic.pk}", dict(read.fhir), **{"If-Match": read["ETag"]})
    assert stale.status_code == 412
    assert AuditEvent.objects.filter(action="fhir.update", clinic=clinic).exists()


def test_group_patient_lists(world):
    api = world.api
    body = {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "name": "Liste Ny",
        "identifier": [{"system": LIST_KEY, "value": "l-ny"}],
        "managingEntity": {"reference": f"Practitioner/{world.gp.pk}"},
    }
    made = api.post("Group", body)
    assert made.status_code == 201, made.content
    made_list = PatientList.objects.get(clinic=world.clinic, key="l-ny")
    assert made_list.gp_id == world.gp.pk
    assert api.post("Group", body).status_code == 409
    found = api.get(f"Group?managing-entity=Practitioner/{world.gp.pk}&identifier=l-ny").fhir
    assert found["total"] == 1
    response = put(api, f"Group/{made_list.pk}", lambda b: b.update(name="Liste Omdøpt"))
    assert response.status_code == 200
    assert PatientList.objects.get(pk=made_list.pk).name == "Liste Omdøpt"
    bad = api.post("Group", dict(body, identifier=[{"system": LIST_KEY, "value": "ø ø"}]))
    assert bad.status_code == 422
    assert bad.fhir["issue"][0]["expression"] == ["Group.identifier"]
    elsewhere = factories.make_practitioner(factories.make_clinic())
    bad = api.post(
        "Group", dict(body, managingEntity={"reference": f"Practitioner/{elsewhere.pk}"})
    )
    assert bad.status_code == 422


def test_healthcare_service_appointment_types(world):
    api = world.api
    body = {
        "resourceType": "HealthcareService",
        "name": "Lang time",
        "identifier": [{"system": "urn:eportal:appointment-type", "value": "lang"}],
        "extension": [
            {"url": hs.MINUTES, "valueDuration": {"value": 40, "code": "min"}},
            {"url": hs.ONLINE, "valueBoolean": True},
        ],
    }
    made = api.post("HealthcareService", body)
    assert made.status_code == 201, made.content
    assert made.fhir["meta"]["profile"] == [NO_BASIS + "HealthcareService"]
    kind = AppointmentType.objects.get(clinic=world.clinic, key="lang")
    assert (kind.minutes, kind.online, kind.colour) == (40, True, "#0d6efd")
    assert api.post("HealthcareService", body).status_code == 409
    bad = dict(body, extension=[{"url": hs.MINUTES, "valueDuration": {"value": 2}}])
    bad["identifier"] = [{"system": "urn:eportal:appointment-type", "value": "kort"}]
    response = api.post("HealthcareService", bad)
    assert response.status_code == 422
    assert response.fhir["issue"][0]["expression"] == [
        f"HealthcareService.extension('{hs.MINUTES}')"
    ]
    response = put(
        api,
        f"HealthcareService/{kind.pk}",
        lambda b: b["extension"][1].update(valueString="#1a7f37"),
    )
    assert response.status_code == 200, response.content
    assert AppointmentType.objects.get(pk=kind.pk).colour == "#1a7f37"


def test_medication_statements(world):
    api = world.api
    body = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "identifier": [{"system": med.MEDICATION_KEY, "value": "m1"}],
        "subject": {"reference": f"Patient/{world.patient.pk}"},
        "medicationCodeableConcept": {
            "text": "Levaxin",
            "coding": [{"system": med.ATC, "code": "H03AA01"}],
        },
        "category": {"coding": [{"system": med.GROUP, "code": "C"}]},
        "extension": [
            {"url": med.STRENGTH, "valueString": "50 mikrog"},
            {"url": med.RUNS_OUT, "valueDate": "2027-01-31"},
        ],
    }
    made = api.post("MedicationStatement", body)
    assert made.status_code == 201, made.content
    assert made.fhir["meta"]["profile"] == [NO_BASIS + "MedicationStatement"]
    row = Medication.objects.get(patient=world.patient, key="m1")
    assert (row.name, row.atc, row.strength, str(row.runs_out)) == (
        "Levaxin",
        "H03AA01",
        "50 mikrog",
        "2027-01-31",
    )
    found = api.get(f"MedicationStatement?patient=Patient/{world.patient.pk}").fhir
    assert found["total"] == 1
    bad = dict(
        body, medicationCodeableConcept={"text": "X", "coding": [{"system": med.ATC, "code": "h3"}]}
    )
    bad["identifier"] = [{"system": med.MEDICATION_KEY, "value": "m2"}]
    response = api.post("MedicationStatement", bad)
    assert response.status_code == 422
    assert response.fhir["issue"][0]["expression"] == [
        "MedicationStatement.medicationCodeableConcept.coding"
    ]
    response = put(api, f"MedicationStatement/{row.pk}", lambda b: b.update(status="stopped"))
    assert response.status_code == 200
    assert Medication.objects.get(pk=row.pk).current is False


def test_related_person_parent_child(world):
    api = world.api
    parent = factories.make_patient(world.clinic, national_id=factories.national_id(year=1970))
    child = factories.make_patient(world.clinic, national_id=factories.national_id(year=2018))
    body = {
        "resourceType": "RelatedPerson",
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": parent.national_id}],
        "patient": {"reference": f"Patient/{child.pk}"},
        "relationship": [{"coding": [{"system": rp.ROLE_CODE, "code": "MTH"}]}],
        "extension": [{"url": rp.RESPONSIBILITY, "valueBoolean": True}],
    }
    made = api.post("RelatedPerson", body)
    assert made.status_code == 201, made.content
    assert made.fhir["meta"]["profile"] == [NO_BASIS + "RelatedPerson"]
    link = ParentChild.objects.get(parent=parent, child=child)
    assert (link.parental_responsibility, link.same_address) == (True, False)
    assert api.post("RelatedPerson", body).status_code == 409
    # The child must be younger: the import's rule, at the child's place.
    backwards = dict(body, patient={"reference": f"Patient/{parent.pk}"})
    backwards["identifier"] = [
        {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": child.national_id}
    ]
    response = api.post("RelatedPerson", backwards)
    assert response.status_code == 422
    assert response.fhir["issue"][0]["expression"] == ["RelatedPerson.patient"]
    assert api.get(f"RelatedPerson?patient=Patient/{child.pk}").fhir["total"] == 1
    response = put(
        api, f"RelatedPerson/{link.pk}", lambda b: b["extension"][1].update(valueBoolean=True)
    )
    assert response.status_code == 200, response.content
    assert ParentChild.objects.get(pk=link.pk).same_address is True
    assert api.call("DELETE", f"/fhir/r4/RelatedPerson/{link.pk}").status_code == 204
    assert not ParentChild.objects.filter(pk=link.pk).exists()


def test_another_clinics_rows_are_404_for_every_method(world, other):
    parent = factories.make_patient(other.clinic, national_id=factories.national_id(year=1970))
    link = ParentChild.objects.create(parent=parent, child=other.patient)
    medication = Medication.objects.create(patient=other.patient, key="m", name="X")
    kind = AppointmentType.objects.filter(clinic=other.clinic).first()
    plist = PatientList.objects.create(clinic=other.clinic, key="lx", name="Liste X")
    ids = {
        "Organization": other.clinic.pk,
        "Group": plist.pk,
        "HealthcareService": kind.pk,
        "MedicationStatement": medication.pk,
        "RelatedPerson": link.pk,
    }
    for resource, pk in ids.items():
        for method in ("GET", "PUT", "DELETE") if resource == "RelatedPerson" else ("GET", "PUT"):
            body = {"resourceType": resource, "id": str(pk)} if method == "PUT" else None
            response = world.api.call(
                method, f"/fhir/r4/{resource}/{pk}", body, **{"If-Match": 'W/"1"'}
            )
            assert response.status_code == 404, (method, resource, response.content)
        assert world.api.get(f"{resource}?_id={pk}").fhir["total"] == 0
    assert ParentChild.objects.filter(pk=link.pk).exists()


def test_scopes_per_type(world):
    reader = Api(token_for(world.api_client, ["system/Group.read"]))
    assert reader.get("Group").status_code == 200
    assert reader.get("MedicationStatement").status_code == 403
    assert reader.post("Group", {"resourceType": "Group"}).status_code == 403
