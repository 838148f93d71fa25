"""schemathesis over the OpenAPI document (``/fhir/r4/openapi.json``, made from the
CapabilityStatement): every operation, in-process against Django's WSGI handler, with a real
bearer token of the clinic's API client. No answer is a server error, and each answer is as
the document says (status, content type, an OperationOutcome for each error).

Each operation gets a few generated cases (positive and negative data), with made-up ids
and with the ids of the world's own rows (and their ETag), so that reads, updates, patches
and deletes reach past the 404. Every case runs in a savepoint that is rolled back: each
starts from the same database."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from booking.services import appointment_book
from fhirapi.http import etag, version_of
from fhirapi.openapi import openapi_document
from fhirapi.views import READERS

pytestmark = pytest.mark.django_db

DOCUMENT = "/fhir/r4/openapi.json"
BASE = "http://localhost/fhir/r4"
#: Cases per strategy (positive and negative data; made-up ids, the world's ids, the world's
#: ids with their ETag): 58 operations, some 700 requests, the file in about 25 seconds.
EXAMPLES = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: The operations, by label (``GET /Patient/{id}``); the first test checks the served document
#: has these.
LABELS = [
    f"{method.upper()} {path}"
    for path, methods in openapi_document(BASE + "/", "http://localhost/fhir/oauth/token/")[
        "paths"
    ].items()
    for method in methods
]


@pytest.fixture
def app():
    """Django's WSGI handler, in this test's transaction: like django.test.Client, without
    closing the connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def schema(app, world):
    return schemathesis.openapi.from_wsgi(DOCUMENT, app)


@pytest.fixture
def known(world) -> dict[str, list[tuple[str, str]]]:
    """Each resource type's ids in the clinic, with their ETags."""
    appointment_book(patient=world.patient, slot_id=world.slot.pk, reason="fuzz")
    found: dict[str, list[tuple[str, str]]] = {}
    for resource, (rows, to_fhir) in READERS.items():
        for row in rows(world.clinic.pk).order_by("pk")[:2]:
            data = to_fhir(row)
            found.setdefault(resource, []).append((data["id"], etag(data["meta"]["versionId"])))
    return found


def test_the_document_loads_and_is_valid_openapi(schema):
    schema.validate()
    assert sorted(op.ok().label for op in schema.get_all_operations()) == sorted(LABELS)


@pytest.mark.parametrize("label", LABELS)
def test_no_server_error(label, app, schema, known, world):
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    resource = operation.definition.raw.get("x-fhir-resource")
    strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
    if "{id}" in operation.path and known.get(resource):
        for pk, tag in known[resource]:
            strategies += [
                operation.as_strategy(generation_mode=mode, path_parameters={"id": pk})
                for mode in GenerationMode
            ]
            if operation.method in ("put", "patch", "delete"):
                strategies.append(
                    operation.as_strategy(path_parameters={"id": pk}, headers={"If-Match": tag})
                )
    headers = {"Authorization": f"Bearer {world.api.token}"}
    sent: list[Any] = []

    @settings(
        max_examples=EXAMPLES * len(strategies),
        deadline=None,
        derandomize=True,
        database=None,
        # Few examples of big FHIR bodies: Hypothesis would call that slow or too large.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=st.one_of(strategies))
    def run(case: Any) -> None:
        sent.append(case)
        if isinstance(case.body, dict) and case.path_parameters and "id" in case.path_parameters:
            case.body["id"] = case.path_parameters["id"]  # past the id check, to the mapping
        with transaction.atomic():
            case.call_and_validate(base_url=BASE, headers=headers, checks=CHECKS)
            transaction.set_rollback(True)

    run()
    assert sent


def test_a_version_is_the_etag(known, world):
    """The fixture's ETags are the resources' (so If-Match cases can succeed)."""
    patient = READERS["Patient"][0](world.clinic.pk).get(pk=world.patient.pk)
    assert (str(world.patient.pk), etag(version_of(patient.last_changed))) in known["Patient"]
