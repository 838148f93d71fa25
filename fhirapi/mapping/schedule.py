"""Schedule ↔ a practitioner's timebook: one Schedule per practitioner (id = the
practitioner's id; created with the practitioner, never on its own). Its slots are the
booking app's. The weekly templates the slots are made from (the import's
``schedule_templates``) have no FHIR element: they are the extension
:data:`TEMPLATE` (``validFrom``, ``validTo``, and one ``rule`` per weekly rule: ``weekday``
1–7, ``start``, ``end``, ``slotMinutes``, ``appointmentType``). A PUT of the Schedule
makes its templates the practitioner's whole set."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from clinics.models import Practitioner

from ..http import meta
from .refs import parse_ref, ref
from .slot import APPOINTMENT_TYPE_SYSTEM

TEMPLATE = "urn:eportal:fhir:StructureDefinition:schedule-template"


def _template(template: Any) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "validFrom", "valueDate": template.valid_from.isoformat()}
    ]
    if template.valid_to:
        parts.append({"url": "validTo", "valueDate": template.valid_to.isoformat()})
    for rule in sorted(template.rules.all(), key=lambda r: (r.weekday, r.start, r.pk)):
        parts.append(
            {
                "url": "rule",
                "extension": [
                    {"url": "weekday", "valueInteger": rule.weekday},
                    {"url": "start", "valueTime": f"{rule.start:%H:%M:%S}"},
                    {"url": "end", "valueTime": f"{rule.end:%H:%M:%S}"},
                    {"url": "slotMinutes", "valueInteger": rule.slot_minutes},
                    {
                        "url": "appointmentType",
                        "valueCoding": {
                            "system": APPOINTMENT_TYPE_SYSTEM,
                            "code": rule.appointment_type.key,
                        },
                    },
                ],
            }
        )
    return {"url": TEMPLATE, "extension": parts}


def to_fhir(practitioner: Practitioner) -> dict[str, Any]:
    """``practitioner`` as :func:`fhirapi.selectors.schedules` reads it (``last_changed``,
    the templates with their rules and types prefetched)."""
    resource: dict[str, Any] = {
        "resourceType": "Schedule",
        "id": str(practitioner.pk),
        "meta": meta(practitioner.last_changed),  # type: ignore[attr-defined]
        "active": practitioner.eportal_enabled,
        "actor": [ref("Practitioner", practitioner.pk, practitioner.name)],
        "comment": f"{practitioner.name}: ePortal timebook",
    }
    templates = sorted(practitioner.schedule_templates.all(), key=lambda t: t.valid_from)
    if templates:
        resource["extension"] = [_template(t) for t in templates]
    return resource


#: A rule as booking's services take it: (weekday, start, end, slot minutes, type id).
Rule = tuple[int, datetime.time, datetime.time, int, int]


@dataclass
class ScheduleInput:
    """A Schedule read into the model's terms, or the errors by place."""

    templates: list[tuple[datetime.date, datetime.date | None, list[Rule]]] = field(
        default_factory=list
    )
    active: bool | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)


def _parts(ext: dict[str, Any], place: str, known: tuple[str, ...], found: ScheduleInput):
    for j, part in enumerate(ext.get("extension") or []):
        url = part.get("url")
        if url not in known:
            found.errors.append((f"{place}.extension[{j}]", f"Unknown part {url!r}."))
            continue
        yield j, url, part


def _rule(
    ext: dict[str, Any], place: str, types: dict[str, int], found: ScheduleInput
) -> Rule | None:
    values: dict[str, Any] = {}
    for j, url, part in _parts(
        ext, place, ("weekday", "start", "end", "slotMinutes", "appointmentType"), found
    ):
        at = f"{place}.extension[{j}]"
        if url in values:
            found.errors.append((at, f"{url} is given twice."))
        elif url == "weekday":
            day = part.get("valueInteger")
            if not isinstance(day, int) or not 1 <= day <= 7:
                found.errors.append((at, "weekday is a valueInteger from 1 (Monday) to 7."))
            values[url] = day
        elif url in ("start", "end"):
            text = part.get("valueTime")
            try:
                when = datetime.time.fromisoformat(str(text))
            except ValueError:
                when = None
            if when is None or when.second or when.microsecond:
                found.errors.append((at, f"{url} is a valueTime in whole minutes (08:00:00)."))
            values[url] = when
        elif url == "slotMinutes":
            minutes = part.get("valueInteger")
            if not isinstance(minutes, int) or not 5 <= minutes <= 480:
                found.errors.append((at, "slotMinutes is a valueInteger from 5 to 480."))
            values[url] = minutes
        else:
            coding = part.get("valueCoding") or {}
            type_id = types.get(str(coding.get("code")))
            if coding.get("system") != APPOINTMENT_TYPE_SYSTEM or type_id is None:
                found.errors.append(
                    (at, f"appointmentType is a valueCoding of {APPOINTMENT_TYPE_SYSTEM} "
                         "with the key of one of the clinic's appointment types.")
                )  # fmt: skip
            values[url] = type_id
    for name in ("weekday", "start", "end", "slotMinutes", "appointmentType"):
        if name not in values:
            found.errors.append((place, f"A rule needs {name}."))
    if found.errors:
        return None
    if values["end"] <= values["start"]:
        found.errors.append((place, "A rule must end after it starts."))
        return None
    return (
        values["weekday"], values["start"], values["end"], values["slotMinutes"],
        values["appointmentType"],
    )  # fmt: skip


def from_fhir(data: dict[str, Any], pk: int, types: dict[str, int]) -> ScheduleInput:
    """Read a Schedule (checked against the FHIR model) for practitioner ``pk``; ``types``:
    the clinic's appointment types, key → id."""
    found = ScheduleInput()
    actors = [parse_ref(a, "Practitioner") for a in data.get("actor") or []]
    if actors != [pk]:
        found.errors.append(
            ("Schedule.actor", f"A schedule's one actor is its practitioner, Practitioner/{pk}.")
        )
    if "active" in data:
        found.active = data["active"] is not False
    starts: set[datetime.date] = set()
    for i, ext in enumerate(data.get("extension") or []):
        if ext.get("url") != TEMPLATE:
            continue
        place = f"Schedule.extension[{i}]"
        before = len(found.errors)
        dates: dict[str, datetime.date] = {}
        rules: list[Rule] = []
        for j, url, part in _parts(ext, place, ("validFrom", "validTo", "rule"), found):
            at = f"{place}.extension[{j}]"
            if url == "rule":
                rule = _rule(part, at, types, found)
                if rule is not None:
                    rules.append(rule)
                continue
            try:
                dates[url] = datetime.date.fromisoformat(str(part.get("valueDate")))
            except ValueError:
                found.errors.append((at, f"{url} is a valueDate (2026-01-05)."))
        valid_from, valid_to = dates.get("validFrom"), dates.get("validTo")
        if valid_from is None and len(found.errors) == before:
            found.errors.append((place, "A template needs validFrom."))
        if valid_from and valid_to and valid_to < valid_from:
            found.errors.append((place, "validTo must not be before validFrom."))
        if valid_from in starts:
            found.errors.append((place, "Two templates from the same date."))
        if valid_from:
            starts.add(valid_from)
        if len(found.errors) == before and valid_from is not None:
            found.templates.append((valid_from, valid_to, rules))
    return found
