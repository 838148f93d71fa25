"""References between resources: ``Patient/12``."""

from __future__ import annotations

from typing import Any


def as_id(text: str) -> int | None:
    """A database id from its text: ASCII digits that fit a bigint, else None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def ref(resource: str, pk: int | str, display: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"reference": f"{resource}/{pk}"}
    if display:
        found["display"] = display
    return found


def parse_ref(value: Any, resource: str) -> int | None:
    """The id of ``{"reference": "<resource>/<id>"}`` (also ``http…/<resource>/<id>``), or
    None when it is not a reference to that type with an integer id."""
    if not isinstance(value, dict):
        return None
    text = value.get("reference")
    if not isinstance(text, str):
        return None
    parts = text.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != resource:
        return None
    return as_id(parts[-1])
