"""Writes for booking: slot generation, blocking, booking, cancelling, reminders.

Booking is race-safe by construction (see :func:`appointment_book`): the database refuses a
second booked appointment for a slot (partial unique constraint) and, on PostgreSQL, two
overlapping booked appointments of one practitioner (exclusion constraint); the service locks
the patient's row and the practitioner's overlapping slots first, so concurrent attempts queue
instead of failing late, and an IntegrityError that still gets through becomes
:class:`SlotTaken`, never a 500.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

import holidays
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from clinics import audit
from clinics.models import Clinic, Patient, Practitioner
from clinics.selectors import may_use_portal
from delegation.selectors import offered_exists_sql
from eportal.db.prepared import NextPk, PreparedInsert, PreparedQuery, atomic_pipeline
from sms.services import sms_queue

from .models import MAX_DURATION, Absence, Appointment, ClosedDay, ScheduleTemplate, Slot
from .selectors import (
    booking_window,
    local_midnight,
    local_today,
    local_tz,
    overlapping_booked,
    settings_of_loaded_clinic,
)

logger = logging.getLogger(__name__)

Status = Appointment.Status


# Slot generation


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
                slot.save(update_fields=["end", "appointment_type"])
                updated += 1
        if drop:
            deleted, _ = (
                Slot.objects.filter(pk__in=drop)
                .exclude(appointments__status=Status.BOOKED)
                .delete()
            )
            deleted = min(deleted, len(drop))
        if block:
            updated += Slot.objects.filter(pk__in=block).update(blocked=True)
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
    from .tasks import generate_slots_for_practitioner

    generate_slots_for_practitioner.delay(practitioner_id)


def slots_regenerate_later(*, practitioner_ids: list[int]) -> None:
    """After the current transaction commits (a template or closed day changed), regenerate."""
    for practitioner_id in sorted(set(practitioner_ids)):
        transaction.on_commit(partial(_enqueue_generation, practitioner_id), robust=True)


def slots_set_blocked(*, slot_ids: list[int], blocked: bool) -> int:
    """Block (absence) or unblock single slots. A booked appointment stays booked."""
    return Slot.objects.filter(pk__in=slot_ids).exclude(blocked=blocked).update(blocked=blocked)


def _day_slots_set_blocked(
    practitioner_id: int, day: datetime.date, blocked: bool, last: datetime.date | None = None
) -> int:
    """Block or unblock the practitioner's slots on ``day`` (to ``last``, inclusive)."""
    start = local_midnight(day)
    end = local_midnight((last or day) + datetime.timedelta(days=1))
    return (
        Slot.objects.filter(practitioner_id=practitioner_id, start__gte=start, start__lt=end)
        .exclude(blocked=blocked)
        .update(blocked=blocked)
    )


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


# Booking


class BookingError(Exception):
    """The booking was refused; ``code`` says why (the view chooses the words)."""

    code = "error"


class SlotTaken(BookingError):
    code = "taken"


class SlotUnavailable(BookingError):
    """Not (or no longer) offered to this patient: unknown, blocked, too soon, not allowed."""

    code = "unavailable"


class LimitReached(BookingError):
    code = "limit"


class CancelTooLate(BookingError):
    code = "too_late"


def _when(start: datetime.datetime) -> dict[str, str]:
    local = start.astimezone(local_tz())
    return {
        "date": formats.date_format(local, "l j. F Y"),
        "time": local.strftime("%H:%M"),
    }


#: How long after the clinic's reminder time the day-before reminders may still go out.
REMINDER_WINDOW = datetime.timedelta(hours=3)


def _sms(appointment: Appointment, patient: Patient, clinic: Clinic, kind: str) -> None:
    """Confirmation, reminder or cancellation: date, time, practitioner, clinic; no reason.
    In the language the patient booked in, whoever causes it (a worker, staff in English)."""
    if not patient.mobile:
        return
    language = appointment.language
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        _sms_in_language(appointment, patient, clinic, kind)


