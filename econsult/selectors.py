"""Reads of eConsultations, and the rules the views and services share.

One place per rule:

- **Who may receive a patient's eConsultation**: ``delegation.selectors`` (service
  ``econsult``), never asked here in any other way.
- **Working days**: :func:`is_working_day`: a weekday that is not a Norwegian public holiday
  and on which the practitioner takes eConsultations (daily cap above 0).
- **A practitioner's daily cap on a day**: :func:`daily_caps` (their capacity period for the
  day, else the clinic's ``daily_cap``).
- **Capacity and the answer-by date**: :func:`capacities`: the day a consultation sent now
  counts on (its *intake day*: today, or the practitioner's next working day), whether that
  day has room, when sending opens again if not, and the answer-by date (the intake day plus
  the clinic's answer time in the practitioner's working days).
- **The patient's limit of open consultations** (waiting for the clinic):
  :func:`open_limit_reached`.
- **What the patient and staff may see**: :func:`patient_consultation` and
  :func:`staff_consultation` (another patient's or clinic's id reads as missing).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable
from dataclasses import dataclass

import holidays
from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from clinics.models import Clinic, Patient, User
from delegation.selectors import practitioners_for

from .models import (
    AWAITING_CLINIC,
    Attachment,
    CapacityPeriod,
    Consultation,
    EconsultSettings,
    Message,
    Status,
)

DAY = datetime.timedelta(days=1)
#: How far ahead capacity is looked at: "opens again" further away than this is "not known".
LOOKAHEAD_DAYS = 120


def local_today(now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localtime(now or timezone.now()).date()


def econsult_settings(clinic: Clinic | int) -> EconsultSettings:
    """The clinic's eConsultation settings; the defaults (unsaved) when it has none."""
    clinic_id = clinic if isinstance(clinic, int) else clinic.pk
    found = EconsultSettings.objects.filter(clinic_id=clinic_id).first()
    return found or EconsultSettings(clinic_id=clinic_id)


@functools.lru_cache(maxsize=16)
def _public_holidays(year: int) -> frozenset[datetime.date]:
    return frozenset(holidays.country_holidays("NO", years=year))


def is_public_holiday(day: datetime.date) -> bool:
    return day in _public_holidays(day.year)


def is_working_day(day: datetime.date, cap: int) -> bool:
    """A day the practitioner handles eConsultations: a weekday, no public holiday, cap > 0."""
    return day.weekday() < 5 and not is_public_holiday(day) and cap > 0


def daily_caps(
    practitioner_ids: Iterable[int], first: datetime.date, last: datetime.date, default: int
) -> dict[int, dict[datetime.date, int]]:
    """Each practitioner's cap on each day from ``first`` to ``last`` (one query)."""
    ids = list(practitioner_ids)
    caps = {pid: {} for pid in ids}  # type: dict[int, dict[datetime.date, int]]
    periods = CapacityPeriod.objects.filter(
        Q(last_day__isnull=True) | Q(last_day__gte=first),
        practitioner_id__in=ids,
        first_day__lte=last,
    ).order_by("first_day", "pk")
    by_practitioner: dict[int, list[CapacityPeriod]] = {pid: [] for pid in ids}
    for period in periods:
        by_practitioner[period.practitioner_id].append(period)
    day = first
    while day <= last:
        for pid in ids:
            cap = default
            # The latest-starting period that covers the day wins.
            for period in by_practitioner[pid]:
                if period.first_day <= day and (period.last_day is None or day <= period.last_day):
                    cap = period.daily_cap
            caps[pid][day] = cap
        day += DAY
    return caps


def add_working_days(
    start: datetime.date, count: int, caps: dict[datetime.date, int]
) -> datetime.date | None:
    """The ``count``-th working day after ``start`` (None beyond the known days)."""
    day = start
    for _ in range(count):
        day += DAY
        while day in caps and not is_working_day(day, caps[day]):
            day += DAY
        if day not in caps:
            return None
    return day


@dataclass(frozen=True)
class Capacity:
    """What sending an eConsultation to one practitioner right now would mean."""

    practitioner_id: int
    #: A consultation sent now is taken: it counts on ``intake_day`` and gets ``answer_by``.
    available: bool
    intake_day: datetime.date | None
    answer_by: datetime.date | None
    #: When it is full or closed: the first day a patient can send again (None: not known).
    opens_on: datetime.date | None


