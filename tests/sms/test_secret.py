"""sms_queue(secret=...): the secret is kept only while the SMS may still have to be sent."""

from __future__ import annotations

import contextlib
import datetime
import logging

import pytest
import time_machine
from django.utils import timezone

import sms
from sms import services, tasks
from sms.backends.base import PermanentError, TemporaryError
from sms.models import OutboxMessage
from sms.services import sms_queue, sms_record_status, sms_recover_stale, sms_send
from tests.sms import backends

Status = OutboxMessage.Status

pytestmark = pytest.mark.django_db

CODE = "424242"
TEXT = f"Your ePortal code is {CODE}. It is valid for 5 minutes. Never share it."
REDACTED = "Your ePortal code is ••••••. It is valid for 5 minutes. Never share it."


def queue(clinic, **kwargs):
    """A login code row, left 'queued' (its send task is not run)."""
    kwargs.setdefault("text", TEXT)
    kwargs.setdefault("secret", CODE)
    kwargs.setdefault("purpose", OutboxMessage.Purpose.LOGIN_CODE)
    return sms_queue(clinic_id=clinic.pk, to="+4791234567", **kwargs)


def stored(message):
    return OutboxMessage.objects.values_list("text", "redacted_text").get(pk=message.pk)


def test_queued_row_keeps_the_secret_to_send_and_a_redacted_copy(clinic):
    message = queue(clinic)
    assert stored(message) == (TEXT, REDACTED)
    assert message.staff_text == REDACTED


def test_text_without_secret_has_no_redacted_copy(clinic):
    message = queue(clinic, text="Timen din er bekreftet", secret="", purpose="other")
    assert stored(message) == ("Timen din er bekreftet", "")
    assert message.staff_text == "Timen din er bekreftet"


def test_login_code_without_its_secret_is_refused(clinic):
    with pytest.raises(ValueError) as error:
        queue(clinic, secret="")
    assert CODE not in str(error.value)
    assert not OutboxMessage.objects.exists()


def test_secret_that_is_not_in_the_text_is_refused(clinic):
    with pytest.raises(ValueError) as error:
        queue(clinic, secret="999999")
    assert "999999" not in str(error.value)
    assert not OutboxMessage.objects.exists()


def test_row_that_waits_for_dispatch_is_redacted_too(clinic, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queue(clinic, wait=True)
    assert OutboxMessage.objects.values_list("text", "redacted_text").get() == (TEXT, REDACTED)


def test_sent_row_loses_the_secret(clinic, scripted_backend):
    message = queue(clinic)
    assert sms_send(message_id=message.pk).status == Status.SENT
    assert backends.texts == [TEXT]
    assert stored(message) == (REDACTED, REDACTED)


def test_temporary_error_keeps_the_secret_for_the_retry(clinic, scripted_backend):
    scripted_backend.append(TemporaryError("Twilio HTTP 503"))
    message = queue(clinic)
    with pytest.raises(TemporaryError):
        sms_send(message_id=message.pk)
    assert OutboxMessage.objects.get(pk=message.pk).status == Status.QUEUED
    assert stored(message) == (TEXT, REDACTED)
    assert sms_send(message_id=message.pk).status == Status.SENT
    assert backends.texts == [TEXT, TEXT]
    assert stored(message) == (REDACTED, REDACTED)


def test_task_retries_with_the_secret_then_drops_it(clinic, scripted_backend):
    scripted_backend.extend([TemporaryError("one"), TemporaryError("two"), "SMok"])
    message = queue(clinic)
    tasks.send_sms.delay(message.pk)
    assert backends.texts == [TEXT] * 3
    assert stored(message) == (REDACTED, REDACTED)


@pytest.mark.parametrize(
    "outcome",
    [PermanentError("Twilio HTTP 400, error 21211"), ZeroDivisionError("a bug")],
    ids=["permanent", "unexpected"],
)
def test_failed_row_loses_the_secret(clinic, scripted_backend, outcome):
    scripted_backend.append(outcome)
    message = queue(clinic)
    with contextlib.suppress(ZeroDivisionError):  # an unexpected error is raised again
        sms_send(message_id=message.pk)
    assert OutboxMessage.objects.get(pk=message.pk).status == Status.FAILED
    assert stored(message) == (REDACTED, REDACTED)


def test_temporary_error_on_the_last_attempt_drops_the_secret(clinic, scripted_backend):
    scripted_backend.append(TemporaryError("timeout"))
    message = queue(clinic)
    assert sms_send(message_id=message.pk, final_attempt=True).status == Status.FAILED
    assert stored(message) == (REDACTED, REDACTED)


def test_row_out_of_attempts_loses_the_secret(clinic, scripted_backend):
    message = queue(clinic)
    OutboxMessage.objects.filter(pk=message.pk).update(attempts=services.MAX_ATTEMPTS)
    assert sms_send(message_id=message.pk).status == Status.FAILED
    assert backends.calls == []
    assert stored(message) == (REDACTED, REDACTED)


def test_row_interrupted_while_sending_for_good_loses_the_secret(clinic):
    message = queue(clinic)
    plain = queue(clinic, text="Timen din er bekreftet", secret="", purpose="other")
    OutboxMessage.objects.update(status=Status.SENDING, attempts=services.MAX_ATTEMPTS)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16), tick=False):
        assert sms_recover_stale() == (0, 2)
    assert stored(message) == (REDACTED, REDACTED)
    assert stored(plain) == ("Timen din er bekreftet", "")


def test_row_interrupted_while_sending_keeps_the_secret_to_send_again(clinic):
    message = queue(clinic)
    OutboxMessage.objects.update(status=Status.SENDING, attempts=1)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=3), tick=False):
        assert sms_recover_stale() == (1, 0)
    assert stored(message) == (TEXT, REDACTED)


def test_stale_queued_row_keeps_the_secret_to_send(clinic):
    message = queue(clinic)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16), tick=False):
        assert sms_recover_stale() == (1, 0)
    assert stored(message) == (TEXT, REDACTED)


@pytest.mark.parametrize("report", ["sent", "delivered", "undelivered", "failed"])
def test_every_delivery_report_leaves_only_the_redacted_text(clinic, report):
    message = queue(clinic)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.SENDING, provider_id="SM" + "b" * 32
    )
    assert sms_record_status(provider_id="SM" + "b" * 32, status=report)
    assert stored(message) == (REDACTED, REDACTED)


def test_the_code_is_never_logged(clinic, scripted_backend, caplog):
    caplog.set_level(logging.DEBUG)
    scripted_backend.extend([TemporaryError("one"), PermanentError("two")])
    message = queue(clinic)
    tasks.send_sms.delay(message.pk)
    assert caplog.records
    assert CODE not in caplog.text


def test_locmem_backend_keeps_what_it_was_handed(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(clinic)
    assert [m.text for m in sms.outbox] == [TEXT]
    assert stored(message) == (REDACTED, REDACTED)
