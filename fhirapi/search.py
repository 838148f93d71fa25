"""Search: the parameters every resource shares (``_id``, ``_lastUpdated``, ``_count``, the
paging offset) and each resource's own, and the searchset Bundle with its paging links.

A page is two queries (the total, the page) whatever its size."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils.dateparse import parse_date, parse_datetime

from booking.selectors import local_midnight
from clinics.national_id import classify

from .http import FhirError
from .mapping import identifiers
from .mapping.refs import as_id, parse_ref

DEFAULT_COUNT = 50
MAX_COUNT = 200
#: The paging parameter of the next/previous links (an offset into the ordered result).
OFFSET = "_offset"
COMMON = ("_id", "_lastUpdated", "_count", OFFSET, "_format")
PREFIXES = ("eq", "ne", "gt", "ge", "lt", "le", "sa", "eb")

Filter = Callable[[QuerySet, str, str], QuerySet]


def bad(param: str, message: str) -> FhirError:
    return FhirError(400, "invalid", message, param)


def parse_when(param: str, raw: str) -> tuple[str, datetime.datetime, datetime.datetime]:
    """A prefixed date search value: (prefix, start, end) of the instant or the day meant."""
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    text = raw[2:] if raw[:2] in PREFIXES else raw
    try:
        moment = parse_datetime(text) if "T" in text else None
        if moment is not None:
            if moment.tzinfo is None:
                raise bad(param, f"{param}: a time needs its offset (e.g. Z or +01:00).")
            moment.astimezone(datetime.UTC)  # out of range near year 1 or 9999
            return prefix, moment, moment
        day = parse_date(text) if len(text) == 10 else None
        if day is not None and 1900 <= day.year <= 2999:
            return prefix, local_midnight(day), local_midnight(day + datetime.timedelta(days=1))
    except (ValueError, OverflowError):
        pass
    raise bad(param, f"{param}: not a date or dateTime (years 1900–2999): {raw!r}.")


def filter_when(qs: QuerySet, field: str, param: str, raw: str) -> QuerySet:
    prefix, start, end = parse_when(param, raw)
    point = start == end
    if prefix == "eq":
        return (
            qs.filter(**{field: start})
            if point
            else qs.filter(**{f"{field}__gte": start, f"{field}__lt": end})
        )
    if prefix == "ne":
        return (
            qs.exclude(**{field: start})
            if point
            else qs.exclude(**{f"{field}__gte": start, f"{field}__lt": end})
        )
    if prefix in ("gt", "sa"):
        return qs.filter(**{f"{field}__gt" if point else f"{field}__gte": end})
    if prefix == "ge":
        return qs.filter(**{f"{field}__gte": start})
    if prefix in ("lt", "eb"):
        return qs.filter(**{f"{field}__lt": start})
    return qs.filter(**{f"{field}__lte": start} if point else {f"{field}__lt": end})  # le


def ids(param: str, raw: str) -> list[int]:
    # An id that cannot exist matches nothing (FHIR ids are strings).
    return [found if (found := as_id(part.strip())) is not None else -1 for part in raw.split(",")]


def reference_id(param: str, raw: str, resource: str) -> int:
    """``Practitioner/5`` or ``5``."""
    if (pk := as_id(raw)) is not None:
        return pk
    found = parse_ref({"reference": raw}, resource)
    if found is None:
        raise bad(param, f"{param}: give {resource}/<id>.")
    return found


def token(raw: str) -> tuple[str | None, str]:
    """``system|value`` (or ``value``)."""
    if "|" in raw:
        system, _, value = raw.partition("|")
        return system or None, value
    return None, raw


# The resources' own parameters


def _kind_matches(system: str | None, value: str) -> bool:
    """The kind is in the digits: a number of another kind than the system never matches."""
    kinds = identifiers.KINDS_OF_SYSTEM.get(system) if system is not None else None
    return system is None or (kinds is not None and classify(value) in kinds)


def _patient_identifier(qs: QuerySet, param: str, raw: str) -> QuerySet:
    system, value = token(raw)
    if not _kind_matches(system, value):
        return qs.none()
    return qs.filter(national_id=value)


def _practitioner_identifier(qs: QuerySet, param: str, raw: str) -> QuerySet:
    system, value = token(raw)
    if system == identifiers.HPR:
        return qs.filter(hpr=value)
    if system == identifiers.PRACTITIONER_KEY:
        return qs.filter(key=value)
    if system is None:
        return qs.filter(Q(hpr=value) | Q(key=value))
    return qs.none()


def _bool(param: str, raw: str) -> bool:
    if raw not in ("true", "false"):
        raise bad(param, f"{param}: true or false.")
    return raw == "true"


def _slot_status(qs: QuerySet, param: str, raw: str) -> QuerySet:
    wanted = set(raw.split(","))
    unknown = wanted - {"free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error"}
    if unknown:
        raise bad(param, f"status: unknown slot status {sorted(unknown)[0]!r}.")
    q = Q(pk__in=[])
    if "free" in wanted:
        q |= Q(blocked=False, booked=False)
    if "busy" in wanted:
        q |= Q(blocked=False, booked=True)
    if "busy-unavailable" in wanted:
        q |= Q(blocked=True)
    return qs.filter(q)


def _appointment_status(qs: QuerySet, param: str, raw: str) -> QuerySet:
    return qs.filter(status__in=raw.split(","))


def _key_identifier(system: str, field: str = "key") -> Filter:
    def found(qs: QuerySet, param: str, raw: str) -> QuerySet:
        given, value = token(raw)
        return qs.filter(**{field: value}) if given in (None, system) else qs.none()

    return found


def _related_identifier(qs: QuerySet, param: str, raw: str) -> QuerySet:
    """The parent's identity number, as a Patient's ``identifier`` is searched."""
    system, value = token(raw)
    if not _kind_matches(system, value):
        return qs.none()
    return qs.filter(parent__national_id=value)


def _medication_status(qs: QuerySet, param: str, raw: str) -> QuerySet:
    wanted = set(raw.split(","))
    return qs.filter(current__in=[v == "active" for v in wanted if v in ("active", "stopped")])


def _consent_status(qs: QuerySet, param: str, raw: str) -> QuerySet:
    wanted = set(raw.split(","))
    q = Q(pk__in=[])
    if "active" in wanted:
        q |= Q(ended_at__isnull=True)
    if "inactive" in wanted:
        q |= Q(ended_at__isnull=False)
    return qs.filter(q)


PARAMETERS: dict[str, dict[str, Filter]] = {
    "Organization": {
        "identifier": _key_identifier("urn:eportal:ep-ident", "ep_ident__iexact"),
        "name": lambda qs, p, raw: qs.filter(name__icontains=raw),
    },
    "Group": {
        "identifier": _key_identifier("urn:eportal:patient-list-key"),
        "name": lambda qs, p, raw: qs.filter(name__icontains=raw),
        "managing-entity": lambda qs, p, raw: qs.filter(gp_id=reference_id(p, raw, "Practitioner")),
    },
    "HealthcareService": {
        "identifier": _key_identifier("urn:eportal:appointment-type"),
        "name": lambda qs, p, raw: qs.filter(name__icontains=raw),
    },
    "MedicationStatement": {
        "identifier": _key_identifier("urn:eportal:medication-key"),
        "patient": lambda qs, p, raw: qs.filter(patient_id=reference_id(p, raw, "Patient")),
        "subject": lambda qs, p, raw: qs.filter(patient_id=reference_id(p, raw, "Patient")),
        "status": _medication_status,
    },
    "RelatedPerson": {
        "identifier": _related_identifier,
        "patient": lambda qs, p, raw: qs.filter(child_id=reference_id(p, raw, "Patient")),
    },
    "Consent": {
        "patient": lambda qs, p, raw: qs.filter(giver_id=reference_id(p, raw, "Patient")),
        "actor": lambda qs, p, raw: qs.filter(holder_id=reference_id(p, raw, "Patient")),
        "status": _consent_status,
    },
    "Patient": {
        "identifier": _patient_identifier,
        "name": lambda qs, p, raw: qs.filter(name__icontains=raw),
        "active": lambda qs, p, raw: qs.filter(journal_active=_bool(p, raw)),
        "general-practitioner": lambda qs, p, raw: qs.filter(
            patient_list__gp_id=reference_id(p, raw, "Practitioner")
        ),
    },
    "Practitioner": {
        "identifier": _practitioner_identifier,
        "name": lambda qs, p, raw: qs.filter(name__icontains=raw),
    },
    "PractitionerRole": {
        "identifier": _practitioner_identifier,
        "practitioner": lambda qs, p, raw: qs.filter(pk=reference_id(p, raw, "Practitioner")),
        "active": lambda qs, p, raw: qs.filter(eportal_enabled=_bool(p, raw)),
    },
    "Schedule": {
        "actor": lambda qs, p, raw: qs.filter(pk=reference_id(p, raw, "Practitioner")),
        "active": lambda qs, p, raw: qs.filter(eportal_enabled=_bool(p, raw)),
    },
    "Slot": {
        "schedule": lambda qs, p, raw: qs.filter(practitioner_id=reference_id(p, raw, "Schedule")),
        "status": _slot_status,
        "start": lambda qs, p, raw: filter_when(qs, "start", p, raw),
    },
    "Appointment": {
        "patient": lambda qs, p, raw: qs.filter(patient_id=reference_id(p, raw, "Patient")),
        "practitioner": lambda qs, p, raw: qs.filter(
            practitioner_id=reference_id(p, raw, "Practitioner")
        ),
        "slot": lambda qs, p, raw: qs.filter(slot_id=reference_id(p, raw, "Slot")),
        "status": _appointment_status,
        "date": lambda qs, p, raw: filter_when(qs, "start", p, raw),
    },
}


@dataclass
class Page:
    rows: list[Any]
    total: int
    offset: int
    count: int


def run(resource: str, qs: QuerySet, params: QueryDict) -> Page:
    own = PARAMETERS[resource]
    for name in params:
        if name not in own and name not in COMMON:
            raise bad(name, f"Unknown search parameter {name!r} for {resource}.")
        if any("\x00" in raw for raw in params.getlist(name)):
            # No text in the database holds NUL, and PostgreSQL refuses it in a query.
            raise bad(name, f"{name}: a value may not hold NUL.")
    for name, filter_ in own.items():
        for raw in params.getlist(name):
            qs = filter_(qs, name, raw)
    for raw in params.getlist("_id"):
        qs = qs.filter(pk__in=ids("_id", raw))
    for raw in params.getlist("_lastUpdated"):
        qs = filter_when(qs, "last_changed", "_lastUpdated", raw)
    count = _int(params, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
    offset = _int(params, OFFSET, 0, 0, 10**9)
    qs = qs.order_by("last_changed", "pk") if "_lastUpdated" in params else qs.order_by("pk")
    total = qs.count()
    rows = list(qs[offset : offset + count]) if count else []
    return Page(rows=rows, total=total, offset=offset, count=count)


def _int(params: QueryDict, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise bad(name, f"{name}: a whole number.")
    return max(low, min(high, int(raw)))


def bundle(
    request: HttpRequest,
    resource: str,
    page: Page,
    entries: list[dict[str, Any]],
    *,
    base: str,
) -> dict[str, Any]:
    def link(relation: str, offset: int) -> dict[str, str]:
        params = request.GET.copy()
        params[OFFSET] = str(offset)
        params["_count"] = str(page.count)
        query = urlencode(sorted(params.lists()), doseq=True)
        return {"relation": relation, "url": f"{base}{resource}?{query}"}

    links = [link("self", page.offset)]
    if page.count and page.offset + page.count < page.total:
        links.append(link("next", page.offset + page.count))
    if page.offset > 0:
        links.append(link("previous", max(0, page.offset - page.count)))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": page.total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}{e['resourceType']}/{e['id']}",
                "resource": e,
                "search": {"mode": "match"},
            }
            for e in entries
        ],
    }