def _sms_in_language(appointment: Appointment, patient: Patient, clinic: Clinic, kind: str) -> None:
    values = {
        **_when(appointment.start),
        "practitioner": appointment.practitioner.name,
        "clinic": clinic.name,
    }
    if kind == "booking_confirmation":
        text = gettext(
            "Appointment booked: %(date)s at %(time)s with %(practitioner)s, %(clinic)s."
        )
        key = None
    elif kind == "booking_reminder":
        text = gettext(
            "Reminder: appointment %(date)s at %(time)s with %(practitioner)s, %(clinic)s."
        )
        key = f"booking-reminder:{appointment.pk}"
    else:
        text = gettext(
            "Appointment cancelled: %(date)s at %(time)s with %(practitioner)s, %(clinic)s."
        )
        key = f"booking-cancelled:{appointment.pk}"
    try:
        sms_queue(
            clinic_id=clinic.pk,
            to=patient.mobile,
            text=text % values,
            purpose=kind,
            idempotency_key=key,
            # Confirmations and cancellations may go out a few seconds later: no broker
            # round trip in the patient's request (the reminders are sent by a worker).
            wait=kind != "booking_reminder",
        )
    except ValueError:
        # A malformed number in the record: the booking or cancellation stands.
        logger.warning("Appointment %s: no %s SMS (bad number)", appointment.pk, kind)


def _lock_slots_query(
    *,
    slot_id: int,
    patient_id: int,
    clinic_id: int,
    list_id: int | None,
    may_use_portal: bool,
    now: datetime.datetime,
    urgent: bool,
) -> Any:
    """The one statement of :func:`appointment_book` (see there), as a queryset."""
    target = Slot.objects.filter(pk=slot_id).order_by()  # no Sort in the subqueries
    # Whether the matrix offers the slot's practitioner: the rule of practitioners_for as
    # ready-made SQL on the outer slot's column.
    quote = connection.ops.quote_name
    offered: Any = Value(False)
    if may_use_portal:
        sql, params = offered_exists_sql(
            clinic_id=clinic_id,
            list_id=list_id,
            service="urgent" if urgent else "booking",
            practitioner_column=f"{quote(Slot._meta.db_table)}.{quote('practitioner_id')}",
        )
        # Fixed SQL from delegation.selectors; every value is a parameter.
        offered = RawSQL(sql, params, output_field=BooleanField())  # noqa: S611  # nosec B611
    mine_here = (
        Appointment.objects.filter(slot=OuterRef("pk"), patient_id=patient_id, status=Status.BOOKED)
        .order_by()
        .values("pk")[:1]
    )
    mine_future = (
        Appointment.objects.filter(
            patient_id=patient_id, status=Status.BOOKED, start__gt=now, urgent=urgent
        )
        .order_by()
        .values("patient")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Slot.objects.select_for_update(of=("self",))
        .select_related("practitioner__clinic__booking_settings", "appointment_type")
        .filter(
            practitioner_id=Subquery(target.values("practitioner_id")),
            start__lt=Subquery(target.values("end")),
            end__gt=Subquery(target.values("start")),
            # Implied by the line above (MAX_DURATION; the exclusion constraint has the last
            # word): a lower bound on start lets the (practitioner, start) index scan a few
            # rows instead of the whole timebook.
            start__gt=ExpressionWrapper(
                Subquery(target.values("start")) - Value(MAX_DURATION),
                output_field=DateTimeField(),
            ),
        )
        .annotate(
            offered=offered,
            taken=Exists(overlapping_booked()),
            mine_here=Subquery(mine_here),
            mine_future=Coalesce(Subquery(mine_future), Value(0)),
        )
        .order_by("start", "pk")
    )


# Compiled once per process: building these statements cost more than running them.
_LOCK_SLOTS = PreparedQuery(_lock_slots_query)
_INSERT_APPOINTMENT = PreparedInsert(Appointment)
_LOCK_PATIENT = PreparedQuery(
    lambda pk: (
        Patient.objects.select_for_update()
        .filter(pk=pk)
        .order_by()
        .annotate(new_id=NextPk(Appointment))
        .values_list("new_id", flat=True)
    )
)


