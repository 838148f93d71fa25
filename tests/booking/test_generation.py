"""Slot generation from schedule templates (issue 5 §1)."""

from __future__ import annotations

import datetime

import pytest

from booking.models import Appointment, ClosedDay, Slot
from booking.services import practitioner_day_set_blocked, slots_generate, slots_set_blocked
from tests.factories import OSLO, make_template, oslo

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def starts(practitioner, day: datetime.date) -> list[str]:
    return [
        s.start.astimezone(OSLO).strftime("%H:%M")
        for s in Slot.objects.filter(practitioner=practitioner).order_by("start")
        if s.start.astimezone(OSLO).date() == day
    ]


def test_template_expands_to_local_times_across_the_spring_dst_change(world):
    make_template(world.gp, world.ep)
    # Summer time starts on Sunday 29 March 2026.
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 3, 25, 0, 0))
    before = Slot.objects.get(practitioner=world.gp, start=oslo(2026, 3, 27, 8, 0))
    after = Slot.objects.get(practitioner=world.gp, start=oslo(2026, 3, 30, 8, 0))
    assert before.start.astimezone(UTC).hour == 7  # CET, UTC+1
    assert after.start.astimezone(UTC).hour == 6  # CEST, UTC+2
    assert starts(world.gp, datetime.date(2026, 3, 30)) == [
        "08:00",
        "08:20",
        "08:40",
        "09:00",
        "09:20",
        "09:40",
        "10:00",
        "10:20",
        "10:40",
    ]
    assert after.end - after.start == datetime.timedelta(minutes=20)


def test_template_expands_to_local_times_across_the_autumn_dst_change(world):
    make_template(world.gp, world.ep)
    # Summer time ends on Sunday 25 October 2026.
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 10, 21, 0, 0))
    friday = Slot.objects.get(practitioner=world.gp, start=oslo(2026, 10, 23, 8, 0))
    monday = Slot.objects.get(practitioner=world.gp, start=oslo(2026, 10, 26, 8, 0))
    assert friday.start.astimezone(UTC).hour == 6
    assert monday.start.astimezone(UTC).hour == 7


def test_a_night_rule_skips_the_hour_that_does_not_exist(world):
    make_template(world.gp, world.ep, weekdays=(7,), start="01:00", end="04:00", slot_minutes=60)
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 3, 25, 0, 0))
    assert starts(world.gp, datetime.date(2026, 3, 29)) == ["01:00", "03:00"]


def test_public_holidays_and_closed_days_get_no_slots(world):
    make_template(world.gp, world.ep)
    ClosedDay.objects.create(clinic=world.clinic, date=datetime.date(2026, 4, 8))
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 3, 30, 0, 0))
    # Easter 2026: Maundy Thursday 2 April, Good Friday 3 April, Easter Monday 6 April.
    for day in (2, 3, 6, 8):
        assert starts(world.gp, datetime.date(2026, 4, day)) == [], day
    assert len(starts(world.gp, datetime.date(2026, 4, 7))) == 9
    assert starts(world.gp, datetime.date(2026, 5, 1)) == []  # Labour Day
    assert starts(world.gp, datetime.date(2026, 5, 14)) == []  # Ascension Day


def test_slots_reach_the_horizon_and_no_further(world):
    world.settings.horizon_weeks = 2
    world.settings.save()
    make_template(world.gp, world.ep)
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 2, 2, 0, 0))
    last = Slot.objects.filter(practitioner=world.gp).latest("start")
    assert last.start.astimezone(OSLO).date() == datetime.date(2026, 2, 13)
    assert Slot.objects.filter(practitioner=world.gp).count() == 10 * 9


def test_regeneration_is_idempotent_and_never_touches_a_booked_slot(world):
    template = make_template(world.gp, world.ep)
    now = oslo(2026, 2, 2, 0, 0)
    slots_generate(practitioner_id=world.gp.pk, now=now)
    count = Slot.objects.count()
    booked_slot = Slot.objects.get(start=oslo(2026, 2, 3, 8, 20))
    Appointment.objects.create(
        slot=booked_slot,
        patient=world.patient,
        practitioner=world.gp,
        start=booked_slot.start,
        end=booked_slot.end,
        reason="x",
    )
    result = slots_generate(practitioner_id=world.gp.pk, now=now)
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    assert Slot.objects.count() == count

    # Now 30-minute slots: the booked 20-minute slot stays as it was, nothing duplicates it.
    template.rules.update(slot_minutes=30)
    slots_generate(practitioner_id=world.gp.pk, now=now)
    booked_slot.refresh_from_db()
    assert booked_slot.end - booked_slot.start == datetime.timedelta(minutes=20)
    assert starts(world.gp, datetime.date(2026, 2, 3)) == [
        "08:00",
        "08:20",
        "08:30",
        "09:00",
        "09:30",
        "10:00",
        "10:30",
    ]
    assert starts(world.gp, datetime.date(2026, 2, 4)) == [
        "08:00",
        "08:30",
        "09:00",
        "09:30",
        "10:00",
        "10:30",
    ]
    assert Appointment.objects.get().slot_id == booked_slot.pk


