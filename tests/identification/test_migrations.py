"""The login models' move from clinics to identification keeps every row.

The migrations run on a database with data, as Django's own migration tests do: back to
the state before the move, rows written through that state's models, forward again, and
the rows read through the identification models (and the other way round).
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from clinics.models import Patient
from identification.models import LoginChallenge, PatientCredential, ThrottleEvent
from tests import factories

BEFORE_THE_MOVE = [("clinics", "0005_login_code_delivery"), ("identification", None)]
MOVED = ("patientcredential", "loginchallenge", "throttleevent")


def migrate(targets: list[tuple[str, str | None]] | None = None):
    """Migrate to ``targets`` (default: the latest migrations); return that state's apps."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    executor.loader.build_graph()  # reads which migrations are applied now
    return executor.loader.project_state(list(executor.loader.applied_migrations)).apps


@pytest.fixture
def before_the_move(transactional_db):
    """The database as it was before the move; the latest state again afterwards."""
    try:
        yield migrate(BEFORE_THE_MOVE)
    finally:
        migrate()


def test_rows_written_before_the_move_are_read_after_it(before_the_move):
    old = before_the_move
    clinic = old.get_model("clinics", "Clinic").objects.create(name="Gamle", ep_ident="GAMLE")
    patient = old.get_model("clinics", "Patient").objects.create(
        clinic=clinic, national_id=factories.national_id(), name="Kari", mobile="+4741234567"
    )
    old.get_model("clinics", "PatientCredential").objects.create(
        patient=patient, password="md5$salt$hash"
    )
    sent = timezone.now() - datetime.timedelta(minutes=1)
    old.get_model("clinics", "LoginChallenge").objects.create(
        token="old-token",
        clinic=clinic,
        patient=patient,
        purpose="login",
        code_hash="h" * 64,
        code_sent_at=sent,
        code_serial=2,
        code_delivered_serial=2,
        sent_to_last_digits="567",
        language="nn",
    )
    old.get_model("clinics", "ThrottleEvent").objects.bulk_create(
        [old.get_model("clinics", "ThrottleEvent")(scope="ip", key="k", created=sent)] * 3
    )

    migrate()

    moved_patient = Patient.objects.get(pk=patient.pk)
    assert moved_patient.credential.password == "md5$salt$hash"
    challenge = LoginChallenge.objects.select_related("clinic", "patient").get(token="old-token")
    assert (challenge.clinic.ep_ident, challenge.patient_id) == ("GAMLE", patient.pk)
    assert challenge.purpose == LoginChallenge.Purpose.LOGIN
    assert (challenge.code_serial, challenge.code_delivered_serial) == (2, 2)
    assert (challenge.code_sent_at, challenge.sent_to_last_digits) == (sent, "567")
    assert challenge.language == "nn"
    assert ThrottleEvent.objects.filter(scope="ip", key="k").count() == 3
    # The tables go on counting where they were: a new row gets a new id.
    newer = LoginChallenge.objects.create(
        token="new-token", clinic=challenge.clinic, purpose="login"
    )
    assert newer.pk > challenge.pk


def test_permissions_on_the_moved_models_move_with_them(before_the_move):
    old = before_the_move
    old_type = old.get_model("contenttypes", "ContentType")
    old_permission = old.get_model("auth", "Permission")
    # Before the move the models, and so their content types, were the clinics app's.
    assert not old_type.objects.filter(app_label="identification", model__in=MOVED).exists()
    group = old.get_model("auth", "Group").objects.create(name="Support")
    for model in MOVED:
        content_type, _ = old_type.objects.get_or_create(app_label="clinics", model=model)
        permission, _ = old_permission.objects.get_or_create(
            content_type=content_type, codename=f"view_{model}", defaults={"name": model}
        )
        group.permissions.add(permission)

    migrate()

    granted = Group.objects.get(name="Support").permissions.select_related("content_type")
    assert sorted((p.content_type.app_label, p.content_type.model) for p in granted) == sorted(
        ("identification", model) for model in MOVED
    )
    assert not ContentType.objects.filter(app_label="clinics", model__in=MOVED).exists()


def test_the_move_can_be_undone_without_losing_rows(transactional_db):
    clinic = factories.make_clinic("NYE")
    patient = factories.make_patient(clinic)
    PatientCredential.objects.create(patient=patient, password="md5$salt$hash")
    LoginChallenge.objects.create(token="t", clinic=clinic, patient=patient, purpose="login")
    ThrottleEvent.objects.create(scope="code", key="k", created=timezone.now())
    try:
        old = migrate(BEFORE_THE_MOVE)
        assert old.get_model("clinics", "PatientCredential").objects.get().patient_id == patient.pk
        assert old.get_model("clinics", "LoginChallenge").objects.get().token == "t"
        assert old.get_model("clinics", "ThrottleEvent").objects.get().scope == "code"
    finally:
        migrate()
    assert PatientCredential.objects.get().patient_id == patient.pk
