"""PreparedQuery: compiled once, then bound; always the same answer as the queryset."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinics.models import Patient, Practitioner
from eportal.db.prepared import PreparedQuery
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
    from eportal.db.prepared import PreparedInsert

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


def test_next_pk_takes_fresh_ids_that_inserts_can_use(clinic):
    """NextPk: on PostgreSQL the next id of a table, taken in the statement that selects it;
    an insert with it never collides with the ORM's own ids. SQLite: NULL, insert as usual."""
    from clinics.models import AuditEvent
    from eportal.db.prepared import NextPk, PreparedInsert

    patient = make_patient(clinic)
    take = PreparedQuery(
        lambda pk: (
            Patient.objects.filter(pk=pk)
            .annotate(new_id=NextPk(AuditEvent))
            .values_list("new_id", flat=True)
        )
    )
    (first,) = take(pk=patient.pk)
    (second,) = take(pk=patient.pk)
    insert = PreparedInsert(AuditEvent)
    fields = {"action": "x", "actor_type": AuditEvent.ActorType.SYSTEM, "clinic": clinic}
    if connection.vendor != "postgresql":
        assert first is None and second is None
        assert insert(id=first, **fields).pk  # no id given: the insert fetches it
        return
    assert second > first
    event = insert(id=second, **fields)
    assert event.pk == second and AuditEvent.objects.get(pk=second).action == "x"
    later = AuditEvent.objects.create(**fields)
    assert later.pk > second  # the sequence went past the ids taken


def test_send_reads_the_rows_when_asked(clinic):
    patient = make_patient(clinic)
    query = PreparedQuery(lambda pk: Patient.objects.filter(pk=pk).values_list("name", flat=True))
    rows = query.send(pk=patient.pk)
    assert rows() == [patient.name]
    assert query.send(pk=-1)() == []


class _Trace:
    """libpq's protocol trace of the Django connection: what goes over the wire."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "libpq.trace"

    def __enter__(self):
        from psycopg import pq

        connection.ensure_connection()
        self.file = self.path.open("w")
        self.pgconn = connection.connection.pgconn
        self.pgconn.trace(self.file.fileno())
        self.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        return self

    def __exit__(self, *exc):
        self.pgconn.untrace()
        self.file.close()
        self.lines = self.path.read_text().splitlines()

    def count(self, direction: str, message: str) -> int:
        return sum(
            1
            for line in self.lines
            if line.split("\t")[:1] == [direction] and message in line.split("\t")[2:3]
        )


def _events(clinic):
    from clinics.models import AuditEvent

    return AuditEvent.objects.filter(clinic=clinic, action__startswith="pipe.")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_atomic_pipeline_commits_with_the_last_statements_in_one_round_trip(clinic, tmp_path):
    from clinics.models import AuditEvent
    from eportal.db.prepared import PreparedInsert, atomic_pipeline

    insert = PreparedInsert(AuditEvent)
    fields = {"actor_type": AuditEvent.ActorType.SYSTEM, "clinic": clinic}
    hooks = []
    with _Trace(tmp_path) as trace, atomic_pipeline():
        insert(fetch_pk=False, action="pipe.one", **fields)
        insert(fetch_pk=False, action="pipe.two", **fields)
        transaction.on_commit(lambda: hooks.append(connection.connection._pipeline))
    # BEGIN, both inserts and COMMIT went out together, closed by a single Sync: one round
    # trip; Django's own commit afterwards found nothing to do.
    assert trace.count("F", "Sync") == 1, trace.lines
    assert trace.count("F", "Query") == 0  # no separate COMMIT outside the pipeline
    assert sum("COMMIT" in line for line in trace.lines if line.startswith("F")) == 1
    assert hooks == [None]  # the on-commit hook ran once, after pipeline mode
    assert connection.connection.info.transaction_status == 0  # idle: committed
    assert sorted(_events(clinic).values_list("action", flat=True)) == ["pipe.one", "pipe.two"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_atomic_pipeline_rolls_back_on_a_failing_statement_or_an_exception(clinic):
    from django.db import IntegrityError

    from clinics.models import AuditEvent
    from eportal.db.prepared import PreparedInsert, atomic_pipeline

    insert = PreparedInsert(AuditEvent)
    fields = {"actor_type": AuditEvent.ActorType.SYSTEM, "clinic": clinic}
    taken = AuditEvent.objects.create(action="pipe.first", **fields).pk
    hooks = []
    with pytest.raises(IntegrityError), atomic_pipeline():
        insert(fetch_pk=False, action="pipe.lost", **fields)
        insert(id=taken, action="pipe.duplicate", **fields)  # the primary key is taken
        transaction.on_commit(lambda: hooks.append(1))
    with pytest.raises(RuntimeError), atomic_pipeline():
        insert(fetch_pk=False, action="pipe.lost", **fields)
        raise RuntimeError("the caller gave up")
    assert hooks == []
    assert list(_events(clinic).values_list("action", flat=True)) == ["pipe.first"]
    # The connection is usable after both.
    assert AuditEvent.objects.filter(pk=taken).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_atomic_pipeline_inside_a_transaction_commits_nothing_early(clinic):
    from clinics.models import AuditEvent
    from eportal.db.prepared import PreparedInsert, atomic_pipeline

    insert = PreparedInsert(AuditEvent)
    fields = {"actor_type": AuditEvent.ActorType.SYSTEM, "clinic": clinic}
    with pytest.raises(RuntimeError), transaction.atomic():
        with atomic_pipeline():
            insert(fetch_pk=False, action="pipe.inner", **fields)
        assert _events(clinic).count() == 1
        raise RuntimeError("the outer transaction fails")
    assert _events(clinic).count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_atomic_pipeline_marked_for_rollback_commits_nothing(clinic):
    from clinics.models import AuditEvent
    from eportal.db.prepared import PreparedInsert, atomic_pipeline

    insert = PreparedInsert(AuditEvent)
    fields = {"actor_type": AuditEvent.ActorType.SYSTEM, "clinic": clinic}
    hooks = []
    with atomic_pipeline():
        insert(fetch_pk=False, action="pipe.unwanted", **fields)
        transaction.on_commit(lambda: hooks.append(1))
        transaction.set_rollback(True)
    with atomic_pipeline():
        insert(fetch_pk=False, action="pipe.unwanted", **fields)
        try:
            with transaction.mark_for_rollback_on_error():
                raise ValueError("caught by the caller, as Model.save()'s callers may")
        except ValueError:
            pass
    assert hooks == []
    assert _events(clinic).count() == 0
    assert connection.connection.info.transaction_status == 0
