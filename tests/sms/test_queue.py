"""sms_queue: the outbox row is written in the caller's transaction and sent after commit."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import transaction

import sms
from sms import selectors
from sms.models import OutboxMessage
from sms.services import sms_queue

Purpose = OutboxMessage.Purpose
Status = OutboxMessage.Status


def queue(clinic, **kwargs):
    kwargs.setdefault("to", "+4791234567")
    kwargs.setdefault("text", "Koden din er 123456")
    kwargs.setdefault("purpose", Purpose.LOGIN_CODE)
    if kwargs["purpose"] == Purpose.LOGIN_CODE:
        kwargs.setdefault("secret", "123456")
    return sms_queue(clinic_id=clinic.pk, **kwargs)


@pytest.mark.django_db
def test_queued_sms_waits_for_commit_then_is_sent(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = queue(clinic)
        assert OutboxMessage.objects.get().status == Status.QUEUED
        assert sms.outbox == []
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.attempts == 1
    assert message.provider_id.startswith("locmem-")
    assert message.sent_at is not None
    assert [(m.recipient, m.text) for m in sms.outbox] == [("+4791234567", "Koden din er 123456")]


@pytest.mark.django_db(transaction=True)
def test_no_sms_when_the_callers_transaction_rolls_back(clinic):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue(clinic)
        raise RuntimeError("the booking failed")
    assert not OutboxMessage.objects.exists()
    assert sms.outbox == []


@pytest.mark.django_db(transaction=True)
def test_sms_is_sent_when_the_callers_transaction_commits(clinic):
    with transaction.atomic():
        message = queue(clinic)
        assert sms.outbox == []
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert len(sms.outbox) == 1


@pytest.mark.django_db
def test_same_idempotency_key_queues_and_sends_once(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = queue(clinic, idempotency_key="login-code:42")
        second = queue(clinic, idempotency_key="login-code:42")
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1
    assert len(sms.outbox) == 1


@pytest.mark.django_db
def test_different_idempotency_keys_queue_separate_sms(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queue(clinic, idempotency_key="login-code:1")
        queue(clinic, idempotency_key="login-code:2")
        queue(clinic)
        queue(clinic)
    assert OutboxMessage.objects.count() == 4
    assert len(sms.outbox) == 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kwargs",
    [
        {"to": "91234567"},
        {"to": "+47 912 34 567"},
        {"to": ""},
        {"purpose": "marketing"},
        {"text": ""},
        {"text": "x" * 1601},
    ],
)
def test_invalid_sms_is_refused(clinic, kwargs):
    with pytest.raises(ValueError):
        queue(clinic, **kwargs)
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_str_and_masked_recipient_hide_the_number_and_text(clinic):
    message = queue(clinic)
    assert "91234567" not in str(message)
    assert "123456" not in str(message)
    assert message.masked_recipient == "••• •• 567"


@pytest.mark.django_db
def test_count_since_counts_one_clinics_sms(clinic, other_clinic):
    start = datetime.datetime(2026, 3, 10, 8, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        queue(clinic)
    with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
        queue(clinic)
        queue(other_clinic)
    assert selectors.count_since(clinic_id=clinic.pk, since=start) == 2
    assert (
        selectors.count_since(clinic_id=clinic.pk, since=start + datetime.timedelta(hours=1)) == 1
    )
    assert selectors.count_since(clinic_id=other_clinic.pk, since=start) == 1


@pytest.mark.django_db
def test_count_today_starts_at_midnight_in_oslo(clinic):
    # 22:30 UTC on 10 March is 23:30 in Oslo; 23:30 UTC is already 00:30 on 11 March.
    with time_machine.travel(datetime.datetime(2026, 3, 10, 22, 30, tzinfo=datetime.UTC)):
        queue(clinic)
    with time_machine.travel(datetime.datetime(2026, 3, 10, 23, 30, tzinfo=datetime.UTC)):
        queue(clinic)
    with time_machine.travel(datetime.datetime(2026, 3, 11, 9, 0, tzinfo=datetime.UTC)):
        assert selectors.count_today(clinic_id=clinic.pk) == 1


# SMS that may wait (booking confirmations): no broker round trip in the request; the
# dispatcher (beat) hands them to a worker, once.


@pytest.fixture
def broker(settings, monkeypatch):
    """As in production: a broker and a beat (tasks not run in-process, the dispatcher runs
    on beat); records what is handed to the broker instead of sending it."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.SMS_DISPATCH_AT_COMMIT = False
    enqueued: list[int] = []
    monkeypatch.setattr("sms.services._enqueue", enqueued.append)
    return enqueued


@pytest.mark.django_db(transaction=True)
def test_a_waiting_sms_is_dispatched_once_by_the_dispatcher(clinic, broker):
    from sms.services import sms_dispatch

    with transaction.atomic():
        waiting = queue(clinic, purpose=Purpose.BOOKING_CONFIRMATION, wait=True)
        now = queue(clinic, purpose=Purpose.LOGIN_CODE)
    assert broker == [now.pk]  # the login code went at once; the confirmation waits
    assert waiting.pk is None  # its insert did not wait for the id
    waiting = OutboxMessage.objects.get(purpose=Purpose.BOOKING_CONFIRMATION)
    assert waiting.enqueued_at is None and waiting.status == Status.QUEUED
    assert waiting.created is not None and waiting.updated is not None

    assert sms_dispatch() == 1
    assert broker == [now.pk, waiting.pk]
    waiting.refresh_from_db()
    assert waiting.enqueued_at is not None
    assert sms_dispatch() == 0  # never handed over twice
    assert broker == [now.pk, waiting.pk]


@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_hands_over_nothing_that_rolled_back(clinic, broker):
    from sms.services import sms_dispatch

    with pytest.raises(RuntimeError), transaction.atomic():
        queue(clinic, purpose=Purpose.BOOKING_CONFIRMATION, wait=True)
        raise RuntimeError("the booking failed")
    assert sms_dispatch() == 0
    assert broker == []


@pytest.mark.django_db(transaction=True)
def test_a_waiting_sms_with_a_key_waits_for_the_dispatcher_too(clinic, broker):
    from sms.services import sms_dispatch

    key = "booking-cancelled:7"
    with transaction.atomic():
        waiting = queue(clinic, purpose=Purpose.BOOKING_CANCELLED, idempotency_key=key, wait=True)
    assert broker == []
    assert waiting.pk is not None  # the key's insert needs its own savepoint and reads it back
    assert OutboxMessage.objects.get().enqueued_at is None
    again = queue(clinic, purpose=Purpose.BOOKING_CANCELLED, idempotency_key=key, wait=True)
    assert again.pk == waiting.pk
    assert sms_dispatch() == 1
    assert sms_dispatch() == 0
    assert broker == [waiting.pk]


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_rolled_back_waiting_sms_is_never_sent(clinic):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue(clinic, purpose=Purpose.BOOKING_CONFIRMATION, wait=True)
        raise RuntimeError("the booking failed")
    assert not OutboxMessage.objects.exists()
    assert sms.outbox == []


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_waiting_sms_is_sent_at_commit(clinic):
    # The embedded default runs tasks in-process and has no beat: nothing may wait there.
    with transaction.atomic():
        queue(clinic, purpose=Purpose.BOOKING_CONFIRMATION, wait=True)
    message = OutboxMessage.objects.get()  # the waiting message was returned without its id
    assert message.status == Status.SENT
    assert len(sms.outbox) == 1


def test_the_dispatcher_runs_on_beat_every_few_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sms-dispatch"]
    assert entry["task"] == "sms.tasks.dispatch_sms"
    assert entry["schedule"] <= 10
