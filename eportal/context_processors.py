"""Template context that joins apps together (eportal wires; apps don't import upward)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

# The page of each service that has one (the apps' URL names; eportal wires them).
_SERVICE_URLS = {
    "booking": lambda patient: reverse(
        "booking:book", kwargs={"ep_ident": patient.clinic.ep_ident}
    ),
    "urgent": lambda patient: reverse(
        "booking:urgent", kwargs={"ep_ident": patient.clinic.ep_ident}
    ),
    "econsult": lambda patient: reverse(
        "econsult:new", kwargs={"ep_ident": patient.clinic.ep_ident}
    ),
}


def _services_for(patient: Any, level: str | None) -> list[dict[str, Any]]:
    from delegation.selectors import offered_services
    from identification.session import LEVEL_HIGH

    services = []
    for offered in offered_services(patient, high_assurance=level == LEVEL_HIGH):
        page = _SERVICE_URLS.get(offered.service)
        services.append(
            {
                "service": offered.service,
                "label": offered.label,
                "url": page(patient) if page is not None else None,
                "practitioners": offered.practitioners,
                "needs_bankid": offered.needs_bankid,
            }
        )
    return services


def patient_services(request: HttpRequest) -> dict[str, Any]:
    """The services the logged-in patient may use (computed only when a template asks)."""
    patient = getattr(request, "patient", None)
    if patient is None:
        return {}
    from identification.session import auth_level

    level = auth_level(request)
    return {"patient_services": SimpleLazyObject(lambda: _services_for(patient, level))}
