"""Small filters for the staff account pages (allauth's templates, overridden)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def groups_of(value: object, size: int = 4) -> list[str]:
    """ "JBSWY3DPEHPK3PXP" -> ["JBSW", "Y3DP", "EHPK", "3PXP"]: a long secret read in groups."""
    text = str(value or "")
    return [text[i : i + size] for i in range(0, len(text), size)]
