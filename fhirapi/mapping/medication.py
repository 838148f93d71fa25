"""MedicationStatement ↔ clinics.Medication: a medication in the patient's record, as the
import's ``patients[].medications[]``. The product's name and ATC code
(``http://www.whocc.no/atc``) are the ``medicationCodeableConcept``, the prescription
group (reseptgruppe A, B or C) the ``category``; strength, form, when it was last
prescribed and when it runs out are extensions (free text and dates the journal gives,
which R4's Dosage and Medication elements do not hold as such). ``active`` while current,
``stopped`` once the journal no longer lists it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinics.exchange import ImportContext, validate_medication
from clinics.models import Medication

from ..http import meta
from . import identifiers
from .refs import parse_ref, ref
from .rows import ROW, places, text_of

MEDICATION_KEY = "urn:eportal:medication-key"
ATC = "http://www.whocc.no/atc"
GROUP = "urn:eportal:prescription-group"
STRENGTH = "urn:eportal:fhir:StructureDefinition:medication-strength"
FORM = "urn:eportal:fhir:StructureDefinition:medication-form"
LAST_PRESCRIBED = "urn:eportal:fhir:StructureDefinition:last-prescribed"
RUNS_OUT = "urn:eportal:fhir:StructureDefinition:runs-out"
STATUSES = {"active": True, "stopped": False, "completed": False}


def to_fhir(med: Medication) -> dict[str, Any]:
    extension: list[dict[str, Any]] = []
    if med.strength:
        extension.append({"url": STRENGTH, "valueString": med.strength})
    if med.form:
        extension.append({"url": FORM, "valueString": med.form})
    if med.last_prescribed:
        extension.append({"url": LAST_PRESCRIBED, "valueDate": med.last_prescribed.isoformat()})
    if med.runs_out:
        extension.append({"url": RUNS_OUT, "valueDate": med.runs_out.isoformat()})
    concept: dict[str, Any] = {"text": med.name}
    if med.atc:
        concept["coding"] = [{"system": ATC, "code": med.atc}]
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": str(med.pk),
        "meta": meta(med.last_changed, identifiers.profile("MedicationStatement")),  # type: ignore[attr-defined]
        "identifier": [{"system": MEDICATION_KEY, "value": med.key}],
        "status": "active" if med.current else "stopped",
        "category": {"coding": [{"system": GROUP, "code": med.group}]},
        "medicationCodeableConcept": concept,
        "subject": ref("Patient", med.patient_id),
    }
    if extension:
        resource["extension"] = extension
    return resource


@dataclass
class MedicationInput:
    key: str | None = None
    patient_id: int | None = None
    current: bool = True
    row: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


WHERE = {
    "key": "MedicationStatement.identifier",
    "name": "MedicationStatement.medicationCodeableConcept.text",
    "atc": "MedicationStatement.medicationCodeableConcept.coding",
    "group": "MedicationStatement.category",
    "strength": f"MedicationStatement.extension('{STRENGTH}')",
    "form": f"MedicationStatement.extension('{FORM}')",
    "last_prescribed": f"MedicationStatement.extension('{LAST_PRESCRIBED}')",
    "runs_out": f"MedicationStatement.extension('{RUNS_OUT}')",
}


def from_fhir(data: dict[str, Any]) -> MedicationInput:
    found = MedicationInput()
    keys = [item for item in data.get("identifier") or [] if item.get("system") == MEDICATION_KEY]
    if len(keys) > 1:
        found.errors.append(("MedicationStatement.identifier", "Give one key."))
    elif keys:
        found.key = str(keys[0].get("value") or "")
    found.patient_id = parse_ref(data.get("subject"), "Patient")
    if found.patient_id is None:
        found.errors.append(("MedicationStatement.subject", "Give the patient as Patient/<id>."))
    status = data.get("status")
    if status not in STATUSES:
        found.errors.append(
            ("MedicationStatement.status", "The status is active, or stopped (not current).")
        )
    found.current = STATUSES.get(str(status), True)
    concept = data.get("medicationCodeableConcept")
    if concept is None:
        found.errors.append(
            ("MedicationStatement.medicationCodeableConcept", "Give the medication by name.")
        )
    atc = [c.get("code") for c in (concept or {}).get("coding") or [] if c.get("system") == ATC]
    groups = [
        c.get("code")
        for c in ((data.get("category") or {}).get("coding") or [])
        if c.get("system") == GROUP
    ]
    row: dict[str, Any] = {"name": text_of(concept), "atc": atc[0] if atc else None}
    if groups:
        row["group"] = groups[0]
    for item in data.get("extension") or []:
        for url, name, kind in (
            (STRENGTH, "strength", "String"),
            (FORM, "form", "String"),
            (LAST_PRESCRIBED, "last_prescribed", "Date"),
            (RUNS_OUT, "runs_out", "Date"),
        ):
            if item.get("url") == url:
                row[name] = item.get(f"value{kind}")
    found.row = row
    return found


def validate(found: MedicationInput, key: str) -> dict[str, Any]:
    """The import's check of a medication; the clean values for the model."""
    ctx = ImportContext()
    clean = validate_medication({"key": key, **found.row}, ROW, set(), ctx)
    found.errors += places(ctx.errors, WHERE, "MedicationStatement")
    return clean
