"""Writes for appointments: booking, moving and cancelling.

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
from django.db.models import Subquery
from django.http import HttpRequest
from django.utils import timezone, translation

from clinics import audit
from clinics.models import Clinic, Patient
from clinics.selectors import public_url, representative_in
from clinics.urlcache import cached_reverse
from delegation.selectors import may_serve

from ..models import Appointment, Slot, SlotOffer, WaitlistEntry
from ..queries import booking_transaction, lock_slots_queryset
from ..selectors import appointment_limit, bookable_window, settings_of_loaded_clinic
from .notices import appointment_sms
from .slots import offers_sweep_later

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


class OfferGone(BookingError):
    """The waitlist offer is no longer open (answered, expired, or not the patient's)."""

    code = "offer_gone"


class NotMovable(BookingError):
    """Not the patient's booked, future, ordinary appointment (an urgent one is not moved)."""

    code = "not_movable"


def appointment_book(
    *,
    patient: Patient,
    slot_id: int,
    reason: str,
    urgent: bool = False,
    offer_id: int | None = None,
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Book ``slot_id`` for ``patient``; the same call twice books once.

    With ``offer_id`` (the patient accepts a waitlist offer of this slot, without a booking
    to move: :func:`booking.services.waitlist.offer_accept`) the offer is settled as
    accepted and its entry as fulfilled in the same transaction (two plain UPDATEs, safe in
    the pipeline). The hold lets its holder through the lock; anyone else finds the slot
    taken.

    In one transaction, which first locks the patient's row (one patient's bookings queue
    there, so the limit counts every other booking of theirs), the slot and every slot of
    the same practitioner overlapping it are locked and read with what decides:

    - the slot exists, is not blocked, is of an online type, its practitioner is offered to
      the patient for the service (the matrix), and it starts in the bookable window (the
      minimum notice to the horizon; urgent: today, from now on); else
      :class:`SlotUnavailable`;
    - the patient's own booking of this slot (a double submit) is returned as it is;
    - a booked appointment overlapping it: :class:`SlotTaken`;
    - the patient holds as many future appointments as allowed: :class:`LimitReached`.

    Then the appointment, its audit event and the confirmation SMS's outbox row are written
    and committed together: the SMS exists exactly when the booking does (the outbox
    pattern). A fixed number of queries whatever the clinic's size (:mod:`booking.queries`
    says how they travel).

    The database has the last word: a booking that committed while we waited for the lock
    makes our insert fail on the partial unique constraint (same slot) or, on PostgreSQL, the
    exclusion constraint (overlapping slot); that IntegrityError becomes :class:`SlotTaken`
    (or, when the winner was this patient's own double submit, returns that appointment).

    Raises :class:`SlotTaken`, :class:`SlotUnavailable` or :class:`LimitReached`.
    """
    now = now or timezone.now()
    if not may_serve(patient, "urgent" if urgent else "booking"):
        raise SlotUnavailable  # nobody is offered to a patient who may not use the portal
    try:
        with booking_transaction(patient=patient) as booking:
            hold = booking.lock_slot(slot_id=slot_id, urgent=urgent, now=now)
            slot = hold.slot
            if slot is None or not hold.offered or slot.blocked:
                raise SlotUnavailable
            if not slot.appointment_type.online:
                raise SlotUnavailable
            clinic = slot.practitioner.clinic  # with its booking settings
            if slot.start not in bookable_window(clinic, urgent=urgent, now=now):
                raise SlotUnavailable
            if hold.mine is not None:
                return Appointment.objects.select_related("practitioner").get(pk=hold.mine)
            if hold.taken or hold.held_for_other:
                raise SlotTaken
            if hold.held >= appointment_limit(clinic, urgent=urgent):
                raise LimitReached
            appointment = booking.add_appointment(
                slot=slot,
                reason=reason,
                urgent=urgent,
                language=translation.get_language() or "nb",
                booked_by=representative_in(request, patient),
            )
            if appointment is None:  # the patient's record was deleted meanwhile
                raise SlotUnavailable
            booking.audit(
                "booking.book",
                request=request,
                clinic=clinic,
                obj=appointment,
                details={"slot": slot.pk, "urgent": urgent},
            )
            if offer_id is not None:
                _settle_offer(offer_id=offer_id, patient_id=patient.pk, now=now)
            # In the booking's transaction (the outbox pattern): the SMS exists exactly when
            # the booking does, and one commit covers both.
            appointment_sms(
                appointment, patient, clinic, "booking_confirmation", url=_mine_url(request, clinic)
            )
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


def _mine_url(request: HttpRequest | None, clinic: Clinic) -> str:
    """ "Mine timer" as a link in an SMS: to move or cancel (through the login, which comes
    back to it)."""
    return public_url(request, cached_reverse("booking:mine", clinic.ep_ident))


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
            "practitioner", "patient__clinic__booking_settings", "booked_by"
        )
        if patient is not None:
            if not may_serve(patient, "booking"):
                return None  # someone acting whose relation does not cover booking
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
        _waiting_to_move_end(appointment.pk, now)
        appointment_sms(appointment, appointment.patient, clinic, "booking_cancelled")
        audit.record(
            "booking.cancel",
            request=request,
            patient=patient,
            clinic=clinic,
            obj=appointment,
            details={"by": "staff" if by_staff else "patient"},
        )
        offers_sweep_later()  # the slot is free: offer it to a waiting patient
    return appointment


def appointment_move(
    *,
    patient: Patient,
    appointment_id: int,
    slot_id: int,
    offer_id: int | None = None,
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Move the patient's booking to ``slot_id`` in one transaction ("Flytt timen"): the new
    slot is booked and the old one freed together, or nothing changes.

    The same rules as booking the new slot (offered by the matrix, not blocked, an online
    type, in the bookable window, not taken, not held for another waiting patient) and as
    cancelling the old one (only the patient's own, booked and ordinary, until the clinic's
    deadline). The appointment row itself moves: its id (the calendar file's UID) and the
    reason stay; its SEQUENCE goes up; the reminder is due again for the new time. One SMS
    "Timen er flyttet til …".

    The locks are the booking's: the patient's row, then the new slot and the practitioner's
    slots overlapping it. A booking of the new slot that committed meanwhile makes the update
    fail on the database's constraints; that becomes :class:`SlotTaken` with the old booking
    untouched. Moving onto the slot it already holds returns it unchanged (a double submit).

    With ``offer_id`` (the patient accepts a waitlist offer of ``slot_id``:
    :func:`booking.services.waitlist.offer_accept`) the offer must still be open and the
    patient's, and is settled as accepted, its entry as fulfilled, in the same transaction
    (:class:`OfferGone` otherwise). The old slot, free after the commit, is offered on
    (docs/booking.md, "Waitlist").

    Raises :class:`NotMovable`, :class:`CancelTooLate`, :class:`SlotTaken`,
    :class:`SlotUnavailable` or :class:`OfferGone`.
    """
    now = now or timezone.now()
    if not may_serve(patient, "booking"):
        raise SlotUnavailable
    try:
        with transaction.atomic():
            Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk").first()
            appointment = (
                Appointment.objects.select_for_update(of=("self",))
                .select_related("patient__clinic__booking_settings", "booked_by")
                .filter(pk=appointment_id, patient_id=patient.pk)
                .first()
            )
            if appointment is None or appointment.status != Status.BOOKED or appointment.urgent:
                raise NotMovable
            if appointment.slot_id == slot_id:
                return appointment
            if offer_id is not None and not _offer_open(offer_id, patient.pk, slot_id, now):
                raise OfferGone
            clinic = appointment.patient.clinic
            rules = settings_of_loaded_clinic(clinic)
            if now > cancel_deadline(appointment, rules.cancel_deadline_hours):
                raise CancelTooLate
            # Rows with the locking statement's annotations (offered, taken, held_for_other).
            slots: list[Any] = list(
                lock_slots_queryset(
                    slot_id=slot_id,
                    patient_id=patient.pk,
                    clinic_id=patient.clinic_id,
                    list_id=patient.patient_list_id,
                    now=now,
                    urgent=False,
                )
            )
            # Annotated by the locking statement (offered, taken, held_for_other).
            slot: Any = next((s for s in slots if s.pk == slot_id), None)
            if slot is None or not slot.offered or slot.blocked:
                raise SlotUnavailable
            if not slot.appointment_type.online:
                raise SlotUnavailable
            if slot.start not in bookable_window(clinic, urgent=False, now=now):
                raise SlotUnavailable
            # "Taken" counts every booked overlap, the moving booking's own too (a longer
            # template's slot may overlap it): then ask whether another booking overlaps.
            if slot.held_for_other or (
                any(s.taken for s in slots) and _overlaps_another(slot, appointment)
            ):
                raise SlotTaken
            old_slot_id = appointment.slot_id
            old_start = appointment.start
            appointment.slot = slot
            appointment.practitioner = slot.practitioner
            appointment.start = slot.start
            appointment.end = slot.end
            appointment.sequence += 1
            appointment.moved_at = now
            appointment.reminder_sent_at = None
            appointment.save(
                update_fields=[
                    "slot",
                    "practitioner",
                    "start",
                    "end",
                    "sequence",
                    "moved_at",
                    "reminder_sent_at",
                ]
            )
            audit.record(
                "booking.move",
                request=request,
                patient=patient,
                clinic=clinic,
                obj=appointment,
                details={
                    "from_slot": old_slot_id,
                    "to_slot": slot.pk,
                    "from": old_start.isoformat(),
                },
            )
            if offer_id is not None:
                _settle_offer(offer_id=offer_id, patient_id=patient.pk, now=now)
            appointment_sms(appointment, patient, clinic, "booking_moved")
            offers_sweep_later()  # the old slot is free: offer it on
    except IntegrityError:
        # A booking of the new slot (or one overlapping it) committed while we waited.
        raise SlotTaken from None
    return appointment


def _overlaps_another(slot: Slot, appointment: Appointment) -> bool:
    """Whether a booked appointment other than ``appointment`` overlaps ``slot``."""
    return (
        Appointment.objects.filter(
            practitioner_id=slot.practitioner_id,
            status=Status.BOOKED,
            start__lt=slot.end,
            end__gt=slot.start,
        )
        .exclude(pk=appointment.pk)
        .exists()
    )


# The waitlist's side of booking, moving and cancelling (docs/booking.md, "Waitlist")


def _offer_open(offer_id: int, patient_id: int, slot_id: int, now: datetime.datetime) -> bool:
    """Lock the patient's open offer of ``slot_id``; whether there is one."""
    return (
        SlotOffer.objects.select_for_update()
        .filter(
            pk=offer_id,
            patient_id=patient_id,
            slot_id=slot_id,
            status=SlotOffer.Status.OFFERED,
            expires_at__gt=now,
        )
        .exists()
    )


def _settle_offer(*, offer_id: int, patient_id: int, now: datetime.datetime) -> None:
    """The offer is accepted and its entry fulfilled: plain UPDATEs (no savepoint, no
    read of their own), so they may run inside the booking's pipeline."""
    SlotOffer.objects.filter(
        pk=offer_id, patient_id=patient_id, status=SlotOffer.Status.OFFERED
    ).update(status=SlotOffer.Status.ACCEPTED, answered_at=now)
    WaitlistEntry.objects.filter(
        pk=Subquery(SlotOffer.objects.filter(pk=offer_id).values("entry_id")[:1]),
        status=WaitlistEntry.Status.WAITING,
    ).update(status=WaitlistEntry.Status.FULFILLED)


def _waiting_to_move_end(appointment_id: int, now: datetime.datetime) -> None:
    """A cancelled booking has nothing to move: its waiting entries end, their open offers
    are void (those slots go to the next patient)."""
    entries = WaitlistEntry.objects.filter(
        appointment_id=appointment_id, status=WaitlistEntry.Status.WAITING
    )
    SlotOffer.objects.filter(
        entry__in=Subquery(entries.values("pk")), status=SlotOffer.Status.OFFERED
    ).update(status=SlotOffer.Status.VOID, answered_at=now)
    entries.update(status=WaitlistEntry.Status.CANCELLED)
