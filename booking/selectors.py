"""Reads for booking: settings, free slots, a patient's appointments; and the rules that
views, services and queries share: when a patient may book (:func:`booking_window`,
:func:`urgent_window`, :func:`bookable_window`) and how many appointments they may hold
(:func:`appointment_limit`, :func:`held_appointments`).

Every free-slot read is one query whatever the size of the clinic: the slots of the asked
window, minus those blocked, of a type not offered online, or overlapping a booked
appointment of the same practitioner (a NOT EXISTS over the appointments' practitioner/start
index). The (practitioner, start) unique index serves the range scan.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import Window as WindowFunction
from django.db.models.functions import (
    Coalesce,
    ExtractIsoWeekDay,
    Greatest,
    Now,
    RowNumber,
    TruncDate,
    TruncTime,
)
from django.utils import timezone

from clinics.models import Clinic, Patient
from delegation.selectors import may_serve
from eportal.db.prepared import PreparedQuery

from .models import MAX_DURATION, Appointment, BookingSettings, Slot, SlotOffer, WaitlistEntry

Status = Appointment.Status
DAY = datetime.timedelta(days=1)


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: datetime.date) -> datetime.datetime:
    """The aware start of ``day`` in the clinic's time zone (Europe/Oslo)."""
    return datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=local_tz())


def local_today(now: datetime.datetime | None = None) -> datetime.date:
    return (now or timezone.now()).astimezone(local_tz()).date()


_SETTINGS = PreparedQuery(lambda clinic_id: BookingSettings.objects.filter(clinic_id=clinic_id)[:1])


def booking_settings(clinic: Clinic | int) -> BookingSettings:
    """The clinic's booking settings; the defaults (unsaved) when it has none.

    No query for a clinic read with ``select_related("booking_settings")`` (the patient's
    clinic is, on every patient request: booking's AppConfig asks the patient session for
    it, ``clinics.selectors.read_with_patient``); else one.
    """
    if isinstance(clinic, Clinic) and Clinic.booking_settings.is_cached(clinic):
        return settings_of_loaded_clinic(clinic)
    clinic_id = clinic if isinstance(clinic, int) else clinic.pk
    found = _SETTINGS.first(clinic_id=clinic_id)
    return found or BookingSettings(clinic_id=clinic_id)


def settings_of_loaded_clinic(clinic: Clinic) -> BookingSettings:
    """The settings of a clinic fetched with ``select_related("booking_settings")``."""
    try:
        return clinic.booking_settings
    except BookingSettings.DoesNotExist:
        return BookingSettings(clinic=clinic)


@dataclass(frozen=True)
class Window:
    """The times a patient may book: from ``earliest`` until before ``horizon_end``."""

    earliest: datetime.datetime
    horizon_end: datetime.datetime

    def __contains__(self, when: datetime.datetime) -> bool:
        return self.earliest <= when < self.horizon_end


def booking_window(rules: BookingSettings, now: datetime.datetime | None = None) -> Window:
    """Ordinary booking: from the clinic's minimum notice to the end of its horizon."""
    now = now or timezone.now()
    horizon_day = local_today(now) + datetime.timedelta(weeks=rules.horizon_weeks)
    return Window(
        earliest=now + datetime.timedelta(minutes=rules.min_notice_minutes),
        horizon_end=local_midnight(horizon_day),
    )


def urgent_window(now: datetime.datetime | None = None) -> Window:
    """Urgent appointments: today, from now on."""
    now = now or timezone.now()
    return Window(earliest=now, horizon_end=local_midnight(local_today(now) + DAY))


def bookable_window(
    clinic: Clinic, *, urgent: bool, now: datetime.datetime | None = None
) -> Window:
    """When a patient of ``clinic`` may book, for urgent or ordinary booking."""
    if urgent:
        return urgent_window(now)
    return booking_window(booking_settings(clinic), now)


def appointment_limit(clinic: Clinic, *, urgent: bool) -> int:
    """How many future online appointments of a kind a patient may hold: one urgent at a
    time, and the clinic's ``max_future_online`` ordinary ones."""
    return 1 if urgent else booking_settings(clinic).max_future_online


