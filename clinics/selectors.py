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
from .models import AuditEvent, Clinic, ParentChild, Patient, PowerOfAttorney, User
from .national_id import LOGIN_KINDS, age_on, birth_date, birthday

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


# Acting for others (docs/acting-for-others.md): the one place of the rules. Pure functions
# decide from what they are given; the reads around them take a constant number of queries.

#: A parent acts for a child until the child's 12th birthday (Helsenorge's rule).
CHILD_AGE_LIMIT = 12
#: A power of attorney is given by someone aged 16 or more to someone aged 18 or more.
ATTORNEY_GIVER_MIN_AGE = 16
ATTORNEY_HOLDER_MIN_AGE = 18
#: The services a power of attorney can cover; an urgent appointment is a booking.
#: A message to the reception is written on the giver's behalf as an eConsultation is.
ATTORNEY_SERVICE_FOR = {"booking": "booking", "urgent": "booking", "econsult": "econsult",
                        "reception": "econsult", "renewal": "renewal"}  # fmt: skip


class Refusal:
    """Why someone may not act for someone else (``Acting.reason``)."""

    SELF = "self"
    OTHER_CLINIC = "other_clinic"
    CONFIDENTIAL_ADDRESS = "confidential_address"
    NOT_IN_PORTAL = "not_in_portal"  # the subject may not use the portal (rules 3 and 5)
    NO_RELATION = "no_relation"
    CHILD_TOO_OLD = "child_too_old"  # 12 or older, or no date of birth
    NO_PARENTAL_RESPONSIBILITY = "no_parental_responsibility"
    NOT_SAME_ADDRESS = "not_same_address"
    ATTORNEY_NOT_VALID = "attorney_not_valid"  # not yet, expired or ended
    SERVICE_NOT_COVERED = "service_not_covered"
    AGE = "age"  # giver under 16 or holder under 18


@dataclass(frozen=True)
class Acting:
    """The answer of :func:`may_act_for`: true when allowed, with what it rests on (``via``:
    ``"parent"`` or ``"attorney"``), else false with the ``reason`` (a :class:`Refusal`)."""

    allowed: bool
    reason: str = ""
    via: str = ""
    #: The power of attorney it rests on, when ``via == "attorney"``.
    attorney: PowerOfAttorney | None = None

    def __bool__(self) -> bool:
        return self.allowed

    def covers(self, service: str) -> bool:
        """Whether this permission covers ``service`` (a ``delegation.models.Service`` value,
        or ``"reception"``): a parent acts in every service, a holder in those the power of
        attorney names (an urgent appointment is a booking)."""
        if not self.allowed:
            return False
        if self.via == "parent":
            return True
        covered = ATTORNEY_SERVICE_FOR.get(service)
        return covered is not None and self.attorney is not None and self.attorney.covers(covered)


@dataclass(frozen=True)
class Representation:
    """One line of :func:`represented_by` or :func:`may_act_for_list`: the other person, on
    what ground, for which services, until when (None: until further notice)."""

    patient: Patient
    via: str
    services: tuple[str, ...]
    until: datetime.date | None
    attorney: PowerOfAttorney | None = None


def is_child_on(child: Patient, day: datetime.date) -> bool:
    """Under 12 on ``day``, from the date of birth in the identity number (D-numbers,
    H-numbers and synthetic numbers too); a number without a date of birth is not a child's.
    Computed each time: a parent loses the child on the 12th birthday, with nothing stored."""
    age = age_on(child.national_id, day)
    return age is not None and age < CHILD_AGE_LIMIT


def parent_may_act(link: ParentChild, day: datetime.date) -> Acting:
    """The parent-and-child rule alone: parental responsibility, the child's registered
    address shared, the child under 12 on ``day``; nobody with a confidential address.
    ``link.parent`` and ``link.child`` are read."""
    parent, child = link.parent, link.child
    if parent.confidential_address or child.confidential_address:
        return Acting(False, Refusal.CONFIDENTIAL_ADDRESS)
    if not link.parental_responsibility:
        return Acting(False, Refusal.NO_PARENTAL_RESPONSIBILITY)
    if not link.same_address:
        return Acting(False, Refusal.NOT_SAME_ADDRESS)
    if not is_child_on(child, day):
        return Acting(False, Refusal.CHILD_TOO_OLD)
    return Acting(True, via="parent")


def attorney_ages_allowed(giver_id: str, holder_id: str, day: datetime.date) -> bool:
    """Giver 16 or older and holder 18 or older on ``day`` (identity numbers)."""
    giver_age = age_on(giver_id, day)
    holder_age = age_on(holder_id, day)
    return (
        giver_age is not None
        and holder_age is not None
        and giver_age >= ATTORNEY_GIVER_MIN_AGE
        and holder_age >= ATTORNEY_HOLDER_MIN_AGE
    )


