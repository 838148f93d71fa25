"""The clinic exchange format ("eportal-clinic/1"): import and export of a clinic's set-up.

Documented in docs/import-format.md. Import is all-or-nothing: every row is validated first,
each error reported by its place in the file (``patients[3].national_id``); only a file with
no errors is written, in one transaction. Re-importing the same file changes nothing; a
changed file updates in place, matched on the EP identifier, ``key`` and identity number.
Patients missing from a later file are marked inactive, never deleted.

Other apps add their own top-level sections (``service_matrix``, ``appointment_types``,
``schedule_templates``) by registering a :class:`Section` in their ``AppConfig.ready``, so
this module never imports them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.db.models.functions import Now

from .models import (
    Clinic,
    Medication,
    ParentChild,
    Patient,
    PatientList,
    PowerOfAttorney,
    Practitioner,
    atc_validator,
    ep_ident_validator,
    key_validator,
)
from .national_id import age_of, birth_date, compact
from .national_id import parse as parse_national_id
from .phones import normalise_mobile
from .selectors import ATTORNEY_GIVER_MIN_AGE, ATTORNEY_HOLDER_MIN_AGE
from .services import (
    attorney_values,
    power_of_attorney_save,
    powers_of_attorney_close,
    save_changed,
)

FORMAT = "eportal-clinic/1"
LOGIN_METHODS = ("bankid", "sms")
CORE_KEYS = (
    "format", "clinic", "practitioners", "patient_lists", "patients", "parent_child",
    "powers_of_attorney",
)  # fmt: skip


class ImportFailed(Exception):
    """The file has errors; nothing was imported."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


@dataclass
class ImportContext:
    """What sections see: the file's keys while validating, the saved objects while applying."""

    practitioner_keys: set[str] = field(default_factory=set)
    list_keys: set[str] = field(default_factory=set)
    errors: list[tuple[str, str]] = field(default_factory=list)
    clinic: Clinic | None = None
    practitioners: dict[str, Practitioner] = field(default_factory=dict)
    lists: dict[str, PatientList] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def error(self, place: str, message: str) -> None:
        self.errors.append((place, str(message)))

    def count(self, what: str, n: int = 1) -> None:
        self.stats[what] = self.stats.get(what, 0) + n


class Section(Protocol):
    """A top-level part of the file owned by another app."""

    key: str
    #: Lower runs first, on import and export.
    order: int

    def validate(self, data: Any, ctx: ImportContext) -> None: ...

    def apply(self, data: Any, ctx: ImportContext) -> None: ...

    def export(self, clinic: Clinic) -> Any: ...


_sections: dict[str, Section] = {}


def register_section(section: Section) -> None:
    _sections[section.key] = section


def sections() -> list[Section]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))


# Validation


def _str(value: Any, place: str, ctx: ImportContext, *, required: bool = True, max_len: int = 200):
    if value is None or value == "":
        if required:
            ctx.error(place, "is required")
        return ""
    if not isinstance(value, str):
        ctx.error(place, "must be a string")
        return ""
    value = value.strip()
    if len(value) > max_len:
        ctx.error(place, f"is longer than {max_len} characters")
    return value


