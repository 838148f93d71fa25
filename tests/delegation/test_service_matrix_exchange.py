"""The ``service_matrix`` section of the clinic import/export format."""

from __future__ import annotations

import copy
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from clinics.demo import demo_document
from clinics.exchange import ImportFailed, dumps, export_clinic, import_clinic
from clinics.models import AuditEvent, Clinic, Patient
from delegation.models import MatrixCell, Service, ServiceMatrix
from delegation.selectors import practitioners_for

pytestmark = pytest.mark.django_db


def document(service_matrix=None) -> dict:
    data = {
        "format": "eportal-clinic/1",
        "clinic": {"ep_ident": "MATRIX", "name": "Matriselegene"},
        "practitioners": [
            {"key": "p1", "name": "Kari Nordmann", "eportal_enabled": True},
            {"key": "p2", "name": "Vera Vikar", "role": "locum", "eportal_enabled": True},
            {"key": "p3", "name": "Tore Turnus", "role": "junior", "eportal_enabled": True},
        ],
        "patient_lists": [
            {"key": "l2", "name": "Liste B", "gp": None},
            {"key": "l1", "name": "Liste A", "gp": "p1"},
        ],
    }
    if service_matrix is not None:
        data["service_matrix"] = service_matrix
    return data


EXAMPLE = [
    {"service": "booking", "patient_list": "l1", "practitioners": ["p1", "p2"]},
    {"service": "urgent", "patient_list": None, "practitioners": ["p3"]},
]


def cells(service) -> set[tuple[str | None, str]]:
    return set(
        MatrixCell.objects.filter(matrix__service=service).values_list(
            "patient_list__key", "practitioner__key"
        )
    )


def configured() -> set[str]:
    return set(ServiceMatrix.objects.values_list("service", flat=True))


def errors_of(data) -> list[tuple[str, str]]:
    with pytest.raises(ImportFailed) as failure:
        import_clinic(data)
    return failure.value.errors


# Import


def test_the_issues_example_imports():
    stats = import_clinic(document(EXAMPLE))
    assert configured() == {"booking", "urgent"}
    assert cells("booking") == {("l1", "p1"), ("l1", "p2")}
    assert cells("urgent") == {(None, "p3")}
    assert stats["services configured"] == 2
    assert stats["service matrix cells added"] == 3


def test_a_service_absent_from_the_file_keeps_the_standard_package():
    import_clinic(document(EXAMPLE))
    assert "econsult" not in configured()


def test_a_service_present_is_configured_exactly_as_the_file_says():
    import_clinic(document(EXAMPLE))
    changed = [
        {"service": "booking", "patient_list": "l2", "practitioners": ["p3"]},
        {"service": "urgent", "patient_list": None, "practitioners": []},
    ]
    stats = import_clinic(document(changed))
    assert cells("booking") == {("l2", "p3")}
    assert cells("urgent") == set()
    assert configured() == {"booking", "urgent"}  # urgent: configured, nobody ticked
    assert stats["service matrix cells removed"] == 3
    assert stats["service matrix cells added"] == 1


def test_a_service_left_out_of_a_later_file_goes_back_to_the_standard_package():
    import_clinic(document(EXAMPLE))
    stats = import_clinic(document(EXAMPLE[:1]))
    assert configured() == {"booking"}
    assert stats["services back to the standard package"] == 1
    import_clinic(document([]))
    assert configured() == set()


def test_a_file_without_the_section_leaves_the_matrix_alone():
    import_clinic(document(EXAMPLE))
    import_clinic(document())
    assert configured() == {"booking", "urgent"}
    assert cells("booking") == {("l1", "p1"), ("l1", "p2")}


def test_reimport_is_idempotent_and_writes_nothing():
    data = document(EXAMPLE)
    import_clinic(data)
    events = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        stats = import_clinic(copy.deepcopy(data))
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert stats == {}
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("nope", [("service_matrix", "must be a list")]),
        (["nope"], [("service_matrix[0]", "must be an object")]),
        (
            [{"service": "dentist", "patient_list": None, "practitioners": []}],
            [("service_matrix[0].service", "must be one of booking, urgent, econsult, renewal")],
        ),
        (
            [{"service": "booking", "patient_list": "l9", "practitioners": []}],
            [("service_matrix[0].patient_list", 'unknown patient list "l9"')],
        ),
        (
            [{"service": "booking", "patient_list": 7, "practitioners": []}],
            [("service_matrix[0].patient_list", "must be a patient list key or null")],
        ),
        (
            [{"service": "booking", "practitioners": []}],
            [
                (
                    "service_matrix[0].patient_list",
                    "is required (a patient list key, or null for patients without a GP here)",
                )
            ],
        ),
        (
            [{"service": "booking", "patient_list": "l1", "practitioners": "p1"}],
            [("service_matrix[0].practitioners", "is required and must be a list")],
        ),
        (
            [{"service": "booking", "patient_list": "l1", "practitioners": ["p1", "p9", 3]}],
            [
                ("service_matrix[0].practitioners[1]", 'unknown practitioner "p9"'),
                ("service_matrix[0].practitioners[2]", "must be a practitioner key"),
            ],
        ),
        (
            [{"service": "booking", "patient_list": "l1", "practitioners": ["p1", "p1"]}],
            [("service_matrix[0].practitioners[1]", '"p1" is listed twice')],
        ),
        (
            [
                {"service": "booking", "patient_list": None, "practitioners": []},
                {"service": "booking", "patient_list": None, "practitioners": ["p3"]},
            ],
            [("service_matrix[1]", "this service and patient list appear twice")],
        ),
        (
            [{"service": "booking", "patient_list": None, "practitioners": [], "list": "l1"}],
            [("service_matrix[0].list", "is not a known field")],
        ),
    ],
)
def test_errors_are_reported_by_place_and_nothing_is_imported(section, expected):
    assert errors_of(document(section)) == expected
    assert not Clinic.objects.exists()


