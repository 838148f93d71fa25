"""Writes for the timebook: slots made from the schedule templates, blocked slots, absences.

Slots are generated per practitioner from their templates up to the clinic's horizon
(:func:`slots_generate`), again after every change that affects them (after that change
commits: :func:`slots_regenerate_later`) and nightly. A booked slot is never touched.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import partial

import holidays
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from clinics.models import Practitioner

from ..models import (
    MAX_DURATION,
    Absence,
    Appointment,
    ClosedDay,
    ScheduleTemplate,
    Slot,
    SlotOffer,
)
from ..selectors import local_midnight, local_today, local_tz, settings_of_loaded_clinic

Status = Appointment.Status


@dataclass(frozen=True)
class GenerationResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0


def _local_datetime(day: datetime.date, minutes: int) -> datetime.datetime | None:
    """``day`` at ``minutes`` after local midnight as an aware datetime; None for a wall time
    that does not exist (the hour skipped when summer time starts)."""
    tz = local_tz()
    naive = datetime.datetime.combine(day, datetime.time(0, 0)) + datetime.timedelta(
        minutes=minutes
    )
    aware = naive.replace(tzinfo=tz)
    # A non-existent wall time does not survive the round trip through UTC.
    if aware.astimezone(datetime.UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return aware


def _minutes(t: datetime.time) -> int:
    return t.hour * 60 + t.minute


def expand_templates(
    templates: list[ScheduleTemplate],
    *,
    first: datetime.date,
    last: datetime.date,
    closed: set[datetime.date],
) -> dict[datetime.datetime, tuple[datetime.datetime, int]]:
    """The slots the templates ask for on the days [first, last): {start: (end, type id)}.

    Times are local (Europe/Oslo) wall times, so 08:00 stays 08:00 across a daylight-saving
    change. On each day only the covering template with the latest ``valid_from`` applies
    (a new template from a date replaces the old one from then on). Norwegian public holidays
    and ``closed`` days get no slots.
    """
    public = holidays.country_holidays("NO", years=range(first.year, last.year + 1))
    ordered = sorted(templates, key=lambda t: (t.valid_from, t.pk), reverse=True)
    wanted: dict[datetime.datetime, tuple[datetime.datetime, int]] = {}
    day = first
    while day < last:
        if day not in closed and day not in public:
            template = next(
                (
                    t
                    for t in ordered
                    if t.valid_from <= day and (t.valid_to is None or day <= t.valid_to)
                ),
                None,
            )
            rules = template.rules.all() if template is not None else []
            for rule in rules:
                if rule.weekday != day.isoweekday():
                    continue
                begin, stop = _minutes(rule.start), _minutes(rule.end)
                length = datetime.timedelta(minutes=rule.slot_minutes)
                m = begin
                while m + rule.slot_minutes <= stop:
                    start = _local_datetime(day, m)
                    if start is not None:
                        # The length is real time, also over a daylight-saving change.
                        end = (start.astimezone(datetime.UTC) + length).astimezone(start.tzinfo)
                        wanted.setdefault(start, (end, rule.appointment_type_id))
                    m += rule.slot_minutes
        day += datetime.timedelta(days=1)
    return wanted


def slots_generate(
    *, practitioner_id: int, now: datetime.datetime | None = None
) -> GenerationResult:
    """Bring one practitioner's future slots in line with their templates, up to the horizon.

    Never touches a slot with a booked appointment (nor creates another at its start); never
    duplicates a slot (one per practitioner and start, in the database too). Free slots the
    templates no longer ask for are deleted; past slots are left alone; slots on the
    practitioner's absent days (:class:`~booking.models.Absence`) are made, or become,
    blocked. Idempotent.
    """
    now = now or timezone.now()
    practitioner = (
        Practitioner.objects.select_related("clinic__booking_settings")
        .filter(pk=practitioner_id)
        .first()
    )
    if practitioner is None:
        return GenerationResult()
    rules = settings_of_loaded_clinic(practitioner.clinic)
    first = local_today(now)
    last = first + datetime.timedelta(weeks=rules.horizon_weeks)
    until = local_midnight(last)
    templates = list(
        ScheduleTemplate.objects.filter(practitioner_id=practitioner_id, valid_from__lt=last)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
        .prefetch_related("rules")
    )
    closed = set(
        ClosedDay.objects.filter(
            clinic_id=practitioner.clinic_id, date__gte=first, date__lt=last
        ).values_list("date", flat=True)
    )
    wanted = expand_templates(templates, first=first, last=last, closed=closed)
    absent = _absent_days(practitioner_id, first, last)
    tz = local_tz()

    created = updated = deleted = 0
    with transaction.atomic():
        future = Slot.objects.filter(practitioner_id=practitioner_id, start__gte=now)
        # Lock first (bookings lock the same rows), then read who holds what.
        list(future.select_for_update().values_list("pk", flat=True))
        existing = future.annotate(
            booked=Exists(Appointment.objects.filter(slot=OuterRef("pk"), status=Status.BOOKED))
        )
        drop = []
        block = []
        for slot in existing:
            want = wanted.pop(slot.start, None)
            if not slot.blocked and slot.start.astimezone(tz).date() in absent:
                block.append(slot.pk)  # an absence recorded after the slot was made
            if slot.booked:
                continue
            if want is None:
                if slot.start < until:
                    drop.append(slot.pk)
                continue
            end, type_id = want
            if slot.end != end or slot.appointment_type_id != type_id:
                slot.end, slot.appointment_type_id = end, type_id
                slot.save(update_fields=["end", "appointment_type", "updated"])
                updated += 1
        if drop:
            deleted, _ = (
                Slot.objects.filter(pk__in=drop)
                .exclude(appointments__status=Status.BOOKED)
                .delete()
            )
            deleted = min(deleted, len(drop))
        if block:
            updated += Slot.objects.filter(pk__in=block).update(blocked=True, updated=Now())
        new = [
            Slot(
                practitioner_id=practitioner_id,
                start=start,
                end=end,
                appointment_type_id=type_id,
                blocked=start.astimezone(tz).date() in absent,
            )
            for start, (end, type_id) in sorted(wanted.items())
            if start >= now
        ]
        if new:
            Slot.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
            created = len(new)
    return GenerationResult(created, updated, deleted)


def slots_generate_all(*, now: datetime.datetime | None = None) -> int:
    """The nightly run: every practitioner with a template. Returns how many were done."""
    ids = (
        ScheduleTemplate.objects.order_by("practitioner_id")
        .values_list("practitioner_id", flat=True)
        .distinct()
    )
    count = 0
    for practitioner_id in ids:
        slots_generate(practitioner_id=practitioner_id, now=now)
        count += 1
    return count


def _enqueue_generation(practitioner_id: int) -> None:
    from ..tasks import generate_slots_for_practitioner

    generate_slots_for_practitioner.delay(practitioner_id)


def slots_regenerate_later(*, practitioner_ids: list[int]) -> None:
    """After the current transaction commits (a template or closed day changed), regenerate."""
    for practitioner_id in sorted(set(practitioner_ids)):
        transaction.on_commit(partial(_enqueue_generation, practitioner_id), robust=True)


def _enqueue_offers_sweep() -> None:
    from ..tasks import sweep_slot_offers

    sweep_slot_offers.delay()


def offers_sweep_later() -> None:
    """After the current transaction commits (a slot freed up: cancelled, moved from,
    unblocked), run the waitlist's sweep soon. Only to react quickly: the beat runs it every
    minute anyway (docs/booking.md, "Waitlist"), so a lost message loses nothing."""
    transaction.on_commit(_enqueue_offers_sweep, robust=True)


def _blocked_changed(slots: QuerySet[Slot], blocked: bool) -> None:
    """A blocked slot is held for nobody: its open offers are void. An unblocked one may be
    offered to a waiting patient."""
    if blocked:
        SlotOffer.objects.filter(slot__in=slots, status=SlotOffer.Status.OFFERED).update(
            status=SlotOffer.Status.VOID, answered_at=timezone.now()
        )
    else:
        offers_sweep_later()


def slots_set_blocked(*, slot_ids: list[int], blocked: bool) -> int:
    """Block (absence) or unblock single slots. A booked appointment stays booked."""
    with transaction.atomic():
        changed = (
            Slot.objects.filter(pk__in=slot_ids)
            .exclude(blocked=blocked)
            .update(blocked=blocked, updated=Now())
        )
        if changed:
            _blocked_changed(Slot.objects.filter(pk__in=slot_ids), blocked)
    return changed


def _day_slots_set_blocked(
    practitioner_id: int, day: datetime.date, blocked: bool, last: datetime.date | None = None
) -> int:
    """Block or unblock the practitioner's slots on ``day`` (to ``last``, inclusive)."""
    start = local_midnight(day)
    end = local_midnight((last or day) + datetime.timedelta(days=1))
    days = Slot.objects.filter(practitioner_id=practitioner_id, start__gte=start, start__lt=end)
    changed = days.exclude(blocked=blocked).update(blocked=blocked, updated=Now())
    if changed:
        _blocked_changed(days, blocked)
    return changed