def _bool(value: Any, place: str, ctx: ImportContext, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        ctx.error(place, "must be true or false")
        return default
    return value


def _validator(validator: Any, value: str, place: str, ctx: ImportContext) -> None:
    try:
        validator(value)
    except ValidationError as error:
        for message in error.messages:
            ctx.error(place, message)


def _list(data: dict, name: str, ctx: ImportContext) -> list:
    value = data.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.error(name, "must be a list")
        return []
    return value


def _rows(items: list, name: str, ctx: ImportContext) -> Iterable[tuple[str, dict]]:
    for i, row in enumerate(items):
        place = f"{name}[{i}]"
        if not isinstance(row, dict):
            ctx.error(place, "must be an object")
            continue
        yield place, row


def validate_clinic(raw_clinic: dict, ctx: ImportContext) -> dict[str, Any]:
    """The ``clinic`` section (also the FHIR API's Organization), errors at ``clinic.<field>``."""
    c: dict[str, Any] = {
        "ep_ident": _str(raw_clinic.get("ep_ident"), "clinic.ep_ident", ctx, max_len=32),
        "name": _str(raw_clinic.get("name"), "clinic.name", ctx),
        "address": _str(
            raw_clinic.get("address"), "clinic.address", ctx, required=False, max_len=300
        ),
        "website": _str(raw_clinic.get("website"), "clinic.website", ctx, required=False),
        "active": _bool(raw_clinic.get("active"), "clinic.active", ctx, True),
    }
    if c["ep_ident"]:
        _validator(ep_ident_validator, c["ep_ident"], "clinic.ep_ident", ctx)
    phone = _str(raw_clinic.get("phone"), "clinic.phone", ctx, required=False, max_len=32)
    c["phone"] = phone
    if c["website"]:
        from django.core.validators import URLValidator

        _validator(URLValidator(), c["website"], "clinic.website", ctx)
    methods = raw_clinic.get("login_methods", list(LOGIN_METHODS))
    if not isinstance(methods, list) or any(m not in LOGIN_METHODS for m in methods):
        ctx.error("clinic.login_methods", 'must be a list of "bankid" and/or "sms"')
        methods = []
    c["allow_bankid"] = "bankid" in methods
    c["allow_sms"] = "sms" in methods
    return c


def validate_patient_list(row: dict, place: str, ctx: ImportContext) -> dict[str, Any]:
    """One ``patient_lists`` row (also the FHIR API's Group): the key once, the GP one of
    ``ctx.practitioner_keys``."""
    key = _str(row.get("key"), f"{place}.key", ctx, max_len=64)
    if key:
        _validator(key_validator, key, f"{place}.key", ctx)
        if key in ctx.list_keys:
            ctx.error(f"{place}.key", f'"{key}" is used twice')
        ctx.list_keys.add(key)
    gp = row.get("gp")
    if gp is not None and gp not in ctx.practitioner_keys:
        ctx.error(f"{place}.gp", f'unknown practitioner "{gp}"')
    return {"key": key, "name": _str(row.get("name"), f"{place}.name", ctx), "gp": gp}


def _validate(data: Any, ctx: ImportContext) -> dict:
    """Check the whole file; return the cleaned core sections."""
    if not isinstance(data, dict):
        ctx.error("(file)", "must be a JSON object")
        return {}
    if data.get("format") != FORMAT:
        ctx.error("format", f'must be "{FORMAT}"')
    known = set(CORE_KEYS) | set(_sections)
    for name in data:
        if name not in known:
            ctx.error(name, "is not a known section")

    clean: dict[str, Any] = {}
    raw_clinic = data.get("clinic")
    if not isinstance(raw_clinic, dict):
        ctx.error("clinic", "is required and must be an object")
        raw_clinic = {}
    clean["clinic"] = validate_clinic(raw_clinic, ctx)

    practitioners = []
    for place, row in _rows(_list(data, "practitioners", ctx), "practitioners", ctx):
        key = _str(row.get("key"), f"{place}.key", ctx, max_len=64)
        if key:
            _validator(key_validator, key, f"{place}.key", ctx)
            if key in ctx.practitioner_keys:
                ctx.error(f"{place}.key", f'"{key}" is used twice')
            ctx.practitioner_keys.add(key)
        role = row.get("role", "gp")
        if role not in Practitioner.Role.values:
            ctx.error(f"{place}.role", f"must be one of {', '.join(Practitioner.Role.values)}")
        hpr = row.get("hpr") or ""
        if not isinstance(hpr, str):
            hpr = str(hpr) if isinstance(hpr, int) else ""
        if hpr:
            from .models import hpr_validator

            _validator(hpr_validator, hpr, f"{place}.hpr", ctx)
        practitioners.append(
            {
                "key": key,
                "name": _str(row.get("name"), f"{place}.name", ctx),
                "role": role,
                "hpr": hpr,
                "eportal_enabled": _bool(
                    row.get("eportal_enabled"), f"{place}.eportal_enabled", ctx, False
                ),
            }
        )
    clean["practitioners"] = practitioners

    clean["patient_lists"] = [
        validate_patient_list(row, place, ctx)
        for place, row in _rows(_list(data, "patient_lists", ctx), "patient_lists", ctx)
    ]

    patients = []
    seen_ids: set[str] = set()
    for place, row in _rows(_list(data, "patients", ctx), "patients", ctx):
        raw_id = row.get("national_id")
        national_id = ""
        if not isinstance(raw_id, str) or not raw_id.strip():
            ctx.error(f"{place}.national_id", "is required")
        else:
            try:
                national_id = parse_national_id(raw_id).value
            except ValidationError as error:
                for message in error.messages:
                    ctx.error(f"{place}.national_id", message)
            if national_id and national_id in seen_ids:
                ctx.error(f"{place}.national_id", "appears twice in the file")
            seen_ids.add(national_id)
        mobile = row.get("mobile")
        if mobile is not None and not isinstance(mobile, str):
            ctx.error(f"{place}.mobile", "must be a string or null")
            mobile = None
        try:
            mobile = normalise_mobile(mobile)
        except ValidationError as error:
            for message in error.messages:
                ctx.error(f"{place}.mobile", message)
            mobile = ""
        patient_list = row.get("patient_list")
        if patient_list is not None and patient_list not in ctx.list_keys:
            ctx.error(f"{place}.patient_list", f'unknown patient list "{patient_list}"')
        patients.append(
            {
                "national_id": national_id,
                "name": _str(row.get("name"), f"{place}.name", ctx),
                "mobile": mobile,
                "journal_active": _bool(
                    row.get("journal_active"), f"{place}.journal_active", ctx, True
                ),
                "patient_list": patient_list,
                "confidential_address": _bool(
                    row.get("confidential_address"), f"{place}.confidential_address", ctx, False
                ),
                "medications": _medications(row, place, ctx),
            }
        )
    clean["patients"] = patients
    by_id = {p["national_id"]: p for p in patients if p["national_id"]}
    clean["parent_child"] = _parent_child(data, by_id, ctx)
    clean["powers_of_attorney"] = _powers_of_attorney(data, by_id, ctx)

    for section in sections():
        if section.key in data and data[section.key] is not None:
            section.validate(data[section.key], ctx)
    return clean


MEDICATION_FIELDS = (
    "key", "name", "strength", "form", "atc", "group", "last_prescribed", "runs_out"
)  # fmt: skip


def _date(value: Any, place: str, ctx: ImportContext) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    ctx.error(place, "must be a date (YYYY-MM-DD) or null")
    return None


def _medications(row: dict, place: str, ctx: ImportContext) -> list[dict[str, Any]]:
    """A patient's current medications (``patients[i].medications``)."""
    raw = row.get("medications", [])
    if raw is None:
        return []
    if not isinstance(raw, list):
        ctx.error(f"{place}.medications", "must be a list")
        return []
    found: list[dict[str, Any]] = []
    keys: set[str] = set()
    for j, med in enumerate(raw):
        at = f"{place}.medications[{j}]"
        if not isinstance(med, dict):
            ctx.error(at, "must be an object")
            continue
        found.append(validate_medication(med, at, keys, ctx))
    return found


def validate_medication(med: dict, at: str, keys: set[str], ctx: ImportContext) -> dict[str, Any]:
    """One medication of a patient (also the FHIR API's MedicationStatement); ``keys`` the
    patient's keys seen so far."""
    for name in med:
        if name not in MEDICATION_FIELDS:
            ctx.error(f"{at}.{name}", "is not a known field")
    key = _str(med.get("key"), f"{at}.key", ctx, max_len=64)
    if key:
        _validator(key_validator, key, f"{at}.key", ctx)
        if key in keys:
            ctx.error(f"{at}.key", f'"{key}" is used twice for this patient')
        keys.add(key)
    atc = _str(med.get("atc"), f"{at}.atc", ctx, required=False, max_len=7)
    if atc:
        _validator(atc_validator, atc, f"{at}.atc", ctx)
    group = med.get("group", "C")
    if group not in Medication.Group.values:
        ctx.error(f"{at}.group", 'must be "A", "B" or "C"')
    return {
        "key": key,
        "name": _str(med.get("name"), f"{at}.name", ctx),
        "strength": _str(med.get("strength"), f"{at}.strength", ctx, required=False, max_len=100),
        "form": _str(med.get("form"), f"{at}.form", ctx, required=False, max_len=100),
        "atc": atc,
        "group": group,
        "last_prescribed": _date(med.get("last_prescribed"), f"{at}.last_prescribed", ctx),
        "runs_out": _date(med.get("runs_out"), f"{at}.runs_out", ctx),
    }


def _sync_medications(clinic: Clinic, clean_patients: list[dict], ctx: ImportContext) -> None:
    """Each patient's medications as the file says: created, updated, and the ones no longer
    in the file kept but no longer current (renewal requests refer to them)."""
    by_id = {p.national_id: p for p in clinic.patients.all()}
    existing: dict[tuple[int, str], Medication] = {
        (m.patient_id, m.key): m for m in Medication.objects.filter(patient__clinic=clinic)
    }
    seen: set[tuple[int, str]] = set()
    new = []
    for row in clean_patients:
        patient = by_id[row["national_id"]]
        for med in row["medications"]:
            seen.add((patient.pk, med["key"]))
            values = {name: med[name] for name in MEDICATION_FIELDS if name != "key"}
            values["current"] = True
            obj = existing.get((patient.pk, med["key"]))
            if obj is None:
                new.append(Medication(patient=patient, key=med["key"], **values))
            elif _sync(obj, values):
                ctx.count("medications updated")
    if new:
        Medication.objects.bulk_create(new, batch_size=1000)
        ctx.count("medications created", len(new))
    gone = [m.pk for k, m in existing.items() if k not in seen and m.current]
    if gone:
        Medication.objects.filter(pk__in=gone).update(current=False, updated=Now())
        ctx.count("medications no longer current", len(gone))


def _export_medication(med: Medication) -> dict[str, Any]:
    return {
        "key": med.key,
        "name": med.name,
        "strength": med.strength or None,
        "form": med.form or None,
        "atc": med.atc or None,
        "group": med.group,
        "last_prescribed": med.last_prescribed.isoformat() if med.last_prescribed else None,
        "runs_out": med.runs_out.isoformat() if med.runs_out else None,
    }


# Acting for others (docs/acting-for-others.md): the rules of clinics.selectors, checked on
# the way in so that a file never holds a relation the portal would refuse at once.

PARENT_CHILD_FIELDS = ("parent", "child", "same_address", "parental_responsibility")
ATTORNEY_FIELDS = ("giver", "holder", "valid_from", "valid_to", "services", "source")


def _person(
    row: dict, name: str, at: str, by_id: dict[str, dict], ctx: ImportContext
) -> dict | None:
    """The file's patient that ``row[name]`` names by identity number, else an error."""
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        ctx.error(f"{at}.{name}", "is required")
        return None
    patient = by_id.get(compact(value))
    if patient is None:
        # The number is not repeated: error reports end up in terminals and logs.
        ctx.error(f"{at}.{name}", "is not the national_id of a patient in this file")
        return None
    if patient["confidential_address"]:
        ctx.error(
            f"{at}.{name}",
            "has a confidential address (kode 6/7): can neither act for others nor be acted for",
        )
    return patient


def _known_fields(row: dict, fields: tuple[str, ...], at: str, ctx: ImportContext) -> None:
    for name in row:
        if name not in fields:
            ctx.error(f"{at}.{name}", "is not a known field")


def _parent_child(data: dict, by_id: dict[str, dict], ctx: ImportContext) -> list[dict] | None:
    """``parent_child[]``; None when the file has no such section (the links stay)."""
    if data.get("parent_child") is None:
        return None
    found: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for at, row in _rows(_list(data, "parent_child", ctx), "parent_child", ctx):
        link = validate_parent_child(row, at, by_id, seen, ctx)
        if link is not None:
            found.append(link)
    return found


def validate_parent_child(
    row: dict, at: str, by_id: dict[str, dict], seen: set[tuple[str, str]], ctx: ImportContext
) -> dict | None:
    """One ``parent_child`` row (also the FHIR API's RelatedPerson): both are patients of
    ``by_id`` (national_id → ``{"national_id", "confidential_address"}``), neither with a
    confidential address, the child younger; ``seen`` the pairs so far."""
    _known_fields(row, PARENT_CHILD_FIELDS, at, ctx)
    parent = _person(row, "parent", at, by_id, ctx)
    child = _person(row, "child", at, by_id, ctx)
    same_address = _bool(row.get("same_address"), f"{at}.same_address", ctx, False)
    responsibility = _bool(
        row.get("parental_responsibility"), f"{at}.parental_responsibility", ctx, False
    )
    if parent is None or child is None:
        return None
    pair = (parent["national_id"], child["national_id"])
    if pair[0] == pair[1]:
        ctx.error(f"{at}.child", "is the parent themselves")
        return None
    if pair in seen:
        ctx.error(at, "the same parent and child appear twice")
    seen.add(pair)
    parent_born, child_born = birth_date(pair[0]), birth_date(pair[1])
    if parent_born and child_born and child_born <= parent_born:
        ctx.error(f"{at}.child", "is not younger than the parent")
    return {
        "parent": pair[0],
        "child": pair[1],
        "same_address": same_address,
        "parental_responsibility": responsibility,
    }


def _age_at_least(national_id: str, day: datetime.date, years: int) -> bool | None:
    born = birth_date(national_id)
    return None if born is None else age_of(born, day) >= years


def _powers_of_attorney(
    data: dict, by_id: dict[str, dict], ctx: ImportContext
) -> list[dict] | None:
    """``powers_of_attorney[]``; None when the file has no such section."""
    if data.get("powers_of_attorney") is None:
        return None
    found: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for at, row in _rows(_list(data, "powers_of_attorney", ctx), "powers_of_attorney", ctx):
        attorney = validate_power_of_attorney(row, at, by_id, seen, ctx)
        if attorney is not None:
            found.append(attorney)
    return found


def validate_power_of_attorney(
    row: dict, at: str, by_id: dict[str, dict], seen: set[tuple[str, str]], ctx: ImportContext
) -> dict | None:
    """One ``powers_of_attorney`` row (also the FHIR API's Consent): giver and holder are
    patients of ``by_id`` (national_id → ``{"national_id", "confidential_address"}``),
    neither with a confidential address, not the same person, the giver 16 or older and the
    holder 18 or older on ``valid_from``; the dates, the services, the source. ``seen`` the
    pairs so far."""
    _known_fields(row, ATTORNEY_FIELDS, at, ctx)
    giver = _person(row, "giver", at, by_id, ctx)
    holder = _person(row, "holder", at, by_id, ctx)
    valid_from = _date(row.get("valid_from"), f"{at}.valid_from", ctx)
    if valid_from is None and row.get("valid_from") is None:
        ctx.error(f"{at}.valid_from", "is required")
    valid_to = _date(row.get("valid_to"), f"{at}.valid_to", ctx)
    if valid_from and valid_to and valid_to < valid_from:
        ctx.error(f"{at}.valid_to", "is before valid_from")
    services = _attorney_services(row.get("services"), f"{at}.services", ctx)
    source = row.get("source", PowerOfAttorney.Source.IMPORT)
    if source not in PowerOfAttorney.Source.values:
        ctx.error(f"{at}.source", 'must be "import" or "portal"')
    if giver is None or holder is None:
        return None
    pair = (giver["national_id"], holder["national_id"])
    if pair[0] == pair[1]:
        ctx.error(f"{at}.holder", "is the giver themselves")
        return None
    if pair in seen:
        ctx.error(at, "the same giver and holder appear twice")
    seen.add(pair)
    if valid_from is not None:
        for name, national_id, years in (
            ("giver", pair[0], ATTORNEY_GIVER_MIN_AGE),
            ("holder", pair[1], ATTORNEY_HOLDER_MIN_AGE),
        ):
            old_enough = _age_at_least(national_id, valid_from, years)
            if old_enough is None:
                ctx.error(f"{at}.{name}", "has no date of birth in the identity number")
            elif not old_enough:
                ctx.error(f"{at}.{name}", f"is younger than {years} on valid_from")
    return {
        "giver": pair[0],
        "holder": pair[1],
        "valid_from": valid_from,
        "valid_to": valid_to,
        "services": services,
        "source": source,
    }


def _attorney_services(value: Any, place: str, ctx: ImportContext) -> list[str]:
    known = PowerOfAttorney.Service.values
    if not isinstance(value, list) or not value:
        ctx.error(place, f"must be a list of one or more of {', '.join(known)}")
        return []
    found: list[str] = []
    for j, service in enumerate(value):
        if service not in known:
            ctx.error(f"{place}[{j}]", f"must be one of {', '.join(known)}")
        elif service in found:
            ctx.error(f"{place}[{j}]", "is listed twice")
        else:
            found.append(service)
    return found


def _sync_parent_child(clinic: Clinic, rows: list[dict] | None, ctx: ImportContext) -> None:
    """The section, when present, is the clinic's whole set of links: created, updated, and
    the ones no longer in the file removed (they are the register's, not history)."""
    if rows is None:
        return
    by_id = {p.national_id: p for p in clinic.patients.all()}
    existing = {
        (link.parent_id, link.child_id): link
        for link in ParentChild.objects.filter(parent__clinic=clinic)
    }
    seen = set()
    for row in rows:
        parent, child = by_id[row["parent"]], by_id[row["child"]]
        seen.add((parent.pk, child.pk))
        values = {
            "same_address": row["same_address"],
            "parental_responsibility": row["parental_responsibility"],
        }
        link = existing.get((parent.pk, child.pk))
        if link is None:
            ParentChild.objects.create(parent=parent, child=child, **values)
            ctx.count("parent-child links created")
        elif _sync(link, values):
            ctx.count("parent-child links updated")
    gone = [link.pk for pair, link in existing.items() if pair not in seen]
    if gone:
        ParentChild.objects.filter(pk__in=gone).delete()
        ctx.count("parent-child links removed", len(gone))


def _sync_powers_of_attorney(clinic: Clinic, rows: list[dict] | None, ctx: ImportContext) -> None:
    """The section, when present, lists the clinic's open powers of attorney: matched on
    giver and holder, created or updated; an imported one no longer in the file is ended
    (never deleted); one given in the portal stays open unless the file has it."""
    if rows is None:
        return
    by_id = {p.national_id: p for p in clinic.patients.all()}
    existing = {
        (a.giver_id, a.holder_id): a
        for a in PowerOfAttorney.objects.filter(giver__clinic=clinic, ended_at__isnull=True)
    }
    seen = set()
    for row in rows:
        giver, holder = by_id[row["giver"]], by_id[row["holder"]]
        seen.add((giver.pk, holder.pk))
        attorney = existing.get((giver.pk, holder.pk))
        _, changed = power_of_attorney_save(
            giver_id=giver.pk, holder_id=holder.pk, values=attorney_values(row), attorney=attorney
        )
        if attorney is None:
            ctx.count("powers of attorney created")
        elif changed:
            ctx.count("powers of attorney updated")
    gone = [
        a.pk
        for pair, a in existing.items()
        if pair not in seen and a.source == PowerOfAttorney.Source.IMPORT
    ]
    if gone:
        powers_of_attorney_close(attorney_ids=gone)
        ctx.count("powers of attorney ended", len(gone))


def _export_relations(clinic: Clinic) -> dict[str, list[dict[str, Any]]]:
    links = sorted(
        ParentChild.objects.filter(parent__clinic=clinic).values_list(
            "parent__national_id", "child__national_id", "same_address", "parental_responsibility"
        )
    )
    attorneys = sorted(
        PowerOfAttorney.objects.filter(giver__clinic=clinic, ended_at__isnull=True).select_related(
            "giver", "holder"
        ),
        key=lambda a: (a.giver.national_id, a.holder.national_id),
    )
    return {
        "parent_child": [
            {
                "parent": parent,
                "child": child,
                "same_address": same_address,
                "parental_responsibility": responsibility,
            }
            for parent, child, same_address, responsibility in links
        ],
        "powers_of_attorney": [
            {
                "giver": a.giver.national_id,
                "holder": a.holder.national_id,
                "valid_from": a.valid_from.isoformat(),
                "valid_to": a.valid_to.isoformat() if a.valid_to else None,
                "services": list(a.services),
                "source": a.source,
            }
            for a in attorneys
        ],
    }


# Writing


def _sync(obj: Any, values: dict[str, Any]) -> bool:
    """Set changed fields; return whether anything changed (so re-imports write nothing)."""
    return bool(save_changed(obj, values))


def import_clinic(data: Any) -> dict[str, int]:
    """Validate and import one clinic; raise ImportFailed (and write nothing) on any error."""
    ctx = ImportContext()
    clean = _validate(data, ctx)
    if ctx.errors:
        raise ImportFailed(ctx.errors)

    with transaction.atomic():
        c = clean["clinic"]
        clinic = Clinic.objects.select_for_update().filter(ep_ident__iexact=c["ep_ident"]).first()
        if clinic is None:
            clinic = Clinic.objects.create(**c)
            ctx.count("clinic created")
        elif _sync(clinic, c):
            ctx.count("clinic updated")
        ctx.clinic = clinic

        existing = {p.key: p for p in clinic.practitioners.all()}
        for row in clean["practitioners"]:
            obj = existing.get(row["key"])
            if obj is None:
                obj = Practitioner.objects.create(clinic=clinic, **row)
                ctx.count("practitioners created")
            elif _sync(obj, row):
                ctx.count("practitioners updated")
            ctx.practitioners[row["key"]] = obj

        existing_lists = {pl.key: pl for pl in clinic.patient_lists.all()}
        for row in clean["patient_lists"]:
            values = {"name": row["name"], "gp": ctx.practitioners.get(row["gp"])}
            patient_list = existing_lists.get(row["key"])
            if patient_list is None:
                patient_list = PatientList.objects.create(clinic=clinic, key=row["key"], **values)
                ctx.count("patient lists created")
            elif _sync(patient_list, values):
                ctx.count("patient lists updated")
            ctx.lists[row["key"]] = patient_list

        existing_patients = {p.national_id: p for p in clinic.patients.all()}
        in_file = set()
        new_patients = []
        for row in clean["patients"]:
            in_file.add(row["national_id"])
            values = {
                "name": row["name"],
                "mobile": row["mobile"],
                "journal_active": row["journal_active"],
                "patient_list": ctx.lists.get(row["patient_list"]),
                "confidential_address": row["confidential_address"],
            }
            patient = existing_patients.get(row["national_id"])
            if patient is None:
                new_patients.append(
                    Patient(clinic=clinic, national_id=row["national_id"], **values)
                )
            elif _sync(patient, values):
                ctx.count("patients updated")
        if new_patients:
            Patient.objects.bulk_create(new_patients, batch_size=1000)
            ctx.count("patients created", len(new_patients))
        gone = [
            p.pk
            for national_id, p in existing_patients.items()
            if national_id not in in_file and p.journal_active
        ]
        if gone:
            Patient.objects.filter(pk__in=gone).update(journal_active=False, updated=Now())
            ctx.count("patients marked inactive", len(gone))
        _sync_medications(clinic, clean["patients"], ctx)
        _sync_parent_child(clinic, clean["parent_child"], ctx)
        _sync_powers_of_attorney(clinic, clean["powers_of_attorney"], ctx)

        for section in sections():
            if section.key in data and data[section.key] is not None:
                section.apply(data[section.key], ctx)
    return ctx.stats


def export_clinic(clinic: Clinic) -> dict[str, Any]:
    """The clinic in the exchange format; the same data always gives the same result."""
    practitioners = sorted(clinic.practitioners.all(), key=lambda p: p.key)
    lists = sorted(clinic.patient_lists.select_related("gp"), key=lambda pl: pl.key)
    patients = sorted(
        clinic.patients.select_related("patient_list").prefetch_related(
            Prefetch(
                "medications", queryset=Medication.objects.filter(current=True).order_by("key")
            )
        ),
        key=lambda p: p.national_id,
    )
    data: dict[str, Any] = {
        "format": FORMAT,
        "clinic": {
            "ep_ident": clinic.ep_ident,
            "name": clinic.name,
            "address": clinic.address,
            "phone": clinic.phone,
            "website": clinic.website,
            "active": clinic.active,
            "login_methods": clinic.login_methods,
        },
        "practitioners": [
            {
                "key": p.key,
                "name": p.name,
                "role": p.role,
                "hpr": p.hpr or None,
                "eportal_enabled": p.eportal_enabled,
            }
            for p in practitioners
        ],
        "patient_lists": [
            {"key": pl.key, "name": pl.name, "gp": pl.gp.key if pl.gp else None} for pl in lists
        ],
        "patients": [_export_patient(p) for p in patients],
        **_export_relations(clinic),
    }
    for section in sections():
        data[section.key] = section.export(clinic)
    return data


def _export_patient(patient: Patient) -> dict[str, Any]:
    row: dict[str, Any] = {
        "national_id": patient.national_id,
        "name": patient.name,
        "mobile": patient.mobile or None,
        "journal_active": patient.journal_active,
        "patient_list": patient.patient_list.key if patient.patient_list else None,
    }
    if patient.confidential_address:  # left out when false, as older files had it
        row["confidential_address"] = True
    medications = list(patient.medications.all())
    if medications:  # left out when there are none: older files export as they were
        row["medications"] = [_export_medication(m) for m in medications]
    return row


def dumps(data: dict[str, Any]) -> str:
    """Stable text: fixed key order as built, two-space indent, UTF-8, trailing newline."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
