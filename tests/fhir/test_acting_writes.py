"""Acting for others over the API: a patient's confidential address (an extension on
Patient) and powers of attorney (Consent). Checked by the import's row check (ages on
valid_from, confidential address, same clinic), written by clinics.services as the import
writes them, versioned (If-Match), audited, ended and never deleted, and another clinic's
ids are 404 for every method."""

from __future__ import annotations

import pytest

from clinics.models import AuditEvent, Patient, PowerOfAttorney
from fhirapi.mapping import consent as cm
from fhirapi.mapping import identifiers
from fhirapi.mapping.patient import CONFIDENTIAL_ADDRESS
from tests import factories

from .conftest import Api, token_for

pytestmark = pytest.mark.django_db


def put(api, path, change):
    read = api.get(path)
    body = dict(read.fhir)
    body.pop("meta")
    change(body)
    return api.put(path, body, **{"If-Match": read["ETag"]})


def consent(giver, holder, *, start="2026-01-01", end=None, services=("booking",), **extra):
    period = {"start": start}
    if end:
        period["end"] = end
    body = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"system": cm.SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": cm.LOINC, "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{giver.pk}"},
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [
                {
                    "role": {"coding": [{"system": cm.ROLE_CODE, "code": "POWATT"}]},
                    "reference": {"reference": f"Patient/{holder.pk}"},
                }
            ],
            "action": [{"coding": [{"system": cm.SERVICE, "code": s}]} for s in services],
        },
    }
    body.update(extra)
    return body


@pytest.fixture
def pair(world):
    giver = factories.make_patient(world.clinic, national_id=factories.national_id(year=1970))
    holder = factories.make_patient(world.clinic, national_id=factories.national_id(year=1975))
    return giver, holder


def test_confidential_address_is_an_extension_served_only_when_true(world):
    api = world.api
    read = api.get(f"Patient/{world.patient.pk}")
    assert "extension" not in read.fhir
    response = put(
        api,
        f"Patient/{world.patient.pk}",
        lambda b: b.update(extension=[{"url": CONFIDENTIAL_ADDRESS, "valueBoolean": True}]),
    )
    assert response.status_code == 200, response.content
    assert response.fhir["extension"] == [{"url": CONFIDENTIAL_ADDRESS, "valueBoolean": True}]
    assert Patient.objects.get(pk=world.patient.pk).confidential_address is True
    # Left out: none (as the file's default), and it is served without the extension.
    response = put(api, f"Patient/{world.patient.pk}", lambda b: b.pop("extension"))
    assert response.status_code == 200
    assert "extension" not in response.fhir
    assert Patient.objects.get(pk=world.patient.pk).confidential_address is False
    made = api.post(
        "Patient",
        {
            "resourceType": "Patient",
            "identifier": [{"system": identifiers.FNR, "value": factories.national_id()}],
            "name": [{"text": "Sperret Adresse"}],
            "extension": [{"url": CONFIDENTIAL_ADDRESS, "valueBoolean": True}],
        },
    )
    assert made.status_code == 201, made.content
    assert Patient.objects.get(pk=made.fhir["id"]).confidential_address is True
    bad = api.post(
        "Patient",
        {
            "resourceType": "Patient",
            "identifier": [{"system": identifiers.FNR, "value": factories.national_id()}],
            "name": [{"text": "X"}],
            "extension": [{"url": CONFIDENTIAL_ADDRESS, "valueString": "ja"}],
        },
    )
    assert bad.status_code == 422
    assert bad.fhir["issue"][0]["expression"] == ["Patient.extension[0]"]


def test_give_read_search_change_and_end_a_power_of_attorney(world, pair):
    api, (giver, holder) = world.api, pair
    made = api.post(
        "Consent", consent(giver, holder, end="2027-12-31", services=("booking", "renewal"))
    )
    assert made.status_code == 201, made.content
    attorney = PowerOfAttorney.objects.get(giver=giver, holder=holder)
    assert (attorney.source, attorney.services, str(attorney.valid_to)) == (
        "import",
        ("booking", "renewal"),
        "2027-12-31",
    )
    assert made.fhir["status"] == "active"
    assert made.fhir["provision"]["actor"][0]["reference"] == {"reference": f"Patient/{holder.pk}"}
    assert made["ETag"] == f'W/"{made.fhir["meta"]["versionId"]}"'
    # One open per giver and holder.
    assert api.post("Consent", consent(giver, holder)).status_code == 409
    assert api.get(f"Consent?patient=Patient/{giver.pk}").fhir["total"] == 1
    assert api.get(f"Consent?actor=Patient/{holder.pk}&status=active").fhir["total"] == 1
    assert api.get(f"Consent?actor=Patient/{giver.pk}").fhir["total"] == 0

    def change(body):
        body["provision"]["action"] = [{"coding": [{"system": cm.SERVICE, "code": "econsult"}]}]
        body["extension"] = [{"url": cm.SOURCE, "valueCode": "portal"}]

    response = put(api, f"Consent/{attorney.pk}", change)
    assert response.status_code == 200, response.content
    attorney.refresh_from_db()
    assert (attorney.services, attorney.source) == (("econsult",), "portal")
    stale = api.put(f"Consent/{attorney.pk}", dict(made.fhir), **{"If-Match": made["ETag"]})
    assert stale.status_code == 412
    no_version = dict(response.fhir)
    assert api.put(f"Consent/{attorney.pk}", no_version).status_code == 428

    # PUT with status inactive ends it; it is kept and still read, as inactive.
    response = put(api, f"Consent/{attorney.pk}", lambda b: b.update(status="inactive"))
    assert response.status_code == 200, response.content
    assert response.fhir["status"] == "inactive"
    attorney.refresh_from_db()
    assert attorney.ended_at is not None and attorney.ended_by is None
    again = put(api, f"Consent/{attorney.pk}", lambda b: b.update(status="active"))
    assert again.status_code == 409
    assert api.get(f"Consent?patient=Patient/{giver.pk}&status=inactive").fhir["total"] == 1

    # A new one for the same pair, ended by DELETE: kept, never deleted.
    made = api.post("Consent", consent(giver, holder))
    assert made.status_code == 201, made.content
    ended = api.call("DELETE", f"/fhir/r4/Consent/{made.fhir['id']}")
    assert ended.status_code == 200
    assert ended.fhir["status"] == "inactive"
    assert PowerOfAttorney.objects.filter(giver=giver, holder=holder).count() == 2
    assert not PowerOfAttorney.objects.filter(giver=giver, ended_at__isnull=True).exists()
    actions = set(
        AuditEvent.objects.filter(clinic=world.clinic, action__startswith="fhir.").values_list(
            "action", flat=True
        )
    )
    assert {"fhir.create", "fhir.update", "fhir.read", "fhir.search"} <= actions


