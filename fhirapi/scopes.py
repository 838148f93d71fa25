"""The API's resources and their SMART v1 system scopes (``system/Patient.read``, …)."""

from __future__ import annotations

#: The resource types served, in the CapabilityStatement's order.
RESOURCES = (
    "Organization", "Patient", "Practitioner", "PractitionerRole", "Group", "HealthcareService",
    "Schedule", "Slot", "Appointment", "MedicationStatement", "RelatedPerson", "Consent",
)  # fmt: skip
#: Resource types an EPJ may write (create, update, status change).
WRITABLE = RESOURCES


def scope(resource: str, access: str) -> str:
    return f"system/{resource}.{access}"


#: Every scope a client may be registered for, with its words for the token endpoint.
ALL_SCOPES: dict[str, str] = {}
for _resource in RESOURCES:
    ALL_SCOPES[scope(_resource, "read")] = f"Read {_resource}"
    if _resource in WRITABLE:
        ALL_SCOPES[scope(_resource, "write")] = f"Write {_resource}"


def parse(text: str) -> list[str]:
    """The known scopes in a space-separated list, in the order of :data:`ALL_SCOPES`."""
    given = set(text.split())
    return [s for s in ALL_SCOPES if s in given]
