"""RelatedPerson ↔ clinics.ParentChild: a parent of a child at the clinic, as the import's
``parent_child``. The RelatedPerson is the parent (their identity number as the Patient
has it, their name), ``patient`` the child, ``relationship`` HL7 v3 RoleCode ``PRN``
(parent); the parent's own Patient, the shared address and parental responsibility
(foreldreansvar) are extensions. Powers of attorney are Consents (:mod:`.consent`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinics.exchange import ImportContext, validate_parent_child
from clinics.models import ParentChild, Patient

from ..http import meta
from . import identifiers
from .refs import parse_ref, ref
from .rows import ROW, places

ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
#: v3 RoleCode's parents (PRN and its specialisations) that read as a parent here.
PARENT_CODES = frozenset({
    "PRN", "NPRN", "FTH", "MTH", "NFTH", "NMTH", "ADOPTP", "ADOPTF", "ADOPTM", "STPPRN",
    "STPFTH", "STPMTH", "PRNFOST", "FTHFOST", "MTHFOST", "GESTM",
})  # fmt: skip
PARENT_PATIENT = "urn:eportal:fhir:StructureDefinition:parent-patient"
SAME_ADDRESS = "urn:eportal:fhir:StructureDefinition:same-address"
RESPONSIBILITY = "urn:eportal:fhir:StructureDefinition:parental-responsibility"


def to_fhir(link: ParentChild) -> dict[str, Any]:
    parent = link.parent
    return {
        "resourceType": "RelatedPerson",
        "id": str(link.pk),
        "meta": meta(link.last_changed, identifiers.profile("RelatedPerson")),  # type: ignore[attr-defined]
        "extension": [
            {"url": PARENT_PATIENT, "valueReference": ref("Patient", parent.pk)},
            {"url": SAME_ADDRESS, "valueBoolean": link.same_address},
            {"url": RESPONSIBILITY, "valueBoolean": link.parental_responsibility},
        ],
        "identifier": [
            identifiers.national_identifier(parent.id_kind, parent.national_id, parent.clinic_id)
        ],
        "active": True,
        "patient": ref("Patient", link.child_id),
        "relationship": [{"coding": [{"system": ROLE_CODE, "code": "PRN", "display": "parent"}]}],
        "name": [{"text": parent.name}],
    }


@dataclass
class RelatedPersonInput:
    """The parent by their Patient (the extension) or identity number (``identifier``)."""

    parent_id: int | None = None
    parent_number: str | None = None
    child_id: int | None = None
    same_address: Any = False
    parental_responsibility: Any = False
    errors: list[tuple[str, str]] = field(default_factory=list)


def from_fhir(data: dict[str, Any]) -> RelatedPersonInput:
    found = RelatedPersonInput()
    found.child_id = parse_ref(data.get("patient"), "Patient")
    if found.child_id is None:
        found.errors.append(("RelatedPerson.patient", "Give the child as Patient/<id>."))
    for i, item in enumerate(data.get("extension") or []):
        url = item.get("url")
        if url == PARENT_PATIENT:
            found.parent_id = parse_ref(item.get("valueReference"), "Patient")
            if found.parent_id is None:
                found.errors.append(
                    (f"RelatedPerson.extension[{i}]", "Give the parent as Patient/<id>.")
                )
        elif url == SAME_ADDRESS:
            found.same_address = item.get("valueBoolean")
        elif url == RESPONSIBILITY:
            found.parental_responsibility = item.get("valueBoolean")
    numbers = [
        item.get("value")
        for item in data.get("identifier") or []
        if item.get("system") in identifiers.KINDS_OF_SYSTEM
    ]
    if numbers:
        found.parent_number = str(numbers[0] or "")
    if found.parent_id is None and found.parent_number is None:
        found.errors.append(
            ("RelatedPerson.identifier", "Give the parent's identity number or Patient.")
        )
    codes = [
        c.get("code")
        for concept in data.get("relationship") or []
        for c in concept.get("coding") or []
        if c.get("system") == ROLE_CODE
    ]
    if data.get("relationship") and not PARENT_CODES.intersection(codes):
        found.errors.append(
            ("RelatedPerson.relationship", f"The relationship is a parent ({ROLE_CODE} PRN).")
        )
    return found


WHERE = {
    "parent": "RelatedPerson.identifier",
    "child": "RelatedPerson.patient",
    "same_address": f"RelatedPerson.extension('{SAME_ADDRESS}')",
    "parental_responsibility": f"RelatedPerson.extension('{RESPONSIBILITY}')",
}


def validate(found: RelatedPersonInput, parent: Patient, child: Patient) -> dict[str, Any]:
    """The import's check of a ``parent_child`` row for the two patients."""
    by_id = {
        p.national_id: {
            "national_id": p.national_id,
            "confidential_address": p.confidential_address,
        }
        for p in (parent, child)
    }
    row = {
        "parent": parent.national_id,
        "child": child.national_id,
        "same_address": found.same_address,
        "parental_responsibility": found.parental_responsibility,
    }
    ctx = ImportContext()
    clean = validate_parent_child(row, ROW, by_id, set(), ctx) or {}
    found.errors += places(ctx.errors, WHERE, "RelatedPerson")
    return clean
