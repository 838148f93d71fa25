"""Reads of clinic data used by views, the admin and commands."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _

from .audit import action_label
from .models import AuditEvent, Clinic, Patient, User
from .national_id import LOGIN_KINDS

_EP_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")

# What the patient session reads with the patient on every request: the clinic and the
# patient list, and what other apps add (booking: the clinic's booking settings).
_PATIENT_RELATED: list[str] = ["clinic", "patient_list"]


def read_with_patient(*lookups: str) -> None:
    """Read these relations (``select_related`` lookups from :class:`Patient`) with the
    patient on every patient request: one join instead of a query on each page that needs
    them. Call it from an ``AppConfig.ready()``, before the first request (the session's
    query is compiled once)."""
    for lookup in lookups:
        if lookup not in _PATIENT_RELATED:
            _PATIENT_RELATED.append(lookup)


def patient_related() -> tuple[str, ...]:
    """The ``select_related`` lookups of the patient session's read of the patient."""
    return tuple(_PATIENT_RELATED)


# Values other apps compute with the patient in the same query (booking: the appointments
# the patient holds), each built from the request's time.
_PATIENT_ANNOTATIONS: dict[str, Callable[..., Any]] = {}


def annotate_patient(name: str, build: Callable[..., Any]) -> None:
    """Compute ``build(now=now)`` (an expression over :class:`Patient`, e.g. a counting
    subquery) with the patient on every patient request, as the attribute ``name``: a
    column of the patient's row instead of a query of its own on the pages that need it.
    Call it from an ``AppConfig.ready()``, as :func:`read_with_patient`."""
    _PATIENT_ANNOTATIONS[name] = build


def patient_annotation_names() -> tuple[str, ...]:
    return tuple(_PATIENT_ANNOTATIONS)


def patient_annotations(now: datetime.datetime) -> dict[str, Any]:
    """The annotations of the patient session's read of the patient, for the time ``now``."""
    return {name: build(now=now) for name, build in _PATIENT_ANNOTATIONS.items()}


def clinic_by_ep_ident(ep_ident: str | None) -> Clinic | None:
    """The active clinic with this EP identifier (any letter case), else None."""
    ep_ident = (ep_ident or "").strip()
    if not _EP_IDENT.fullmatch(ep_ident):
        return None  # not a possible identifier (also keeps NUL bytes away from PostgreSQL)
    return Clinic.objects.filter(ep_ident__iexact=ep_ident, active=True).first()


def may_use_portal(patient: Patient | None, *, method: str | None = None) -> bool:
    """Whether ``patient`` may use the portal: the one answer to rules 3 and 5 of the domain
    (docs/domain.md), asked by the login paths, the patient session and the services.

    A record at the clinic, a full identity number (a national identity number or a
    D-number), an active record, and the clinic's portal switched on. To log in with
    ``method`` (one of :attr:`Clinic.login_methods`, "bankid" or "sms") the clinic must
    also offer that method, and the SMS code needs a mobile number in the record. Without a
    method the patient has identified already (an open session, a service asking).

    Reads ``patient.clinic``: pass a patient read with its clinic.
    """
    if patient is None or not patient.journal_active or patient.id_kind not in LOGIN_KINDS:
        return False
    clinic = patient.clinic
    if not clinic.active:
        return False
    if method is None:
        return True
    return method in clinic.login_methods and (method != "sms" or bool(patient.mobile))


def public_url(request: HttpRequest | None, path: str) -> str:
    """``path`` as a link patients can follow: on ``EPORTAL_PUBLIC_BASE_URL`` when it is set
    (docs/configuration.md), else on the scheme and host the request came in on (``make
    run``'s ``http://127.0.0.1:8000``; behind a proxy, ``USE_X_FORWARDED_PROTO`` tells the
    scheme). Without either, the path alone."""
    base = settings.EPORTAL_PUBLIC_BASE_URL.rstrip("/")
    if not base and request is not None:
        base = f"{request.scheme}://{request.get_host()}"
    return f"{base}{path}"


def public_entry_url(request: HttpRequest, clinic: Clinic) -> str:
    """The self-service link the clinic puts on its own website."""
    return public_url(request, clinic.entry_path())


#: One page of the patient's access log.
ACCESS_LOG_PAGE = 50


@dataclass(frozen=True)
class AccessEntry:
    """One line of the patient's access log: when, who (name and role), what."""

    when: datetime.datetime
    who: str
    role: str
    what: str


def staff_role(user: User) -> str:
    """A staff member's role in words, as a patient reads it."""
    if user.practitioner_id is not None and user.practitioner is not None:
        return user.practitioner.get_role_display()
    if user.is_reception:
        return str(_("Reception"))
    if user.is_superuser:
        return str(_("ePortal operations"))
    return str(_("Clinic administrator"))


def staff_display_name(user: User) -> str:
    """The name a patient sees: the staff member's own, else their practitioner's; never
    the email address (an account name is not for patients)."""
    full = user.get_full_name().strip()
    if full:
        return full
    if user.practitioner_id is not None and user.practitioner is not None:
        return user.practitioner.name
    return str(_("A member of staff"))


def access_log(patient: Patient, *, page: int = 1) -> tuple[list[AccessEntry], bool]:
    """ "Hvem har sett mine opplysninger": each time staff opened or changed the patient's
    data in ePortal, and each action a representative did for them, newest first; one
    page, and whether an older page follows. One query whatever the log's length (the
    ``audit_subject_created`` index; the staff member, their practitioner and the
    representative come in the same query)."""
    page = max(page, 1)
    start = (page - 1) * ACCESS_LOG_PAGE
    events = list(
        AuditEvent.objects.filter(subject=patient)
        .filter(
            Q(actor_type=AuditEvent.ActorType.STAFF, staff__isnull=False)
            | (Q(actor_type=AuditEvent.ActorType.PATIENT) & ~Q(patient=patient))
        )
        .select_related("staff__practitioner", "patient")
        .order_by("-created", "-pk")[start : start + ACCESS_LOG_PAGE + 1]
    )
    entries = []
    for event in events[:ACCESS_LOG_PAGE]:
        if event.staff is not None and event.actor_type == AuditEvent.ActorType.STAFF:
            who, role = staff_display_name(event.staff), staff_role(event.staff)
        else:
            who = event.patient.name if event.patient is not None else ""
            role = str(_("Acting for you"))
        entries.append(AccessEntry(event.created, who, role, action_label(event.action)))
    return entries, len(events) > ACCESS_LOG_PAGE
