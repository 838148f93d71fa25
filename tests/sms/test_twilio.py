"""The Twilio backend against a local server that answers like Twilio's Messages API."""

from __future__ import annotations

import logging
import socket

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from twilio.request_validator import RequestValidator

from sms import tasks
from sms.backends.base import PermanentError, TemporaryError
from sms.backends.twilio import TwilioBackend
from sms.models import OutboxMessage
from sms.services import MAX_ATTEMPTS, sms_queue, sms_send
from tests.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL

Status = OutboxMessage.Status

NUMBER = "+4791234567"


def queue_and_commit(clinic, capture, text="Koden din er 123456"):
    with capture(execute=True):
        message = sms_queue(
            clinic_id=clinic.pk, to=NUMBER, text=text, purpose="login_code", secret=text[-6:]
        )
    message.refresh_from_db()
    return message


def test_backend_posts_to_the_messages_api(twilio):
    message = OutboxMessage(pk=1, recipient=NUMBER, text="Koden din er 123456")
    sid = TwilioBackend().send(message)
    assert sid.startswith("SM")
    [request] = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.authorised
    assert request.form == {
        "To": NUMBER,
        "From": "Bakkehuset",
        "Body": "Koden din er 123456",
        "StatusCallback": f"{PUBLIC_BASE_URL}/sms/status/",
    }


def test_no_status_callback_without_a_public_base_url(twilio, settings):
    settings.EPORTAL_PUBLIC_BASE_URL = ""
    TwilioBackend().send(OutboxMessage(recipient=NUMBER, text="Hei"))
    assert "StatusCallback" not in twilio.requests[0].form


def test_backend_needs_its_settings(twilio, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    with pytest.raises(ImproperlyConfigured):
        TwilioBackend()


def test_invalid_number_is_a_permanent_error_without_the_number(twilio):
    twilio.answer("invalid_number")
    with pytest.raises(PermanentError) as raised:
        TwilioBackend().send(OutboxMessage(recipient=NUMBER, text="Hei"))
    assert raised.value.reason == "Twilio HTTP 400, error 21211"


@pytest.mark.parametrize("answer", ["server_error", "rate_limited", "slow"])
def test_server_errors_rate_limits_and_timeouts_are_temporary(twilio, answer):
    twilio.answer(answer)
    with pytest.raises(TemporaryError):
        TwilioBackend().send(OutboxMessage(recipient=NUMBER, text="Hei"))


def test_wrong_credentials_are_permanent(twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"
    with pytest.raises(PermanentError, match="HTTP 401"):
        TwilioBackend().send(OutboxMessage(recipient=NUMBER, text="Hei"))


def test_no_connection_is_temporary(twilio, settings):
    with socket.socket() as sock:  # a port on which nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{port}"
    with pytest.raises(TemporaryError, match="unreachable"):
        TwilioBackend().send(OutboxMessage(recipient=NUMBER, text="Hei"))


@pytest.mark.django_db
def test_invalid_number_fails_the_row_without_retry(
    twilio, clinic, django_capture_on_commit_callbacks
):
    twilio.answer("invalid_number")
    message = queue_and_commit(clinic, django_capture_on_commit_callbacks)
    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert message.last_error == "Twilio HTTP 400, error 21211"
    assert NUMBER[-8:] not in message.last_error
    assert len(twilio.requests) == 1


@pytest.mark.django_db
def test_server_error_is_retried(twilio, clinic, django_capture_on_commit_callbacks):
    twilio.answer("server_error", "server_error")
    message = queue_and_commit(clinic, django_capture_on_commit_callbacks)
    assert (message.status, message.attempts) == (Status.SENT, 3)
    assert [r.answer for r in twilio.requests] == ["server_error", "server_error", "ok"]


@pytest.mark.django_db
def test_timeout_is_retried(twilio, clinic, django_capture_on_commit_callbacks):
    """At-least-once on timeouts (see sms_send): Twilio may have accepted the slow request
    too, so the patient can get this SMS twice; both requests carry the same text."""
    twilio.answer("slow")
    message = queue_and_commit(clinic, django_capture_on_commit_callbacks)
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert [r.answer for r in twilio.requests] == ["slow", "ok"]
    assert message.last_error == "Twilio timeout (ReadTimeout)"


@pytest.mark.django_db
def test_provider_down_for_every_try_fails_the_row(
    twilio, clinic, django_capture_on_commit_callbacks
):
    twilio.answer(*["server_error"] * 10)
    message = queue_and_commit(clinic, django_capture_on_commit_callbacks)
    assert (message.status, message.attempts) == (Status.FAILED, MAX_ATTEMPTS)
    assert len(twilio.requests) == MAX_ATTEMPTS
    assert twilio.accepted == []


@pytest.mark.django_db
def test_sms_failing_at_the_provider_and_succeeding_on_retry_is_delivered_exactly_once(
    twilio, clinic, django_capture_on_commit_callbacks, settings
):
    twilio.answer("server_error")
    message = queue_and_commit(clinic, django_capture_on_commit_callbacks)

    assert len(twilio.requests) == 2
    assert [r.answer for r in twilio.requests] == ["server_error", "ok"]
    assert len(twilio.accepted) == 1
    assert twilio.accepted[0]["Body"] == "Koden din er 123456"
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert message.provider_id.startswith("SM")

    # Running the send again, directly or as a task, sends nothing more.
    sms_send(message_id=message.pk)
    tasks.send_sms.delay(message.pk)
    assert len(twilio.requests) == 2

    # Twilio reports delivery; the row records it.
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    params = {"MessageSid": message.provider_id, "MessageStatus": "delivered"}
    url = f"{PUBLIC_BASE_URL}/sms/status/"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    response = Client().post("/sms/status/", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert len(twilio.accepted) == 1


def test_provider_errors_do_not_carry_the_number_in_their_traceback(twilio):
    twilio.answer("invalid_number")
    with pytest.raises(PermanentError) as raised:
        TwilioBackend().send(OutboxMessage(recipient=NUMBER, text="Hei"))
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_backend_sends_without_status_callback_when_the_webhook_is_not_routed(twilio, settings):
    settings.ROOT_URLCONF = "tests.sms.urls_without_sms"
    TwilioBackend().send(OutboxMessage(recipient=NUMBER, text="Hei"))
    assert "StatusCallback" not in twilio.requests[0].form


@pytest.mark.django_db
def test_logs_never_hold_the_text_or_the_number(
    twilio, clinic, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    twilio.answer("server_error", "invalid_number")
    queue_and_commit(clinic, django_capture_on_commit_callbacks, text="Koden din er 987654")
    twilio.answer("slow")
    queue_and_commit(clinic, django_capture_on_commit_callbacks, text="Koden din er 987654")
    assert any(r.name.startswith("sms") for r in caplog.records)
    logged = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    assert "987654" not in logged
    assert NUMBER[3:] not in logged
