"""URL converters shared by the apps' URL patterns."""

from __future__ import annotations


def parse_id(value: str | None) -> int | None:
    """A database id typed into a query parameter, or None: ASCII digits only (``"²"`` passes
    ``str.isdigit()`` but not ``int()``), at most 18 of them (inside bigint)."""
    if value and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


class IdConverter:
    """A database id in a path: ASCII digits, at most 18 of them, so always inside
    PostgreSQL's bigint. Django's ``int`` converter takes any length, and a 20-digit id
    reached the database as an out-of-range value (a 500) instead of a 404."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


_registered = False


def register_id_converter() -> None:
    """Register :class:`IdConverter` as ``<id:…>`` once, for every app's URL patterns."""
    global _registered
    if not _registered:
        from django.urls import register_converter

        register_converter(IdConverter, "id")
        _registered = True
