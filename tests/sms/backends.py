"""A test backend whose outcomes are scripted, for the sending logic without HTTP."""

from __future__ import annotations

from typing import Any

from django.db import connection

from sms.backends.base import BaseSmsBackend

#: What the next sends do: an exception instance to raise, or a provider id to return.
script: list[Any] = []
#: One entry per call: (message id, whether a database transaction was open).
calls: list[tuple[int | None, bool]] = []
#: The text handed over in each call.
texts: list[str] = []


class ScriptedBackend(BaseSmsBackend):
    def send(self, message: Any) -> str:
        calls.append((message.pk, connection.in_atomic_block))
        texts.append(message.text)
        outcome = script.pop(0) if script else f"scripted-{len(calls)}"
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
