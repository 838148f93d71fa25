"""Speed (docs/benchmarks.md): the free-slot query and the booking's locking statement read about
the same number of pages for a practitioner with a long history as for a new one.

A fixed number of queries is not enough: a query whose overlap check walks every earlier
appointment of the practitioner gets slower every day the clinic uses ePortal. PostgreSQL's
own count of the buffers a statement touches (``EXPLAIN (ANALYZE, BUFFERS)``) shows it.
"""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet

from booking.models import Appointment, Slot
from booking.queries import lock_slots_queryset
from booking.selectors import free_slots
from tests.factories import build_booking_world, make_slot, oslo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = oslo(2026, 3, 2, 7, 0)
WEEK = oslo(2026, 3, 2, 0, 0)
MINUTE = datetime.timedelta(minutes=1)


def buffers(queryset: QuerySet) -> int:
    """Pages the statement touched (shared buffers hit or read), planning excluded."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE booking_appointment")
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    top = plan[0]["Plan"]
    return top["Shared Hit Blocks"] + top["Shared Read Blocks"]


def add_history(w, days: range) -> None:
    """Past days of the GP's timebook (``days`` before the measured week), every 20-minute
    slot 08:00–16:00 booked."""
    slots = Slot.objects.bulk_create(
        Slot(
            practitioner=w.gp,
            appointment_type=w.ep,
            start=oslo(2026, 3, 2, 8, 0) - datetime.timedelta(days=day) + 20 * i * MINUTE,
            end=oslo(2026, 3, 2, 8, 20) - datetime.timedelta(days=day) + 20 * i * MINUTE,
        )
        for day in days
        for i in range(24)
    )
    Appointment.objects.bulk_create(
        Appointment(
            slot=s,
            patient=w.patient,
            practitioner=w.gp,
            start=s.start,
            end=s.end,
            reason="x",
        )
        for s in slots
    )


def measured(w) -> tuple[int, int]:
    week = free_slots(practitioner_ids=[w.gp.pk], start=WEEK, end=WEEK + datetime.timedelta(days=7))
    with transaction.atomic():
        lock = lock_slots_queryset(
            slot_id=w.slot.pk,
            patient_id=w.patient.pk,
            clinic_id=w.clinic.pk,
            list_id=w.gp_list.pk,
            now=NOW,
            urgent=False,
        )
        return buffers(week), buffers(lock)


def test_the_overlap_checks_do_not_walk_the_practitioners_history(clinic):
    w = build_booking_world(clinic)
    for day in range(5):
        for i in range(20):
            slot = make_slot(
                w.gp, w.ep, oslo(2026, 3, 2, 8, 0) + datetime.timedelta(days=day, minutes=20 * i)
            )
    w.slot = slot
    add_history(w, days=range(1, 32))  # a month before the week: 744 booked appointments
    new_week, new_lock = measured(w)

    add_history(w, days=range(32, 63))  # a month more
    old_week, old_lock = measured(w)

    # A walk over the history would touch hundreds of pages more (one per appointment).
    assert old_week <= new_week + 20, (new_week, old_week)
    assert old_lock <= new_lock + 20, (new_lock, old_lock)
