"""Practitioner and PractitionerRole ↔ clinics.Practitioner (one role per practitioner: at
their clinic, with the role of the import's ``role``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from clinics.models import Practitioner, hpr_validator, key_validator

from ..http import meta
from . import identifiers
from .refs import parse_ref, ref

#: The role codes of clinics.Practitioner.Role in words for PractitionerRole.code.
ROLE_SYSTEM = "urn:eportal:practitioner-role"


def _identifiers(practitioner: Practitioner) -> list[dict[str, Any]]:
    found = [{"system": identifiers.PRACTITIONER_KEY, "value": practitioner.key}]
    if practitioner.hpr:
        found.insert(0, {"use": "official", "system": identifiers.HPR, "value": practitioner.hpr})
    return found


def to_fhir(practitioner: Practitioner) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": str(practitioner.pk),
        "meta": meta(practitioner.updated, identifiers.profile("Practitioner")),
        "identifier": _identifiers(practitioner),
        "active": True,
        "name": [{"text": practitioner.name}],
    }


def role_to_fhir(practitioner: Practitioner) -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "id": str(practitioner.pk),
        "meta": meta(practitioner.updated, identifiers.profile("PractitionerRole")),
        "identifier": _identifiers(practitioner),
        "active": practitioner.eportal_enabled,
        "practitioner": ref("Practitioner", practitioner.pk, practitioner.name),
        "organization": ref("Organization", practitioner.clinic_id, practitioner.clinic.name),
        "code": [
            {
                "coding": [
                    {
                        "system": ROLE_SYSTEM,
                        "code": practitioner.role,
                        "display": str(practitioner.get_role_display()),
                    }
                ]
            }
        ],
    }


@dataclass
class PractitionerInput:
    """A Practitioner or PractitionerRole read into the model's terms, or the errors by
    place. None: not given (a PUT keeps it)."""

    name: str = ""
    hpr: str = ""
    key: str | None = None
    role: str | None = None
    eportal_enabled: bool | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)


def _read_identifiers(items: list[dict[str, Any]], resource: str, found: PractitionerInput) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        system, value = item.get("system"), str(item.get("value") or "")
        place = f"{resource}.identifier[{i}].value"
        if system not in (identifiers.HPR, identifiers.PRACTITIONER_KEY):
            continue
        if system in seen:
            found.errors.append((f"{resource}.identifier[{i}]", f"{system} is given twice."))
            continue
        seen.add(system)
        validator = hpr_validator if system == identifiers.HPR else key_validator
        try:
            validator(value)
        except ValidationError as error:
            found.errors.append((place, error.messages[0]))
            continue
        if system == identifiers.HPR:
            found.hpr = value
        else:
            found.key = value


def from_fhir(data: dict[str, Any]) -> PractitionerInput:
    """Read a Practitioner (checked against the FHIR model): the HPR number
    (:data:`identifiers.HPR`, 4 to 9 digits as the import checks it), the clinic's key
    (:data:`identifiers.PRACTITIONER_KEY`; a new one is made when none is given) and the
    name."""
    found = PractitionerInput()
    _read_identifiers(data.get("identifier") or [], "Practitioner", found)
    names = data.get("name") or []
    if names:
        first = names[0]
        found.name = (
            first.get("text")
            or " ".join([*first.get("given", []), first.get("family", "")]).strip()
        ).strip()
    if not found.name:
        found.errors.append(("Practitioner.name", "A practitioner needs a name."))
    elif len(found.name) > 200:
        found.errors.append(("Practitioner.name[0]", "A name has at most 200 characters."))
    if data.get("active") is False:
        found.errors.append(
            (
                "Practitioner.active",
                "A practitioner is not made inactive here: PractitionerRole.active says "
                "whether they are offered online.",
            )
        )
    return found


def role_from_fhir(data: dict[str, Any], pk: int) -> PractitionerInput:
    """Read a PractitionerRole for practitioner ``pk``: ``active`` ("Aktiver ePortal") and
    the role (``code``, :data:`ROLE_SYSTEM`)."""
    found = PractitionerInput()
    if parse_ref(data.get("practitioner"), "Practitioner") != pk:
        found.errors.append(
            ("PractitionerRole.practitioner", f"The role is Practitioner/{pk}'s own.")
        )
    found.eportal_enabled = data.get("active", False) is True
    codes = [
        (i, j, c.get("code"))
        for i, concept in enumerate(data.get("code") or [])
        for j, c in enumerate(concept.get("coding") or [])
        if c.get("system") == ROLE_SYSTEM
    ]
    if len(codes) > 1:
        found.errors.append(("PractitionerRole.code", f"Give one coding of {ROLE_SYSTEM}."))
    elif codes:
        i, j, code = codes[0]
        if code not in Practitioner.Role.values:
            found.errors.append(
                (
                    f"PractitionerRole.code[{i}].coding[{j}].code",
                    f"The role is one of {', '.join(Practitioner.Role.values)}.",
                )
            )
        else:
            found.role = code
    return found