def _absent_days(
    practitioner_id: int, first: datetime.date, last: datetime.date
) -> set[datetime.date]:
    """The practitioner's absent days in [first, last]."""
    days: set[datetime.date] = set()
    for absence in Absence.objects.filter(
        practitioner_id=practitioner_id, first_day__lte=last, last_day__gte=first
    ):
        days.update(d for d in absence.days() if first <= d <= last)
    return days


def practitioner_day_set_blocked(*, practitioner_id: int, day: datetime.date, blocked: bool) -> int:
    """Block (an absence of that day) or unblock all of a practitioner's slots on one local
    day. The absence is recorded, so slots generated later on that day are blocked too;
    unblocking takes the day out of the absences that cover it. Returns the slots changed."""
    with transaction.atomic():
        covering = list(
            Absence.objects.select_for_update().filter(
                practitioner_id=practitioner_id, first_day__lte=day, last_day__gte=day
            )
        )
        if blocked and not covering:
            Absence.objects.create(practitioner_id=practitioner_id, first_day=day, last_day=day)
        if not blocked:
            for absence in covering:
                one_day = datetime.timedelta(days=1)
                if absence.first_day < day < absence.last_day:  # split in two
                    Absence.objects.create(
                        practitioner_id=practitioner_id,
                        first_day=day + one_day,
                        last_day=absence.last_day,
                        note=absence.note,
                    )
                    absence.last_day = day - one_day
                    absence.save(update_fields=["last_day"])
                elif absence.first_day == absence.last_day:
                    absence.delete()
                elif absence.first_day == day:
                    absence.first_day = day + one_day
                    absence.save(update_fields=["first_day"])
                else:
                    absence.last_day = day - one_day
                    absence.save(update_fields=["last_day"])
        return _day_slots_set_blocked(practitioner_id, day, blocked)


