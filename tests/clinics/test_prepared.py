"""PreparedQuery: compiled once, then bound; always the same answer as the queryset."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinics.models import Patient, Practitioner
from clinics.prepared import PreparedQuery
from tests.factories import make_list, make_patient, make_practitioner

pytestmark = pytest.mark.django_db


def _patients(pk, clinic_id):
    return Patient.objects.select_related("clinic", "patient_list").filter(
        pk=pk, clinic_id=clinic_id
    )


def test_model_rows_with_select_related_match_the_queryset(clinic, other_clinic):
    gp = make_practitioner(clinic, name="Dr. Ås")
    listed = make_patient(clinic, patient_list=make_list(clinic, gp=gp, name="Liste Ås"))
    unlisted = make_patient(clinic)
    stranger = make_patient(other_clinic)
    query = PreparedQuery(_patients)
    for patient in (listed, unlisted, stranger):
        got = query(pk=patient.pk, clinic_id=patient.clinic_id)
        want = list(_patients(patient.pk, patient.clinic_id))
        assert got == want
        assert got[0].clinic.name == want[0].clinic.name
        assert got[0].clinic._state.adding is False
        assert (got[0].patient_list and got[0].patient_list.name) == (
            want[0].patient_list and want[0].patient_list.name
        )
    # Another clinic's id never finds the patient: the value is bound, not the first one.
    assert query(pk=listed.pk, clinic_id=other_clinic.pk) == []
    assert query.first(pk=stranger.pk, clinic_id=clinic.pk) is None


def test_none_bool_and_list_lengths_are_shapes_compiled_apart(clinic):
    a = make_practitioner(clinic, name="A", eportal_enabled=True)
    b = make_practitioner(clinic, name="B", eportal_enabled=False)
    c = make_practitioner(clinic, name="C", eportal_enabled=True)

    def build(ids, enabled, clinic_id):
        qs = Practitioner.objects.filter(pk__in=ids, eportal_enabled=enabled).order_by("name")
        return qs.filter(clinic_id=clinic_id) if clinic_id is not None else qs

    query = PreparedQuery(build)
    assert query(ids=[a.pk, b.pk, c.pk], enabled=True, clinic_id=clinic.pk) == [a, c]
    assert query(ids=[a.pk, b.pk], enabled=False, clinic_id=clinic.pk) == [b]
    assert query(ids=[c.pk], enabled=True, clinic_id=None) == [c]
    assert query(ids=[b.pk, c.pk], enabled=True, clinic_id=clinic.pk) == [c]


def test_values_list_and_datetimes_are_converted_like_the_orm(clinic):
    patients = [make_patient(clinic) for _ in range(3)]
    cutoff = timezone.now() + datetime.timedelta(days=1)

    def build(clinic_id, before):
        return (
            Patient.objects.filter(clinic_id=clinic_id, created__lt=before)
            .order_by("pk")
            .values_list("pk", "created", "name")
        )

    query = PreparedQuery(build)
    got = query(clinic_id=clinic.pk, before=cutoff)
    assert got == list(build(clinic.pk, cutoff))
    assert [row[0] for row in got] == [p.pk for p in patients]
    assert all(isinstance(row[1], datetime.datetime) and row[1].tzinfo for row in got)
    assert query(clinic_id=clinic.pk, before=cutoff - datetime.timedelta(days=30)) == []

    flat = PreparedQuery(
        lambda clinic_id: (
            Patient.objects.filter(clinic_id=clinic_id).order_by("pk").values_list("pk", flat=True)
        )
    )
    assert flat(clinic_id=clinic.pk) == [p.pk for p in patients]


def test_annotations_are_set_on_the_instances(clinic):
    gp = make_practitioner(clinic)
    listed = make_list(clinic, gp=gp)
    make_patient(clinic, patient_list=listed)
    make_patient(clinic, patient_list=listed)

    def build(clinic_id):
        return (
            Practitioner.objects.filter(clinic_id=clinic_id)
            .annotate(
                n=Count(
                    "patient_lists__patients",
                    filter=Q(patient_lists__patients__journal_active=True),
                )
            )
            .order_by("pk")
        )

    got = PreparedQuery(build)(clinic_id=clinic.pk)
    assert [(p.pk, p.n) for p in got] == [(p.pk, p.n) for p in build(clinic.pk)]


def test_one_query_per_call_and_it_is_counted(clinic):
    patient = make_patient(clinic)
    query = PreparedQuery(_patients)
    query(pk=patient.pk, clinic_id=clinic.pk)  # compiles
    with CaptureQueriesContext(connection) as ctx:
        query(pk=patient.pk, clinic_id=clinic.pk)
    assert len(ctx.captured_queries) == 1


def test_a_value_the_lookup_rewrites_is_refused(clinic):
    query = PreparedQuery(lambda name: Patient.objects.filter(name__icontains=name))
    with pytest.raises(ValueError, match=r"rewritten|not found"):
        query(name="Ola")


def test_an_unsupported_value_type_is_refused(clinic):
    query = PreparedQuery(lambda pk: Patient.objects.filter(pk=pk))
    with pytest.raises(TypeError):
        query(pk=1.5)


def test_timestamps_are_utc_aware_as_the_orm_gives_them(clinic):
    patient = make_patient(clinic)
    query = PreparedQuery(lambda pk: Patient.objects.filter(pk=pk).values_list("created"))
    (created,) = query(pk=patient.pk)[0]
    expected = Patient.objects.get(pk=patient.pk).created
    assert created == expected
    assert created.utcoffset() == datetime.timedelta(0)
    if connection.vendor == "postgresql":
        assert created.tzinfo is datetime.UTC


def test_prepared_insert_writes_what_create_writes(clinic):
    from clinics.models import AuditEvent
    from clinics.prepared import PreparedInsert

    patient = make_patient(clinic)
    insert = PreparedInsert(AuditEvent)
    fields = {
        "action": "booking.book",
        "actor_type": AuditEvent.ActorType.PATIENT,
        "clinic": clinic,
        "patient": patient,
        "object_type": "booking.appointment",
        "object_id": "7",
        "details": {"slot": 3, "urgent": False},
        "ip": "127.0.0.1",
    }
    first = insert(**fields)
    second = insert(**{**fields, "object_id": "8", "details": {"slot": 4}})
    reference = AuditEvent.objects.create(**fields)
    assert first.pk and second.pk and first.pk != second.pk
    assert first._state.adding is False
    got = AuditEvent.objects.get(pk=first.pk)
    for name in ("action", "actor_type", "clinic_id", "patient_id", "object_id", "details", "ip"):
        assert getattr(got, name) == getattr(reference, name), name
    assert got.created is not None
    assert AuditEvent.objects.get(pk=second.pk).details == {"slot": 4}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_compile_per_database_not_per_thread(clinic):
    """A threaded server opens a connection per thread; the compiled SQL is kept once."""
    import threading

    from django.db import connections

    patient = make_patient(clinic)
    query = PreparedQuery(_patients)
    found = []

    def in_thread():
        try:
            found.append(query.first(pk=patient.pk, clinic_id=clinic.pk))
        finally:
            connections.close_all()

    for _ in range(3):
        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join(30)
    assert [p.pk for p in found] == [patient.pk] * 3
    assert len(query._cache) == 1
