"""The booking pages' HTML and the calendar file, built in Python where speed asks for it.

The slot page's day sections, slot buttons and practitioner picker are assembled here from
parts escaped once per page or day (a template loop per slot was a third of the page's
time: docs/benchmarks.md); the views only choose what to show. Every value is escaped
before it is put in: ``html.escape`` maps character by character, so escaping parts
equals escaping the whole.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from html import escape

from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from clinics.dates import day_and_month
from clinics.models import Clinic, Practitioner

from .models import Appointment
from .selectors import local_tz

DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class SlotView:
    id: int
    time: str
    label: str
    url: str


@dataclass(frozen=True)
class DayView:
    date: datetime.date
    label: str
    #: The day's slot buttons, escaped and joined once in Python (empty: no free time).
    buttons: SafeString

    @property
    def anchor(self) -> str:
        """The day's part of its heading id."""
        return self.date.strftime("%Y%m%d")


def week_days(monday: datetime.date, by_day: dict[datetime.date, SafeString]) -> list[DayView]:
    """Monday to Friday, and a weekend day that has free times."""
    return [
        DayView(day, day_label(day), by_day.get(day, SafeString("")))
        for day in (monday + i * DAY for i in range(7))
        if day.weekday() < 5 or day in by_day
    ]


def week_grid(days: list[DayView]) -> SafeString:
    """The days, each a section headed by its date with its slot buttons: built once in
    Python, as the buttons are (a template loop over the days was a fifth of the page's
    time)."""
    none_free = escape(_("No free times"))
    sections = []
    for day in days:
        anchor = f"day-{day.anchor}"
        body = (
            f'<ul class="list-unstyled d-flex flex-wrap gap-2">{day.buttons}</ul>'
            if day.buttons
            else f'<p class="small text-body-secondary">{none_free}</p>'
        )
        sections.append(
            f'<section class="col" aria-labelledby="{anchor}">'
            f'<h3 class="h6" id="{anchor}">{escape(day.label)}</h3>{body}</section>'
        )
    grid = '<div class="row row-cols-1 row-cols-md-3 row-cols-lg-5 g-3">'
    # Labels are escaped here, the buttons in week_buttons.
    return mark_safe(grid + "".join(sections) + "</div>")  # noqa: S308  # nosec B308 B703


def practitioner_picker(practitioners: list[Practitioner], chosen: Practitioner) -> SafeString:
    """The practitioner picker's items, built once in Python (as the slot buttons are)."""
    items = []
    for p in practitioners:
        active, current = (" active", ' aria-current="page"') if p.pk == chosen.pk else ("", "")
        items.append(
            f'\n        <li class="nav-item"><a class="nav-link{active}" '
            f'href="?p={p.pk:d}"{current}>{escape(p.name)}</a></li>\n      '
        )
    return mark_safe("".join(items))  # noqa: S308  # nosec B308 B703 - the only value, the name, is escaped


def week_buttons(
    rows: list[tuple[int, datetime.datetime, int]], name: str, base_url: str
) -> dict[datetime.date, SafeString]:
    """Each day's slot buttons as HTML: the time, and an accessible label naming the time,
    the day and the practitioner. ``html.escape`` maps character by character, so the label
    is assembled from parts escaped once per page or day instead of once per slot."""
    tz = local_tz()
    pattern = escape(_("%(time)s, %(day)s, %(practitioner)s"))
    url, practitioner = escape(base_url), escape(name)
    by_day: dict[datetime.date, list[str]] = {}
    day_labels: dict[datetime.date, str] = {}
    for pk, start, _practitioner_id in rows:
        local = start.astimezone(tz)
        day = local.date()
        buttons = by_day.get(day)
        if buttons is None:
            buttons = by_day[day] = []
            day_labels[day] = escape(day_label(day))
        time = f"{local.hour:02d}:{local.minute:02d}"
        label = pattern % {"time": time, "day": day_labels[day], "practitioner": practitioner}
        buttons.append(
            f'<li><a class="btn btn-outline-primary btn-sm" id="slot-{pk:d}" '
            f'href="{url}{pk:d}/" aria-label="{label}">{time}</a></li>'
        )
    return {day: mark_safe("".join(buttons)) for day, buttons in by_day.items()}  # noqa: S308  # nosec B308 B703 - escaped above


def day_label(day: datetime.date) -> str:
    return _day_label_in(day, translation.get_language())


@functools.lru_cache(maxsize=1024)
def _day_label_in(day: datetime.date, language: str | None) -> str:
    # ``language`` is the active one (the key): the label depends on nothing else, and a
    # week page asks for each day's label about twice.
    return day_and_month(day, weekday=True)


def slot_views(
    rows: list[tuple[int, datetime.datetime, int]],
    names: dict[int, str],
    base_url: str,
) -> dict[datetime.date, list[SlotView]]:
    """Slots grouped by local day, each with its time and an accessible label naming the day,
    the time and the practitioner."""
    tz = local_tz()
    pattern = _("%(time)s, %(day)s, %(practitioner)s")
    day_labels: dict[datetime.date, str] = {}
    by_day: dict[datetime.date, list[SlotView]] = {}
    for pk, start, practitioner_id in rows:
        local = start.astimezone(tz)
        day = local.date()
        if day not in day_labels:
            day_labels[day] = day_label(day)
        time = f"{local.hour:02d}:{local.minute:02d}"
        label = pattern % {
            "time": time,
            "day": day_labels[day],
            "practitioner": names.get(practitioner_id, ""),
        }
        by_day.setdefault(day, []).append(SlotView(pk, time, label, f"{base_url}{pk}/"))
    return by_day


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def local_time(when: datetime.datetime) -> str:
    """ "09:05": the local wall time of ``when``."""
    local = when.astimezone(local_tz())
    return f"{local.hour:02d}:{local.minute:02d}"


def appointment_ics(appointment: Appointment, clinic: Clinic) -> str:
    """The appointment as an iCalendar file (no reason in it: calendars travel)."""
    fmt = "%Y%m%dT%H%M%SZ"
    utc = datetime.UTC
    summary = _("Appointment with %(practitioner)s") % {
        "practitioner": appointment.practitioner.name
    }
    location = ", ".join(part for part in (clinic.name, clinic.address) if part)
    status = "CANCELLED" if appointment.status == Appointment.Status.CANCELLED else "CONFIRMED"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//ePortal//booking//EN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:appointment-{appointment.pk}@{clinic.ep_ident.lower()}.eportal",
        # A moved appointment keeps its UID and counts up SEQUENCE: calendars update it.
        f"SEQUENCE:{appointment.sequence}",
        f"DTSTAMP:{(appointment.moved_at or appointment.created).astimezone(utc).strftime(fmt)}",
        f"DTSTART:{appointment.start.astimezone(utc).strftime(fmt)}",
        f"DTEND:{appointment.end.astimezone(utc).strftime(fmt)}",
        f"SUMMARY:{_ics_text(summary)}",
        f"LOCATION:{_ics_text(location)}",
        f"STATUS:{status}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"
