"""Input PostgreSQL or the JSON decoder cannot take answers 400, not 500: NUL in a search
value, control characters in a body's strings, a body nested deeper than the decoder goes.
(Found by hand probes while building tests/fhir/test_schemathesis.py.)"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from fhirapi.scopes import RESOURCES
from fhirapi.search import PARAMETERS
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw(world):
    """A client that answers 500 rather than raising, with the clinic's token."""
    client = Client(raise_request_exception=False)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.api.token}"
    return client


def outcome(response, status=400):
    assert response.status_code == status, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"
    return response.json()["issue"][0]


@pytest.mark.parametrize("resource", RESOURCES)
def test_nul_in_any_search_value_is_a_400(raw, resource):
    for name in (*PARAMETERS[resource], "_id", "_lastUpdated", "_count"):
        issue = outcome(raw.get(f"/fhir/r4/{resource}", {name: "a\x00b"}))
        assert issue["expression"] == [name]
        outcome(raw.post(f"/fhir/r4/{resource}/_search", {name: "\x00"}))


def test_a_search_without_nul_still_finds(world):
    found = world.api.get(f"Patient?name={world.patient.name.split()[0]}")
    assert found.status_code == 200 and found.fhir["total"] == 1


def patient(name: str) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": factories.national_id(year=1990)}
        ],
        "name": [{"text": name}],
    }


@pytest.mark.parametrize("name", ["Ola\x00Nordmann", "Ola\x1bNordmann", "Ola\x07"])
def test_control_characters_in_a_body_are_a_400(raw, name):
    body = json.dumps(patient(name))
    issue = outcome(raw.post("/fhir/r4/Patient", body, content_type="application/fhir+json"))
    assert issue["code"] == "structure"


def test_a_control_character_in_a_key_is_a_400(raw):
    body = json.dumps({**patient("Ola Nordmann"), "x\x00": 1})
    outcome(raw.post("/fhir/r4/Patient", body, content_type="application/fhir+json"))


def test_tabs_and_newlines_are_not_control_characters_here(world):
    made = world.api.post("Patient", patient("Ola\tNordmann"))
    assert made.status_code == 201, made.content


@pytest.mark.parametrize("path", ["Patient", "Group", "Appointment/$book", "Appointment/$find"])
def test_a_body_nested_too_deep_is_a_400(raw, path):
    depth = 100_000
    body = "[" * depth + "]" * depth
    issue = outcome(raw.post(f"/fhir/r4/{path}", body, content_type="application/fhir+json"))
    assert issue["diagnostics"] == "The body is not JSON."
