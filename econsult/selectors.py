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
import re
from collections.abc import Iterable
from dataclasses import dataclass

import holidays
from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic, Medication, Patient, User
from delegation.selectors import may_serve, practitioners_for

from .models import (
    AWAITING_CLINIC,
    Attachment,
    CapacityPeriod,
    Consultation,
    EconsultSettings,
    Kind,
    Message,
    RenewalItem,
    RenewalRequest,
    Status,
)

DAY = datetime.timedelta(days=1)
#: How far ahead capacity is looked at: "opens again" further away than this is "not known".
LOOKAHEAD_DAYS = 120


def local_today(now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localtime(now or timezone.now()).date()


def econsult_settings(clinic: Clinic | int) -> EconsultSettings:
    """The clinic's eConsultation settings; the defaults (unsaved) when it has none.

    No query for a clinic read with ``select_related("econsult_settings")`` (the patient's
    clinic is, on every patient request: ``EconsultConfig.ready``); else one.
    """
    if isinstance(clinic, Clinic) and Clinic.econsult_settings.is_cached(clinic):
        try:
            return clinic.econsult_settings
        except EconsultSettings.DoesNotExist:
            return EconsultSettings(clinic=clinic)
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
    for _step in range(count):
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


def open_count(patient: Patient, kind: str = Kind.ECONSULT) -> int:
    """How many of the patient's consultations (or reception messages) wait for the clinic."""
    return Consultation.objects.filter(
        patient=patient, clinic_id=patient.clinic_id, kind=kind, status__in=AWAITING_CLINIC
    ).count()


def open_limit_reached(
    patient: Patient, clinic_settings: EconsultSettings, kind: str = Kind.ECONSULT
) -> bool:
    """The limit of unanswered threads, counted for eConsultations and for messages to the
    reception apart."""
    return open_count(patient, kind) >= clinic_settings.max_open_per_patient


# "Kontakt ekspedisjonen"


#: The reception's line on the patient's home page.
RECEPTION_LABEL = _("Contact the reception (not for medical questions)")


def reception_offered(patient: Patient) -> bool:
    """Whether the patient may write to the reception (no query: the settings come with the
    patient)."""
    return may_serve(patient, "reception") and econsult_settings(patient.clinic).reception_enabled


def reception_answer_by(
    clinic_settings: EconsultSettings, *, now: datetime.datetime | None = None
) -> datetime.date:
    """The reception answers within the clinic's answer time in working days (weekdays that
    are not public holidays), from today or the next working day."""
    today = local_today(now)
    caps = {
        today + datetime.timedelta(days=n): 1 for n in range(LOOKAHEAD_DAYS + 1)
    }  # no practitioner: every working day counts
    day = today
    while not is_working_day(day, 1):
        day += DAY
    found = add_working_days(day, clinic_settings.answer_days, caps)
    return found or day


def looks_clinical(text: str, language: str | None) -> bool:
    """Whether a message to the reception reads like a medical question: one of the
    language's ``ECONSULT_CLINICAL_KEYWORDS`` begins a word of it."""
    words = getattr(settings, "ECONSULT_CLINICAL_KEYWORDS", {})
    keywords = words.get((language or "nb")[:2], words.get("nb", []))
    lowered = text.lower()
    return any(re.search(rf"(?<!\w){re.escape(word)}", lowered) for word in keywords)


# The patient's threads


def submitted_consultation(patient: Patient, key: str) -> Consultation | None:
    """The consultation a form with this one-time key sent already (a double submit)."""
    if not key:
        return None
    return Consultation.objects.filter(patient=patient, submission_key=key).first()


def submitted_renewal(patient: Patient, key: str) -> RenewalRequest | None:
    """The renewal request a form with this one-time key sent already (a double submit)."""
    if not key:
        return None
    return RenewalRequest.objects.filter(patient=patient, submission_key=key).first()


def patient_consultations(patient: Patient) -> list[Consultation]:
    """ "Mine meldinger": the patient's threads, newest activity first (one query). Nothing
    for someone acting for the patient without eConsultation in the relation
    (:func:`delegation.selectors.may_serve`; a reception message counts as one), as for
    the three functions below."""
    if not may_serve(patient, "econsult"):
        return []
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
    if not may_serve(patient, "econsult"):
        return None
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
    if not may_serve(patient, "econsult"):
        return None
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


def inbox(
    clinic_id: int,
    *,
    practitioner_id: int | None,
    show: str,
    page: int = 1,
    reception: bool = False,
) -> InboxPage:
    """The clinic's consultations for the inbox, a page at a time: open ones by answer-by
    date, oldest first; or the latest closed ones; one practitioner's, the reception's
    (``reception``) or all. Two queries, whatever their number."""
    queryset = Consultation.objects.filter(clinic_id=clinic_id)
    if reception:
        queryset = queryset.filter(kind=Kind.RECEPTION)
    elif practitioner_id is not None:
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


# Prescription renewal


@dataclass(frozen=True)
class MedicationOption:
    """One of the patient's medications on the renewal page, and whether it may be asked for
    now (``why_not``: "addictive", "open" or "too_early"; ``from_day`` for "too_early")."""

    medication: Medication
    why_not: str = ""
    from_day: datetime.date | None = None

    @property
    def renewable(self) -> bool:
        return not self.why_not


def renewal_options(
    patient: Patient, clinic_settings: EconsultSettings, *, today: datetime.date | None = None
) -> list[MedicationOption]:
    """The patient's current medications, each renewable or not and why (two queries):
    A- and B-preparations never; one open request per medication; and, where the clinic
    sets it, not earlier than its number of days before the prescription runs out."""
    today = today or local_today()
    medications = list(
        Medication.objects.filter(patient=patient, current=True).order_by("name", "pk")
    )
    open_ids = set(
        RenewalItem.objects.filter(
            medication__patient=patient, status=RenewalItem.Status.REQUESTED
        ).values_list("medication_id", flat=True)
    )
    days = clinic_settings.renewal_days_before
    options = []
    for med in medications:
        if med.addictive:
            options.append(MedicationOption(med, "addictive"))
        elif med.pk in open_ids:
            options.append(MedicationOption(med, "open"))
        elif days is not None and med.runs_out is not None:
            earliest = med.runs_out - datetime.timedelta(days=days)
            if today < earliest:
                options.append(MedicationOption(med, "too_early", earliest))
            else:
                options.append(MedicationOption(med))
        else:
            options.append(MedicationOption(med))
    return options


def _renewals_with_items(queryset: QuerySet[RenewalRequest]) -> QuerySet[RenewalRequest]:
    return queryset.select_related("practitioner").prefetch_related(
        Prefetch("items", queryset=RenewalItem.objects.select_related("medication").order_by("pk"))
    )


def patient_renewals(patient: Patient, limit: int = 50) -> list[RenewalRequest]:
    """The patient's renewal requests, newest first, with their medicines (two queries);
    none for someone acting without renewal in the relation, as :func:`patient_renewal`."""
    if not may_serve(patient, "renewal"):
        return []
    return list(
        _renewals_with_items(
            RenewalRequest.objects.filter(patient=patient, clinic_id=patient.clinic_id)
        ).order_by("-created", "-pk")[:limit]
    )


def patient_renewal(patient: Patient, request_id: int) -> RenewalRequest | None:
    if not may_serve(patient, "renewal"):
        return None
    return (
        _renewals_with_items(
            RenewalRequest.objects.filter(
                pk=request_id, patient=patient, clinic_id=patient.clinic_id
            )
        )
        .order_by()
        .first()
    )


def renewal_inbox(
    clinic_id: int, *, practitioner_id: int | None, show: str, page: int = 1
) -> tuple[list[RenewalRequest], int, int, int]:
    """Renewal requests for the inbox: open ones oldest first, or the latest handled; with
    their medicines. A fixed number of queries. Returns (rows, total, page, pages)."""
    queryset = RenewalRequest.objects.filter(clinic_id=clinic_id)
    if practitioner_id is not None:
        queryset = queryset.filter(practitioner_id=practitioner_id)
    if show == InboxFilter.CLOSED:
        queryset = queryset.filter(handled_at__isnull=False).order_by("-handled_at", "-pk")
    else:
        queryset = queryset.filter(handled_at__isnull=True).order_by("created", "pk")
    total = queryset.count()
    pages = max(1, -(-total // INBOX_PAGE_SIZE))
    page = min(max(page, 1), pages)
    start = (page - 1) * INBOX_PAGE_SIZE
    rows = list(
        _renewals_with_items(queryset.select_related("patient"))[start : start + INBOX_PAGE_SIZE]
    )
    return rows, total, page, pages


def staff_renewal(user: User, request_id: int) -> RenewalRequest | None:
    queryset = RenewalRequest.objects.filter(pk=request_id)
    if not user.is_superuser:
        clinic_id = staff_clinic(user)
        if clinic_id is None:
            return None
        queryset = queryset.filter(clinic_id=clinic_id)
    return _renewals_with_items(queryset.select_related("patient", "clinic")).order_by().first()
