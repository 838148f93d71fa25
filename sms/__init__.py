"""SMS: the outbox, pluggable backends, the sending task and the delivery-status webhook.

Other apps call :mod:`sms.services`; this app imports none of them (but for the tenant-scoped
admin base, in sms/admin.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms.models import OutboxMessage

#: Messages "sent" by ``sms.backends.locmem.LocMemBackend`` (tests reset it).
outbox: list[OutboxMessage] = []
