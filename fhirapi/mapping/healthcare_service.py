"""HealthcareService ↔ booking.AppointmentType: a kind of appointment the clinic's
timebooks are laid with. The key is the identifier and the ``type`` coding
(:data:`APPOINTMENT_TYPE_SYSTEM`, what a Slot's ``serviceType`` and a schedule rule name);
the usual duration, the admin's colour and whether it is offered online are extensions
(R4 has no element for them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from booking.exchange import validate_appointment_type
from booking.models import AppointmentType
from clinics.exchange import ImportContext

from ..http import meta
from . import identifiers
from .refs import ref
from .rows import ROW, places
from .slot import APPOINTMENT_TYPE_SYSTEM

MINUTES = "urn:eportal:fhir:StructureDefinition:appointment-minutes"
COLOUR = "urn:eportal:fhir:StructureDefinition:colour"
ONLINE = "urn:eportal:fhir:StructureDefinition:online-booking"
UCUM = "http://unitsofmeasure.org"


def to_fhir(kind: AppointmentType) -> dict[str, Any]:
    return {
        "resourceType": "HealthcareService",
        "id": str(kind.pk),
        "meta": meta(kind.last_changed, identifiers.profile("HealthcareService")),  # type: ignore[attr-defined]
        "extension": [
            {
                "url": MINUTES,
                "valueDuration": {"value": kind.minutes, "unit": "min", "system": UCUM,
                                  "code": "min"},
            },
            {"url": COLOUR, "valueString": kind.colour},
            {"url": ONLINE, "valueBoolean": kind.online},
        ],
        "identifier": [{"system": APPOINTMENT_TYPE_SYSTEM, "value": kind.key}],
        "active": True,
        "providedBy": ref("Organization", kind.clinic_id),
        "type": [{"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": kind.key,
                              "display": kind.name}]}],
        "name": kind.name,
        "appointmentRequired": True,
    }  # fmt: skip


@dataclass
class HealthcareServiceInput:
    """``key`` None: not given (made on create, kept on update)."""

    key: str | None = None
    row: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


def from_fhir(data: dict[str, Any]) -> HealthcareServiceInput:
    found = HealthcareServiceInput()
    keys = [(i, item) for i, item in enumerate(data.get("identifier") or [])
            if item.get("system") == APPOINTMENT_TYPE_SYSTEM]  # fmt: skip
    if len(keys) > 1:
        found.errors.append(("HealthcareService.identifier", "Give one key."))
    elif keys:
        found.key = str(keys[0][1].get("value") or "")
    row: dict[str, Any] = {"name": data.get("name")}
    for i, item in enumerate(data.get("extension") or []):
        url = item.get("url")
        if url == MINUTES:
            duration = item.get("valueDuration") or {}
            if duration.get("code", "min") != "min" or duration.get("unit", "min") != "min":
                found.errors.append(
                    (f"HealthcareService.extension[{i}]", "The duration is in minutes (min).")
                )
            value = duration.get("value")
            row["minutes"] = (
                int(value) if isinstance(value, int | float) and value == int(value) else value
            )
        elif url == COLOUR:
            row["colour"] = item.get("valueString")
        elif url == ONLINE:
            row["online"] = item.get("valueBoolean")
    found.row = row
    return found


WHERE = {
    "key": "HealthcareService.identifier",
    "name": "HealthcareService.name",
    "minutes": f"HealthcareService.extension('{MINUTES}')",
    "colour": f"HealthcareService.extension('{COLOUR}')",
    "online": f"HealthcareService.extension('{ONLINE}')",
}


def validate(found: HealthcareServiceInput, key: str) -> dict[str, Any]:
    ctx = ImportContext()
    clean = validate_appointment_type({"key": key, **found.row}, ROW, set(), ctx)
    found.errors += places(ctx.errors, WHERE, "HealthcareService")
    return clean
