"""Organization ↔ clinics.Clinic: the API client's own clinic (read, update; never another
clinic and never a new one). The EP identifier is the clinic's identity (the patient link,
the import's match) and is not changed over the API; the login methods are an extension."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinics.exchange import ImportContext, validate_clinic
from clinics.models import Clinic

from ..http import meta
from . import identifiers
from .rows import ROW, places

EP_IDENT = "urn:eportal:ep-ident"
#: How patients may log in: ``bankid`` and ``sms``, each a valueBoolean.
LOGIN_METHODS = "urn:eportal:fhir:StructureDefinition:login-methods"
METHODS = ("bankid", "sms")


def to_fhir(clinic: Clinic) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(clinic.pk),
        "meta": meta(clinic.last_changed, identifiers.profile("Organization")),  # type: ignore[attr-defined]
        "extension": [
            {
                "url": LOGIN_METHODS,
                "extension": [
                    {"url": "bankid", "valueBoolean": clinic.allow_bankid},
                    {"url": "sms", "valueBoolean": clinic.allow_sms},
                ],
            }
        ],
        "identifier": [{"system": EP_IDENT, "value": clinic.ep_ident}],
        "active": clinic.active,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                    }
                ]
            }
        ],
        "name": clinic.name,
    }
    telecom = []
    if clinic.phone:
        telecom.append({"system": "phone", "value": clinic.phone, "use": "work"})
    if clinic.website:
        telecom.append({"system": "url", "value": clinic.website})
    if telecom:
        resource["telecom"] = telecom
    if clinic.address:
        resource["address"] = [{"text": clinic.address}]
    return resource


@dataclass
class OrganizationInput:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


def _address(data: dict[str, Any]) -> str:
    items = data.get("address") or []
    if not items:
        return ""
    first = items[0]
    if first.get("text"):
        return str(first["text"])
    town = " ".join(p for p in (first.get("postalCode"), first.get("city")) if p)
    return ", ".join([*first.get("line", []), *([town] if town else [])])


def from_fhir(data: dict[str, Any], clinic: Clinic) -> OrganizationInput:
    """Read an Organization (checked against the FHIR model) for ``clinic``: name, address,
    phone and website (``telecom``), ``active`` and the login methods (kept when the
    extension is left out), checked by the import's ``validate_clinic``."""
    found = OrganizationInput()
    for i, item in enumerate(data.get("identifier") or []):
        if item.get("system") == EP_IDENT and item.get("value") != clinic.ep_ident:
            found.errors.append(
                (
                    f"Organization.identifier[{i}].value",
                    "The EP identifier is the clinic's own and is not changed here.",
                )
            )
    telecom = data.get("telecom") or []
    phone_at = next((i for i, t in enumerate(telecom) if t.get("system") == "phone"), None)
    url_at = next((i for i, t in enumerate(telecom) if t.get("system") == "url"), None)
    methods = {"bankid": clinic.allow_bankid, "sms": clinic.allow_sms}
    for i, item in enumerate(data.get("extension") or []):
        if item.get("url") != LOGIN_METHODS:
            continue
        methods = dict.fromkeys(METHODS, False)
        for j, part in enumerate(item.get("extension") or []):
            if part.get("url") not in METHODS or not isinstance(part.get("valueBoolean"), bool):
                found.errors.append(
                    (
                        f"Organization.extension[{i}].extension[{j}]",
                        "A login method is bankid or sms, with valueBoolean.",
                    )
                )
                continue
            methods[part["url"]] = part["valueBoolean"]
    row = {
        "ep_ident": clinic.ep_ident,
        "name": data.get("name"),
        "address": _address(data) or None,
        "phone": telecom[phone_at].get("value") if phone_at is not None else None,
        "website": telecom[url_at].get("value") if url_at is not None else None,
        "active": data.get("active", True),
        "login_methods": [m for m in METHODS if methods[m]],
    }
    ctx = ImportContext()
    clean = validate_clinic(row, ctx)
    where = {
        "name": "Organization.name",
        "address": "Organization.address[0]",
        "phone": f"Organization.telecom[{phone_at}].value",
        "website": f"Organization.telecom[{url_at}].value",
        "active": "Organization.active",
        "login_methods": "Organization.extension",
    }
    # validate_clinic reports at clinic.<field>: the same translation as a row's.
    errors = [(place.replace("clinic.", f"{ROW}.", 1), message) for place, message in ctx.errors]
    found.errors += places(errors, where, "Organization")
    found.values = {k: v for k, v in clean.items() if k != "ep_ident"}
    return found
