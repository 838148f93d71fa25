"""Writes for the waitlist ("Ønsker tidligere time", docs/booking.md "Waitlist").

A patient waits for an earlier time (:func:`waitlist_join`); when a slot frees up, the sweep
(:func:`offers_sweep`) offers it to the first waiting patient it fits, by SMS with a link
that needs login, and holds it for them alone for the clinic's ``waitlist_hold_minutes``.
The patient accepts (:func:`offer_accept`: their booking moves, or a new one is made) or
declines (:func:`offer_decline`); an offer not answered in time expires and the slot goes to
the next patient.

Race safety: the hold is an :class:`~booking.models.SlotOffer` row; the partial unique
constraints (one open offer per slot, one per patient) have the last word, and the booking's
locking statement treats a held slot as taken for everyone but its holder. The beat runs the
sweep every minute, the source of truth; the sweep enqueued after a slot frees up only makes
the offer come sooner. Running it twice offers nothing twice (the constraints, and the SMS's
idempotency key ``slot-offer:<id>``).
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation

from clinics import audit
from clinics.dates import long_date
from clinics.models import Patient
from clinics.selectors import may_use_portal, public_url, representative_in, sms_recipient
from delegation.models import Service
from delegation.selectors import practitioners_for
from sms.services import sms_queue
from sms.texts import sms_text

from ..models import ALL_WEEKDAYS, MAX_DURATION, Appointment, Slot, SlotOffer, WaitlistEntry
from ..selectors import (
    active_offers,
    booking_window,
    local_today,
    local_tz,
    offer_candidates,
    offers_allowed_at,
    settings_of_loaded_clinic,
)
from .appointments import (
    BookingError,
    NotMovable,
    OfferGone,
    appointment_book,
    appointment_move,
)
from .slots import offers_sweep_later

logger = logging.getLogger(__name__)

Entry = WaitlistEntry.Status
Offer = SlotOffer.Status


class WaitlistError(BookingError):
    """The waitlist request was refused; ``code`` says why (the view chooses the words)."""

    code = "waitlist"


class NotOffered(WaitlistError):
    """A chosen practitioner is not offered to the patient for booking (the matrix)."""

    code = "not_offered"


class BadUntil(WaitlistError):
    """The last day is in the past or beyond the booking horizon."""

    code = "until"


class AlreadyWaiting(WaitlistError):
    code = "already_waiting"


def waitlist_join(
    *,
    patient: Patient,
    practitioner_ids: list[int],
    weekdays: list[int],
    time_from: datetime.time,
    time_to: datetime.time,
    until: datetime.date,
    appointment_id: int | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> WaitlistEntry:
    """Put the patient on the waitlist for an earlier time.

    With ``appointment_id`` (the patient's own booked, ordinary, future appointment) an
    accepted offer moves that booking; without, it books anew with ``reason``. The
    practitioners must all be offered to the patient for booking (the matrix), at least
    one; ``weekdays`` are ISO weekdays (Monday = 1), at least one; ``time_from`` before
    ``time_to``; ``until`` from today to the end of the booking horizon. One waiting entry
    per booking (and one without): :class:`AlreadyWaiting`.

    Raises :class:`NotOffered`, :class:`BadUntil`, :class:`AlreadyWaiting`, ValueError for
    a malformed window, or ``NotMovable`` for someone else's appointment.
    """
    now = now or timezone.now()
    days = sorted(set(weekdays))
    if not days or any(d < 1 or d > 7 for d in days):
        raise ValueError("weekdays")
    if not time_from < time_to:
        raise ValueError("times")
    offered = {p.pk for p in practitioners_for(patient, Service.BOOKING)}
    chosen = sorted(set(practitioner_ids))
    if not chosen or not set(chosen) <= offered:
        raise NotOffered
    clinic = patient.clinic
    rules = settings_of_loaded_clinic(clinic)
    last_day = booking_window(rules, now).horizon_end.astimezone(local_tz()).date()
    if not local_today(now) <= until < last_day:
        raise BadUntil
    bits = 0
    for day in days:
        bits |= 1 << (day - 1)
    try:
        with transaction.atomic():
            appointment = None
            if appointment_id is not None:
                appointment = (
                    Appointment.objects.select_for_update(of=("self",))
                    .filter(pk=appointment_id, patient_id=patient.pk)
                    .first()
                )
                if (
                    appointment is None
                    or appointment.status != Appointment.Status.BOOKED
                    or appointment.urgent
                    or appointment.start <= now
                ):
                    raise NotMovable
            entry = WaitlistEntry.objects.create(
                clinic_id=patient.clinic_id,
                patient=patient,
                appointment=appointment,
                weekdays=bits & ALL_WEEKDAYS,
                time_from=time_from,
                time_to=time_to,
                until=until,
                reason=reason if appointment is None else "",
                language=translation.get_language() or "nb",
                sent_by=representative_in(request, patient),
            )
            entry.practitioners.set(chosen)
            audit.record(
                "booking.waitlist_join",
                request=request,
                patient=patient,
                clinic=clinic,
                obj=entry,
                details={"appointment": appointment_id, "practitioners": chosen},
            )
    except IntegrityError:
        raise AlreadyWaiting from None
    offers_sweep_later()  # a time may be free already
    return entry


def waitlist_leave(
    *, patient: Patient, entry_id: int, request: HttpRequest | None = None
) -> WaitlistEntry | None:
    """The patient leaves the waitlist; an open offer of that entry is given up (its slot
    goes to the next patient). None when the entry is not the patient's. Idempotent."""
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(pk=entry_id, patient_id=patient.pk)
            .first()
        )
        if entry is None:
            return None
        if entry.status != Entry.WAITING:
            return entry
        entry.status = Entry.CANCELLED
        entry.save(update_fields=["status"])
        given_up = SlotOffer.objects.filter(entry=entry, status=Offer.OFFERED).update(
            status=Offer.DECLINED, answered_at=timezone.now()
        )
        audit.record(
            "booking.waitlist_leave", request=request, patient=patient, obj=entry, details={}
        )
    if given_up:
        offers_sweep_later()
    return entry


