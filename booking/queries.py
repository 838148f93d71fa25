"""The booking transaction's statements: compiled once, pipelined on PostgreSQL.

:func:`booking.services.appointment_book` is the booking rule; this module only runs its
statements fast (docs/benchmarks.md, "Session 2" and "Session 3"):

- each statement is an ORM queryset compiled to SQL once per process
  (:class:`~eportal.db.prepared.PreparedQuery`, :class:`~eportal.db.prepared.PreparedInsert`);
- the transaction takes two round trips on PostgreSQL
  (:func:`~eportal.db.prepared.atomic_pipeline`): ``BEGIN``, the patient's lock (which also
  takes the new appointment's id, so that its INSERT need not wait for ``RETURNING``) and
  the slots' lock in the first; the inserts (appointment, audit event, SMS outbox row) and
  ``COMMIT`` in the second.

Services call it with domain arguments (a patient, a slot, urgent or not) and get domain
answers (:class:`SlotHold`, an :class:`~booking.models.Appointment`); nothing here decides
whether a booking is allowed.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from clinics import audit
from clinics.models import Clinic, Patient
from delegation.models import Service
from delegation.selectors import offered_practitioners
from eportal.db.prepared import NextPk, PreparedInsert, PreparedQuery, atomic_pipeline

from .models import MAX_DURATION, Appointment, Slot
from .selectors import active_offers, held_appointments, overlapping_booked

Status = Appointment.Status


def lock_slots_queryset(
    *,
    slot_id: int,
    patient_id: int,
    clinic_id: int,
    list_id: int | None,
    now: datetime.datetime,
    urgent: bool,
) -> QuerySet[Slot]:
    """The locking statement, as a queryset: the slot ``slot_id`` and every slot of the same
    practitioner overlapping it, locked (``SELECT … FOR UPDATE``: concurrent attempts on one
    time, or on overlapping slots of templates of different lengths, queue up here), with
    the practitioner, the clinic and its booking settings, the appointment type, and per
    slot:

    - ``offered``: whether the matrix offers the slot's practitioner to this patient
      (delegation's rule, composed; the caller checks the patient's eligibility first);
    - ``taken``: whether an overlapping appointment is booked;
    - ``mine_here``: the patient's own booked appointment on the slot (a double submit);
    - ``mine_future``: how many appointments count towards the patient's limit;
    - ``held_for_other``: the slot is held for another waiting patient (an offer).
    """
    target = Slot.objects.filter(pk=slot_id).order_by()  # no Sort in the subqueries
    service = Service.URGENT if urgent else Service.BOOKING
    offered = offered_practitioners(clinic_id=clinic_id, list_id=list_id, service=service.value)
    mine_here = (
        Appointment.objects.filter(slot=OuterRef("pk"), patient_id=patient_id, status=Status.BOOKED)
        .order_by()
        .values("pk")[:1]
    )
    mine_future = (
        held_appointments(patient_id=patient_id, urgent=urgent, now=now)
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
            offered=Exists(offered.filter(pk=OuterRef("practitioner_id"))),
            taken=Exists(overlapping_booked()),
            mine_here=Subquery(mine_here),
            mine_future=Coalesce(Subquery(mine_future), Value(0)),
            held_for_other=Exists(
                active_offers(now).filter(slot_id=OuterRef("pk")).exclude(patient_id=patient_id)
            ),
        )
        .order_by("start", "pk")
    )


# Compiled once per process: building these statements cost more than running them.
_LOCK_SLOTS = PreparedQuery(lock_slots_queryset)
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


@dataclass(frozen=True)
class SlotHold:
    """What the locking statement read, while the slot and its overlapping slots stay locked
    until the transaction ends."""

    #: The asked slot with its practitioner, clinic (and booking settings) and appointment
    #: type; None when there is no such slot.
    slot: Slot | None
    #: The matrix offers the slot's practitioner to the patient for the service.
    offered: bool
    #: A booked appointment overlaps the slot.
    taken: bool
    #: The patient's own booked appointment on this slot (a double submit), if any.
    mine: int | None
    #: The patient's appointments that count towards the limit (booked, future, same kind).
    held: int
    #: The slot is held for another waiting patient (a waitlist offer).
    held_for_other: bool = False


class BookingTransaction:
    """One booking's transaction; open it with :func:`booking_transaction`."""

    def __init__(self, patient: Patient, new_id: Callable[[], list[Any]]) -> None:
        self._patient = patient
        self._new_id = new_id

    def lock_slot(self, *, slot_id: int, urgent: bool, now: datetime.datetime) -> SlotHold:
        """Lock ``slot_id`` and the practitioner's slots overlapping it; read what the
        booking rule needs about them (:func:`lock_slots_queryset`)."""
        patient = self._patient
        slots = _LOCK_SLOTS(
            slot_id=slot_id,
            patient_id=patient.pk,
            clinic_id=patient.clinic_id,
            list_id=patient.patient_list_id,
            now=now,
            urgent=urgent,
        )
        slot = next((s for s in slots if s.pk == slot_id), None)
        return SlotHold(
            slot=slot,
            offered=bool(slot is not None and slot.offered),
            taken=any(s.taken for s in slots),
            mine=slot.mine_here if slot is not None else None,
            held=slot.mine_future if slot is not None else 0,
            held_for_other=bool(slot is not None and slot.held_for_other),
        )

    def add_appointment(
        self,
        *,
        slot: Slot,
        reason: str,
        urgent: bool,
        language: str,
        booked_by: Patient | None = None,
    ) -> Appointment | None:
        """Insert the patient's appointment on ``slot``; None when the patient's record was
        deleted after the transaction began (its lock found no row)."""
        locked = self._new_id()
        if not locked:
            return None
        return _INSERT_APPOINTMENT(
            id=locked[0],  # None on SQLite: the insert fetches its id
            slot=slot,
            patient=self._patient,
            practitioner=slot.practitioner,
            start=slot.start,
            end=slot.end,
            reason=reason,
            urgent=urgent,
            language=language,
            booked_by=booked_by,
        )

    def audit(
        self,
        action: str,
        *,
        request: HttpRequest | None,
        clinic: Clinic,
        obj: Appointment,
        details: dict[str, Any],
    ) -> None:
        """The patient's audit event, which goes out with the COMMIT (nobody waits for its
        id)."""
        audit.record(
            action,
            request=request,
            patient=self._patient,
            clinic=clinic,
            obj=obj,
            details=details,
            fetch_pk=False,
        )


@contextlib.contextmanager
def booking_transaction(*, patient: Patient) -> Iterator[BookingTransaction]:
    """The booking's transaction, which begins by locking the patient's row: one patient's
    bookings (two tabs, two slots) queue there, so a limit counted inside the transaction
    counts every other booking of theirs that committed; different patients never wait.

    Commits when the block ends; an exception rolls everything back, as ``atomic()`` does.
    A database error of any statement (a concurrent booking that committed while this one
    waited for a lock fails a constraint) raises when the block ends.
    """
    with atomic_pipeline():
        # Sent, not waited for: it goes out with the slots' lock.
        new_id = _LOCK_PATIENT.send(pk=patient.pk)
        yield BookingTransaction(patient, new_id)
