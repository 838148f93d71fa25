"""The OpenAPI document (``/fhir/r4/openapi.json``): public, made from the CapabilityStatement
and equal to it: one operation for each interaction and operation the statement declares
(search also as ``POST [type]/_search``), the statement's search parameters, each path
routed to the view that serves it, and the scopes the views check."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import resolve

from fhirapi.openapi import _interaction, openapi_document
from fhirapi.scopes import ALL_SCOPES

pytestmark = pytest.mark.django_db

BASE = "/fhir/r4"
#: The view (URL name) that serves each interaction.
VIEWS = {
    ("get", "read"): "instance",
    ("put", "update"): "instance",
    ("patch", "patch"): "instance",
    ("delete", "delete"): "instance",
    ("get", "search-type"): "type",
    ("post", "search-type"): "search",
    ("post", "create"): "type",
    ("get", "$find"): "find",
    ("post", "$find"): "find",
    ("post", "$book"): "book",
    ("get", "$service-matrix"): "service_matrix",
    ("post", "$service-matrix"): "service_matrix",
}


@pytest.fixture
def documents(db):
    client = Client()
    statement = client.get(f"{BASE}/metadata").json()
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return statement, response.json()


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_document_needs_no_token_and_names_the_server(documents):
    statement, document = documents
    assert document["openapi"].startswith("3.0")
    assert document["info"]["version"] == statement["fhirVersion"]
    assert document["servers"] == [{"url": "http://testserver/fhir/r4"}]
    flow = document["components"]["securitySchemes"]["smart"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "http://testserver/fhir/oauth/token/"
    assert flow["scopes"] == ALL_SCOPES


def test_operations_are_the_capability_statements_interactions(documents):
    statement, document = documents
    declared = set()
    for resource in statement["rest"][0]["resource"]:
        declared |= {(resource["type"], i["code"]) for i in resource["interaction"]}
        declared |= {(resource["type"], "$" + o["name"]) for o in resource.get("operation", [])}
    system = {("system", "$" + o["name"]) for o in statement["rest"][0].get("operation", [])}
    declared |= system
    offered = {
        (op["x-fhir-resource"], op["x-fhir-interaction"])
        for _, _, op in operations(document)
        if "x-fhir-resource" in op
    }
    assert offered == declared
    # One operation each, and a second for a search (POST _search) and $find (POST), and
    # the statement itself.
    searches = sum(1 for _, code in declared if code == "search-type")
    ids = [op["operationId"] for _, _, op in operations(document)]
    # A system operation ($service-matrix) reads with GET and writes with POST.
    assert len(ids) == len(declared) + searches + 1 + 1 + len(system)
    assert len(ids) == len(set(ids))


def test_searches_take_the_statements_search_parameters(documents):
    statement, document = documents
    for resource in statement["rest"][0]["resource"]:
        kind = resource["type"]
        declared = {p["name"] for p in resource["searchParam"]} | {"_count", "_offset"}
        get = document["paths"][f"/{kind}"]["get"]
        assert {p["name"] for p in get["parameters"]} == declared
        assert all(p["in"] == "query" for p in get["parameters"])
        form = document["paths"][f"/{kind}/_search"]["post"]["requestBody"]["content"]
        assert set(form["application/x-www-form-urlencoded"]["schema"]["properties"]) == declared
        types = {p["name"]: p["type"] for p in resource["searchParam"]}
        for p in get["parameters"]:
            if types.get(p["name"]) == "date":
                assert "pattern" in p["schema"]
        assert {p["name"]: p["schema"]["type"] for p in get["parameters"]}["_count"] == "integer"


def test_each_path_is_routed_to_the_view_that_serves_it(documents):
    _, document = documents
    for path, method, op in operations(document):
        match = resolve(BASE + path.replace("{id}", "1"))
        if path == "/metadata":
            assert match.url_name == "metadata"
            continue
        assert match.url_name == VIEWS[method, op["x-fhir-interaction"]], (method, path)
        if match.url_name in ("instance", "type", "search"):
            assert match.kwargs["resource"] == op["x-fhir-resource"]


def test_writes_take_fhir_json_and_errors_are_operation_outcomes(documents):
    _, document = documents
    for path, method, op in operations(document):
        if path == "/metadata":
            assert op["security"] == []
            continue
        (requirement,) = op["security"]
        (needed,) = requirement["smart"]
        assert needed in ALL_SCOPES
        access = "read" if method == "get" or op["x-fhir-interaction"] == "search-type" else "write"
        assert needed.endswith("." + access) or op["x-fhir-interaction"] == "$find"
        if method in ("post", "put") and op["x-fhir-interaction"] != "search-type":
            content = op["requestBody"]["content"]["application/fhir+json"]["schema"]
            assert content["required"] == ["resourceType"]
        for status in ("400", "401", "403"):
            schema = op["responses"][status]["content"]["application/fhir+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/OperationOutcome"}
    find = document["paths"]["/Appointment/$find"]
    assert find["get"]["security"] == [{"smart": ["system/Slot.read"]}]
    assert document["paths"]["/Appointment/$book"]["post"]["security"] == [
        {"smart": ["system/Appointment.write"]}
    ]


def test_the_scopes_named_are_the_ones_the_views_check(world):
    """$find with only Slot.read works; $book without Appointment.write is a 403."""
    from tests.fhir.conftest import Api, token_for

    finder = Api(token_for(world.api_client, ["system/Slot.read"]))
    assert finder.get("Appointment/$find").status_code == 200
    booker = Api(token_for(world.api_client, ["system/Slot.read"]))
    assert booker.post("Appointment/$book", {"resourceType": "Parameters"}).status_code == 403


def test_an_interaction_without_an_operation_is_an_error():
    with pytest.raises(ValueError, match="history-instance"):
        _interaction({"type": "Patient"}, "history-instance")


def test_the_document_follows_the_statement_it_is_made_from(monkeypatch):
    """A new interaction in the statement is a new operation, with nothing else to change."""
    from fhirapi import capability

    monkeypatch.setitem(capability.INTERACTIONS, "Schedule", ("read", "search-type", "delete"))
    document = openapi_document("http://x/fhir/r4/", "http://x/fhir/oauth/token/")
    assert "delete" in document["paths"]["/Schedule/{id}"]
