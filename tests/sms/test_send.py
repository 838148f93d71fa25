"""sms_send and the send_sms task: retries, the last try, never sending a row twice while it
may still be sending, and sending again a row whose sender died."""

from __future__ import annotations

import datetime
import time

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from sms import services, tasks
from sms.backends.base import PermanentError, TemporaryError
from sms.models import OutboxMessage
from sms.services import sms_queue, sms_recover_stale, sms_send
from tests.sms import backends

Status = OutboxMessage.Status

pytestmark = pytest.mark.django_db


def make_row(clinic, **fields):
    fields.setdefault("recipient", "+4791234567")
    fields.setdefault("text", "Timen din er bekreftet")
    fields.setdefault("purpose", OutboxMessage.Purpose.BOOKING_CONFIRMATION)
    return OutboxMessage.objects.create(clinic=clinic, **fields)


def test_sent_row_is_never_sent_again(clinic, scripted_backend):
    row = make_row(clinic)
    assert sms_send(message_id=row.pk).status == Status.SENT
    for status in (Status.SENT, Status.DELIVERED):
        OutboxMessage.objects.filter(pk=row.pk).update(status=status)
        sms_send(message_id=row.pk)
        tasks.send_sms.delay(row.pk)
    assert len(backends.calls) == 1
    row.refresh_from_db()
    assert row.attempts == 1


@pytest.mark.parametrize("status", [Status.SENDING, Status.FAILED, Status.UNDELIVERED])
def test_row_that_is_not_queued_is_not_sent(clinic, scripted_backend, status):
    row = make_row(clinic, status=status, attempts=1)
    assert sms_send(message_id=row.pk).status == status
    tasks.send_sms.delay(row.pk)
    assert backends.calls == []


def test_missing_row_sends_nothing(scripted_backend):
    assert sms_send(message_id=999_999) is None
    assert backends.calls == []


def test_permanent_error_fails_the_row_without_retry(clinic, scripted_backend):
    scripted_backend.append(PermanentError("Twilio HTTP 400, error 21211"))
    row = make_row(clinic)
    tasks.send_sms.delay(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (
        Status.FAILED,
        1,
        "Twilio HTTP 400, error 21211",
    )
    assert len(backends.calls) == 1


def test_temporary_error_puts_the_row_back_and_raises(clinic, scripted_backend):
    scripted_backend.append(TemporaryError("Twilio HTTP 500, error 20500"))
    row = make_row(clinic)
    with pytest.raises(TemporaryError):
        sms_send(message_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.QUEUED, 1)
    assert row.last_error == "Twilio HTTP 500, error 20500"


def test_temporary_error_on_the_last_attempt_fails_the_row(clinic, scripted_backend):
    scripted_backend.append(TemporaryError("timeout"))
    row = make_row(clinic)
    assert sms_send(message_id=row.pk, final_attempt=True).status == Status.FAILED


def test_task_retries_temporary_errors_then_sends(clinic, scripted_backend):
    scripted_backend.extend([TemporaryError("one"), TemporaryError("two"), "SMabc"])
    row = make_row(clinic)
    tasks.send_sms.delay(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider_id) == (Status.SENT, 3, "SMabc")
    assert row.last_error == "two"  # what went wrong before it worked


def test_task_gives_up_after_max_attempts_without_sleeping(clinic, scripted_backend):
    """Eager retries run at once (Celery ignores the countdown), so this takes no time."""
    scripted_backend.extend([TemporaryError(f"try {n}") for n in range(10)])
    row = make_row(clinic)
    started = time.monotonic()
    tasks.send_sms.delay(row.pk)
    assert time.monotonic() - started < 5
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, services.MAX_ATTEMPTS)
    assert len(backends.calls) == services.MAX_ATTEMPTS
    # ...and a later run of the task does not start over.
    tasks.send_sms.delay(row.pk)
    assert len(backends.calls) == services.MAX_ATTEMPTS


def test_row_out_of_attempts_is_failed_not_sent(clinic, scripted_backend):
    row = make_row(clinic, attempts=services.MAX_ATTEMPTS)
    assert sms_send(message_id=row.pk).status == Status.FAILED
    assert backends.calls == []


def test_unexpected_backend_error_fails_the_row_and_is_raised(clinic, scripted_backend):
    scripted_backend.append(ZeroDivisionError("a bug"))
    row = make_row(clinic)
    with pytest.raises(ZeroDivisionError):
        sms_send(message_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.last_error) == (Status.FAILED, "backend error (ZeroDivisionError)")


@pytest.mark.django_db(transaction=True)
def test_backend_is_called_outside_any_transaction(clinic, scripted_backend):
    with transaction.atomic():
        sms_queue(clinic_id=clinic.pk, to="+4791234567", text="Hei", purpose="other")
    assert len(backends.calls) == 1
    assert backends.calls[0][1] is False  # no transaction (and no row lock) held
    assert OutboxMessage.objects.get().status == Status.SENT


@pytest.mark.django_db(transaction=True)
def test_sms_send_refuses_to_run_inside_a_transaction(clinic, scripted_backend):
    row = make_row(clinic)
    with pytest.raises(RuntimeError), transaction.atomic():
        sms_send(message_id=row.pk)
    assert backends.calls == []


def test_row_interrupted_while_sending_is_sent_again_after_the_lease(
    clinic, scripted_backend, django_capture_on_commit_callbacks
):
    """The worker died mid-send: the outcome is unknown, so the SMS goes again (at least
    once), but only after the lease, when that worker cannot still be sending it."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        row = make_row(clinic, status=Status.SENDING, attempts=1)
    with time_machine.travel(start + datetime.timedelta(seconds=60), tick=False):
        assert sms_recover_stale() == (0, 0)
        assert sms_send(message_id=row.pk).status == Status.SENDING
        with pytest.raises(services.SendInProgress) as busy:
            sms_send(message_id=row.pk, raise_if_busy=True)
        assert busy.value.retry_in == pytest.approx(60)
    assert backends.calls == []
    with (
        time_machine.travel(start + datetime.timedelta(seconds=121), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sms_recover_stale() == (1, 0)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 2)
    assert len(backends.calls) == 1


def test_interrupted_row_out_of_attempts_is_failed(clinic, scripted_backend):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        row = make_row(clinic, status=Status.SENDING, attempts=services.MAX_ATTEMPTS)
        other = make_row(clinic, status=Status.SENDING, attempts=services.MAX_ATTEMPTS)
    with time_machine.travel(start + datetime.timedelta(minutes=3), tick=False):
        assert sms_send(message_id=row.pk).status == Status.FAILED
        assert sms_recover_stale() == (0, 1)
    for failed in (row, other):
        failed.refresh_from_db()
        assert failed.status == Status.FAILED
        assert failed.last_error == "interrupted while sending; outcome unknown"
    assert backends.calls == []


def test_the_lease_outlasts_the_send_tasks_hard_time_limit(settings):
    """A live sender is ended by the task's time limit before its lease runs out, so a row
    is taken over only from a worker that is gone."""
    assert tasks.send_sms.time_limit < settings.SMS_SENDING_LEASE
    assert services.sending_lease().total_seconds() == settings.SMS_SENDING_LEASE
    # The task that waits for the lease is a countdown the broker must not re-deliver early.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > settings.SMS_SENDING_LEASE + 1


def test_lost_queued_row_is_enqueued_again(
    clinic, scripted_backend, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        row = make_row(clinic)
    with (
        time_machine.travel(start + datetime.timedelta(minutes=16), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sms_recover_stale() == (1, 0)
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert len(backends.calls) == 1
