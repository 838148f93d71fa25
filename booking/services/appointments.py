"""Writes for appointments: booking and cancelling.

Booking is race-safe by construction (see :func:`appointment_book`): the database refuses a
second booked appointment for a slot (partial unique constraint) and, on PostgreSQL, two
overlapping booked appointments of one practitioner (exclusion constraint); the service locks
the patient's row and the practitioner's overlapping slots first, so concurrent attempts queue
instead of failing late, and an IntegrityError that still gets through becomes
:class:`SlotTaken`, never a 500.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone, translation

from clinics import audit
from clinics.models import Patient
from delegation.models import Service
from delegation.selectors import offered_practitioners
from eportal.db.prepared import NextPk, PreparedInsert, PreparedQuery, atomic_pipeline

from ..models import MAX_DURATION, Appointment, Slot
from ..selectors import (
    appointment_limit,
    bookable_window,
    overlapping_booked,
    settings_of_loaded_clinic,
)
from .notices import appointment_sms

Status = Appointment.Status


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
    # Whether the matrix offers the slot's practitioner to this patient: delegation's rule,
    # composed into this statement.
    offered: Any = Value(False)
    if may_use_portal:
        service = Service.URGENT if urgent else Service.BOOKING
        offered = Exists(
            offered_practitioners(
                clinic_id=clinic_id, list_id=list_id, service=service.value
            ).filter(pk=OuterRef("practitioner_id"))
        )
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
                may_use_portal=patient.can_log_in,
                now=now,
                urgent=urgent,
            )
            slot = next((s for s in slots if s.pk == slot_id), None)
            if slot is None or not slot.offered or slot.blocked:
                raise SlotUnavailable
            if not slot.appointment_type.online:
                raise SlotUnavailable
            clinic = slot.practitioner.clinic  # with its booking settings
            if slot.start not in bookable_window(clinic, urgent=urgent, now=now):
                raise SlotUnavailable
            if slot.mine_here is not None:
                return Appointment.objects.select_related("practitioner").get(pk=slot.mine_here)
            if any(s.taken for s in slots):
                raise SlotTaken
            if slot.mine_future >= appointment_limit(clinic, urgent=urgent):
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
                clinic=clinic,
                obj=appointment,
                details={"slot": slot.pk, "urgent": urgent},
                fetch_pk=False,
            )
            # In the booking's transaction (the outbox pattern): the SMS exists exactly when
            # the booking does, and one commit covers both.
            appointment_sms(appointment, patient, clinic, "booking_confirmation")
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
        appointment_sms(appointment, appointment.patient, clinic, "booking_cancelled")
        audit.record(
            "booking.cancel",
            request=request,
            patient=patient,
            clinic=clinic,
            obj=appointment,
            details={"by": "staff" if by_staff else "patient"},
        )
    return appointment
