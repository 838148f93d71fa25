"""Prints each SMS to stdout: for development only (the text may hold a login code)."""

from __future__ import annotations

import sys
import threading
import uuid
from typing import TYPE_CHECKING, Any, TextIO

from .base import BaseSmsBackend

if TYPE_CHECKING:
    from sms.models import OutboxMessage

_lock = threading.Lock()


class ConsoleBackend(BaseSmsBackend):
    def __init__(self, *, stream: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream = stream or sys.stdout

    def send(self, message: OutboxMessage) -> str:
        provider_id = f"console-{uuid.uuid4().hex}"
        with _lock:
            self.stream.write(
                f"SMS to {message.recipient} ({message.purpose}, {provider_id})\n"
                f"{message.text}\n{'-' * 79}\n"
            )
            self.stream.flush()
        return provider_id
