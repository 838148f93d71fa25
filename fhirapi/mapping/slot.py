"""Slot ↔ booking.Slot: ``busy-unavailable`` when blocked (an absence), ``busy`` when a
booked appointment overlaps it, else ``free``. The schedule is the practitioner's."""

from __future__ import annotations

from typing import Any

from booking.models import Slot

from ..http import instant, meta
from ..selectors import FreeSlot
from .refs import ref

APPOINTMENT_TYPE_SYSTEM = "urn:eportal:appointment-type"


def status_of(slot: Slot | FreeSlot) -> str:
    if slot.blocked:
        return "busy-unavailable"
    if getattr(slot, "booked", False):
        return "busy"
    return "free"


def to_fhir(slot: Slot | FreeSlot) -> dict[str, Any]:
    """``slot`` as :func:`fhirapi.selectors.slots` reads it (``booked``, ``last_changed``),
    or a free slot of ``$find`` (:class:`fhirapi.selectors.FreeSlot`)."""
    kind = slot.appointment_type
    return {
        "resourceType": "Slot",
        "id": str(slot.pk),
        "meta": meta(slot.last_changed),  # type: ignore[union-attr]
        "serviceType": [
            {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": kind.key}], "text": kind.name}
        ],
        "schedule": ref("Schedule", slot.practitioner_id),
        "status": status_of(slot),
        "start": instant(slot.start),
        "end": instant(slot.end),
        "comment": "online" if kind.online else "internal",
    }