def capacities(
    practitioner_ids: Iterable[int],
    clinic_settings: EconsultSettings,
    *,
    now: datetime.datetime | None = None,
) -> dict[int, Capacity]:
    """Capacity and answer-by date for each practitioner, in two queries whatever their
    number (their capacity periods, and the consultations already taken per intake day)."""
    ids = list(practitioner_ids)
    if not ids:
        return {}
    today = local_today(now)
    last = today + datetime.timedelta(days=LOOKAHEAD_DAYS)
    caps = daily_caps(ids, today, last, clinic_settings.daily_cap)
    taken: dict[tuple[int, datetime.date], int] = {
        (row["practitioner_id"], row["intake_day"]): row["n"]
        for row in Consultation.objects.filter(practitioner_id__in=ids, intake_day__gte=today)
        .values("practitioner_id", "intake_day")
        .annotate(n=Count("pk"))
        .order_by()
    }
    return {
        pid: _capacity(pid, today, caps[pid], taken, clinic_settings.answer_days) for pid in ids
    }


def _capacity(
    pid: int,
    today: datetime.date,
    caps: dict[datetime.date, int],
    taken: dict[tuple[int, datetime.date], int],
    answer_days: int,
) -> Capacity:
    def intake(day: datetime.date) -> datetime.date | None:
        """The day a consultation sent on ``day`` counts on: ``day`` itself, or (on a weekend
        or a holiday) the next working day; None on a day with cap 0 (closed)."""
        if caps.get(day, 0) == 0:
            return None
        while day in caps:
            if is_working_day(day, caps[day]):
                return day
            day += DAY
        return None

    def has_room(day: datetime.date) -> bool:
        return taken.get((pid, day), 0) < caps[day]

    first = intake(today)
    if first is not None and has_room(first):
        return Capacity(pid, True, first, add_working_days(first, answer_days, caps), None)
    # Full or closed: the first later day on which a consultation sent then would be taken.
    day = today + DAY
    while day in caps:
        candidate = intake(day)
        if candidate is None:
            day += DAY
        elif has_room(candidate):
            return Capacity(pid, False, None, None, day)
        else:
            day = candidate + DAY
    return Capacity(pid, False, None, None, None)


def answer_by_for_reply(
    practitioner_id: int, clinic_settings: EconsultSettings, *, now: datetime.datetime | None = None
) -> datetime.date | None:
    """The answer-by date of a patient's new question in an answered thread: the answer time
    from the practitioner's next working day (it takes no new capacity)."""
    today = local_today(now)
    caps = daily_caps(
        [practitioner_id],
        today,
        today + datetime.timedelta(days=LOOKAHEAD_DAYS),
        clinic_settings.daily_cap,
    )[practitioner_id]
    day = today
    while day in caps and not is_working_day(day, caps[day]):
        day += DAY
    if day not in caps:
        return None
    return add_working_days(day, clinic_settings.answer_days, caps)


def practitioner_capacity(
    practitioner_id: int, clinic: Clinic, *, now: datetime.datetime | None = None
) -> Capacity:
    return capacities([practitioner_id], econsult_settings(clinic), now=now)[practitioner_id]


@dataclass(frozen=True)
class Recipient:
    """A practitioner the patient may write to, and what writing now would mean."""

    practitioner_id: int
    name: str
    role: str
    capacity: Capacity


def recipients(
    patient: Patient, clinic_settings: EconsultSettings, *, now: datetime.datetime | None = None
) -> list[Recipient]:
    """The practitioners the service matrix offers ``patient`` for eConsultation, own GP
    first, each with their capacity (three queries)."""
    offered = practitioners_for(patient, "econsult")
    found = capacities([p.pk for p in offered], clinic_settings, now=now)
    return [Recipient(p.pk, p.name, p.get_role_display(), found[p.pk]) for p in offered]


def open_count(patient: Patient) -> int:
    """How many of the patient's consultations wait for the clinic."""
    return Consultation.objects.filter(
        patient=patient, clinic_id=patient.clinic_id, status__in=AWAITING_CLINIC
    ).count()


def open_limit_reached(patient: Patient, clinic_settings: EconsultSettings) -> bool:
    return open_count(patient) >= clinic_settings.max_open_per_patient


# The patient's threads


def patient_consultations(patient: Patient) -> list[Consultation]:
    """ "Mine meldinger": the patient's threads, newest activity first (one query)."""
    return list(
        Consultation.objects.filter(patient=patient, clinic_id=patient.clinic_id)
        .select_related("practitioner")
        .order_by("-last_patient_message_at", "-pk")
    )


def _with_messages(queryset: QuerySet[Consultation]) -> QuerySet[Consultation]:
    return queryset.prefetch_related(
        Prefetch(
            "messages",
            queryset=Message.objects.select_related("practitioner").prefetch_related(
                Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
            ),
        )
    )