def appointment_book(
    *,
    patient: Patient,
    slot_id: int,
    reason: str,
    urgent: bool = False,
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Book ``slot_id`` for ``patient``; the same call twice books once.

    A fixed number of queries whatever the clinic's size (the booking POST stays within ten,
    counting the session, the patient, BEGIN and COMMIT):

    1. lock the patient's row (below);
    2. one query locks the slot and every slot of the same practitioner overlapping it
       (``SELECT … FOR UPDATE``: concurrent attempts on one time, or on overlapping slots of
       templates of different lengths, queue up here) and reads with it the clinic's settings,
       whether the matrix offers this practitioner to this patient, whether an overlapping
       appointment is booked, whether it is the patient's own on this slot (a double submit:
       return it) and how many future appointments the patient has (the limit);
    3. insert the appointment, the audit event and the confirmation SMS's outbox row, and
       commit once: the SMS exists exactly when the booking does (the outbox pattern); the
       Celery task that sends it is published after the commit.

    The database has the last word: a booking that committed while we waited for the lock
    makes our insert fail on the partial unique constraint (same slot) or, on PostgreSQL, the
    exclusion constraint (overlapping slot); that IntegrityError becomes :class:`SlotTaken`
    (or, when the winner was this patient's own double submit, returns that appointment).

    Before the slots, the patient's row is locked: two bookings by one patient (two tabs,
    two different slots) queue there, so the per-patient limit read in the statement counts
    the other one once it has committed.

    Raises :class:`SlotTaken`, :class:`SlotUnavailable` or :class:`LimitReached`.
    """
    now = now or timezone.now()
    try:
        # Pipelined (PostgreSQL): BEGIN, the patient's lock, the new appointment's id and the
        # slots' lock go out in one round trip; the inserts and COMMIT in the other.
        with atomic_pipeline():
            # The patient's row first: one patient's bookings queue here, so the limit below
            # counts every booking of theirs that committed (different patients never wait).
            # With it, the new appointment's id (inserted without waiting for RETURNING).
            new_id = _LOCK_PATIENT.send(pk=patient.pk)
            slots = _LOCK_SLOTS(
                slot_id=slot_id,
                patient_id=patient.pk,
                clinic_id=patient.clinic_id,
                list_id=patient.patient_list_id,
                may_use_portal=may_use_portal(patient),
                now=now,
                urgent=urgent,
            )
            slot = next((s for s in slots if s.pk == slot_id), None)
            if slot is None or not slot.offered or slot.blocked:
                raise SlotUnavailable
            if not slot.appointment_type.online:
                raise SlotUnavailable
            rules = settings_of_loaded_clinic(slot.practitioner.clinic)
            if urgent:
                tomorrow = local_midnight(local_today(now) + datetime.timedelta(days=1))
                if slot.start < now or slot.start >= tomorrow:
                    raise SlotUnavailable
            else:
                window = booking_window(rules, now)
                if slot.start < window.earliest or slot.start >= window.horizon_end:
                    raise SlotUnavailable
            if slot.mine_here is not None:
                return Appointment.objects.select_related("practitioner").get(pk=slot.mine_here)
            if any(s.taken for s in slots):
                raise SlotTaken
            if slot.mine_future >= (1 if urgent else rules.max_future_online):
                raise LimitReached
            locked = new_id()
            if not locked:  # the patient's record was deleted meanwhile
                raise SlotUnavailable
            appointment = _INSERT_APPOINTMENT(
                id=locked[0],
                slot=slot,
                patient=patient,
                practitioner=slot.practitioner,
                start=slot.start,
                end=slot.end,
                reason=reason,
                urgent=urgent,
                language=translation.get_language() or "nb",
            )
            audit.record(
                "booking.book",
                request=request,
                patient=patient,
                clinic=slot.practitioner.clinic,
                obj=appointment,
                details={"slot": slot.pk, "urgent": urgent},
                fetch_pk=False,
            )
            # In the booking's transaction (the outbox pattern): the SMS exists exactly when
            # the booking does, and one commit covers both.
            _sms(appointment, patient, slot.practitioner.clinic, "booking_confirmation")
    except IntegrityError:
        # A concurrent booking committed while we waited for the lock.
        mine = (
            Appointment.objects.select_related("practitioner")
            .filter(slot_id=slot_id, patient_id=patient.pk, status=Status.BOOKED)
            .first()
        )
        if mine is not None:
            return mine
        raise SlotTaken from None
    return appointment


def cancel_deadline(appointment: Appointment, hours: int) -> datetime.datetime:
    return appointment.start - datetime.timedelta(hours=hours)


def appointment_cancel(
    *,
    appointment_id: int,
    patient: Patient | None = None,
    request: HttpRequest | None = None,
    by_staff: bool = False,
    now: datetime.datetime | None = None,
) -> Appointment | None:
    """Cancel an appointment; its slot is free again at once. Idempotent.

    A patient may cancel only their own, and only until the clinic's deadline
    (:class:`CancelTooLate`); staff (``by_staff``) may cancel any of their clinic's. Returns
    None when the appointment does not exist or is not the patient's.
    """
    now = now or timezone.now()
    with transaction.atomic():
        qs = Appointment.objects.select_for_update(of=("self",)).select_related(
            "practitioner", "patient__clinic__booking_settings"
        )
        if patient is not None:
            qs = qs.filter(patient=patient)
        appointment = qs.filter(pk=appointment_id).first()
        if appointment is None:
            return None
        if appointment.status != Status.BOOKED:
            return appointment
        clinic = appointment.patient.clinic
        rules = settings_of_loaded_clinic(clinic)
        if not by_staff and now > cancel_deadline(appointment, rules.cancel_deadline_hours):
            raise CancelTooLate
        appointment.status = Status.CANCELLED
        appointment.cancelled_at = now
        appointment.save(update_fields=["status", "cancelled_at"])
        _sms(appointment, appointment.patient, clinic, "booking_cancelled")
        audit.record(
            "booking.cancel",
            request=request,
            patient=patient,
            clinic=clinic,
            obj=appointment,
            details={"by": "staff" if by_staff else "patient"},
        )
    return appointment


# Reminders


def reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Queue the day-before reminder for tomorrow's appointments, once each.

    Sends from each clinic's ``reminder_time`` (local) on the day before, for
    ``REMINDER_WINDOW`` (a run delayed for hours, a worker that was down, sends no SMS late
    at night); run it often (beat, every 15 minutes). An appointment booked after that day's
    reminder time gets none: its confirmation has just come. The conditional update on
    ``reminder_sent_at`` and the SMS idempotency key make a second run, or two workers at
    once, send nothing more.
    """
    now = now or timezone.now()
    tz = local_tz()
    today = local_today(now)
    tomorrow = local_midnight(today + datetime.timedelta(days=1))
    after = local_midnight(today + datetime.timedelta(days=2))
    due = (
        Appointment.objects.filter(
            status=Status.BOOKED,
            reminder_sent_at__isnull=True,
            start__gte=tomorrow,
            start__lt=after,
        )
        .select_related("practitioner", "patient__clinic__booking_settings")
        .order_by("start", "pk")
    )
    sent = 0
    for appointment in due:
        clinic = appointment.patient.clinic
        reminder_time = settings_of_loaded_clinic(clinic).reminder_time
        opens = datetime.datetime.combine(today, reminder_time, tzinfo=tz)
        if not opens <= now < opens + REMINDER_WINDOW:
            continue  # not yet, or too late today: no SMS late at night
        if opens <= appointment.created <= now:
            continue  # booked after the reminders went out: its confirmation just came
        with transaction.atomic():
            claimed = Appointment.objects.filter(
                pk=appointment.pk, status=Status.BOOKED, reminder_sent_at__isnull=True
            ).update(reminder_sent_at=now)
            if claimed:
                _sms(appointment, appointment.patient, clinic, "booking_reminder")
                sent += 1
    return sent


def describe(appointment: Appointment) -> dict[str, Any]:
    """Date and time strings of an appointment, formatted once (for pages and SMS)."""
    return _when(appointment.start)