def overlapping_booked() -> QuerySet[Appointment]:
    """Booked appointments overlapping the outer slot (for Exists)."""
    return Appointment.objects.filter(
        practitioner_id=OuterRef("practitioner_id"),
        status=Status.BOOKED,
        start__lt=OuterRef("end"),
        end__gt=OuterRef("start"),
        # Implied by the line above (MAX_DURATION); bounds the index scan on
        # (practitioner, start) to the day before the slot, not the whole history.
        start__gt=ExpressionWrapper(
            OuterRef("start") - Value(MAX_DURATION), output_field=DateTimeField()
        ),
    ).order_by()


def active_offers(now: datetime.datetime | Now | None = None) -> QuerySet[SlotOffer]:
    """Offers that hold their slot: offered to a waiting patient and not yet run out (an
    offer past its time frees its slot at once, before the sweep marks it expired)."""
    return SlotOffer.objects.filter(
        status=SlotOffer.Status.OFFERED, expires_at__gt=now if now is not None else Now()
    ).order_by()


def free_slots(
    *,
    practitioner_ids: list[int],
    start: datetime.datetime,
    end: datetime.datetime,
    moving: int | None = None,
) -> QuerySet[Slot]:
    """Slots offered online starting in [start, end), ordered by time: one query.

    ``moving``: the id of the patient's appointment being moved ("Flytt timen"): it does not
    make the slots it overlaps busy (it is freed by the move), but its own slot is left out.
    """
    booked = overlapping_booked()
    if moving is not None:
        booked = booked.exclude(pk=moving)
    slots = (
        Slot.objects.filter(
            practitioner_id__in=practitioner_ids,
            start__gte=start,
            start__lt=end,
            blocked=False,
            appointment_type__online=True,
        )
        .filter(
            ~Exists(
                booked.filter(
                    # Implied by the overlap (MAX_DURATION): whatever plan PostgreSQL picks
                    # (a probe per slot, or one hash of the appointments), it reads only the
                    # appointments around the window, never the practitioners' history.
                    start__gt=ExpressionWrapper(
                        Value(start) - Value(MAX_DURATION), output_field=DateTimeField()
                    ),
                    start__lt=ExpressionWrapper(
                        Value(end) + Value(MAX_DURATION), output_field=DateTimeField()
                    ),
                )
            )
        )
        # Held for a waiting patient (docs/booking.md, "Waitlist"): nobody else's to book.
        .filter(~Exists(active_offers().filter(slot_id=OuterRef("pk"))))
        .order_by("start", "practitioner_id")
    )
    if moving is not None:
        slots = slots.filter(~Exists(Appointment.objects.filter(pk=moving, slot=OuterRef("pk"))))
    return slots


_FREE_SLOT_ROWS = PreparedQuery(
    lambda practitioner_ids, start, end, moving: free_slots(
        practitioner_ids=practitioner_ids, start=start, end=end, moving=moving
    ).values_list("pk", "start", "practitioner_id")
)


def free_slot_rows(
    *,
    practitioner_ids: list[int],
    start: datetime.datetime,
    end: datetime.datetime,
    moving: int | None = None,
) -> list[tuple[int, datetime.datetime, int]]:
    """(id, start, practitioner id) of :func:`free_slots`, the query compiled once (once
    per shape: with and without ``moving``)."""
    return _FREE_SLOT_ROWS(
        practitioner_ids=list(practitioner_ids), start=start, end=end, moving=moving
    )


def first_free_slot(
    *, practitioner_id: int, start: datetime.datetime, end: datetime.datetime
) -> tuple[int, datetime.datetime] | None:
    return (
        free_slots(practitioner_ids=[practitioner_id], start=start, end=end)
        .values_list("pk", "start")
        .first()
    )


def patient_appointments(patient: Patient) -> list[Appointment]:
    """All the patient's appointments, newest last, with their practitioner: one query.
    None for someone acting for the patient without booking in the relation
    (:func:`delegation.selectors.may_serve`)."""
    if not may_serve(patient, "booking"):
        return []
    return list(
        Appointment.objects.filter(patient=patient)
        .select_related("practitioner")
        .order_by("start", "pk")
    )


