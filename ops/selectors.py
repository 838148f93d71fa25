"""Reading the operations records: uptime from heartbeats, gaps, cycles, SMS per day."""

from __future__ import annotations

import bisect
import datetime
from dataclasses import dataclass

from django.db.models import Min
from django.utils import timezone

from . import wiring
from .models import HealthCycle, Heartbeat, Incident

MINUTE = datetime.timedelta(minutes=1)


def local_midnight(day: datetime.date) -> datetime.datetime:
    """The start of a local day, in UTC: arithmetic between two datetimes of one ZoneInfo
    is wall-clock arithmetic, which would make every day 24 hours long."""
    local = datetime.datetime.combine(
        day, datetime.time.min, tzinfo=timezone.get_default_timezone()
    )
    return local.astimezone(datetime.UTC)


@dataclass(frozen=True)
class DayUptime:
    day: datetime.date
    #: Minutes of the day that count: not in the future, not before monitoring began.
    minutes: int
    #: Of those, minutes with a heartbeat.
    up: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.up / self.minutes if self.minutes else None


@dataclass(frozen=True)
class Gap:
    start: datetime.datetime
    end: datetime.datetime
    ongoing: bool

    @property
    def minutes(self) -> int:
        return int((self.end - self.start) / MINUTE)


@dataclass(frozen=True)
class HeartbeatReport:
    days: list[DayUptime]
    gaps: list[Gap]

    @property
    def minutes(self) -> int:
        return sum(d.minutes for d in self.days)

    @property
    def up(self) -> int:
        return sum(d.up for d in self.days)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.up / self.minutes if self.minutes else None


def heartbeat_report(
    *, first_day: datetime.date, days: int, now: datetime.datetime | None = None
) -> HeartbeatReport:
    """Uptime per local day (minutes with a heartbeat / minutes that count) and the gaps.

    A minute counts when it is over (the current one is not yet) and not before the first
    heartbeat ever recorded (before that there was no monitoring to be down). Day lengths
    follow the local clock: 23 or 25 hours on the days daylight saving time changes.
    Two queries, whatever the period.
    """
    now = (now or timezone.now()).astimezone(datetime.UTC)
    until = now.replace(second=0, microsecond=0)
    since = local_midnight(first_day)
    end = local_midnight(first_day + datetime.timedelta(days=days))
    first_ever = Heartbeat.objects.aggregate(first=Min("minute"))["first"]
    beats = list(
        Heartbeat.objects.filter(minute__gte=since, minute__lt=min(end, until))
        .order_by("minute")
        .values_list("minute", flat=True)
    )
    counted_from = max(since, first_ever) if first_ever else end
    result = []
    for offset in range(days):
        day = first_day + datetime.timedelta(days=offset)
        start = max(local_midnight(day), counted_from)
        stop = min(local_midnight(day + datetime.timedelta(days=1)), until)
        if stop <= start:
            result.append(DayUptime(day, 0, 0))
            continue
        up = bisect.bisect_left(beats, stop) - bisect.bisect_left(beats, start)
        result.append(DayUptime(day, int((stop - start) / MINUTE), up))
    return HeartbeatReport(result, _gaps(beats, counted_from, min(end, until)))


def _gaps(
    beats: list[datetime.datetime], start: datetime.datetime, stop: datetime.datetime
) -> list[Gap]:
    """Runs of minutes without a heartbeat in [start, stop), the latest first."""
    if stop <= start:
        return []
    gaps = []
    expected = start
    for minute in beats:
        if minute < start:
            continue
        if minute > expected:
            gaps.append(Gap(expected, minute, ongoing=False))
        expected = minute + MINUTE
    if expected < stop:
        gaps.append(Gap(expected, stop, ongoing=True))
    gaps.reverse()
    return gaps


def recent_cycles(*, limit: int = 14) -> list[HealthCycle]:
    """The last cycles with their steps (two queries)."""
    return list(HealthCycle.objects.prefetch_related("steps").order_by("-day")[:limit])


def recent_incidents(*, limit: int = 10) -> list[Incident]:
    return list(Incident.objects.order_by("-opened_at")[:limit])


@dataclass(frozen=True)
class DaySms:
    day: datetime.date
    delivered: int
    sent: int
    failed: int

    @property
    def total(self) -> int:
        return self.delivered + self.sent + self.failed


def sms_per_day(*, first_day: datetime.date, days: int, clinic_id: int | None) -> list[DaySms]:
    """SMS per local day: delivered, sent (no delivery report yet) and failed (failed or
    undelivered). ``clinic_id`` None: every clinic. One query."""
    counts = wiring.sms_daily_status_counts(
        since=local_midnight(first_day),
        until=local_midnight(first_day + datetime.timedelta(days=days)),
        clinic_id=clinic_id,
    )
    result = []
    for offset in range(days):
        day = first_day + datetime.timedelta(days=offset)
        c = counts.get(day, {})
        result.append(
            DaySms(
                day,
                delivered=c.get("delivered", 0),
                sent=c.get("sent", 0),
                failed=c.get("failed", 0) + c.get("undelivered", 0),
            )
        )
    return result
