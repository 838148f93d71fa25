"""Twilio's delivery-status webhook: signed calls update the outbox, everything else is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse
from twilio.request_validator import RequestValidator

from sms.models import OutboxMessage

Status = OutboxMessage.Status

pytestmark = pytest.mark.django_db

TOKEN = "webhook-test-token"
PUBLIC = "https://eportal.example"
URL = "/sms/status/"


@pytest.fixture(autouse=True)
def _twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.EPORTAL_PUBLIC_BASE_URL = PUBLIC


@pytest.fixture
def sent(clinic):
    return OutboxMessage.objects.create(
        clinic=clinic,
        recipient="+4791234567",
        text="Hei",
        purpose="other",
        status=Status.SENT,
        provider_id="SM" + "a" * 32,
        attempts=1,
    )


def sign(params, url=PUBLIC + URL, token=TOKEN):
    return RequestValidator(token).compute_signature(url, params)


def report(client, params, signature=None, **extra):
    if signature is not None:
        extra["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post(URL, params, **extra)


def status_of(message):
    message.refresh_from_db()
    return message.status


def test_url_is_named():
    assert reverse("sms:status") == URL


def test_signed_delivery_report_updates_the_row(client, sent):
    params = {"MessageSid": sent.provider_id, "MessageStatus": "delivered", "To": "+4791234567"}
    response = report(client, params, sign(params))
    assert response.status_code == 204
    assert status_of(sent) == Status.DELIVERED


def test_undelivered_report_records_the_error_code(client, sent):
    params = {"MessageSid": sent.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    assert report(client, params, sign(params)).status_code == 204
    sent.refresh_from_db()
    assert (sent.status, sent.last_error) == (Status.UNDELIVERED, "provider error 30005")


def test_repeated_and_late_reports_change_nothing(client, sent):
    for status in ["delivered", "delivered", "sent", "failed", "queued"]:
        params = {"MessageSid": sent.provider_id, "MessageStatus": status}
        assert report(client, params, sign(params)).status_code == 204
    assert status_of(sent) == Status.DELIVERED


def test_missing_signature_is_refused(client, sent):
    params = {"MessageSid": sent.provider_id, "MessageStatus": "delivered"}
    assert report(client, params).status_code == 403
    assert status_of(sent) == Status.SENT


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "not-a-signature",
        sign({"MessageSid": "SM" + "a" * 32, "MessageStatus": "failed"}),  # other params
        sign({"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered"}, token="other"),
        sign(
            {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered"},
            url="https://evil.example/sms/status/",
        ),
    ],
)
def test_wrong_signature_is_refused(client, sent, signature):
    params = {"MessageSid": sent.provider_id, "MessageStatus": "delivered"}
    assert report(client, params, signature).status_code == 403
    assert status_of(sent) == Status.SENT


def test_everything_is_refused_when_no_auth_token_is_configured(client, sent, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    params = {"MessageSid": sent.provider_id, "MessageStatus": "delivered"}
    assert report(client, params, sign(params, token="")).status_code == 403
    assert status_of(sent) == Status.SENT


def test_without_a_public_base_url_the_request_url_is_signed(client, sent, settings):
    settings.EPORTAL_PUBLIC_BASE_URL = ""
    params = {"MessageSid": sent.provider_id, "MessageStatus": "delivered"}
    assert (
        report(client, params, sign(params, url="https://eportal.example" + URL)).status_code == 403
    )
    assert report(client, params, sign(params, url="http://testserver" + URL)).status_code == 204
    assert status_of(sent) == Status.DELIVERED


def test_unknown_provider_id_is_answered_harmlessly(client, sent):
    params = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"}
    assert report(client, params, sign(params)).status_code == 204
    assert status_of(sent) == Status.SENT


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"MessageStatus": "delivered"},
        {"MessageSid": "", "MessageStatus": "delivered"},
        {"MessageSid": "SM\x00' OR 1=1 --", "MessageStatus": "delivered"},
        {"MessageSid": "S" * 5000, "MessageStatus": "delivered"},
        {"MessageSid": "SM" + "a" * 32, "MessageStatus": "exploded"},
        {"MessageSid": "SM" + "a" * 32, "MessageStatus": ""},
        {"MessageSid": "SM" + "a" * 32, "MessageStatus": "failed", "ErrorCode": "<script>"},
    ],
)
def test_signed_junk_never_errors(client, sent, params):
    assert report(client, params, sign(params)).status_code == 204


def test_junk_bodies_are_refused_not_crashed_on(client, sent):
    assert client.get(URL).status_code == 405
    assert (
        client.post(
            URL, b"{not json", content_type="application/json", HTTP_X_TWILIO_SIGNATURE="x"
        ).status_code
        == 403
    )
    response = client.post(
        URL,
        b"--broken\r\nContent-Disposition: form-data",
        content_type="multipart/form-data; boundary=broken",
        HTTP_X_TWILIO_SIGNATURE="x",
    )
    assert response.status_code in {400, 403}
    assert status_of(sent) == Status.SENT


def test_webhook_needs_no_csrf_token(sent):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    params = {"MessageSid": sent.provider_id, "MessageStatus": "delivered"}
    assert report(client, params, sign(params)).status_code == 204