def held_appointments(
    *, patient_id: int | OuterRef, urgent: bool, now: datetime.datetime
) -> QuerySet[Appointment]:
    """The patient's appointments that count towards :func:`appointment_limit`: booked, in
    the future, of the same kind (urgent or not)."""
    return Appointment.objects.filter(
        patient_id=patient_id,  # type: ignore[misc]  # an OuterRef in held_count
        status=Status.BOOKED,
        start__gt=now,
        urgent=urgent,
    )


#: The attributes the patient session's read of the patient counts the held appointments
#: into (``BookingConfig.ready`` registers them with ``clinics.selectors.annotate_patient``).
HELD_ATTRIBUTE = {False: "booking_held", True: "booking_held_urgent"}


def held_count(*, urgent: bool, now: datetime.datetime) -> Coalesce:
    """The number of :func:`held_appointments` of the patient of the outer query (a
    subquery over the appointments' (patient, start) index), read with the patient."""
    held = (
        held_appointments(patient_id=OuterRef("pk"), urgent=urgent, now=now)
        .order_by()
        .values("patient_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))


def limit_reached(patient: Patient, *, urgent: bool, now: datetime.datetime | None = None) -> bool:
    """Whether the patient already holds as many future online appointments as the clinic
    allows (one urgent at a time). No query for the patient of the session (the count came
    with the patient's row, :func:`held_count`), else one. The booking checks it again
    under its locks."""
    limit = appointment_limit(patient.clinic, urgent=urgent)
    counted = getattr(patient, HELD_ATTRIBUTE[urgent], None)
    if counted is not None and now is None:
        return int(counted) >= limit
    held = held_appointments(patient_id=patient.pk, urgent=urgent, now=now or timezone.now())
    return held.count() >= limit


def patient_appointment(patient: Patient, appointment_id: int) -> Appointment | None:
    """One of the patient's own appointments (None for anyone else's: answer 404; and, as
    :func:`patient_appointments`, when the relation of someone acting does not cover
    booking)."""
    if not may_serve(patient, "booking"):
        return None
    return (
        Appointment.objects.filter(pk=appointment_id, patient=patient)
        .select_related("practitioner")
        .first()
    )


# The waitlist (docs/booking.md, "Waitlist")

#: Offer SMS go out only between these local (Europe/Oslo) times: no SMS at night. A slot
#: freed at night is offered from the morning on, if it still starts far enough ahead.
OFFER_HOURS = (datetime.time(8, 0), datetime.time(21, 0))

#: How many candidate slots the sweep reads per waiting entry (its earliest fitting ones).
OFFER_CANDIDATES_PER_ENTRY = 5


def offers_allowed_at(now: datetime.datetime) -> bool:
    """Whether an offer SMS may go out at ``now`` (:data:`OFFER_HOURS`, Oslo time)."""
    opens, closes = OFFER_HOURS
    return opens <= now.astimezone(local_tz()).time() < closes


def offer_candidates(now: datetime.datetime) -> list[tuple[int, int, int, int]]:
    """What the waitlist sweep may offer now, in ONE query whatever the waitlist's length:
    ``(entry id, patient id, slot id, practitioner id)``, waiting entries first come first
    served, each entry's earliest fitting slots first (at most
    :data:`OFFER_CANDIDATES_PER_ENTRY` per entry).

    A slot fits an entry when it is free (not blocked, of an online type, no booked
    appointment overlapping it, not held by an offer), starts at least the clinic's
    ``waitlist_notice_hours`` ahead (and its minimum notice plus the hold, so that it is
    still bookable when the hold runs out) and before the horizon, with one
    of the entry's practitioners, on one of its weekdays, between its times (local), by its
    last day, earlier than the booking it would replace (still booked), and was never
    offered to this entry before; and the entry's patient holds no offer. The matrix and
    the patient's eligibility are checked again for each offer made (and by the booking).
    """
    tz = local_tz()
    rules = "practitioner__clinic__booking_settings"
    notice = Greatest(
        Coalesce(F(f"{rules}__waitlist_notice_hours"), Value(2))
        * Value(datetime.timedelta(hours=1)),
        # Still bookable when the hold runs out: the minimum notice plus the hold.
        (
            Coalesce(F(f"{rules}__min_notice_minutes"), Value(120))
            + Coalesce(F(f"{rules}__waitlist_hold_minutes"), Value(15))
        )
        * Value(datetime.timedelta(minutes=1)),
    )
    horizon = Coalesce(F(f"{rules}__horizon_weeks"), Value(6)) * Value(datetime.timedelta(weeks=1))
    weekday_bit = Case(
        *[When(Q(_weekday=n), then=Value(1 << (n - 1))) for n in range(1, 8)],
        default=Value(0),
        output_field=IntegerField(),
    )
    offered_before = SlotOffer.objects.filter(
        entry_id=OuterRef("_entry"), slot_id=OuterRef("pk")
    ).order_by()
    patient_holds = SlotOffer.objects.filter(
        patient_id=OuterRef("_patient"), status=SlotOffer.Status.OFFERED
    ).order_by()
    # Every entry field through one join (annotations reuse it; separate filter() calls on
    # a many-to-many relation would each join the entries anew).
    entry = "practitioner__waitlist"
    rows = (
        Slot.objects.annotate(
            _entry=F(f"{entry}__pk"),
            _patient=F(f"{entry}__patient_id"),
            _status=F(f"{entry}__status"),
            _created=F(f"{entry}__created"),
            _until=F(f"{entry}__until"),
            _from=F(f"{entry}__time_from"),
            _to=F(f"{entry}__time_to"),
            _weekdays=F(f"{entry}__weekdays"),
            _appointment=F(f"{entry}__appointment_id"),
            _appointment_status=F(f"{entry}__appointment__status"),
            _appointment_start=F(f"{entry}__appointment__start"),
            _weekday=ExtractIsoWeekDay("start", tzinfo=tz),
            _local_start=TruncTime("start", tzinfo=tz),
            _local_day=TruncDate("start", tzinfo=tz),
        )
        .annotate(_wanted=F("_weekdays").bitand(weekday_bit))  # type: ignore[arg-type]
        .filter(
            Q(_appointment__isnull=True)
            | Q(_appointment_status=Status.BOOKED, _appointment_start__gt=F("start")),
            _status="waiting",
            blocked=False,
            appointment_type__online=True,
            start__gte=ExpressionWrapper(Value(now) + notice, output_field=DateTimeField()),
            start__lt=ExpressionWrapper(
                Value(local_midnight(local_today(now))) + horizon, output_field=DateTimeField()
            ),
            _local_day__lte=F("_until"),
            _local_start__gte=F("_from"),
            _local_start__lt=F("_to"),
            _wanted__gt=0,
        )
        .filter(~Exists(overlapping_booked()))
        .filter(~Exists(active_offers(now).filter(slot_id=OuterRef("pk"))))
        .filter(~Exists(offered_before), ~Exists(patient_holds))
        .annotate(
            _rank=WindowFunction(
                RowNumber(),
                partition_by=[F("_entry")],
                order_by=[F("start").asc(), F("pk").asc()],
            )
        )
        .filter(_rank__lte=OFFER_CANDIDATES_PER_ENTRY)
        .order_by("_created", "_entry", "start", "pk")
        .values_list("_entry", "_patient", "pk", "practitioner_id")
    )
    return list(rows)


def patient_waitlist(patient: Patient) -> list[WaitlistEntry]:
    """The patient's waiting entries, with their practitioners and booking: two queries."""
    return list(
        WaitlistEntry.objects.filter(patient=patient, status=WaitlistEntry.Status.WAITING)
        .select_related("appointment")
        .prefetch_related("practitioners")
        .order_by("created", "pk")
    )


def patient_offer(patient: Patient, offer_id: int) -> SlotOffer | None:
    """One of the patient's own offers with its slot, practitioner and entry (None for
    anyone else's: answer 404)."""
    return (
        SlotOffer.objects.filter(pk=offer_id, patient=patient)
        .select_related("slot__practitioner", "entry__appointment")
        .first()
    )
