"""The identifier systems and profiles of HL7 Norway's no-basis profiles, and ePortal's own.

Identity numbers as no-basis-Patient slices them: fødselsnummer (FNR), D-nummer (DNR) and
felles hjelpenummer (FH) by their OIDs; a locally assigned H-number as the slice HNR
(``system`` "HNR", a ``type`` coding, and the clinic's Organization as ``assigner``)."""

from __future__ import annotations

from typing import Any

from clinics.national_id import IdKind

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"  # fødselsnummer
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"  # D-nummer
FHNR = "urn:oid:2.16.578.1.12.4.1.4.3"  # felles hjelpenummer
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"  # Helsepersonellregisteret
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"  # Enhetsregisteret (no field in ePortal yet)
#: no-basis-Patient's slice for a locally assigned H-number: this system and type.
HNR = "HNR"
HNR_TYPE = {"system": "urn:oid:2.16.578.1.12.4.1.1.8327", "code": "HNR"}
#: What H- and FH-numbers were served as before the no-basis systems: still read.
LEGACY_ID = "urn:eportal:national-id"
#: A practitioner without an HPR number: the clinic's key for them (the import's ``key``).
PRACTITIONER_KEY = "urn:eportal:practitioner-key"

SYSTEM_OF_KIND = {IdKind.FNR: FNR, IdKind.DNR: DNR, IdKind.FHNR: FHNR, IdKind.HNR: HNR}
#: The kinds of number an incoming identifier's system may carry.
KINDS_OF_SYSTEM: dict[str, frozenset[IdKind]] = {
    FNR: frozenset({IdKind.FNR}),
    DNR: frozenset({IdKind.DNR}),
    FHNR: frozenset({IdKind.FHNR}),
    HNR: frozenset({IdKind.HNR}),
    LEGACY_ID: frozenset({IdKind.HNR, IdKind.FHNR}),
}

PROFILE_BASE = "http://hl7.no/fhir/StructureDefinition/no-basis-"
#: The resource types with a no-basis profile (Schedule and Slot have none: base R4).
PROFILED = (
    "Patient", "Practitioner", "PractitionerRole", "Appointment", "Organization",
    "HealthcareService", "RelatedPerson", "MedicationStatement",
)  # fmt: skip


def profile(resource: str) -> str | None:
    return f"{PROFILE_BASE}{resource}" if resource in PROFILED else None


def national_id_system(kind: str) -> str:
    return SYSTEM_OF_KIND[IdKind(kind)]


def national_identifier(kind: str, value: str, clinic_id: int) -> dict[str, Any]:
    """The no-basis identifier of an identity number (an H-number's assigner: the clinic)."""
    found: dict[str, Any] = {"use": "official", "system": national_id_system(kind), "value": value}
    if IdKind(kind) == IdKind.HNR:
        found["type"] = {"coding": [dict(HNR_TYPE)]}
        found["assigner"] = {"reference": f"Organization/{clinic_id}"}
    return found