# The sweep


def offers_sweep(*, now: datetime.datetime | None = None) -> int:
    """Expire what ran out, then offer freed slots to waiting patients; returns the offers
    made. Run it often (beat, every minute); twice at once, or again, offers nothing twice.

    1. Offers past their time become ``expired`` (their entries keep waiting; that slot is
       never offered to that entry again), and entries past their last day ``expired``.
    2. Outside :data:`~booking.selectors.OFFER_HOURS` (08:00–21:00 Oslo time) nothing is
       offered: no SMS at night. A slot freed at night is offered in the morning if it still
       starts far enough ahead.
    3. ONE query (:func:`~booking.selectors.offer_candidates`) finds the pairs of free slot
       and waiting entry, whatever the length of the waitlist; then, first come first served,
       one offer per slot and per patient: :func:`_offer`, each in its own transaction.
    """
    now = now or timezone.now()
    SlotOffer.objects.filter(status=Offer.OFFERED, expires_at__lte=now).update(status=Offer.EXPIRED)
    WaitlistEntry.objects.filter(status=Entry.WAITING, until__lt=local_today(now)).update(
        status=Entry.EXPIRED
    )
    if not offers_allowed_at(now):
        return 0
    made = 0
    slots_done: set[int] = set()
    patients_done: set[int] = set()
    for entry_id, patient_id, slot_id, practitioner_id in offer_candidates(now):
        if slot_id in slots_done or patient_id in patients_done:
            continue
        if _offer(entry_id=entry_id, slot_id=slot_id, practitioner_id=practitioner_id, now=now):
            made += 1
            slots_done.add(slot_id)
            patients_done.add(patient_id)
    return made