def test_several_errors_are_reported_at_once_and_nothing_changes():
    import_clinic(document(EXAMPLE))
    bad = [
        {"service": "booking", "patient_list": "l1", "practitioners": ["p3"]},
        {"service": "urgent", "patient_list": "l1", "practitioners": ["p1", "p4"]},
        {"service": "econsult", "patient_list": "l7", "practitioners": []},
        {"service": "massage", "patient_list": None, "practitioners": []},
    ]
    data = document(bad)
    data["clinic"]["name"] = "Renamed"
    assert errors_of(data) == [
        ("service_matrix[1].practitioners[1]", 'unknown practitioner "p4"'),
        ("service_matrix[2].patient_list", 'unknown patient list "l7"'),
        ("service_matrix[3].service", "must be one of booking, urgent, econsult, renewal"),
    ]
    assert Clinic.objects.get().name == "Matriselegene"
    assert cells("booking") == {("l1", "p1"), ("l1", "p2")}
    assert configured() == {"booking", "urgent"}


def test_keys_of_another_clinic_are_unknown():
    other = document(EXAMPLE)
    other["clinic"]["ep_ident"] = "ANNET"
    other["practitioners"].append({"key": "p-annet", "name": "Per Utenfor"})
    import_clinic(other)
    bad = [{"service": "booking", "patient_list": None, "practitioners": ["p-annet"]}]
    assert errors_of(document(bad)) == [
        ("service_matrix[0].practitioners[0]", 'unknown practitioner "p-annet"')
    ]


# Export


def test_export_has_a_stable_order():
    import_clinic(
        document(
            [
                {"service": "econsult", "patient_list": None, "practitioners": ["p3"]},
                {"service": "booking", "patient_list": "l2", "practitioners": ["p3", "p2"]},
                {"service": "booking", "patient_list": None, "practitioners": ["p2"]},
                {"service": "booking", "patient_list": "l1", "practitioners": ["p2", "p1"]},
            ]
        )
    )
    exported = export_clinic(Clinic.objects.get())["service_matrix"]
    assert exported == [
        {"service": "booking", "patient_list": "l1", "practitioners": ["p1", "p2"]},
        {"service": "booking", "patient_list": "l2", "practitioners": ["p2", "p3"]},
        {"service": "booking", "patient_list": None, "practitioners": ["p2"]},
        {"service": "econsult", "patient_list": "l1", "practitioners": []},
        {"service": "econsult", "patient_list": "l2", "practitioners": []},
        {"service": "econsult", "patient_list": None, "practitioners": ["p3"]},
    ]


def test_an_unconfigured_clinic_exports_an_empty_matrix():
    import_clinic(document())
    assert export_clinic(Clinic.objects.get())["service_matrix"] == []


def test_export_then_import_into_an_empty_database_gives_the_same_export():
    with transaction.atomic():
        import_clinic(demo_document())
        clinic = Clinic.objects.get()
        # Make it less tidy than the demo: a configured service with nobody ticked.
        ServiceMatrix.objects.filter(clinic=clinic, service="urgent").get().cells.all().delete()
        first = dumps(export_clinic(clinic))
        transaction.set_rollback(True)
    assert not Clinic.objects.exists()

    import_clinic(json.loads(first))
    second = dumps(export_clinic(Clinic.objects.get()))
    assert second == first
    assert json.loads(second)["service_matrix"][3:6] == [
        {"service": "urgent", "patient_list": key, "practitioners": []}
        for key in ("list-hansen", "list-nordmann", None)
    ]


# The demo clinic


def test_the_demo_clinic_is_the_leaflets_example():
    import_clinic(demo_document())

    def names(name, service):
        patient = Patient.objects.get(name=name)
        return [p.name for p in practitioners_for(patient, service)]

    # Patients may book both the locum and their own GP.
    assert names("Kari Testesen", Service.BOOKING) == ["Kari Nordmann", "Vera Vikar"]
    assert names("Ingrid Eksempel", Service.BOOKING) == ["Per Hansen", "Vera Vikar"]
    # The junior doctor handles all urgent same-day appointments ...
    for name in ("Kari Testesen", "Ingrid Eksempel", "Per Uten Fastlege"):
        assert names(name, Service.URGENT) == ["Tore Turnus"]
    # ... and all requests from patients without a GP at the clinic.
    assert names("Per Uten Fastlege", Service.ECONSULT) == ["Tore Turnus"]
    assert names("Kari Testesen", Service.ECONSULT) == ["Kari Nordmann"]
    # The inactive record gets nothing.
    assert names("Nils Inaktiv", Service.BOOKING) == []


def test_the_demo_document_is_exactly_its_own_export():
    import_clinic(demo_document())
    exported = export_clinic(Clinic.objects.get())["service_matrix"]
    assert exported == demo_document()["service_matrix"]
