"""The service matrix over the API (``$service-matrix``): read and replaced whole, as the
file's section; the standard package (a service not given) stays apart from "configured
with nobody"; checked by the import's check of the section, each error at its place;
written by delegation's service_matrix_save; scoped, audited, one clinic's only."""

from __future__ import annotations

import pytest

from clinics.models import AuditEvent
from delegation.models import MatrixCell, Service, ServiceMatrix
from delegation.selectors import matrix_state, practitioners_for
from delegation.services import service_matrix_save
from tests import factories

from .conftest import Api, token_for

pytestmark = pytest.mark.django_db
URL = "$service-matrix"


def service(code, *rows):
    return {"name": "service", "part": [{"name": "code", "valueCode": code}, *rows]}


def row(list_id, *practitioner_ids):
    head = (
        {"name": "patientList", "valueReference": {"reference": f"Group/{list_id}"}}
        if list_id is not None
        else {"name": "noGp", "valueBoolean": True}
    )
    return {
        "name": "row",
        "part": [
            head,
            *(
                {"name": "practitioner", "valueReference": {"reference": f"Practitioner/{p}"}}
                for p in practitioner_ids
            ),
        ],
    }


def parameters(*services):
    return {"resourceType": "Parameters", "parameter": list(services)}


def test_read_and_replace_the_whole_matrix(world):
    api, gp, plist = world.api, world.gp, world.patient.patient_list
    locum = factories.make_practitioner(world.clinic, eportal_enabled=True)
    assert api.get(URL).fhir == {"resourceType": "Parameters"}  # the standard package

    body = parameters(service("booking", row(plist.pk, gp.pk, locum.pk)), service("econsult"))
    response = api.post(URL, body)
    assert response.status_code == 200, response.content
    assert {m.service for m in ServiceMatrix.objects.filter(clinic=world.clinic)} == {
        "booking",
        "econsult",
    }
    assert set(matrix_state(world.clinic, "booking").stored) == {
        (plist.pk, gp.pk),
        (plist.pk, locum.pk),
    }
    assert matrix_state(world.clinic, "econsult").stored == frozenset()  # nobody
    assert practitioners_for(world.patient, Service.ECONSULT) == []
    assert {p.pk for p in practitioners_for(world.patient, Service.BOOKING)} == {gp.pk, locum.pk}
    # Read back: every row of each configured service, the no-GP row last.
    read = api.get(URL).fhir
    assert read == response.fhir
    booking = read["parameter"][0]["part"]
    assert booking[0] == {"name": "code", "valueCode": "booking"}
    assert [p["name"] for p in booking[-1]["part"]] == ["noGp"]
    # Posting what was read changes nothing; leaving a service out puts it back.
    assert api.post(URL, read).fhir == read
    cells = MatrixCell.objects.count()
    assert api.post(URL, parameters(read["parameter"][0])).status_code == 200
    assert not ServiceMatrix.objects.filter(clinic=world.clinic, service="econsult").exists()
    assert MatrixCell.objects.count() == cells
    assert api.post(URL, {"resourceType": "Parameters"}).status_code == 200
    assert not ServiceMatrix.objects.filter(clinic=world.clinic).exists()
    assert practitioners_for(world.patient, Service.BOOKING) == [gp]  # own GP again
    events = AuditEvent.objects.filter(clinic=world.clinic, action="fhir.update")
    assert events.filter(actor_type="api", details__service="booking").exists()


def test_errors_at_their_place_and_nothing_stored(world, other):
    api, gp, plist = world.api, world.gp, world.patient.patient_list

    def refused(body, place):
        response = api.post(URL, body)
        assert response.status_code == 422, response.content
        assert place in [e for i in response.fhir["issue"] for e in i.get("expression", [])]

    refused(parameters(service("fax")), "Parameters.parameter[0].part[0].valueCode")
    refused(
        parameters(service("booking"), service("booking")),
        "Parameters.parameter[1].part[0].valueCode",
    )
    # Another clinic's practitioner and list are unknown here, as in a file.
    refused(
        parameters(service("booking", row(plist.pk, gp.pk, other.gp.pk))),
        "Parameters.parameter[0].part[1].part[2]",
    )
    refused(
        parameters(service("booking", row(other.patient.patient_list.pk, gp.pk))),
        "Parameters.parameter[0].part[1].part[0]",
    )
    refused(
        parameters(service("booking", row(plist.pk, gp.pk, gp.pk))),
        "Parameters.parameter[0].part[1].part[2]",
    )
    refused(
        parameters(service("urgent", row(None, gp.pk), row(None))),
        "Parameters.parameter[0].part[2]",
    )
    refused(
        parameters(service("booking", {"name": "row", "part": []})),
        "Parameters.parameter[0].part[1].part",
    )
    refused(parameters({"name": "x"}), "Parameters.parameter[0].name")
    assert not ServiceMatrix.objects.exists()
    assert api.post(URL, {"resourceType": "Patient"}).status_code == 400


def test_one_clinics_matrix_scopes_and_methods(world, other):
    service_matrix_save(clinic=other.clinic, service="booking", cells=[(None, other.gp.pk)])
    assert world.api.get(URL).fhir == {"resourceType": "Parameters"}
    assert world.api.post(URL, {"resourceType": "Parameters"}).status_code == 200
    assert ServiceMatrix.objects.filter(clinic=other.clinic).exists()
    reader = Api(token_for(world.api_client, ["system/PractitionerRole.read"]))
    assert reader.get(URL).status_code == 200
    assert reader.post(URL, {"resourceType": "Parameters"}).status_code == 403
    assert Api(token_for(world.api_client, ["system/Patient.read"])).get(URL).status_code == 403
    assert Api(None).get(URL).status_code == 401
    assert world.api.call("DELETE", f"/fhir/r4/{URL}").status_code == 405
    statement = world.api.get("metadata").fhir["rest"][0]
    assert [op["name"] for op in statement["operation"]] == ["service-matrix"]