def _offer(*, entry_id: int, slot_id: int, practitioner_id: int, now: datetime.datetime) -> bool:
    """Offer ``slot_id`` to the entry: lock the slot and check again that it is free, that
    the entry still waits and its patient may book this practitioner, then the offer row
    and its SMS in one transaction. False, and nothing written, when anything changed."""
    try:
        with transaction.atomic():
            slot = (
                Slot.objects.select_for_update(of=("self",))
                .select_related("practitioner__clinic__booking_settings")
                .filter(pk=slot_id, blocked=False)
                .first()
            )
            entry = (
                WaitlistEntry.objects.select_for_update(of=("self",))
                .select_related("patient__clinic", "sent_by")
                .filter(pk=entry_id, status=Entry.WAITING)
                .first()
            )
            if slot is None or entry is None:
                return False
            patient = entry.patient
            if not may_use_portal(patient) or not sms_recipient(patient, entry.sent_by):
                return False
            taken = Appointment.objects.filter(
                practitioner_id=slot.practitioner_id,
                status=Appointment.Status.BOOKED,
                start__lt=slot.end,
                end__gt=slot.start,
                start__gt=slot.start - MAX_DURATION,
            ).exists()
            if taken or active_offers(now).filter(slot_id=slot_id).exists():
                return False
            if practitioner_id not in {p.pk for p in practitioners_for(patient, Service.BOOKING)}:
                return False
            clinic = slot.practitioner.clinic
            rules = settings_of_loaded_clinic(clinic)
            hold = datetime.timedelta(minutes=rules.waitlist_hold_minutes)
            offer = SlotOffer.objects.create(
                slot=slot, entry=entry, patient=patient, expires_at=min(now + hold, slot.start)
            )
            audit.record(
                "booking.offer_made",
                patient=patient,
                clinic=clinic,
                obj=offer,
                details={"slot": slot_id, "entry": entry_id},
            )
            _offer_sms(offer, slot, patient, entry, rules.waitlist_hold_minutes)
    except IntegrityError:
        # The slot or the patient got an offer meanwhile (another sweep): the constraints'
        # word is final.
        return False
    return True


def _offer_sms(
    offer: SlotOffer, slot: Slot, patient: Patient, entry: WaitlistEntry, minutes: int
) -> None:
    """ "Ledig time hos <clinic> <date> kl. <time>. Holdes for deg i 15 min: <link>": the
    time, the clinic and a link that needs login; never the reason nor the practitioner's
    field."""
    clinic = slot.practitioner.clinic
    link = public_url(
        None,
        reverse("booking:offer", kwargs={"ep_ident": clinic.ep_ident, "offer_id": offer.pk}),
    )
    local = slot.start.astimezone(local_tz())
    language = entry.language
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        text = sms_text(
            "slot_offer",
            clinic=clinic.name,
            date=long_date(local),
            time=local.strftime("%H:%M"),
            minutes=minutes,
            link=link,
        )
    try:
        sms_queue(
            clinic_id=clinic.pk,
            to=sms_recipient(patient, entry.sent_by),
            text=text,
            purpose="slot_offer",
            idempotency_key=f"slot-offer:{offer.pk}",
        )
    except ValueError:
        # A malformed number in the record: the hold stands and runs out unanswered.
        logger.warning("Slot offer %s: no SMS (bad number)", offer.pk)


# Answering


def offer_accept(
    *,
    patient: Patient,
    offer_id: int,
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> Appointment:
    """The patient takes the offered time. With a booking to move, it moves
    (:func:`~booking.services.appointment_move`, which settles the offer and the entry in
    its transaction); without, the slot is booked anew with the entry's reason
    (:func:`~booking.services.appointment_book`, settling them in its transaction).

    Raises :class:`OfferGone` (answered, expired, not the patient's), or the booking's
    errors (``SlotTaken``, ``SlotUnavailable``, ``LimitReached``, ``CancelTooLate``).
    """
    now = now or timezone.now()
    offer = (
        SlotOffer.objects.select_related("entry")
        .filter(pk=offer_id, patient_id=patient.pk, status=Offer.OFFERED, expires_at__gt=now)
        .first()
    )
    if offer is None:
        raise OfferGone
    entry = offer.entry
    if entry.appointment_id is not None:
        return appointment_move(
            patient=patient,
            appointment_id=entry.appointment_id,
            slot_id=offer.slot_id,
            offer_id=offer.pk,
            request=request,
            now=now,
        )
    return appointment_book(
        patient=patient,
        slot_id=offer.slot_id,
        reason=entry.reason or "-",
        offer_id=offer.pk,
        request=request,
        now=now,
    )


def offer_decline(
    *, patient: Patient, offer_id: int, request: HttpRequest | None = None
) -> SlotOffer | None:
    """The patient does not want the offered time: the slot goes to the next patient at
    once; the entry keeps waiting (that slot is not offered to it again). None when the
    offer is not the patient's; an offer no longer open is returned as it is."""
    with transaction.atomic():
        offer = (
            SlotOffer.objects.select_for_update().filter(pk=offer_id, patient_id=patient.pk).first()
        )
        if offer is None:
            return None
        if offer.status != Offer.OFFERED:
            return offer
        offer.status = Offer.DECLINED
        offer.answered_at = timezone.now()
        offer.save(update_fields=["status", "answered_at"])
        audit.record(
            "booking.offer_declined", request=request, patient=patient, obj=offer, details={}
        )
    offers_sweep_later()
    return offer
