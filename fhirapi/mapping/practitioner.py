"""Practitioner and PractitionerRole ↔ clinics.Practitioner (one role per practitioner: at
their clinic, with the role of the import's ``role``)."""

from __future__ import annotations

from typing import Any

from clinics.models import Practitioner

from ..http import meta
from . import identifiers
from .refs import ref

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
        "meta": meta(practitioner.updated),
        "identifier": _identifiers(practitioner),
        "active": True,
        "name": [{"text": practitioner.name}],
    }


def role_to_fhir(practitioner: Practitioner) -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "id": str(practitioner.pk),
        "meta": meta(practitioner.updated),
        "identifier": _identifiers(practitioner),
        "active": practitioner.eportal_enabled,
        "practitioner": ref("Practitioner", practitioner.pk, practitioner.name),
        "organization": {"display": practitioner.clinic.name},
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
