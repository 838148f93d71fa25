"""The daily health cycle: every step recorded, at most once per local day."""

from __future__ import annotations

import datetime
import threading

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection, connections

from ops import services
from ops.models import HealthCycle, HealthStep
from sms.models import OutboxMessage
from tests.ops.conftest import OSLO, oslo

STEP_NAMES = [name for name, _ in services.STEPS]


@pytest.fixture
def at_five():
    with time_machine.travel(oslo(2026, 3, 10, 5, 0), tick=True) as traveller:
        yield traveller


def test_cycle_records_each_step_with_its_result_and_time(db, at_five):
    cycle = services.health_cycle_run()
    assert cycle.status == HealthCycle.Status.OK
    assert cycle.day == datetime.date(2026, 3, 10)
    steps = list(cycle.steps.all())
    assert [s.name for s in steps] == STEP_NAMES
    assert all(s.ok for s in steps), [(s.name, s.detail) for s in steps]
    assert all(s.duration_ms >= 0 for s in steps)
    assert cycle.finished_at >= cycle.started_at
    assert steps[-1].detail == "skipped: tasks run in-process"


def test_a_failing_step_fails_the_cycle_and_the_others_still_run(db, at_five, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    cycle = services.health_cycle_run()
    assert cycle.status == HealthCycle.Status.FAILED
    failed = {s.name: s.detail for s in cycle.steps.all() if not s.ok}
    assert failed == {"broker": "OperationalError"}
    assert cycle.steps.count() == len(STEP_NAMES)


def test_cycle_checks_twilio_with_a_free_account_fetch(db, at_five, twilio):
    cycle = services.health_cycle_run()
    step = cycle.steps.get(name="sms_provider")
    assert (step.ok, step.detail) == (True, "Twilio account active")
    assert twilio.accepted == []


def test_cycle_reports_twilio_refusing_our_credentials(db, at_five, twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong"
    cycle = services.health_cycle_run()
    step = cycle.steps.get(name="sms_provider")
    assert (step.ok, step.detail) == (False, "Twilio HTTP 401, error 20003")


def test_cycle_purges_expired_sessions_and_requeues_stuck_sms(
    db, at_five, clinic, django_capture_on_commit_callbacks
):
    store = SessionStore()
    store.set_expiry(1)
    store["x"] = 1
    store.create()
    Session.objects.filter(pk=store.session_key).update(
        expire_date=datetime.datetime(2026, 3, 9, tzinfo=OSLO)
    )
    stuck = OutboxMessage.objects.create(
        clinic=clinic, recipient="+4791234567", text="Hei", purpose="other"
    )
    OutboxMessage.objects.filter(pk=stuck.pk).update(
        updated=datetime.datetime(2026, 3, 10, 3, 0, tzinfo=OSLO)
    )
    with django_capture_on_commit_callbacks(execute=True):
        cycle = services.health_cycle_run()
    assert not Session.objects.filter(pk=store.session_key).exists()
    assert cycle.steps.get(name="stale_sms").detail == "1 re-queued, 0 failed as interrupted"
    stuck.refresh_from_db()
    assert stuck.status == OutboxMessage.Status.SENT  # re-queued, and sent (eager)


def test_worker_restart_fails_when_no_worker_answers(db, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with pytest.raises(services.StepFailed, match="no worker answered"):
        services.restart_worker_pools(timeout=0.2)


def test_second_run_the_same_day_does_nothing(db, at_five):
    assert services.health_cycle_run() is not None
    at_five.shift(datetime.timedelta(hours=12))
    assert services.health_cycle_run() is None
    assert HealthCycle.objects.count() == 1
    assert HealthStep.objects.count() == len(STEP_NAMES)


def test_again_replaces_a_finished_cycle(db, at_five, capsys):
    services.health_cycle_run()
    call_command("health_cycle", again=True)
    assert HealthCycle.objects.count() == 1
    assert "cycle 2026-03-10: ok" in capsys.readouterr().out


def test_beat_runs_the_cycle_once_per_local_day_for_400_days_across_dst(db):
    """Beat's own schedule (crontab at 05:00 in Europe/Oslo) stepped from run to run, with
    a second run by mistake each day: 400 cycles, each on its own day, each at 05:00 local,
    across three daylight saving time changes."""
    from eportal.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["ops-health-cycle"]["schedule"]
    schedule = type(schedule)(hour=5, minute=0, app=app)
    start = oslo(2025, 3, 1, 12, 0)
    last_run = start
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(400):
            due, wait = schedule.is_due(last_run)
            assert not due
            traveller.shift(datetime.timedelta(seconds=wait))
            due, _wait = schedule.is_due(last_run)
            assert due
            last_run = app.now()
            assert services.health_cycle_run() is not None
            traveller.shift(datetime.timedelta(seconds=30))
            assert services.health_cycle_run() is None  # the second beat, 30 s later
    days = list(HealthCycle.objects.order_by("day").values_list("day", "started_at"))
    assert len(days) == 400
    assert days[0][0] == datetime.date(2025, 3, 2)
    assert [d for d, _ in days] == [
        datetime.date(2025, 3, 2) + datetime.timedelta(days=i) for i in range(400)
    ]
    assert {started.astimezone(OSLO).strftime("%H:%M") for _, started in days} == {"05:00"}
    dst_days = {datetime.date(2025, 3, 30), datetime.date(2025, 10, 26), datetime.date(2026, 3, 29)}
    assert dst_days <= {d for d, _ in days}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_run_one_cycle(settings):
    """Two beat processes started by mistake: both send the task, two workers take it at
    the same moment. The unique day lets exactly one of them run the cycle."""
    threads = 6
    barrier = threading.Barrier(threads)
    results: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            cycle = services.health_cycle_run()
            with lock:
                results.append(cycle)
        finally:
            connections.close_all()

    with time_machine.travel(oslo(2026, 10, 25, 5, 0), tick=True):
        workers = [threading.Thread(target=run) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=60)
    ran = [r for r in results if r is not None]
    assert len(results) == threads
    assert len(ran) == 1
    assert HealthCycle.objects.count() == 1
    assert HealthStep.objects.count() == len(STEP_NAMES)
    assert connection.vendor == "postgresql"
