"""Appointment ↔ booking.Appointment (``booked`` or ``cancelled``), with the patient, the
practitioner and the slot; and the ``proposed`` appointments of ``$find``."""

from __future__ import annotations

from typing import Any

from booking.models import Appointment, Slot

from ..http import instant, meta
from ..selectors import FreeSlot
from .identifiers import profile
from .refs import ref

PROFILE = profile("Appointment")


def to_fhir(appointment: Appointment) -> dict[str, Any]:
    """As :func:`fhirapi.selectors.appointments` reads it (``last_changed``)."""
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "meta": meta(appointment.last_changed, PROFILE),  # type: ignore[attr-defined]
        "status": appointment.status,
        "start": instant(appointment.start),
        "end": instant(appointment.end),
        "created": instant(appointment.created),
        "participant": [
            {"actor": ref("Patient", appointment.patient_id), "status": "accepted"},
            {"actor": ref("Practitioner", appointment.practitioner_id), "status": "accepted"},
        ],
    }
    if appointment.slot_id is not None:
        resource["slot"] = [ref("Slot", appointment.slot_id)]
    if appointment.reason:
        resource["description"] = appointment.reason
    if appointment.status == Appointment.Status.CANCELLED and appointment.cancelled_at:
        resource["cancelationReason"] = {"text": "cancelled"}
    return resource


def proposed(slot: Slot | FreeSlot) -> dict[str, Any]:
    """An appointment ``$find`` offers: the free slot, the practitioner, no patient yet."""
    return {
        "resourceType": "Appointment",
        "meta": {"profile": [PROFILE]},
        "status": "proposed",
        "start": instant(slot.start),
        "end": instant(slot.end),
        "slot": [ref("Slot", slot.pk)],
        "participant": [
            {"actor": ref("Practitioner", slot.practitioner_id), "status": "needs-action"}
        ],
    }
