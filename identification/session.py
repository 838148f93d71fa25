"""The patient session: one clinic, one patient, separate from staff login.

A patient is never a Django ``User``: the session carries the patient's id, clinic, how they
identified and when. :class:`PatientSessionMiddleware` puts the patient on ``request.patient``
after checking, on every request, the idle timeout, the absolute lifetime and that the patient
may still use the portal (:func:`clinics.selectors.may_use_portal`). Any failed check ends
the session on the server.

Acting for another (docs/acting-for-others.md): when the patient has chosen someone they may
act for, the session keeps that person's id, and every request reads them with the same
query as the patient and asks :func:`clinics.selectors.may_act_for` again. Allowed, the
person acted for is ``request.patient`` (every page and service works on them, with their
clinic, list, limits and the services the relation covers) and the logged-in patient is
``request.patient_actor``; refused (a child turned 12 today, a power of attorney ended, a
confidential address), the choice is dropped and the patient is themself again.
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from clinics import audit
from clinics.models import Patient
from clinics.selectors import (
    Acting,
    mark_acted_for,
    may_act_for,
    may_use_portal,
    patient_annotation_names,
    patient_annotations,
    patient_related,
)
from eportal.db.prepared import PreparedQuery

SESSION_PATIENT = "patient_id"
SESSION_CLINIC = "patient_clinic_id"
SESSION_METHOD = "patient_auth_method"
SESSION_LEVEL = "patient_auth_level"
SESSION_LOGIN_AT = "patient_login_at"
SESSION_SEEN_AT = "patient_seen_at"
#: The patient page a logged-out visitor asked for (an SMS link): the login goes on there.
SESSION_NEXT = "patient_next"
#: The id of the patient the logged-in patient acts for (docs/acting-for-others.md).
SESSION_ACTING_FOR = "patient_acting_for"
#: Set at login when the patient may act for someone: the header offers "Switch person".
SESSION_MAY_CHOOSE = "patient_may_choose"

METHOD_BANKID = "bankid"
METHOD_SMS = "sms"
#: eIDAS-style assurance levels: BankID is high; own password + SMS code is substantial.
LEVEL_HIGH = "high"
LEVEL_SUBSTANTIAL = "substantial"
LEVEL_FOR_METHOD = {METHOD_BANKID: LEVEL_HIGH, METHOD_SMS: LEVEL_SUBSTANTIAL}


class PatientRequest(HttpRequest):
    """A request as :class:`PatientSessionMiddleware` leaves it (for the type checker only:
    the middleware sets the attributes on Django's own request object)."""

    #: The patient the request is for: the logged-in patient, or the person they act for.
    patient: Patient | None
    #: The logged-in patient themself (the same object as ``patient`` when not acting).
    patient_actor: Patient | None
    #: The permission the logged-in patient acts under; None when they act for themself.
    patient_acting: Acting | None
    #: Set (True) only when this request found the session timed out or no longer eligible.
    patient_session_expired: bool
    #: Set (True) only when this request dropped the choice of the person acted for.
    patient_acting_dropped: bool


def logged_in_patient(request: PatientRequest) -> Patient:
    """``request.patient`` in a view behind :func:`patient_required`, which guarantees one."""
    patient = request.patient
    assert patient is not None  # noqa: S101 - @patient_required lets only a patient in
    return patient


def acting_actor(request: HttpRequest) -> Patient | None:
    """The logged-in patient themself, whoever they act for (None: nobody logged in)."""
    return getattr(request, "patient_actor", None) or getattr(request, "patient", None)


def is_acting(request: HttpRequest) -> bool:
    """Whether the logged-in patient acts for someone else in this request."""
    return getattr(request, "patient_acting", None) is not None


def act_for(request: PatientRequest, subject: Patient | None) -> None:
    """Act for ``subject`` from the next request on (None: for oneself). The caller checked
    that the logged-in patient may (the chooser offers only :func:`may_act_for_list`); the
    middleware asks :func:`clinics.selectors.may_act_for` on every request anyway."""
    actor = acting_actor(request)
    previous = request.session.get(SESSION_ACTING_FOR)
    if subject is None:
        request.session.pop(SESSION_ACTING_FOR, None)
    else:
        request.session[SESSION_ACTING_FOR] = subject.pk
    if actor is not None and subject is not None:
        audit.record("patient.acting_started", request=request, patient=actor, subject=subject,
                     details={"for": subject.pk})  # fmt: skip
    elif actor is not None and previous is not None:
        audit.record("patient.acting_stopped", request=request, patient=actor,
                     subject=actor, details={"for": previous})  # fmt: skip


def idle_timeout() -> int:
    return int(getattr(settings, "EPORTAL_PATIENT_IDLE_TIMEOUT", 15 * 60))


def absolute_lifetime() -> int:
    return int(getattr(settings, "EPORTAL_PATIENT_MAX_AGE", 8 * 60 * 60))


def log_in_patient(
    request: PatientRequest, patient: Patient, *, method: str, level: str | None = None
) -> None:
    """Start a patient session (a fresh session key: no fixation).

    ``level`` defaults to the method's usual level; BankID passes what the ID token's ``acr``
    says, so a substantial-level login is never recorded as high.
    """
    level = level or LEVEL_FOR_METHOD[method]
    if request.session.get(SESSION_PATIENT) != patient.pk:
        # Another person: nothing of the last one's choice stays (a step-up login keeps it).
        request.session.pop(SESSION_ACTING_FOR, None)
        request.session.pop(SESSION_MAY_CHOOSE, None)
    request.session.cycle_key()
    now = int(time.time())
    request.session[SESSION_PATIENT] = patient.pk
    request.session[SESSION_CLINIC] = patient.clinic_id
    request.session[SESSION_METHOD] = method
    request.session[SESSION_LEVEL] = level
    request.session[SESSION_LOGIN_AT] = now
    request.session[SESSION_SEEN_AT] = now
    request.patient = patient
    audit.record(
        "patient.login",
        request=request,
        patient=patient,
        obj=patient,
        details={"method": method, "level": level},
    )


def end_patient_session(
    request: PatientRequest, *, reason: str, patient: Patient | None = None
) -> None:
    """End the session on the server: the old cookie is worthless afterwards."""
    clinic_id = request.session.get(SESSION_CLINIC)
    if patient is not None or clinic_id is not None:
        audit.record(
            f"patient.{reason}",
            request=request,
            patient=patient,
            clinic=patient.clinic if patient is not None else None,
            details={"reason": reason},
        )
    request.session.flush()
    request.patient = None
    request.patient_actor = None
    request.patient_acting = None


def auth_level(request: HttpRequest) -> str | None:
    return request.session.get(SESSION_LEVEL) if getattr(request, "patient", None) else None


def auth_method(request: HttpRequest) -> str | None:
    return request.session.get(SESSION_METHOD) if getattr(request, "patient", None) else None


# Read on every request of a logged-in patient: compiled once, then only bound.
def _patient_query(pk: int, clinic_id: int | None, now: datetime.datetime | None = None) -> Any:
    # With the patient: their clinic and list, and what apps add (clinics.selectors): the
    # relations they need and what they count (booking: the appointments held at ``now``).
    related = patient_related()
    # clinic_id=None is a valid lookup (IS NULL: no patient); the plugin wants a value.
    query = Patient.objects.select_related(*related).filter(pk=pk, clinic_id=clinic_id)  # type: ignore[misc]
    if now is not None:
        query = query.annotate(**patient_annotations(now))
    return query[:1]


_PATIENT = PreparedQuery(_patient_query)


def _at_now() -> dict[str, datetime.datetime]:
    """``now`` for the annotations of the patient's read, when an app registered any."""
    return {"now": timezone.now()} if patient_annotation_names() else {}


def _current_patient(request: PatientRequest) -> Patient | None:
    session = request.session
    patient_id = session.get(SESSION_PATIENT)
    if patient_id is None:
        return None
    now = int(time.time())
    login_at = session.get(SESSION_LOGIN_AT, 0)
    seen_at = session.get(SESSION_SEEN_AT, 0)
    patient = _PATIENT.first(pk=patient_id, clinic_id=session.get(SESSION_CLINIC), **_at_now())
    if now - seen_at > idle_timeout() or now - login_at > absolute_lifetime():
        end_patient_session(request, reason="timeout", patient=patient)
        request.patient_session_expired = True
        return None
    if not may_use_portal(patient):
        end_patient_session(request, reason="ineligible", patient=patient)
        request.patient_session_expired = True
        return None
    # Refresh the idle clock at most once a minute (saves a session write per request).
    if now - seen_at >= 60:
        session[SESSION_SEEN_AT] = now
    return patient


def _acted_for(request: PatientRequest, actor: Patient) -> tuple[Patient, Acting] | None:
    """The person ``actor`` chose to act for, read as the patient is and checked again with
    :func:`may_act_for` (three queries); None when there is none. A choice no longer
    allowed is dropped, audited with the reason, and flagged for the page to say so."""
    subject_id = request.session.get(SESSION_ACTING_FOR)
    if subject_id is None:
        return None
    subject = _PATIENT.first(pk=subject_id, clinic_id=actor.clinic_id, **_at_now())
    answer = (
        may_act_for(actor, subject, None, timezone.localdate())
        if subject is not None
        else Acting(False, "missing")
    )
    if subject is None or not answer:
        request.session.pop(SESSION_ACTING_FOR, None)
        request.patient_acting_dropped = True
        audit.record(
            "patient.acting_dropped",
            request=request,
            patient=actor,
            subject=subject or actor,
            details={"for": subject_id, "reason": answer.reason},
        )
        return None
    mark_acted_for(subject, answer)
    return subject, answer


class PatientSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: PatientRequest) -> HttpResponse:
        actor = _current_patient(request)
        request.patient = request.patient_actor = actor
        request.patient_acting = None
        acted_for = _acted_for(request, actor) if actor is not None else None
        if acted_for is not None:
            request.patient, request.patient_acting = acted_for
        response = self.get_response(request)
        if getattr(request, "patient", None) is not None:
            add_never_cache_headers(response)
        return response


