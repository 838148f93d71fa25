"""The Celery configuration: JSON only, late acknowledgement only where a task is idempotent,
and a broker visibility timeout longer than any task may run or wait for a retry."""

from __future__ import annotations

import pytest
from django.conf import settings

from eportal.celery import app

#: Every task of ours, and whether it is acknowledged late and re-delivered when its worker
#: dies (only tasks that are safe to run twice are).
IDEMPOTENT = {
    # The day's claim makes a second delivery a no-op; a lost cycle is an incident instead.
    "ops.tasks.health_cycle": False,
    # A heartbeat re-delivered after its minute would fill a gap it did not live through.
    "ops.tasks.heartbeat": False,
    "ops.tasks.check_incidents": True,
    "sms.tasks.send_sms": True,
    "sms.tasks.recover_stale_sms": True,
    "sms.tasks.dispatch_sms": True,
    "booking.tasks.generate_slots_nightly": True,
    "booking.tasks.generate_slots_for_practitioner": True,
    "booking.tasks.send_booking_reminders": True,
    "booking.tasks.sweep_slot_offers": True,
    "clinics.tasks.deliver_login_code": True,
    "clinics.tasks.send_child_turning_12_notices": True,
}


def our_tasks():
    app.loader.import_default_modules()
    return {
        name: task
        for name, task in app.tasks.items()
        if name.split(".")[0] in {"sms", "booking", "clinics", "econsult", "delegation", "ops"}
    }


def test_messages_are_json_only():
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]


def test_one_message_at_a_time_per_process():
    assert app.conf.worker_prefetch_multiplier == 1


def test_late_acknowledgement_is_not_the_default():
    assert app.conf.task_acks_late is False
    assert app.conf.task_reject_on_worker_lost is False


def test_every_task_is_reviewed():
    assert set(our_tasks()) == set(IDEMPOTENT)


@pytest.mark.parametrize("name", sorted(IDEMPOTENT))
def test_only_idempotent_tasks_are_acknowledged_late(name):
    task = our_tasks()[name]
    assert bool(task.acks_late) is IDEMPOTENT[name]
    assert bool(task.reject_on_worker_lost) is IDEMPOTENT[name]


@pytest.mark.parametrize("name", sorted(IDEMPOTENT))
def test_visibility_timeout_is_longer_than_any_run_or_retry_wait(name):
    task = our_tasks()[name]
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    time_limit = task.time_limit or app.conf.task_time_limit
    assert time_limit and time_limit < visibility
    assert (getattr(task, "retry_backoff_max", 0) or 0) < visibility
    assert (task.default_retry_delay or 0) < visibility


def test_pool_restarts_are_enabled_for_the_daily_cycle():
    assert app.conf.worker_pool_restarts is True


def test_beat_schedule_is_in_oslo_time():
    assert app.conf.timezone == "Europe/Oslo"
