"""Incoming resources checked against the FHIR R4 models of ``fhir.resources`` (its R4B
package: R4's structure for every resource served here, on pydantic 2), each problem
reported with its place as a FHIRPath-like expression (``Patient.identifier[0].value``)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from .http import FhirError, issue


def expression(resource: str, loc: tuple[Any, ...]) -> str:
    text = resource
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not str(part).startswith("function-"):
            text += f".{part}"
    return text


def check(resource: str, data: Any, *, status: int = 400) -> dict[str, Any]:
    """``data`` if it is a valid ``resource``; else a FhirError listing every problem."""
    if not isinstance(data, dict) or data.get("resourceType") != resource:
        raise FhirError(status, "structure", f"Expected a {resource} resource.", "resourceType")
    try:
        get_fhir_model_class(resource).model_validate(data)
    except ValidationError as error:
        issues = [
            issue("structure", e["msg"], expression(resource, tuple(e["loc"])))
            for e in error.errors()
        ]
        raise FhirError(status, "structure", "Invalid resource.", issues=issues) from None
    return data


def valid(data: dict[str, Any]) -> bool:
    """Whether a resource we serve validates (the tests ask this of every response)."""
    get_fhir_model_class(data["resourceType"]).model_validate(data)
    return True
