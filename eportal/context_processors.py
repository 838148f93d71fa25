"""Template context that joins apps together (eportal wires; apps don't import upward)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

# The services in the order patients see them, with their labels.
SERVICES = [
    ("booking", _("Book an appointment")),
    ("urgent", _("Urgent appointment today")),
    ("econsult", _("eConsultation: write to a practitioner")),
]


# The page of each service that has one (the apps' URL names; eportal wires them).
_SERVICE_URLS = {
    "booking": lambda patient: reverse(
        "booking:book", kwargs={"ep_ident": patient.clinic.ep_ident}
    ),
    "urgent": lambda patient: reverse(
        "booking:urgent", kwargs={"ep_ident": patient.clinic.ep_ident}
    ),
}


def _services_for(patient: Any, level: str | None) -> list[dict[str, Any]]:
    from delegation.selectors import practitioners_for
    from identification.session import LEVEL_HIGH

    services = []
    for service, label in SERVICES:
        practitioners = practitioners_for(patient, service)
        if practitioners:
            services.append(
                {
                    "service": service,
                    "label": label,
                    "url": _SERVICE_URLS[service](patient) if service in _SERVICE_URLS else None,
                    "practitioners": [p.name for p in practitioners],
                    # The clinic may demand BankID (level high) for eConsultation.
                    "needs_bankid": service == "econsult"
                    and patient.clinic.econsult_requires_bankid
                    and level != LEVEL_HIGH,
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
