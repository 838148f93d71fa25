"""Reading the outbox."""

from __future__ import annotations

import datetime

from django.db.models import Count
from django.db.models.functions import TruncDate
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


def daily_status_counts(
    *, since: datetime.datetime, until: datetime.datetime, clinic_id: int | None = None
) -> dict[datetime.date, dict[str, int]]:
    """SMS created in [since, until), counted per local day and status, in one query.

    ``clinic_id`` None counts every clinic's. Days without SMS are missing from the answer.
    """
    rows = OutboxMessage.objects.filter(created__gte=since, created__lt=until)
    if clinic_id is not None:
        rows = rows.filter(clinic_id=clinic_id)
    counts: dict[datetime.date, dict[str, int]] = {}
    for row in (
        rows.annotate(day=TruncDate("created", tzinfo=timezone.get_default_timezone()))
        .values("day", "status")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts.setdefault(row["day"], {})[row["status"]] = row["n"]
    return counts
