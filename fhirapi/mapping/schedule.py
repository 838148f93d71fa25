"""Schedule ↔ a practitioner's timebook (one Schedule per practitioner, id = the
practitioner's id; its slots are the booking app's generated slots)."""

from __future__ import annotations

from typing import Any

from clinics.models import Practitioner

from ..http import meta
from .refs import ref


def to_fhir(practitioner: Practitioner) -> dict[str, Any]:
    """``practitioner`` as :func:`fhirapi.selectors.schedules` reads it (``last_changed``)."""
    return {
        "resourceType": "Schedule",
        "id": str(practitioner.pk),
        "meta": meta(practitioner.last_changed),  # type: ignore[attr-defined]
        "active": practitioner.eportal_enabled,
        "actor": [ref("Practitioner", practitioner.pk, practitioner.name)],
        "comment": f"{practitioner.name}: ePortal timebook",
    }
