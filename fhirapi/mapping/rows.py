"""The file import's validators (``clinics.exchange``, ``booking.exchange``) used for API
writes: a resource is read into a row of the exchange format, checked by the same function
the import checks that row with, and each error's place in the file (``row.name``) becomes
its place in the resource (``Group.name``)."""

from __future__ import annotations

from collections.abc import Mapping

ROW = "row"


def places(
    errors: list[tuple[str, str]], where: Mapping[str, str], default: str
) -> list[tuple[str, str]]:
    """``errors`` of a row validated at :data:`ROW`, with the resource's places."""
    found = []
    for place, message in errors:
        name = place.split(".", 1)[1] if place.startswith(f"{ROW}.") else ""
        found.append((where.get(name, default), message))
    return found


def extension_value(data: dict, url: str, kind: str) -> tuple[int, object] | None:
    """The index and ``value<kind>`` of the first extension with ``url`` (None: absent)."""
    for i, item in enumerate(data.get("extension") or []):
        if item.get("url") == url:
            return i, item.get(f"value{kind}")
    return None


def text_of(concept: object) -> str:
    if not isinstance(concept, dict):
        return ""
    return str(concept.get("text") or "").strip()
