"""Slot ↔ booking.Slot: ``busy-unavailable`` when blocked (an absence), ``busy`` when a
booked appointment overlaps it, else ``free``. The schedule is the practitioner's; the
``serviceType`` the slot's appointment type (:data:`APPOINTMENT_TYPE_SYSTEM`, its key)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from booking.models import Slot

from ..http import instant, meta
from ..selectors import FreeSlot
from .refs import parse_ref, ref

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


@dataclass
class SlotInput:
    """A Slot read into the model's terms, or the errors by place. ``busy``: the status
    said booked, which only a slot with a booked appointment may say (unchanged)."""

    practitioner_id: int | None = None
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    appointment_type_id: int | None = None
    blocked: bool = False
    busy: bool = False
    errors: list[tuple[str, str]] = field(default_factory=list)


def _when(text: Any) -> datetime.datetime | None:
    try:
        when = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def from_fhir(data: dict[str, Any], types: dict[str, int]) -> SlotInput:
    """Read a Slot (checked against the FHIR model); ``types``: the clinic's appointment
    types, key → id."""
    found = SlotInput()
    found.practitioner_id = parse_ref(data.get("schedule"), "Schedule")
    if found.practitioner_id is None:
        found.errors.append(("Slot.schedule", "Give the schedule as Schedule/<id>."))
    status = data.get("status")
    if status == "busy-unavailable":
        found.blocked = True
    elif status == "busy":
        found.busy = True
    elif status != "free":
        found.errors.append(
            ("Slot.status", "A slot is free or busy-unavailable (blocked); book with $book.")
        )
    for name in ("start", "end"):
        when = _when(data.get(name))
        if when is None:
            found.errors.append((f"Slot.{name}", "Give an instant with its time zone."))
        setattr(found, name, when)
    codes = [
        (i, c.get("code"))
        for i, kind in enumerate(data.get("serviceType") or [])
        for c in kind.get("coding") or []
        if c.get("system") == APPOINTMENT_TYPE_SYSTEM
    ]
    if len(codes) != 1 or str(codes[0][1]) not in types:
        found.errors.append(
            ("Slot.serviceType", f"Give one coding of {APPOINTMENT_TYPE_SYSTEM} with the key "
                                 "of one of the clinic's appointment types.")
        )  # fmt: skip
    else:
        found.appointment_type_id = types[str(codes[0][1])]
    return found
