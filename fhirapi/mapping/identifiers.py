"""The identifier systems of HL7 Norway's no-basis profiles, and ePortal's own."""

from __future__ import annotations

from clinics.national_id import IdKind

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"  # fødselsnummer
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"  # D-nummer
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"  # Helsepersonellregisteret
#: Numbers with no OID in the API yet (H- and FH-numbers): ePortal's own system.
OTHER_ID = "urn:eportal:national-id"
#: A practitioner without an HPR number: the clinic's key for them (the import's ``key``).
PRACTITIONER_KEY = "urn:eportal:practitioner-key"

SYSTEM_OF_KIND = {IdKind.FNR: FNR, IdKind.DNR: DNR}
KIND_OF_SYSTEM = {FNR: IdKind.FNR, DNR: IdKind.DNR}


def national_id_system(kind: str) -> str:
    return SYSTEM_OF_KIND.get(IdKind(kind), OTHER_ID)
