"""FHIR over HTTP: ``application/fhir+json`` responses, OperationOutcome errors, versions."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from django.http import HttpRequest, HttpResponse

FHIR_JSON = "application/fhir+json"


class FhirError(Exception):
    """Answer with an OperationOutcome: ``status``, an issue ``code`` and where it is."""

    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        expression: str | None = None,
        *,
        issues: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.headers = headers or {}
        self.issues = issues or [issue(code, diagnostics, expression)]


def issue(code: str, diagnostics: str, expression: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression:
        found["expression"] = [expression]
    return found


def outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


def respond(
    data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: FhirError) -> HttpResponse:
    return respond(outcome(error.issues), error.status, error.headers)


def version_of(when: datetime.datetime) -> str:
    """A resource's versionId: its last change in microseconds since the epoch."""
    return str(int(when.timestamp() * 1_000_000))


def etag(version: str) -> str:
    return f'W/"{version}"'


def instant(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def meta(when: datetime.datetime, profile: str | None = None) -> dict[str, Any]:
    """A resource's meta: its version, its last change and the no-basis profile it claims."""
    found: dict[str, Any] = {"versionId": version_of(when), "lastUpdated": instant(when)}
    if profile:
        found["profile"] = [profile]
    return found


#: The characters FHIR strings may not hold: C0 controls but tab, CR and LF (R4 §2.24.0.1,
#: ``string``); NUL would also fail in PostgreSQL, whose text cannot hold it.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _has_control(data: Any) -> bool:
    """Whether a key or string anywhere in ``data`` holds a control character (no recursion:
    the body may nest as deep as the JSON decoder allows)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if CONTROL.search(value) is not None:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def read_json(request: HttpRequest) -> Any:
    """The request's JSON body; a 400 OperationOutcome when it is not JSON, or when a string
    in it holds a control character."""
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise FhirError(400, "structure", "The body is not JSON.") from None
    if _has_control(data):
        raise FhirError(
            400, "structure", "A string holds a control character (FHIR strings may not)."
        )
    return data


def if_match_version(request: HttpRequest) -> str | None:
    """The version an ``If-Match: W/"<version>"`` names, or None without the header."""
    value = request.headers.get("If-Match")
    if value is None:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')