def test_a_newer_template_replaces_the_older_one_from_its_first_day(world):
    make_template(world.gp, world.ep, valid_from=datetime.date(2026, 1, 5))
    make_template(
        world.gp, world.ep, valid_from=datetime.date(2026, 2, 9), start="12:00", end="13:00"
    )
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 2, 2, 0, 0))
    assert starts(world.gp, datetime.date(2026, 2, 6))[0] == "08:00"
    assert starts(world.gp, datetime.date(2026, 2, 9)) == ["12:00", "12:20", "12:40"]


def test_past_slots_are_left_alone(world):
    make_template(world.gp, world.ep)
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 2, 2, 0, 0))
    world.gp.schedule_templates.all().delete()
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 2, 4, 0, 0))
    assert len(starts(world.gp, datetime.date(2026, 2, 3))) == 9  # the past stays
    assert starts(world.gp, datetime.date(2026, 2, 4)) == []


def test_staff_block_a_slot_and_a_whole_day(world):
    make_template(world.gp, world.ep)
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 2, 2, 0, 0))
    one = Slot.objects.get(start=oslo(2026, 2, 3, 8, 0))
    assert slots_set_blocked(slot_ids=[one.pk], blocked=True) == 1
    assert (
        practitioner_day_set_blocked(
            practitioner_id=world.gp.pk, day=datetime.date(2026, 2, 4), blocked=True
        )
        == 9
    )
    assert Slot.objects.filter(blocked=True).count() == 10
    practitioner_day_set_blocked(
        practitioner_id=world.gp.pk, day=datetime.date(2026, 2, 4), blocked=False
    )
    assert Slot.objects.filter(blocked=True).count() == 1
    # Regeneration keeps staff blocks.
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 2, 2, 0, 0))
    one.refresh_from_db()
    assert one.blocked


def test_no_slot_is_longer_than_max_duration(world):
    """The overlap checks look back MAX_DURATION from a slot's start (test_query_cost): the
    database refuses a rule with longer slots, and the longest rule's slots, across the
    autumn daylight-saving change, are no longer."""
    from django.db import IntegrityError, transaction

    from booking.models import MAX_DURATION

    with pytest.raises(IntegrityError), transaction.atomic():
        make_template(world.gp, world.ep, start="00:00", end="23:00", slot_minutes=481)
    make_template(
        world.gp,
        world.ep,
        weekdays=(7,),
        start="00:00",
        end="16:00",
        slot_minutes=480,
        valid_from=datetime.date(2026, 10, 25),
    )
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 10, 20, 9, 0))
    sunday = Slot.objects.filter(practitioner=world.gp, start__date=datetime.date(2026, 10, 25))
    assert sunday.exists()
    assert all(s.end - s.start <= MAX_DURATION for s in Slot.objects.filter(practitioner=world.gp))


def test_unblocking_one_day_of_a_long_absence_keeps_the_rest(world):
    from booking.models import Absence

    make_template(world.gp, world.ep)
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 2, 2, 0, 0))
    for day in (2, 3, 4, 5, 6):
        practitioner_day_set_blocked(
            practitioner_id=world.gp.pk, day=datetime.date(2026, 2, day), blocked=True
        )
    Absence.objects.all().delete()
    Absence.objects.create(
        practitioner=world.gp,
        first_day=datetime.date(2026, 2, 2),
        last_day=datetime.date(2026, 2, 6),
    )
    practitioner_day_set_blocked(
        practitioner_id=world.gp.pk, day=datetime.date(2026, 2, 4), blocked=False
    )
    ranges = sorted(Absence.objects.values_list("first_day", "last_day"))
    assert ranges == [
        (datetime.date(2026, 2, 2), datetime.date(2026, 2, 3)),
        (datetime.date(2026, 2, 5), datetime.date(2026, 2, 6)),
    ]
    # A template change later: Wednesday is open, the rest stays blocked.
    slots_generate(practitioner_id=world.gp.pk, now=oslo(2026, 2, 2, 0, 0))
    blocked_days = {s.start.astimezone(OSLO).date() for s in Slot.objects.filter(blocked=True)}
    assert blocked_days == {datetime.date(2026, 2, d) for d in (2, 3, 5, 6)}
