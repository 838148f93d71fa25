"""Sends SMS through Twilio's Messages API with the ``twilio`` library.

Settings: ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TWILIO_FROM`` (a number or an
alphanumeric sender), ``TWILIO_API_BASE_URL`` (empty for Twilio itself; tests point it at a
local server), ``TWILIO_TIMEOUT`` (seconds, default 10) and ``EPORTAL_PUBLIC_BASE_URL`` (when
set, Twilio reports delivery to our status webhook there).

Errors are mapped for the sending task: a 5xx answer, 408, 429, a timeout or no connection is a
:class:`TemporaryError`; any other 4xx answer is a :class:`PermanentError`. Twilio's error
messages quote the recipient's number, so the stored reason holds only the HTTP status and
Twilio's error code.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .base import BaseSmsBackend, PermanentError, TemporaryError

if TYPE_CHECKING:
    from sms.models import OutboxMessage

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
RETRYABLE_4XX = {408, 429}


def status_callback_url() -> str | None:
    """The public URL of our delivery-status webhook, or None when it is not reachable."""
    base = getattr(settings, "EPORTAL_PUBLIC_BASE_URL", "")
    if not base:
        return None
    try:
        path = reverse("sms:status")
    except NoReverseMatch:
        logger.warning("sms.urls is not included in ROOT_URLCONF: no delivery reports")
        return None
    return base.rstrip("/") + path


class TwilioBackend(BaseSmsBackend):
    def __init__(self, *, timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        account_sid = settings.TWILIO_ACCOUNT_SID
        auth_token = settings.TWILIO_AUTH_TOKEN
        self.sender = settings.TWILIO_FROM
        if not (account_sid and auth_token and self.sender):
            raise ImproperlyConfigured(
                "TwilioBackend needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM."
            )
        if timeout is None:
            timeout = float(getattr(settings, "TWILIO_TIMEOUT", DEFAULT_TIMEOUT))
        # No retries inside the HTTP client: the sending task decides about retries, and
        # it must know about every request that may have reached Twilio.
        http_client = TwilioHttpClient(timeout=timeout, max_retries=0)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        base_url = getattr(settings, "TWILIO_API_BASE_URL", "")
        if base_url:
            # Every Messages API URL is built from the Api domain's base_url.
            self.client.api.base_url = base_url.rstrip("/")

    def check(self) -> str:
        """Fetch our own Account resource: authenticated, free, and it sends nothing."""
        try:
            account = self.client.api.v2010.accounts(self.client.account_sid).fetch()
        except TwilioException as error:
            raise _refusal(error) from None
        except requests.RequestException as error:
            raise TemporaryError(f"Twilio unreachable ({type(error).__name__})") from error
        except ValueError as error:
            raise TemporaryError("unreadable answer from Twilio") from error
        if account.status != "active":
            raise PermanentError(f"Twilio account is {account.status}")
        return "Twilio account active"

    def send(self, message: OutboxMessage) -> str:
        params: dict[str, Any] = {"to": message.recipient, "from_": self.sender}
        callback = status_callback_url()
        if callback:
            params["status_callback"] = callback
        try:
            created = self.client.messages.create(body=message.text, **params)
        except TwilioException as error:
            # "from None": Twilio's message quotes the number, keep it out of tracebacks.
            raise _refusal(error) from None
        except requests.Timeout as error:
            # Ambiguous: Twilio may have accepted the message (see services.sms_send).
            raise TemporaryError(f"Twilio timeout ({type(error).__name__})") from error
        except requests.RequestException as error:
            raise TemporaryError(f"Twilio unreachable ({type(error).__name__})") from error
        except ValueError as error:
            # A 2xx answer we cannot read: Twilio probably accepted the message, so a
            # retry could send it twice.
            raise PermanentError("unreadable answer from Twilio") from error
        if not created.sid:
            raise PermanentError("Twilio answered without a message id")
        return created.sid


def _refusal(error: TwilioException) -> PermanentError | TemporaryError:
    """Twilio's error answer as ours: a 4xx that retrying cannot fix is permanent; the
    reason names the HTTP status and Twilio's error code, never the message's text."""
    status = getattr(error, "status", None)
    reason = f"Twilio HTTP {status}, error {getattr(error, 'code', None)}"
    if isinstance(status, int) and 400 <= status < 500 and status not in RETRYABLE_4XX:
        return PermanentError(reason)
    return TemporaryError(reason)
