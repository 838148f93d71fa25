"""``capfirst`` that keeps the product's own spelling: "ePortal", never "EPortal".

Registered as a template builtin (settings.TEMPLATES), after Django's own, so every
template's ``capfirst`` is this one: the admin's breadcrumbs, titles and headings too.
"""

from __future__ import annotations

from django import template
from django.template.defaultfilters import capfirst as django_capfirst

register = template.Library()

PRODUCT = "ePortal"


def keep_product_name(text: str) -> str:
    """``text`` with a leading "EPortal" given back its small "e"."""
    if text.startswith("E" + PRODUCT[1:]):
        return PRODUCT + text[len(PRODUCT) :]
    return text


@register.filter(is_safe=True)
def capfirst(value: object) -> str:
    # is_safe: a safe value stays safe (Django marks the result), as with Django's capfirst.
    return keep_product_name(django_capfirst(value))  # type: ignore[arg-type]  # any value
