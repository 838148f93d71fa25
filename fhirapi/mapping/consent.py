"""Consent ↔ clinics.PowerOfAttorney: a power of attorney (fullmakt), as the import's
``powers_of_attorney``. The giver is the ``patient`` (and the ``performer``: who agrees),
the holder the provision's one ``actor`` (role v3 RoleCode ``POWATT``, power of attorney),
the dates the provision's ``period`` (``end`` absent: until further notice), the services
it covers the provision's ``action`` (ePortal's services, :data:`SERVICE`); where it came
from (the journal: ``import``, or given in the portal) the extension :data:`SOURCE`.

``status`` ``active`` while it is not ended (also after ``period.end``: an expired power of
attorney is still listed, as the export lists it), ``inactive`` once ended: ended, never
deleted. HL7 Norway's no-basis profiles no Consent, so it is base R4."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinics.exchange import ImportContext, validate_power_of_attorney
from clinics.models import Patient, PowerOfAttorney

from ..http import instant, meta
from .refs import parse_ref, ref
from .rows import ROW, extension_value, places

#: ePortal's services, as the service matrix and a power of attorney name them.
SERVICE = "urn:eportal:service"
SOURCE = "urn:eportal:fhir:StructureDefinition:attorney-source"
SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
CATEGORY = "urn:eportal:consent-category"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
#: v3 RoleCode's power of attorney and its specialisations (durable, healthcare, special).
ATTORNEY_ROLES = frozenset({"POWATT", "DPOWATT", "HPOWATT", "SPOWATT"})
STATUSES = {"active": True, "inactive": False}


def to_fhir(attorney: PowerOfAttorney) -> dict[str, Any]:
    period = {"start": attorney.valid_from.isoformat()}
    if attorney.valid_to:
        period["end"] = attorney.valid_to.isoformat()
    return {
        "resourceType": "Consent",
        "id": str(attorney.pk),
        "meta": meta(attorney.last_changed),  # type: ignore[attr-defined]
        "extension": [{"url": SOURCE, "valueCode": attorney.source}],
        "status": "active" if attorney.ended_at is None else "inactive",
        "scope": {"coding": [{"system": SCOPE, "code": "patient-privacy"}]},
        "category": [
            {"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]},
            {"coding": [{"system": CATEGORY, "code": "power-of-attorney"}], "text": "fullmakt"},
        ],
        "patient": ref("Patient", attorney.giver_id),
        "dateTime": instant(attorney.created),
        "performer": [ref("Patient", attorney.giver_id)],
        "organization": [ref("Organization", attorney.clinic_pk)],  # type: ignore[attr-defined]
        "policyRule": {"text": "Power of attorney to use the portal on the patient's behalf"},
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [
                {
                    "role": {
                        "coding": [
                            {"system": ROLE_CODE, "code": "POWATT", "display": "power of attorney"}
                        ]
                    },
                    "reference": ref("Patient", attorney.holder_id),
                }
            ],
            "action": [{"coding": [{"system": SERVICE, "code": s}]} for s in attorney.services],
        },
    }


@dataclass
class ConsentInput:
    """A Consent read into a ``powers_of_attorney`` row (``row``), the patients by id."""

    giver_id: int | None = None
    holder_id: int | None = None
    active: bool = True
    row: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


def _holder(provision: dict[str, Any], found: ConsentInput) -> None:
    actors = provision.get("actor") or []
    if len(actors) != 1:
        found.errors.append(
            ("Consent.provision.actor", "Give one actor: the holder, as Patient/<id>.")
        )
        return
    actor = actors[0]
    found.holder_id = parse_ref(actor.get("reference"), "Patient")
    if found.holder_id is None:
        found.errors.append(
            ("Consent.provision.actor[0].reference", "Give the holder as Patient/<id>.")
        )
    codes = {
        c.get("code")
        for c in (actor.get("role") or {}).get("coding") or []
        if c.get("system") == ROLE_CODE
    }
    if not codes & ATTORNEY_ROLES:
        found.errors.append(
            (
                "Consent.provision.actor[0].role",
                f"The holder's role is a power of attorney ({ROLE_CODE} POWATT).",
            )
        )


def from_fhir(data: dict[str, Any]) -> ConsentInput:
    found = ConsentInput()
    status = data.get("status")
    if status not in STATUSES:
        found.errors.append(
            ("Consent.status", "The status is active, or inactive (ended: it is kept).")
        )
    found.active = STATUSES.get(str(status), True)
    found.giver_id = parse_ref(data.get("patient"), "Patient")
    if found.giver_id is None:
        found.errors.append(("Consent.patient", "Give the giver as Patient/<id>."))
    provision = data.get("provision") or {}
    if not provision:
        found.errors.append(("Consent.provision", "Give the holder, the period and the services."))
    if provision.get("type", "permit") != "permit":
        found.errors.append(("Consent.provision.type", "A power of attorney permits."))
    _holder(provision, found)
    period = provision.get("period") or {}
    row: dict[str, Any] = {"valid_from": period.get("start"), "valid_to": period.get("end")}
    services: list[Any] = []
    for concept in provision.get("action") or []:
        codes = [c.get("code") for c in concept.get("coding") or [] if c.get("system") == SERVICE]
        services.append(codes[0] if len(codes) == 1 else None)
    row["services"] = services
    source = extension_value(data, SOURCE, "Code")
    if source is not None:
        row["source"] = source[1]
    found.row = row
    return found


WHERE = {
    "giver": "Consent.patient",
    "holder": "Consent.provision.actor[0].reference",
    "valid_from": "Consent.provision.period.start",
    "valid_to": "Consent.provision.period.end",
    "services": "Consent.provision.action",
    "source": f"Consent.extension('{SOURCE}')",
}


def _place(place: str) -> str:
    """``row.services[1]`` (the import's place of a service) is the provision's action[1]."""
    prefix = f"{ROW}.services["
    if place.startswith(prefix):
        return f"Consent.provision.action[{place[len(prefix) :]}"
    return place


def validate(found: ConsentInput, giver: Patient, holder: Patient) -> dict[str, Any]:
    """The import's check of a ``powers_of_attorney`` row for the two patients: ages on
    ``valid_from``, no confidential address, not the same person, dates, services."""
    by_id = {
        p.national_id: {
            "national_id": p.national_id,
            "confidential_address": p.confidential_address,
        }
        for p in (giver, holder)
    }
    row = {"giver": giver.national_id, "holder": holder.national_id, **found.row}
    ctx = ImportContext()
    clean = validate_power_of_attorney(row, ROW, by_id, set(), ctx) or {}
    errors = [(_place(place), message) for place, message in ctx.errors]
    found.errors += [
        (place, message) if place.startswith("Consent.") else (where, message)
        for (place, message), (where, _) in zip(
            errors, places(errors, WHERE, "Consent"), strict=True
        )
    ]
    return clean