def patient_consultation(patient: Patient, consultation_id: int) -> Consultation | None:
    """The patient's own consultation with its messages and files; None for anyone else's."""
    return (
        _with_messages(
            Consultation.objects.filter(
                pk=consultation_id, patient=patient, clinic_id=patient.clinic_id
            ).select_related("practitioner")
        )
        .order_by()
        .first()
    )


def patient_attachment(patient: Patient, attachment_id: int) -> Attachment | None:
    return (
        Attachment.objects.filter(
            pk=attachment_id,
            clinic_id=patient.clinic_id,
            message__consultation__patient=patient,
        )
        .select_related("message__consultation")
        .first()
    )


# Staff


def staff_clinic(user: User) -> int | None:
    """The clinic whose consultations this staff user may see (None: none)."""
    if not (user.is_active and user.is_staff) or user.clinic_id is None:
        return None
    return user.clinic_id


def may_reassign(user: User) -> bool:
    """A clinic administrator: staff of a clinic who is no practitioner, or who was given
    the permission "Can reassign eConsultations"."""
    if staff_clinic(user) is None:
        return False
    return user.practitioner_id is None or user.has_perm("econsult.reassign_consultation")


class InboxFilter:
    OPEN = "open"
    CLOSED = "closed"


#: Rows on one page of the inbox.
INBOX_PAGE_SIZE = 50


@dataclass(frozen=True)
class InboxPage:
    rows: list[Consultation]
    total: int
    page: int
    pages: int


def inbox(clinic_id: int, *, practitioner_id: int | None, show: str, page: int = 1) -> InboxPage:
    """The clinic's consultations for the inbox, a page at a time: open ones by answer-by
    date, oldest first; or the latest closed ones. Two queries, whatever their number."""
    queryset = Consultation.objects.filter(clinic_id=clinic_id)
    if practitioner_id is not None:
        queryset = queryset.filter(practitioner_id=practitioner_id)
    if show == InboxFilter.CLOSED:
        queryset = queryset.filter(status=Status.CLOSED).order_by("-closed_at", "-pk")
    else:
        queryset = queryset.exclude(status=Status.CLOSED).order_by("answer_by", "created", "pk")
    total = queryset.count()
    pages = max(1, -(-total // INBOX_PAGE_SIZE))
    page = min(max(page, 1), pages)
    start = (page - 1) * INBOX_PAGE_SIZE
    rows = list(queryset.select_related("patient", "practitioner")[start : start + INBOX_PAGE_SIZE])
    return InboxPage(rows=rows, total=total, page=page, pages=pages)


def staff_consultation(user: User, consultation_id: int) -> Consultation | None:
    """A consultation of the staff user's clinic with its messages and files; None for any
    other clinic's (superusers see every clinic's)."""
    queryset = Consultation.objects.filter(pk=consultation_id)
    if not user.is_superuser:
        clinic_id = staff_clinic(user)
        if clinic_id is None:
            return None
        queryset = queryset.filter(clinic_id=clinic_id)
    return (
        _with_messages(queryset.select_related("patient", "practitioner", "clinic"))
        .order_by()
        .first()
    )


def staff_attachment(user: User, attachment_id: int) -> Attachment | None:
    queryset = Attachment.objects.filter(pk=attachment_id)
    if not user.is_superuser:
        clinic_id = staff_clinic(user)
        if clinic_id is None:
            return None
        queryset = queryset.filter(clinic_id=clinic_id)
    return queryset.select_related("message__consultation").first()


def is_overdue(consultation: Consultation, today: datetime.date | None = None) -> bool:
    return consultation.status in AWAITING_CLINIC and consultation.answer_by < (
        today or local_today()
    )


def files_root_is_served() -> bool:
    """Whether the attachments' folder lies inside a folder the web server serves (a
    misconfiguration the deploy check reports)."""
    root = getattr(settings, "ECONSULT_FILES_ROOT", None)
    if root is None:
        return False
    served = [settings.STATIC_ROOT, getattr(settings, "MEDIA_ROOT", "")]
    served += list(getattr(settings, "STATICFILES_DIRS", []))
    resolved = str(root.resolve()) if hasattr(root, "resolve") else str(root)
    for folder in served:
        if not folder:
            continue
        base = str(folder.resolve()) if hasattr(folder, "resolve") else str(folder)
        if resolved == base or resolved.startswith(base.rstrip("/") + "/"):
            return True
    return False
