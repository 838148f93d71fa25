"""Dates in words, in the active language: the one place pages, SMS texts and calendar
files get them from.

Each language's own order and punctuation are its format module's (``FORMAT_MODULE_PATH``:
``eportal/formats/<language>/formats.py``): bokmål and nynorsk "onsdag 2. desember 2026",
English "Wednesday 2 December 2026". Never write a format such as "l j. F Y" elsewhere.
"""

from __future__ import annotations

import datetime

from django.utils import formats


def long_date(day: datetime.date | datetime.datetime, *, weekday: bool = True) -> str:
    """ "onsdag 2. desember 2026" (``weekday=False``: "2. desember 2026")."""
    return _format(day, "DATE_FORMAT", weekday)


def day_and_month(day: datetime.date | datetime.datetime, *, weekday: bool = False) -> str:
    """ "2. desember" (``weekday=True``: "onsdag 2. desember")."""
    return _format(day, "MONTH_DAY_FORMAT", weekday)


def short_day_and_month(day: datetime.date | datetime.datetime) -> str:
    """ "2. des." in bokmål, "2 Dec" in English: a table's or a chart's day label."""
    return formats.date_format(day, formats.get_format("MONTH_DAY_FORMAT").replace("F", "M"))


def _format(day: datetime.date | datetime.datetime, name: str, weekday: bool) -> str:
    pattern = formats.get_format(name)
    return formats.date_format(day, f"l {pattern}" if weekday else pattern)
