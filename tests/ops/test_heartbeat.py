"""Heartbeats, and uptime per day and month computed from them."""

from __future__ import annotations

import datetime

import time_machine

from ops import selectors, services, tasks
from ops.models import Heartbeat
from tests.ops.conftest import oslo

MINUTE = datetime.timedelta(minutes=1)


def beat(start: datetime.datetime, minutes: int, skip: set[int] = frozenset()) -> None:
    Heartbeat.objects.bulk_create(
        Heartbeat(minute=start + i * MINUTE) for i in range(minutes) if i not in skip
    )


def test_the_heartbeat_task_writes_one_row_per_minute(db):
    with time_machine.travel(oslo(2026, 5, 4, 10, 0, 5), tick=False) as t:
        tasks.heartbeat.delay()
        t.shift(datetime.timedelta(seconds=20))
        services.heartbeat_record()  # a second one in the same minute
        t.shift(datetime.timedelta(seconds=60))
        tasks.heartbeat.delay()
    assert [
        m.astimezone(oslo(2026, 1, 1).tzinfo).strftime("%H:%M")
        for m in Heartbeat.objects.order_by("minute").values_list("minute", flat=True)
    ] == ["10:00", "10:01"]


def test_uptime_counts_minutes_with_a_heartbeat_and_not_the_future(db):
    beat(oslo(2026, 5, 4, 0, 0), 600, skip={100, 101, 102})
    report = selectors.heartbeat_report(
        first_day=datetime.date(2026, 5, 4), days=2, now=oslo(2026, 5, 4, 10, 0, 30)
    )
    today, tomorrow = report.days
    assert (today.up, today.minutes) == (597, 600)
    assert (tomorrow.up, tomorrow.minutes) == (0, 0) and tomorrow.percent is None
    assert report.percent == 100 * 597 / 600
    [gap] = report.gaps
    assert (gap.start, gap.minutes, gap.ongoing) == (oslo(2026, 5, 4, 1, 40), 3, False)


def test_days_before_monitoring_began_have_no_data(db):
    beat(oslo(2026, 5, 3, 12, 0), 12 * 60)
    report = selectors.heartbeat_report(
        first_day=datetime.date(2026, 5, 1), days=3, now=oslo(2026, 5, 4, 0, 0)
    )
    assert [d.percent for d in report.days] == [None, None, 100.0]
    assert report.gaps == []


def test_a_missing_tail_is_an_ongoing_gap(db):
    beat(oslo(2026, 5, 4, 9, 0), 30)
    report = selectors.heartbeat_report(
        first_day=datetime.date(2026, 5, 4), days=1, now=oslo(2026, 5, 4, 10, 0)
    )
    [gap] = report.gaps
    assert (gap.start, gap.end, gap.ongoing, gap.minutes) == (
        oslo(2026, 5, 4, 9, 30),
        oslo(2026, 5, 4, 10, 0),
        True,
        30,
    )


def test_days_with_a_dst_change_have_23_and_25_hours(db):
    beat(oslo(2026, 3, 28, 0, 0), 10)  # monitoring began before
    report = selectors.heartbeat_report(
        first_day=datetime.date(2026, 3, 29), days=1, now=oslo(2026, 4, 1, 0, 0)
    )
    assert report.days[0].minutes == 23 * 60
    report = selectors.heartbeat_report(
        first_day=datetime.date(2026, 10, 25), days=1, now=oslo(2026, 11, 1, 0, 0)
    )
    assert report.days[0].minutes == 25 * 60
