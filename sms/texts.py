"""SMS texts: one template per kind and language, ``templates/sms/<kind>.txt``.

A template only places its values (``{{ date }}``, ``{{ code }}``) inside a
``{% blocktranslate %}``, so that each language's text is the catalogue's. It is rendered once
per kind, language and set of value names into a ``%``-pattern, then only formatted: rendering
a template on every booking cost about ten times what formatting a string does
(docs/benchmarks.md). Never put health information in a template (docs/sms.md).
"""

from __future__ import annotations

import functools

from django.template.loader import render_to_string
from django.utils import translation


def sms_text(kind: str, **values: object) -> str:
    """The text of ``kind`` in the active language, with ``values`` in their places."""
    pattern = _pattern(kind, translation.get_language(), tuple(sorted(values)))
    return pattern % {name: str(value) for name, value in values.items()}


@functools.lru_cache(maxsize=128)
def _pattern(kind: str, language: str | None, names: tuple[str, ...]) -> str:
    marks = {name: f"\x00{name}\x00" for name in names}
    text = render_to_string(f"sms/{kind}.txt", marks).strip().replace("%", "%%")
    for name, mark in marks.items():
        text = text.replace(mark, f"%({name})s")
    return text