def attorney_may_act(attorney: PowerOfAttorney, service: str | None, day: datetime.date) -> Acting:
    """The power-of-attorney rule alone: valid on ``day`` (not ended, between its dates),
    covering ``service`` (None: any service it covers), the ages, nobody with a confidential
    address. ``attorney.giver`` and ``attorney.holder`` are read."""
    giver, holder = attorney.giver, attorney.holder
    if giver.confidential_address or holder.confidential_address:
        return Acting(False, Refusal.CONFIDENTIAL_ADDRESS)
    if not attorney.valid_on(day):
        return Acting(False, Refusal.ATTORNEY_NOT_VALID)
    if not attorney_ages_allowed(giver.national_id, holder.national_id, day):
        return Acting(False, Refusal.AGE)
    answer = Acting(True, via="attorney", attorney=attorney)
    if service is not None and not answer.covers(service):
        return Acting(False, Refusal.SERVICE_NOT_COVERED)
    return answer


def decide_acting(
    holder: Patient,
    subject: Patient,
    service: str | None,
    day: datetime.date,
    *,
    links: list[ParentChild],
    attorneys: list[PowerOfAttorney],
) -> Acting:
    """Whether ``holder`` may act for ``subject`` on ``day`` for ``service`` (None: at all),
    from the parent-and-child links and powers of attorney between the two: pure, no query.
    Both must be patients who may use the portal (:func:`may_use_portal`: reads their
    ``clinic``)."""
    if holder.pk == subject.pk:
        return Acting(False, Refusal.SELF)
    if holder.clinic_id != subject.clinic_id:
        return Acting(False, Refusal.OTHER_CLINIC)
    if holder.confidential_address or subject.confidential_address:
        return Acting(False, Refusal.CONFIDENTIAL_ADDRESS)
    if not may_use_portal(subject) or not may_use_portal(holder):
        return Acting(False, Refusal.NOT_IN_PORTAL)
    refusals = []
    for link in links:
        if link.parent_id == holder.pk and link.child_id == subject.pk:
            answer = parent_may_act(link, day)
            if answer:
                return answer
            refusals.append(answer)
    for attorney in attorneys:
        if attorney.holder_id == holder.pk and attorney.giver_id == subject.pk:
            answer = attorney_may_act(attorney, service, day)
            if answer:
                return answer
            refusals.append(answer)
    return refusals[0] if refusals else Acting(False, Refusal.NO_RELATION)


def may_act_for(
    holder: Patient, subject: Patient, service: str | None, today: datetime.date
) -> Acting:
    """Whether ``holder`` may use the portal for ``subject`` today, for ``service`` (a value
    of ``delegation.models.Service``; None: for anything at all). The answer carries the
    reason when not. Two queries, whatever the data: ask it on every request of someone
    acting for another. Reads ``subject.clinic``: pass a subject read with its clinic."""
    if holder.pk == subject.pk or holder.clinic_id != subject.clinic_id:
        return decide_acting(holder, subject, service, today, links=[], attorneys=[])
    links = list(
        ParentChild.objects.select_related("parent", "child").filter(
            parent_id=holder.pk, child_id=subject.pk
        )
    )
    attorneys = list(
        PowerOfAttorney.objects.select_related("giver", "holder").filter(
            holder_id=holder.pk, giver_id=subject.pk, ended_at__isnull=True
        )
    )
    return decide_acting(holder, subject, service, today, links=links, attorneys=attorneys)


# The person acted for in a request (the patient session marks them; docs/acting-for-others.md)

_ACTING = "_eportal_acting"


def mark_acted_for(subject: Patient, acting: Acting) -> None:
    """Mark ``subject``, read for this request only, as the person someone acts for under
    ``acting`` (the patient session does it after :func:`may_act_for`): from then on
    :func:`acting_covers` answers for the services ``acting`` covers."""
    setattr(subject, _ACTING, acting)


def acting_for(patient: Patient) -> Acting | None:
    """The permission ``patient`` is acted for under in this request; None when the
    patient uses the portal themself."""
    acting = getattr(patient, _ACTING, None)
    return acting if isinstance(acting, Acting) else None


def acting_covers(patient: Patient, service: str) -> bool:
    """Whether the portal may serve ``patient`` in ``service`` in this request: always when
    they use it themself; when someone acts for them, only in the services the relation
    covers (:meth:`Acting.covers`). ``delegation.selectors.may_serve`` asks it for every
    service; no other place decides it."""
    acting = acting_for(patient)
    return acting is None or acting.covers(service)


