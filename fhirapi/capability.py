"""What the server offers: the CapabilityStatement (``/fhir/r4/metadata``) and SMART's
discovery document (``.well-known/smart-configuration``)."""

from __future__ import annotations

from typing import Any

from .mapping.identifiers import profile
from .scopes import ALL_SCOPES, RESOURCES, WRITABLE
from .search import PARAMETERS

SEARCH_TYPES = {
    "identifier": "token",
    "name": "string",
    "active": "token",
    "status": "token",
    "start": "date",
    "date": "date",
}
INTERACTIONS = {
    "Organization": ("read", "search-type", "update"),
    "Group": ("read", "search-type", "create", "update"),
    "HealthcareService": ("read", "search-type", "create", "update"),
    "MedicationStatement": ("read", "search-type", "create", "update"),
    "RelatedPerson": ("read", "search-type", "create", "update", "delete"),
    "Consent": ("read", "search-type", "create", "update", "delete"),
    "Patient": ("read", "search-type", "create", "update"),
    "Practitioner": ("read", "search-type", "create", "update"),
    "PractitionerRole": ("read", "search-type", "update"),
    "Schedule": ("read", "search-type", "update"),
    "Slot": ("read", "search-type", "create", "update", "delete"),
    "Appointment": ("read", "search-type", "update", "patch"),
}


#: Operations on the server's base (``[base]/$<name>``).
SYSTEM_OPERATIONS = (
    {"name": "service-matrix", "definition": "urn:eportal:fhir:OperationDefinition:service-matrix"},
)


def capability_statement(base: str, token_url: str) -> dict[str, Any]:
    resources = []
    for name in RESOURCES:
        entry: dict[str, Any] = {
            "type": name,
            **({"supportedProfile": [profile(name)]} if profile(name) else {}),
            "interaction": [
                {"code": code} for code in INTERACTIONS.get(name, ("read", "search-type"))
            ],
            "versioning": "versioned-update" if name in WRITABLE else "versioned",
            "readHistory": False,
            "updateCreate": False,
            "conditionalUpdate": False,
            "searchParam": [
                {"name": "_id", "type": "token"},
                {"name": "_lastUpdated", "type": "date"},
                *(
                    {"name": param, "type": SEARCH_TYPES.get(param, "reference")}
                    for param in PARAMETERS[name]
                ),
            ],
        }
        if name == "Appointment":
            entry["operation"] = [
                {
                    "name": "find",
                    "definition": "https://profiles.ihe.net/ITI/SCHED/OperationDefinition/appointment-find",
                },
                {
                    "name": "book",
                    "definition": "https://profiles.ihe.net/ITI/SCHED/OperationDefinition/appointment-book",
                },
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-03",
        "kind": "instance",
        "publisher": "ePortal",
        "software": {"name": "ePortal"},
        "implementation": {"description": "ePortal FHIR API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [{"url": "token", "valueUri": token_url}],
                        }
                    ],
                    "description": "OAuth 2 client credentials; SMART system scopes.",
                },
                "resource": resources,
                "operation": [dict(op) for op in SYSTEM_OPERATIONS],
            }
        ],
    }


def smart_configuration(token_url: str) -> dict[str, Any]:
    return {
        "token_endpoint": token_url,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": list(ALL_SCOPES),
        "capabilities": ["client-confidential-symmetric", "permission-v1"],
    }
