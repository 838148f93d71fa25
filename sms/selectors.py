"""Reading the outbox."""

from __future__ import annotations

import datetime

from django.utils import timezone

from .models import OutboxMessage


def count_since(*, clinic_id: int, since: datetime.datetime) -> int:
    """How many SMS the clinic has queued since ``since``, whatever became of them.

    Every row counts, failed ones included: a cap against SMS pumping limits what callers
    can make us send, not what the provider delivered.
    """
    return OutboxMessage.objects.filter(clinic_id=clinic_id, created__gte=since).count()


def count_today(*, clinic_id: int) -> int:
    """How many SMS the clinic has queued since midnight, local time (``TIME_ZONE``)."""
    midnight = datetime.datetime.combine(timezone.localdate(), datetime.time.min)
    return count_since(clinic_id=clinic_id, since=timezone.make_aware(midnight))