def _child_until(child: Patient) -> datetime.date | None:
    born = birth_date(child.national_id)
    if born is None:  # pragma: no cover - such a child is never allowed
        return None
    return birthday(born, CHILD_AGE_LIMIT) - datetime.timedelta(days=1)


def may_act_for_list(patient: Patient, today: datetime.date) -> list[Representation]:
    """Everyone ``patient`` may act for today: children under 12 and givers of a power of
    attorney valid today, in name order. Two queries for any number. Reads
    ``patient.clinic``."""
    if patient.confidential_address or not may_use_portal(patient):
        return []
    found: list[Representation] = []
    links = ParentChild.objects.select_related("parent", "child__clinic").filter(
        parent_id=patient.pk, child__clinic_id=patient.clinic_id
    )
    for link in links:
        link.parent = patient
        if decide_acting(patient, link.child, None, today, links=[link], attorneys=[]):
            found.append(Representation(link.child, "parent", (), _child_until(link.child)))
    attorneys = PowerOfAttorney.objects.select_related("giver__clinic").filter(
        holder_id=patient.pk, giver__clinic_id=patient.clinic_id, ended_at__isnull=True
    )
    for attorney in attorneys:
        attorney.holder = patient
        answer = decide_acting(patient, attorney.giver, None, today, links=[], attorneys=[attorney])
        if answer:
            found.append(
                Representation(
                    attorney.giver, "attorney", attorney.services, attorney.valid_to, attorney
                )
            )
    return sorted(found, key=lambda r: (r.patient.name, r.patient.pk, r.via))


def represented_by(patient: Patient, today: datetime.date) -> list[Representation]:
    """Everyone who may act for ``patient`` today: parents (while the patient is under 12)
    and holders of a power of attorney valid today, in name order. Two queries for any
    number. Reads ``patient.clinic``."""
    if patient.confidential_address or not may_use_portal(patient):
        return []
    found: list[Representation] = []
    links = ParentChild.objects.select_related("parent").filter(
        child_id=patient.pk, parent__clinic_id=patient.clinic_id
    )
    for link in links:
        link.child = patient
        link.parent.clinic = patient.clinic  # the same clinic (the filter): no query
        if decide_acting(link.parent, patient, None, today, links=[link], attorneys=[]):
            found.append(Representation(link.parent, "parent", (), _child_until(patient)))
    attorneys = PowerOfAttorney.objects.select_related("holder").filter(
        giver_id=patient.pk, holder__clinic_id=patient.clinic_id, ended_at__isnull=True
    )
    for attorney in attorneys:
        attorney.giver = patient
        attorney.holder.clinic = patient.clinic
        if decide_acting(attorney.holder, patient, None, today, links=[], attorneys=[attorney]):
            found.append(
                Representation(
                    attorney.holder, "attorney", attorney.services, attorney.valid_to, attorney
                )
            )
    return sorted(found, key=lambda r: (r.patient.name, r.patient.pk, r.via))


def patient_attorneys(patient: Patient, today: datetime.date) -> list[PowerOfAttorney]:
    """The powers of attorney ``patient`` has given or holds that are not ended or expired
    (the page "Powers of attorney"), with the other side read: one query."""
    return list(
        PowerOfAttorney.objects.select_related("giver", "holder")
        .filter(Q(giver_id=patient.pk) | Q(holder_id=patient.pk), ended_at__isnull=True)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .order_by("valid_from", "pk")
    )


def patient_attorney(patient: Patient, attorney_id: int) -> PowerOfAttorney | None:
    """One open power of attorney ``patient`` gave or holds; None for anyone else's (the
    page answers 404: another's id reads as missing)."""
    return (
        PowerOfAttorney.objects.select_related("giver", "holder")
        .filter(Q(giver_id=patient.pk) | Q(holder_id=patient.pk), ended_at__isnull=True)
        .filter(pk=attorney_id)
        .first()
    )


def representative_in(request: HttpRequest | None, patient: Patient) -> Patient | None:
    """The patient acting for ``patient`` in this request (a parent, a holder of a power of
    attorney: the patient session puts them on ``request.patient_actor``), or None when
    the patient acts for themself (docs/acting-for-others.md)."""
    actor = getattr(request, "patient_actor", None) if request is not None else None
    return actor if isinstance(actor, Patient) and actor.pk != patient.pk else None


def sms_recipient(patient: Patient, representative: Patient | None) -> str:
    """Where an SMS about something done for ``patient`` goes: to the representative who
    did it for them, if one did, else to the patient's own mobile ("" when none)."""
    if representative is not None:
        return representative.mobile
    return patient.mobile