def take_requested_page(request: HttpRequest, ep_ident: str) -> str | None:
    """The clinic's patient page the patient asked for before logging in (and forget it);
    None when there is none. Only a path under ``/c/<ep_ident>/`` ever comes back."""
    value = request.session.pop(SESSION_NEXT, None)
    prefix = f"/c/{ep_ident}/".lower()
    if not isinstance(value, str) or not value.lower().startswith(prefix):
        return None
    if "//" in value or "\\" in value or any(ord(ch) < 32 for ch in value):
        return None
    if any(segment in {".", ".."} for segment in value.split("?", 1)[0].split("/")):
        return None
    return value


def patient_required(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """For views under ``/c/<ep_ident>/``: a logged-in patient of *that* clinic, else login.

    The response is never cached (``Cache-Control: no-store``).
    """

    @functools.wraps(view)
    def wrapper(
        request: PatientRequest, ep_ident: str, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        patient = getattr(request, "patient", None)
        response: HttpResponseBase
        if patient is None or patient.clinic.ep_ident.lower() != ep_ident.lower():
            # Not logged in, or logged in at another clinic: that session opens only its own.
            if request.method == "GET":
                request.session[SESSION_NEXT] = request.get_full_path()
            response = redirect("identification:login", ep_ident=ep_ident)
        elif getattr(request, "patient_acting_dropped", False):
            # Whatever this request meant to do, it meant it for the other person: nothing
            # is done, and the home page says whom the patient is now.
            messages.warning(
                request,
                _(
                    "You can no longer act on behalf of the person you chose. "
                    "You are now using the portal for yourself."
                ),
            )
            response = redirect("identification:home", ep_ident=patient.clinic.ep_ident)
        else:
            response = view(request, ep_ident, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return wrapper
