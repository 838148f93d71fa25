"""The interface every SMS backend implements, and the two errors it may raise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sms.models import OutboxMessage


class SmsError(Exception):
    """A failure to hand an SMS to the provider.

    ``reason`` is stored in the outbox row and may be logged: it must never contain the
    message text or the recipient's number (a provider's error message often does, so
    backends build it from status and error codes only).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:200]


class TemporaryError(SmsError):
    """Worth another try later: a 5xx answer, a rate limit, a timeout, no connection."""


class PermanentError(SmsError):
    """Trying again will not help: the provider refused this message (a 4xx answer)."""


class BaseSmsBackend:
    """Subclasses implement :meth:`send`, and :meth:`check` when they talk to a provider.

    A backend is constructed for each send, reads its settings in ``__init__`` (never at
    import time) and keeps no state between messages.
    """

    def __init__(self, **kwargs: Any) -> None:
        pass

    def send(self, message: OutboxMessage) -> str:
        """Hand ``message`` (its ``recipient`` and ``text``) to the provider.

        Returns the provider's id for the message. Raises :class:`TemporaryError` when a later
        try may succeed and :class:`PermanentError` when it will not.
        """
        raise NotImplementedError("subclasses of BaseSmsBackend must override send()")

    def check(self) -> str:
        """Is the provider reachable and does it accept our credentials? (The daily cycle.)

        Sends nothing and costs nothing. Returns a short description for the health record
        (never a secret); raises :class:`SmsError` when the provider cannot be used. A backend
        that sends nowhere (console, file, in-memory) has nothing to check.
        """
        return "ok"
