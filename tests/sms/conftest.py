from __future__ import annotations

import pytest

from tests.sms import backends, fake_twilio

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-0123456789"
PUBLIC_BASE_URL = "https://eportal.example"


@pytest.fixture
def scripted_backend(settings):
    """SMS_BACKEND whose outcomes the test sets: ``scripted_backend.append(TemporaryError(..))``."""
    settings.SMS_BACKEND = "tests.sms.backends.ScriptedBackend"
    backends.script.clear()
    backends.calls.clear()
    backends.texts.clear()
    yield backends.script
    backends.script.clear()
    backends.calls.clear()
    backends.texts.clear()


@pytest.fixture
def fake_twilio_server():
    fake = fake_twilio.FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    server, thread = fake_twilio.start(fake)
    yield fake
    fake.stop()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def twilio(settings, fake_twilio_server):
    """The Twilio backend, pointed at the local fake Twilio."""
    settings.SMS_BACKEND = "sms.backends.twilio.TwilioBackend"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM = "Bakkehuset"
    settings.TWILIO_API_BASE_URL = fake_twilio_server.base_url
    settings.TWILIO_TIMEOUT = 0.5
    settings.EPORTAL_PUBLIC_BASE_URL = PUBLIC_BASE_URL
    return fake_twilio_server
