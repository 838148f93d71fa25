"""Patient ↔ clinics.Patient: the identity number with the no-basis system of its kind, the
name, the mobile in the record, whether the record is active, the GP (the owner of the
patient's list), and a confidential address (kode 6 or 7, "sperret adresse").

no-basis has no element for the population register's address protection; the Nordic
profiles mark such a patient with the security label R (restricted) of v3-Confidentiality,
which labels the whole resource rather than saying "sperret adresse". So it is ePortal's
extension :data:`CONFIDENTIAL_ADDRESS` (valueBoolean), served only when true, as the export
leaves ``confidential_address`` out when false; a resource without it has none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from clinics.models import Patient
from clinics.national_id import IdKind
from clinics.national_id import parse as parse_national_id
from clinics.phones import normalise_mobile

from ..http import meta
from . import identifiers
from .refs import parse_ref, ref
from .rows import extension_value

CONFIDENTIAL_ADDRESS = "urn:eportal:fhir:StructureDefinition:confidential-address"


def to_fhir(patient: Patient) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": meta(patient.updated, identifiers.profile("Patient")),
        "identifier": [
            identifiers.national_identifier(patient.id_kind, patient.national_id, patient.clinic_id)
        ],
        "active": patient.journal_active,
        "name": [{"use": "official", "text": patient.name}],
    }
    if patient.mobile:
        resource["telecom"] = [{"system": "phone", "value": patient.mobile, "use": "mobile"}]
    gp_id = patient.patient_list.gp_id if patient.patient_list is not None else None
    if gp_id is not None:
        resource["generalPractitioner"] = [ref("Practitioner", gp_id)]
    if patient.confidential_address:
        resource["extension"] = [{"url": CONFIDENTIAL_ADDRESS, "valueBoolean": True}]
    return resource


@dataclass
class PatientInput:
    """A Patient resource read into the model's terms, or the errors by place."""

    national_id: str = ""
    name: str = ""
    mobile: str = ""
    journal_active: bool = True
    gp_id: int | None = None
    confidential_address: bool = False
    errors: list[tuple[str, str]] = field(default_factory=list)


def from_fhir(data: dict[str, Any]) -> PatientInput:
    """Read a Patient already checked against the FHIR model (:mod:`fhirapi.validation`)."""
    found = PatientInput()
    _identifier(data.get("identifier") or [], found)
    names = data.get("name") or []
    if names:
        first = names[0]
        text = (
            first.get("text")
            or " ".join([*first.get("given", []), first.get("family", "")]).strip()
        )
        found.name = text.strip()
    if not found.name:
        found.errors.append(("Patient.name", "A patient needs a name."))
    elif len(found.name) > 200:
        found.errors.append(("Patient.name[0]", "A name has at most 200 characters."))
    for i, telecom in enumerate(data.get("telecom") or []):
        if telecom.get("system") == "phone" and telecom.get("use") == "mobile":
            try:
                found.mobile = normalise_mobile(telecom.get("value"))
            except ValidationError as error:
                found.errors.append((f"Patient.telecom[{i}].value", error.messages[0]))
            break
    found.journal_active = data.get("active", True) is not False
    gps = data.get("generalPractitioner") or []
    if gps:
        found.gp_id = parse_ref(gps[0], "Practitioner")
        if found.gp_id is None:
            found.errors.append(
                ("Patient.generalPractitioner[0]", "Give the GP as Practitioner/<id>.")
            )
    confidential = extension_value(data, CONFIDENTIAL_ADDRESS, "Boolean")
    if confidential is not None:
        i, value = confidential
        if not isinstance(value, bool):
            found.errors.append(
                (f"Patient.extension[{i}]", "A confidential address is a valueBoolean.")
            )
        else:
            found.confidential_address = value
    return found


def _identifier(items: list[dict[str, Any]], found: PatientInput) -> None:
    known = [
        (i, item)
        for i, item in enumerate(items)
        if item.get("system") in identifiers.KINDS_OF_SYSTEM
    ]
    if len(known) != 1:
        found.errors.append(
            (
                "Patient.identifier",
                "Give exactly one identity number: fødselsnummer "
                f"({identifiers.FNR}), D-number ({identifiers.DNR}), FH-number "
                f"({identifiers.FHNR}) or H-number (system {identifiers.HNR}).",
            )
        )
        return
    i, item = known[0]
    place = f"Patient.identifier[{i}].value"
    try:
        number = parse_national_id(str(item.get("value") or ""))
    except ValidationError as error:
        found.errors.append((place, error.messages[0]))
        return
    expected = identifiers.KINDS_OF_SYSTEM[item["system"]]
    if number.kind not in expected:
        what = "a D-number" if number.kind == IdKind.DNR else f"of kind {number.kind.label}"
        found.errors.append((place, f"The number is {what}, not of the system {item['system']}."))
        return
    found.national_id = number.value