def test_the_import_rules_at_their_place(world, pair):
    api, (giver, holder) = world.api, pair
    child = factories.make_patient(world.clinic, national_id=factories.national_id(year=2014))
    young = factories.make_patient(world.clinic, national_id=factories.national_id(year=2010))

    def refused(body, place):
        response = api.post("Consent", body)
        assert response.status_code == 422, response.content
        assert place in [e for i in response.fhir["issue"] for e in i.get("expression", [])]

    refused(consent(child, holder), "Consent.patient")  # the giver under 16
    refused(consent(giver, young), "Consent.provision.actor[0].reference")  # the holder under 18
    refused(consent(giver, giver), "Consent.provision.actor[0].reference")  # themselves
    refused(consent(giver, holder, end="2025-01-01"), "Consent.provision.period.end")
    refused(consent(giver, holder, start="2026-01-01T10:00:00Z"), "Consent.provision.period.start")
    refused(consent(giver, holder, services=("booking", "urgent")), "Consent.provision.action[1]")
    refused(consent(giver, holder, services=()), "Consent.provision.action")
    refused(
        consent(giver, holder, extension=[{"url": cm.SOURCE, "valueCode": "fax"}]),
        f"Consent.extension('{cm.SOURCE}')",
    )
    refused(consent(giver, holder, status="inactive"), "Consent.status")
    refused(consent(giver, holder, status="draft"), "Consent.status")
    Patient.objects.filter(pk=holder.pk).update(confidential_address=True)
    refused(consent(giver, holder), "Consent.provision.actor[0].reference")
    elsewhere = factories.make_patient(
        factories.make_clinic(), national_id=factories.national_id(year=1970)
    )
    refused(consent(elsewhere, giver), "Consent.patient")  # same clinic only
    # Not valid FHIR: 400 with the place.
    bad = api.post("Consent", dict(consent(giver, holder), status=3))
    assert bad.status_code == 400
    assert not PowerOfAttorney.objects.exists()


def test_another_clinics_powers_of_attorney_are_404_for_every_method(world, other):
    giver = factories.make_patient(other.clinic, national_id=factories.national_id(year=1970))
    holder = factories.make_patient(other.clinic, national_id=factories.national_id(year=1975))
    import datetime

    attorney = PowerOfAttorney.objects.create(
        giver=giver,
        holder=holder,
        valid_from=datetime.date(2026, 1, 1),
        covers_booking=True,
        source="import",
    )
    for method in ("GET", "PUT", "DELETE"):
        body = consent(giver, holder) | {"id": str(attorney.pk)} if method == "PUT" else None
        response = world.api.call(
            method, f"/fhir/r4/Consent/{attorney.pk}", body, **{"If-Match": 'W/"1"'}
        )
        assert response.status_code == 404, (method, response.content)
    assert world.api.get(f"Consent?_id={attorney.pk}").fhir["total"] == 0
    assert world.api.get(f"Consent?patient=Patient/{giver.pk}").fhir["total"] == 0
    attorney.refresh_from_db()
    assert attorney.ended_at is None


def test_consent_scopes(world, pair):
    giver, holder = pair
    reader = Api(token_for(world.api_client, ["system/Consent.read"]))
    assert reader.get("Consent").status_code == 200
    assert reader.post("Consent", consent(giver, holder)).status_code == 403
    writer = Api(token_for(world.api_client, ["system/Patient.read"]))
    assert writer.get("Consent").status_code == 403
    statement = world.api.get("metadata").fhir["rest"][0]["resource"]
    entry = next(r for r in statement if r["type"] == "Consent")
    assert [i["code"] for i in entry["interaction"]] == [
        "read", "search-type", "create", "update", "delete"
    ]  # fmt: skip
