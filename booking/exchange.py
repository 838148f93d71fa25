"""The ``appointment_types`` and ``schedule_templates`` sections of the clinic exchange format.

::

    "appointment_types": [{"key": "ep", "name": "ePortal", "minutes": 20, "online": true}],
    "schedule_templates": [{"practitioner": "p1", "valid_from": "2026-01-05", "valid_to": null,
      "rules": [{"weekday": 1, "start": "08:00", "end": "11:00", "slot_minutes": 20,
                 "appointment_type": "ep"}]}]

Appointment types are matched on ``key`` and updated in place; a type missing from a later
file is kept (slots and rules may still use it). Templates are matched on practitioner and
``valid_from``; the section, when present, is the clinic's whole set: a template missing from
it is deleted, and the slots of every practitioner whose templates changed are regenerated
after the import commits. Rules refer to appointment types of the same file.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.core.exceptions import ValidationError

from clinics.exchange import ImportContext
from clinics.models import Clinic, key_validator

from .models import AppointmentType, ScheduleTemplate, colour_validator
from .services import appointment_type_save, schedule_template_save, slots_regenerate_later

TYPE_FIELDS = ("key", "name", "minutes", "colour", "online")
TEMPLATE_FIELDS = ("practitioner", "valid_from", "valid_to", "rules")
RULE_FIELDS = ("weekday", "start", "end", "slot_minutes", "appointment_type")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
#: Where the types section leaves the keys it saw, for the templates section (runs after it).
TYPE_KEYS = "booking_appointment_type_keys"


def _unknown_fields(row: dict, allowed: tuple[str, ...], place: str, ctx: ImportContext) -> None:
    for name in row:
        if name not in allowed:
            ctx.error(f"{place}.{name}", "is not a known field")


def _int(value: Any, place: str, ctx: ImportContext, low: int, high: int) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        ctx.error(place, f"must be a whole number from {low} to {high}")
        return None
    return value


def _date(value: Any, place: str, ctx: ImportContext) -> datetime.date | None:
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    ctx.error(place, "must be a date like 2026-01-05")
    return None


def _time(value: Any, place: str, ctx: ImportContext) -> datetime.time | None:
    if isinstance(value, str) and _TIME.match(value):
        return datetime.time.fromisoformat(value)
    ctx.error(place, 'must be a time like "08:00"')
    return None


def _rows(data: Any, key: str, ctx: ImportContext) -> list[tuple[str, dict]]:
    if not isinstance(data, list):
        ctx.error(key, "must be a list")
        return []
    rows = []
    for i, row in enumerate(data):
        place = f"{key}[{i}]"
        if not isinstance(row, dict):
            ctx.error(place, "must be an object")
            continue
        rows.append((place, row))
    return rows


def validate_appointment_type(
    row: dict, place: str, seen: set[str], ctx: ImportContext
) -> dict[str, Any]:
    """One ``appointment_types`` row (also the FHIR API's HealthcareService), cleaned with
    the defaults; ``seen`` the keys so far."""
    _unknown_fields(row, TYPE_FIELDS, place, ctx)
    key = row.get("key")
    if not isinstance(key, str) or not key:
        ctx.error(f"{place}.key", "is required")
    else:
        try:
            key_validator(key)
        except ValidationError as error:
            ctx.error(f"{place}.key", "; ".join(error.messages))
        if key in seen:
            ctx.error(f"{place}.key", f'"{key}" is used twice')
        seen.add(key)
    name = row.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        ctx.error(f"{place}.name", "is required (at most 100 characters)")
    minutes = _int(row.get("minutes"), f"{place}.minutes", ctx, 5, 480)
    colour = row.get("colour")
    if colour is not None and (
        # An instance's regex is compiled; the stubs allow the class's str as well.
        not isinstance(colour, str) or not colour_validator.regex.match(colour)  # type: ignore[union-attr]
    ):
        ctx.error(f"{place}.colour", 'must be a colour like "#1a7f37"')
    online = row.get("online", False)
    if not isinstance(online, bool):
        ctx.error(f"{place}.online", "must be true or false")
    return {
        "key": key,
        "name": name.strip() if isinstance(name, str) else "",
        "minutes": minutes,
        "colour": colour or "#0d6efd",
        "online": online is True,
    }


class AppointmentTypesSection:
    key = "appointment_types"
    order = 200

    def validate(self, data: Any, ctx: ImportContext) -> None:
        seen: set[str] = set()
        for place, row in _rows(data, self.key, ctx):
            validate_appointment_type(row, place, seen, ctx)
        setattr(ctx, TYPE_KEYS, seen)

    def apply(self, data: list[dict[str, Any]], ctx: ImportContext) -> None:
        assert ctx.clinic is not None  # noqa: S101 - set by the import before sections apply
        existing = {t.key: t for t in AppointmentType.objects.filter(clinic=ctx.clinic)}
        types = {}
        for row in data:
            values = {
                "name": row["name"].strip(),
                "minutes": row["minutes"],
                "colour": row.get("colour") or "#0d6efd",
                "online": row.get("online", False),
            }
            obj, changed = appointment_type_save(
                clinic_id=ctx.clinic.pk,
                values={"key": row["key"], **values},
                appointment_type=existing.get(row["key"]),
            )
            if row["key"] not in existing:
                ctx.count("appointment types created")
            elif changed:
                ctx.count("appointment types updated")
            types[row["key"]] = obj
        setattr(ctx, TYPE_KEYS, types)

    def export(self, clinic: Clinic) -> list[dict[str, Any]]:
        return [
            {"key": t.key, "name": t.name, "minutes": t.minutes, "colour": t.colour,
             "online": t.online}
            for t in AppointmentType.objects.filter(clinic=clinic).order_by("key")
        ]  # fmt: skip


class ScheduleTemplatesSection:
    key = "schedule_templates"
    order = 210

    def validate(self, data: Any, ctx: ImportContext) -> None:
        type_keys: set[str] = getattr(ctx, TYPE_KEYS, set())
        seen: set[tuple[str, datetime.date]] = set()
        for place, row in _rows(data, self.key, ctx):
            _unknown_fields(row, TEMPLATE_FIELDS, place, ctx)
            practitioner = row.get("practitioner")
            if practitioner not in ctx.practitioner_keys:
                ctx.error(f"{place}.practitioner", f'unknown practitioner "{practitioner}"')
            valid_from = _date(row.get("valid_from"), f"{place}.valid_from", ctx)
            valid_to = None
            if row.get("valid_to") is not None:
                valid_to = _date(row.get("valid_to"), f"{place}.valid_to", ctx)
            if valid_from and valid_to and valid_to < valid_from:
                ctx.error(f"{place}.valid_to", "must not be before valid_from")
            if isinstance(practitioner, str) and valid_from:
                if (practitioner, valid_from) in seen:
                    ctx.error(place, "this practitioner has two templates from the same date")
                seen.add((practitioner, valid_from))
            rules = row.get("rules")
            if not isinstance(rules, list):
                ctx.error(f"{place}.rules", "is required and must be a list")
                continue
            for rule_place, rule in _rows(rules, f"{place}.rules", ctx):
                _unknown_fields(rule, RULE_FIELDS, rule_place, ctx)
                _int(rule.get("weekday"), f"{rule_place}.weekday", ctx, 1, 7)
                start = _time(rule.get("start"), f"{rule_place}.start", ctx)
                end = _time(rule.get("end"), f"{rule_place}.end", ctx)
                if start and end and end <= start:
                    ctx.error(f"{rule_place}.end", "must be after start")
                _int(rule.get("slot_minutes"), f"{rule_place}.slot_minutes", ctx, 5, 480)
                type_key = rule.get("appointment_type")
                if type_key not in type_keys:
                    ctx.error(
                        f"{rule_place}.appointment_type",
                        f'unknown appointment type "{type_key}" (list it in appointment_types)',
                    )

    def apply(self, data: list[dict[str, Any]], ctx: ImportContext) -> None:
        assert ctx.clinic is not None  # noqa: S101 - set by the import before sections apply
        types: dict[str, AppointmentType] = getattr(ctx, TYPE_KEYS)
        templates = list(
            ScheduleTemplate.objects.filter(practitioner__clinic=ctx.clinic).prefetch_related(
                "rules"
            )
        )
        existing = {(t.practitioner_id, t.valid_from): t for t in templates}
        changed: set[int] = set()
        kept: set[int] = set()
        for row in data:
            practitioner = ctx.practitioners[row["practitioner"]]
            valid_from = datetime.date.fromisoformat(row["valid_from"])
            valid_to = datetime.date.fromisoformat(row["valid_to"]) if row.get("valid_to") else None
            template, outcome = schedule_template_save(
                practitioner_id=practitioner.pk,
                valid_from=valid_from,
                valid_to=valid_to,
                rules=[
                    (
                        r["weekday"],
                        datetime.time.fromisoformat(r["start"]),
                        datetime.time.fromisoformat(r["end"]),
                        r["slot_minutes"],
                        types[r["appointment_type"]].pk,
                    )
                    for r in row["rules"]
                ],
                template=existing.get((practitioner.pk, valid_from)),
            )
            kept.add(template.pk)
            if outcome != "unchanged":
                ctx.count(f"schedule templates {outcome}")
                changed.add(practitioner.pk)
        # The file is the clinic's whole set: a template it does not list goes, also a
        # second template from one date that code made (the file matches only one of them).
        for template in templates:
            if template.pk not in kept:
                changed.add(template.practitioner_id)
                template.delete()
                ctx.count("schedule templates deleted")
        if changed:
            slots_regenerate_later(practitioner_ids=sorted(changed))

    def export(self, clinic: Clinic) -> list[dict[str, Any]]:
        templates = (
            ScheduleTemplate.objects.filter(practitioner__clinic=clinic)
            .select_related("practitioner")
            .prefetch_related("rules__appointment_type")
            .order_by("practitioner__key", "valid_from")
        )
        return [
            {
                "practitioner": t.practitioner.key,
                "valid_from": t.valid_from.isoformat(),
                "valid_to": t.valid_to.isoformat() if t.valid_to else None,
                "rules": [
                    {
                        "weekday": r.weekday,
                        "start": f"{r.start:%H:%M}",
                        "end": f"{r.end:%H:%M}",
                        "slot_minutes": r.slot_minutes,
                        "appointment_type": r.appointment_type.key,
                    }
                    for r in sorted(t.rules.all(), key=lambda r: (r.weekday, r.start, r.pk))
                ],
            }
            for t in templates
        ]


appointment_types = AppointmentTypesSection()
schedule_templates = ScheduleTemplatesSection()