def absence_changed(
    *, practitioner_id: int, before: set[datetime.date], after: set[datetime.date]
) -> int:
    """An absence was added, changed or deleted (the admin): block its days' slots, and
    unblock the days it no longer covers unless another absence does. Returns the slots
    changed."""
    changed = 0
    if after:  # the days of one absence: a range
        changed = _day_slots_set_blocked(practitioner_id, min(after), True, last=max(after))
    freed = before - after
    if freed:
        still = _absent_days(practitioner_id, min(freed), max(freed))
        changed += sum(
            _day_slots_set_blocked(practitioner_id, day, False) for day in sorted(freed - still)
        )
    return changed


# Slots made by the clinic's record system (the FHIR API): a practitioner's slots come either
# from their schedule templates (generated here) or from the record system, never both. With
# a template, a regeneration would delete or reshape a slot made by hand; so only blocking and
# unblocking are taken for a generated slot.


class SlotRefused(Exception):
    """A slot write the timebook's rules refuse: ``code`` says which rule, ``field`` where."""

    def __init__(self, message: str, *, code: str, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.field = field


def _has_template(practitioner_id: int) -> bool:
    return ScheduleTemplate.objects.filter(practitioner_id=practitioner_id).exists()


def _check_times(
    practitioner_id: int,
    start: datetime.datetime,
    end: datetime.datetime,
    now: datetime.datetime,
    exclude: int | None = None,
) -> None:
    if end <= start:
        raise SlotRefused("A slot must end after it starts.", code="ordered", field="end")
    if end - start > MAX_DURATION:
        raise SlotRefused("A slot lasts at most 480 minutes.", code="too_long", field="end")
    if start < now:
        raise SlotRefused("A slot cannot start in the past.", code="past", field="start")
    overlapping = Slot.objects.filter(
        practitioner_id=practitioner_id,
        start__lt=end,
        start__gt=start - MAX_DURATION,
        end__gt=start,
    )
    if exclude is not None:
        overlapping = overlapping.exclude(pk=exclude)
    if overlapping.exists():
        raise SlotRefused(
            "The practitioner has another slot at this time.", code="overlap", field="start"
        )


def _booked(slot_id: int) -> bool:
    return Appointment.objects.filter(slot_id=slot_id, status=Status.BOOKED).exists()


def slot_create(
    *,
    practitioner_id: int,
    start: datetime.datetime,
    end: datetime.datetime,
    appointment_type_id: int,
    blocked: bool = False,
    now: datetime.datetime | None = None,
) -> Slot:
    """A slot the record system made for a practitioner without schedule templates. Refused
    (:class:`SlotRefused`) in the past, longer than :data:`MAX_DURATION`, or over another
    slot of theirs. The practitioner's row is locked, so two calls cannot both make
    overlapping slots."""
    now = now or timezone.now()
    with transaction.atomic():
        Practitioner.objects.select_for_update().filter(pk=practitioner_id).first()
        if _has_template(practitioner_id):
            raise SlotRefused(
                "This practitioner's slots are made from their schedule templates.",
                code="generated",
            )
        _check_times(practitioner_id, start, end, now)
        slot = Slot.objects.create(
            practitioner_id=practitioner_id,
            start=start,
            end=end,
            appointment_type_id=appointment_type_id,
            blocked=blocked,
        )
        if not blocked:
            offers_sweep_later()
    return slot


def slot_update(
    *,
    slot_id: int,
    start: datetime.datetime,
    end: datetime.datetime,
    appointment_type_id: int,
    blocked: bool,
    now: datetime.datetime | None = None,
) -> list[str]:
    """Change a slot: its times and type (only one the record system made), or whether it
    is blocked (any slot). A slot with a booked appointment is never changed
    (``code="booked"``). Returns the fields changed. Call it in the transaction that locked
    the slot, when the caller checked a version."""
    now = now or timezone.now()
    with transaction.atomic():
        slot = Slot.objects.select_for_update().get(pk=slot_id)
        Practitioner.objects.select_for_update().filter(pk=slot.practitioner_id).first()
        wanted = {"start": start, "end": end, "appointment_type_id": appointment_type_id}
        changed = [name for name, value in wanted.items() if getattr(slot, name) != value]
        if slot.blocked != blocked:
            changed.append("blocked")
        if not changed:
            return []
        if _booked(slot.pk):
            raise SlotRefused(
                "The slot holds a booked appointment; cancel or move it first.", code="booked"
            )
        if set(changed) - {"blocked"}:
            if _has_template(slot.practitioner_id):
                raise SlotRefused(
                    "This slot is made from a schedule template: only blocking is taken.",
                    code="generated",
                )
            _check_times(slot.practitioner_id, start, end, now, exclude=slot.pk)
        for name in changed:
            setattr(slot, name, blocked if name == "blocked" else wanted[name])
        fields = ["appointment_type" if n == "appointment_type_id" else n for n in changed]
        slot.save(update_fields=[*fields, "updated"])
        if "blocked" in changed:
            _blocked_changed(Slot.objects.filter(pk=slot.pk), blocked)
        elif not blocked:
            offers_sweep_later()
    return changed


def slot_delete(*, slot_id: int) -> None:
    """Delete a slot the record system made; never one with a booked appointment, nor a
    generated one (the next generation would make it again: block it instead)."""
    with transaction.atomic():
        slot = Slot.objects.select_for_update().get(pk=slot_id)
        if _booked(slot.pk):
            raise SlotRefused(
                "The slot holds a booked appointment; cancel or move it first.", code="booked"
            )
        if _has_template(slot.practitioner_id):
            raise SlotRefused(
                "This slot is made from a schedule template: block it instead.",
                code="generated",
            )
        slot.delete()  # its offers with it; cancelled appointments keep their copy of the time
