"""No server errors over every operation the CapabilityStatement declares (the role
schemathesis plays for an OpenAPI document: FHIR's statement is not one, so the operations
are read from it here): junk ids and search values, and Hypothesis-made JSON bodies for
every write and operation. Each answer is below 500, and an error is an OperationOutcome."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

JUNK = [
    *("", "0", "-1", "abc", "99999999999", "9" * 70, "²", "%00", "<script>", "' OR 1=1 --"),
    *("ø" * 300, "../../", "9999-12-31", "0001-01-01", "gt", "gtx", "lt2026-13-40"),
    *("ge2026-01-01T10:00", "urn:oid:2.16.578.1.12.4.1.4.1|", "|", "Practitioner/abc"),
    *("true,false", "free,busy"),
]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def statement(api):
    return api.get("metadata").fhir["rest"][0]["resource"]


def check(response):
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert json.loads(response.content)["resourceType"] == "OperationOutcome"


def test_junk_in_every_read_and_search_parameter(world):
    api = world.api
    for resource in statement(api):
        kind = resource["type"]
        for value in JUNK:
            check(api.call("GET", f"/fhir/r4/{kind}/{value}") if value else api.get(kind))
            if value and kind == "Slot":
                check(api.call("DELETE", f"/fhir/r4/Slot/{value}"))
            for param in resource["searchParam"]:
                check(world.api.client.get(
                    f"/fhir/r4/{kind}", {param["name"]: value},
                    headers={"Authorization": f"Bearer {api.token}"},
                ))  # fmt: skip
        for operation in resource.get("operation", []):
            for value in JUNK:
                check(world.api.client.get(
                    f"/fhir/r4/{kind}/${operation['name']}",
                    {"start": value, "end": value, "practitioner": value, "patient": value},
                    headers={"Authorization": f"Bearer {api.token}"},
                ))  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=JSON,
    resource_type=st.sampled_from(
        ["Patient", "Practitioner", "PractitionerRole", "Schedule", "Slot", "Appointment",
         "Parameters", "Organization", "Group", "HealthcareService", "MedicationStatement",
         "RelatedPerson", "Consent", None]
    ),
)  # fmt: skip
def test_made_up_bodies_for_every_write_and_operation(world, body, resource_type):
    if isinstance(body, dict) and resource_type:
        body = dict(body, resourceType=resource_type)
    api = world.api
    targets = [
        ("POST", "Patient"),
        ("PUT", f"Patient/{world.patient.pk}"),
        ("POST", "Practitioner"),
        ("PUT", f"Practitioner/{world.gp.pk}"),
        ("PUT", f"PractitionerRole/{world.gp.pk}"),
        ("PUT", f"Schedule/{world.gp.pk}"),
        ("POST", "Slot"),
        ("PUT", f"Slot/{world.later.pk}"),
        ("PUT", f"Appointment/{world.slot.pk}"),
        ("PATCH", f"Appointment/{world.slot.pk}"),
        ("POST", "Appointment/$book"),
        ("POST", "Appointment/$find"),
        ("PUT", f"Organization/{world.clinic.pk}"),
        ("POST", "Group"),
        ("POST", "HealthcareService"),
        ("PUT", f"HealthcareService/{world.ep.pk}"),
        ("POST", "MedicationStatement"),
        ("POST", "RelatedPerson"),
        ("POST", "Consent"),
        ("POST", "$service-matrix"),
    ]
    for method, path in targets:
        check(api.call(method, path, body, **{"If-Match": 'W/"1"'}))


NAMES = st.sampled_from(["slot", "patient", "reason", "urgent", "appointment", "x"])
VALUES = {
    "valueReference": st.fixed_dictionaries({"reference": st.text(max_size=20)}),
    "valueString": st.text(max_size=20),
    "valueBoolean": st.booleans(),
    "resource": JSON,
}
PARAMETER = st.fixed_dictionaries({"name": NAMES}, optional=VALUES)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parameters=st.lists(PARAMETER, max_size=4))
def test_made_up_parameters_for_book(world, parameters):
    body = {"resourceType": "Parameters", "parameter": parameters}
    check(world.api.post("Appointment/$book", body))
    check(world.api.post("Appointment/$find", body))


SERVICE_PARTS = st.fixed_dictionaries(
    {"name": st.sampled_from(["code", "row", "x"])},
    optional={
        "valueCode": st.sampled_from(["booking", "urgent", "fax", ""]),
        "part": st.lists(
            st.fixed_dictionaries(
                {"name": st.sampled_from(["patientList", "noGp", "practitioner", "y"])},
                optional=VALUES,
            ),
            max_size=3,
        ),
    },
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    services=st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["service", "x"])},
            optional={"part": st.lists(SERVICE_PARTS, max_size=3)},
        ),
        max_size=3,
    )
)
def test_made_up_parameters_for_the_service_matrix(world, services):
    check(world.api.post("$service-matrix", {"resourceType": "Parameters", "parameter": services}))
