"""``reverse()`` computed once per URL: the hot pages build the same few links every time."""

from __future__ import annotations

import functools
from typing import Any

from django.urls import get_script_prefix, reverse


@functools.lru_cache(maxsize=1024)
def _reverse(prefix: str, name: str, args: tuple[Any, ...]) -> str:
    # ``prefix`` (the script prefix reverse() puts in front) is part of the key.
    return reverse(name, args=args)


def cached_reverse(name: str, *args: Any) -> str:
    """``reverse(name, args=args)``; URLs are fixed for the life of the process."""
    return _reverse(get_script_prefix(), name, args)
