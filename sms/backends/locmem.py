"""Keeps each SMS in ``sms.outbox``, as Django's locmem email backend keeps ``mail.outbox``.

Tests read ``sms.outbox`` and reset it (``sms.outbox = []``) before each test.
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING

import sms

from .base import BaseSmsBackend

if TYPE_CHECKING:
    from sms.models import OutboxMessage


class LocMemBackend(BaseSmsBackend):
    def send(self, message: OutboxMessage) -> str:
        provider_id = f"locmem-{uuid.uuid4().hex}"
        sent = copy.copy(message)
        sent.provider_id = provider_id
        if not hasattr(sms, "outbox"):
            sms.outbox = []
        sms.outbox.append(sent)
        return provider_id
