"""The patient's way in and out: the entry link, the clinic's start page, login with BankID or
with password and SMS code, the home page after login, and logout."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from clinics import audit
from clinics import services as clinic_services
from clinics.audit import client_ip
from clinics.converters import parse_id
from clinics.models import Clinic, Patient
from clinics.selectors import access_log as access_log_page
from clinics.selectors import (
    clinic_by_ep_ident,
    may_act_for_list,
    patient_attorney,
    patient_attorneys,
)

from . import oidc, services
from .forms import CodeForm, GiveAttorneyForm, LoginForm, PasswordStartForm, SetPasswordForm
from .models import LoginChallenge
from .oidc import LoginRefused
from .selectors import open_challenge
from .session import (
    LEVEL_HIGH,
    METHOD_BANKID,
    METHOD_SMS,
    SESSION_ACTING_FOR,
    SESSION_MAY_CHOOSE,
    SESSION_NEXT,
    PatientRequest,
    act_for,
    acting_actor,
    auth_level,
    end_patient_session,
    is_acting,
    log_in_patient,
    logged_in_patient,
    patient_required,
    take_requested_page,
)

logger = logging.getLogger(__name__)

SESSION_CHALLENGE = "login_challenge"
SESSION_PERSON = "login_person"


def _bankid_available(clinic: Clinic) -> bool:
    """Offer the BankID button only where the clinic allows it and the provider is set up."""
    return clinic.allow_bankid and oidc.bankid_configured()


def unknown_clinic(request: HttpRequest) -> HttpResponse:
    return render(request, "clinics/unknown_clinic.html", status=404)


def entry(request: HttpRequest) -> HttpResponse:
    """``/Login.aspx?ClinicId=<EP_ident>``: the link clinics put on their own website."""
    ep_ident = next((request.GET[key] for key in request.GET if key.lower() == "clinicid"), None)
    clinic = clinic_by_ep_ident(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    return redirect("identification:start", ep_ident=clinic.ep_ident)


def start(request: HttpRequest, ep_ident: str) -> HttpResponse:
    patient = getattr(request, "patient", None)
    if patient is not None and patient.clinic.ep_ident.lower() == ep_ident.lower():
        clinic = patient.clinic  # read with the patient (active: the session checked it)
    else:
        clinic = clinic_by_ep_ident(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    if clinic.ep_ident != ep_ident:
        return redirect("identification:start", ep_ident=clinic.ep_ident)
    context = {"clinic": clinic, "bankid_available": _bankid_available(clinic)}
    return render(request, "identification/start.html", context)


# Password + SMS code


def _wait_message(error: services.RateLimited) -> str:
    return ngettext(
        "Too many attempts. Please wait %(minutes)d minute and try again.",
        "Too many attempts. Please wait %(minutes)d minutes and try again.",
        error.minutes,
    ) % {"minutes": error.minutes}


def _sms_clinic(ep_ident: str) -> Clinic | None:
    clinic = clinic_by_ep_ident(ep_ident)
    return clinic if clinic is not None and clinic.allow_sms else None


def _remember_challenge(request: HttpRequest, challenge: LoginChallenge, national_id: str) -> None:
    # The session keeps the attempt's token and a keyed hash of the number, never the number.
    request.session[SESSION_CHALLENGE] = challenge.token
    request.session[SESSION_PERSON] = services.person_key(national_id)


def _forget_challenge(request: HttpRequest) -> None:
    request.session.pop(SESSION_CHALLENGE, None)
    request.session.pop(SESSION_PERSON, None)


def _session_challenge(request: HttpRequest, clinic: Clinic) -> LoginChallenge | None:
    return open_challenge(token=request.session.get(SESSION_CHALLENGE), clinic=clinic)


@never_cache
def login(request: HttpRequest, ep_ident: str) -> HttpResponse:
    clinic = _sms_clinic(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge = services.login_start(
                clinic=clinic,
                national_id=form.cleaned_data["national_id"],
                password=form.cleaned_data["password"],
                ip=client_ip(request),
            )
        except services.BadCredentials:
            form.add_error(None, _("Wrong identity number or password."))
        except services.RateLimited as error:
            form.add_error(None, _wait_message(error))
        else:
            _remember_challenge(request, challenge, form.cleaned_data["national_id"])
            return redirect("identification:login_code", ep_ident=clinic.ep_ident)
    context = {"clinic": clinic, "form": form, "bankid_available": _bankid_available(clinic)}
    return render(request, "identification/login.html", context)


@never_cache
def password_start(request: HttpRequest, ep_ident: str) -> HttpResponse:
    """'Ny bruker' and 'Glemt passord': identity number, then a code by SMS."""
    clinic = _sms_clinic(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    form = PasswordStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge = services.password_start(
                clinic=clinic,
                national_id=form.cleaned_data["national_id"],
                ip=client_ip(request),
            )
        except services.RateLimited as error:
            form.add_error(None, _wait_message(error))
        else:
            _remember_challenge(request, challenge, form.cleaned_data["national_id"])
            return redirect("identification:login_code", ep_ident=clinic.ep_ident)
    return render(request, "identification/password_start.html", {"clinic": clinic, "form": form})


@never_cache
def login_code(request: PatientRequest, ep_ident: str) -> HttpResponse:
    clinic = _sms_clinic(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    challenge = _session_challenge(request, clinic)
    if challenge is None:
        messages.info(request, _("Your login attempt has expired. Please start again."))
        return redirect("identification:login", ep_ident=clinic.ep_ident)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.verify_code(challenge=challenge, code=form.cleaned_data["code"])
        except services.CodeRejected as error:
            form.add_error("code", _code_message(error))
        else:
            if challenge.purpose == LoginChallenge.Purpose.SET_PASSWORD:
                return redirect("identification:password_set", ep_ident=clinic.ep_ident)
            try:
                patient = services.finish_login(challenge=challenge)
            except services.CodeRejected as error:
                form.add_error("code", _code_message(error))
            else:
                _forget_challenge(request)
                log_in_patient(request, patient, method=METHOD_SMS)
                return _after_login(request, patient, clinic)
    context = {
        "clinic": clinic,
        "form": form,
        "challenge": challenge,
        "set_password": challenge.purpose == LoginChallenge.Purpose.SET_PASSWORD,
    }
    return render(request, "identification/login_code.html", context)


def _code_message(error: services.CodeRejected) -> str:
    if error.reason == "expired":
        return _("The code has expired. Ask for a new code.")
    if error.reason == "void":
        return _("The code was entered wrong too many times. Ask for a new code.")
    if error.reason == "used":
        return _("The code has already been used. Ask for a new code.")
    return ngettext(
        "Wrong code. You have %(count)d try left.",
        "Wrong code. You have %(count)d tries left.",
        error.tries_left,
    ) % {"count": error.tries_left}


@never_cache
@require_POST
def resend_code(request: HttpRequest, ep_ident: str) -> HttpResponse:
    clinic = _sms_clinic(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    challenge = _session_challenge(request, clinic)
    person = request.session.get(SESSION_PERSON)
    if challenge is None or not person:
        return redirect("identification:login", ep_ident=clinic.ep_ident)
    try:
        services.resend_code(challenge=challenge, person=person, ip=client_ip(request))
    except services.RateLimited as error:
        messages.error(request, _wait_message(error))
    else:
        messages.success(request, _("A new code is on its way. The old code no longer works."))
    return redirect("identification:login_code", ep_ident=clinic.ep_ident)


@never_cache
def password_set(request: HttpRequest, ep_ident: str) -> HttpResponse:
    clinic = _sms_clinic(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    challenge = _session_challenge(request, clinic)
    if challenge is None or not services.can_set_password(challenge):
        messages.info(request, _("Please start again: enter your identity number."))
        return redirect("identification:password_start", ep_ident=clinic.ep_ident)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_password(challenge=challenge, password=form.cleaned_data["password1"])
        except services.CodeRejected:
            return redirect("identification:password_start", ep_ident=clinic.ep_ident)
        _forget_challenge(request)
        messages.success(
            request, _("Your password is saved. Log in with it and a code sent by SMS.")
        )
        return redirect("identification:login", ep_ident=clinic.ep_ident)
    return render(request, "identification/password_set.html", {"clinic": clinic, "form": form})


# BankID (OpenID Connect; the protocol is identification/oidc.py)


@never_cache
@require_GET
def bankid_start(request: HttpRequest, ep_ident: str) -> HttpResponse:
    """The "Log in with BankID" button: off to the provider, remembering the clinic."""
    clinic = clinic_by_ep_ident(ep_ident)
    if clinic is None or not clinic.allow_bankid:
        return unknown_clinic(request)
    if not oidc.bankid_configured():
        logger.error("BankID login is not configured: set the OIDC_* settings (docs/bankid.md)")
        # Not a failed login: the clinic does not offer BankID now, and the page says so.
        return _bankid_page(request, clinic, "not_offered", status=503)
    next_path = oidc.safe_next(request, clinic, request.GET.get("next"))
    return oidc.start_authorization(request, clinic, next_path)


@never_cache
@require_GET
def bankid_callback(request: PatientRequest) -> HttpResponse:
    """The redirect URI: check everything, then log the patient in at the clinic."""
    entry = oidc.take_state(request, request.GET.get("state", ""))
    if entry is None:
        return _refuse(request, None, LoginRefused("state", page="state", status=400))
    clinic = oidc.state_clinic(entry)
    if clinic is None or not clinic.active or not clinic.allow_bankid:
        _audit_refusal(request, clinic, "clinic_unavailable")
        return unknown_clinic(request)
    if oidc.state_expired(entry):
        return _refuse(request, clinic, LoginRefused("state_expired", page="state", status=400))
    error = request.GET.get("error")
    if error:
        return _refuse(request, clinic, oidc.provider_refusal(error))
    code = request.GET.get("code")
    if not code or not entry.get("code_verifier"):
        return _refuse(request, clinic, LoginRefused("missing_code", status=400))
    try:
        patient, level = oidc.identify_patient(request, clinic=clinic, entry=entry, code=code)
    except LoginRefused as refusal:
        return _refuse(request, clinic, refusal)
    log_in_patient(request, patient, method=METHOD_BANKID, level=level)
    next_path = entry.get(oidc.STATE_NEXT)
    if isinstance(next_path, str) and oidc.safe_next(request, clinic, next_path):
        take_requested_page(request, clinic.ep_ident)
        request.session[SESSION_NEXT] = next_path
    return _after_login(request, patient, clinic)


def _after_login(request: PatientRequest, patient: Patient, clinic: Clinic) -> HttpResponse:
    """Where a login goes on: to the chooser of whom to act for when the patient may act for
    someone (and then on), else to the page asked for or the home page. A login again by
    the same patient (BankID for a page that needs it) keeps their choice and goes on."""
    if request.session.get(SESSION_ACTING_FOR) is None and may_act_for_list(
        patient, timezone.localdate()
    ):
        request.session[SESSION_MAY_CHOOSE] = True
        return redirect("identification:choose", ep_ident=clinic.ep_ident)
    return redirect(
        take_requested_page(request, clinic.ep_ident)
        or reverse("identification:home", kwargs={"ep_ident": clinic.ep_ident})
    )


def _audit_refusal(
    request: HttpRequest,
    clinic: Clinic | None,
    reason: str,
    *,
    patient: Patient | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    logger.info("BankID login refused: %s", reason)
    audit.record(
        "patient.login_failed",
        request=request,
        clinic=clinic,
        patient=patient,
        obj=patient,
        details={"method": METHOD_BANKID, "reason": reason, **(extra or {})},
    )


def _refuse(request: HttpRequest, clinic: Clinic | None, refusal: LoginRefused) -> HttpResponse:
    _audit_refusal(request, clinic, refusal.reason, patient=refusal.patient, extra=refusal.details)
    return _bankid_page(request, clinic, refusal.page, status=refusal.status)


_BANKID_TEMPLATES = {
    "level": "identification/bankid_level.html",
    "not_patient": "identification/bankid_not_patient.html",
}


def _bankid_page(
    request: HttpRequest, clinic: Clinic | None, page: str, *, status: int
) -> HttpResponse:
    template = _BANKID_TEMPLATES.get(page, "identification/bankid_failed.html")
    return render(request, template, {"clinic": clinic, "problem": page}, status=status)


# The patient's pages


@require_POST
def logout(request: PatientRequest, ep_ident: str) -> HttpResponse:
    patient = acting_actor(request)  # the logged-in patient, whoever they act for
    end_patient_session(request, reason="logout", patient=patient)
    messages.success(request, _("You are logged out."))
    return redirect("identification:start", ep_ident=ep_ident)


@patient_required
def access_log(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """ "Hvem har sett mine opplysninger": the staff reads of the patient's data and what
    representatives did for them (clinics.selectors.access_log), 50 a page. A parent acting
    for a child sees the child's; a holder of a power of attorney does not see the giver's
    (it covers chosen services, not the log): docs/acting-for-others.md."""
    patient = logged_in_patient(request)
    acting = getattr(request, "patient_acting", None)
    if acting is not None and acting.via != "parent":
        return _not_while_acting(request)
    page = parse_id(request.GET.get("page")) or 1
    entries, older = access_log_page(patient, page=page)
    context = {
        "clinic": patient.clinic,
        "entries": entries,
        "page": page,
        "older": page + 1 if older else None,
        "newer": page - 1 if page > 1 else None,
    }
    return render(request, "identification/access_log.html", context)


@patient_required
def home(request: PatientRequest, ep_ident: str) -> HttpResponse:
    patient = logged_in_patient(request)
    clinic = patient.clinic
    acting = getattr(request, "patient_acting", None)
    context = {
        "clinic": clinic,
        "bankid_available": _bankid_available(clinic),
        "actor": acting_actor(request),
        "acting": acting,
        "subject": patient,
    }
    return render(request, "identification/home.html", context)


# Acting for another (docs/acting-for-others.md): the choice is the session's
# (identification.session); this page makes it.


@patient_required
def choose(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """ "Hvem vil du bruke tjenestene for?": oneself, or one of the people the logged-in
    patient may act for today (clinics.selectors.may_act_for_list). A POST with anyone
    else's id changes nothing and answers 404."""
    actor = acting_actor(request)
    assert actor is not None  # noqa: S101 - @patient_required lets only a patient in
    people = may_act_for_list(actor, timezone.localdate())
    if request.method == "POST":
        chosen = request.POST.get("person", "")
        if chosen == "self":
            act_for(request, None)
        else:
            person_id = parse_id(chosen)
            found = next((r.patient for r in people if r.patient.pk == person_id), None)
            if found is None:
                raise Http404
            act_for(request, found)
        request.session[SESSION_MAY_CHOOSE] = True
        return redirect(
            take_requested_page(request, actor.clinic.ep_ident)
            or reverse("identification:home", kwargs={"ep_ident": actor.clinic.ep_ident})
        )
    context = {
        "clinic": actor.clinic,
        "actor": actor,
        "people": people,
        "current": logged_in_patient(request).pk,
    }
    return render(request, "identification/choose.html", context)


def _not_while_acting(request: PatientRequest) -> HttpResponse:
    """The answer of a page that is the logged-in patient's own business (their powers of
    attorney; a giver's access log) while they act for someone else: switch first."""
    clinic = logged_in_patient(request).clinic
    return render(request, "identification/not_while_acting.html", {"clinic": clinic}, status=403)


# Powers of attorney (docs/acting-for-others.md): the rules are clinics.selectors', the
# writes clinics.services'; these views parse, ask and render.


@patient_required
def attorneys(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """The powers of attorney the patient has given and holds, each with an "End" button.
    Only for oneself: while acting for another person it refuses, as the two pages after it
    do (nobody gives or ends a power of attorney on someone else's behalf)."""
    if is_acting(request):
        return _not_while_acting(request)
    patient = logged_in_patient(request)
    open_ones = patient_attorneys(patient, timezone.localdate())
    context = {
        "clinic": patient.clinic,
        "given": [a for a in open_ones if a.giver_id == patient.pk],
        "received": [a for a in open_ones if a.holder_id == patient.pk],
    }
    return render(request, "identification/attorneys.html", context)


#: Where on the form each refusal of ``power_of_attorney_give`` is shown (None: above it).
_ATTORNEY_ERROR_FIELD: dict[str, str | None] = {
    "services": "services",
    "valid_to": "valid_to",
    "giver_age": None,
    "giver_confidential": None,
}


@patient_required
def attorney_give(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """Give a power of attorney: only after a BankID login (the patient's own consent at the
    highest level, as Helsenorge asks for it)."""
    if is_acting(request):
        return _not_while_acting(request)
    patient = logged_in_patient(request)
    clinic = patient.clinic
    context: dict[str, Any] = {"clinic": clinic}
    if auth_level(request) != LEVEL_HIGH:
        if _bankid_available(clinic):
            base = reverse("identification:bankid_start", kwargs={"ep_ident": ep_ident})
            context["bankid_url"] = f"{base}?{urlencode({'next': request.path})}"
        return render(request, "identification/attorney_needs_bankid.html", context)
    form = GiveAttorneyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            clinic_services.power_of_attorney_give(
                giver=patient,
                holder_national_id=form.cleaned_data["national_id"],
                services=form.cleaned_data["services"],
                valid_to=form.cleaned_data["valid_to"],
                request=request,
            )
        except clinic_services.AttorneyRefused as refused:
            form.add_error(_ATTORNEY_ERROR_FIELD.get(refused.code, "national_id"), refused.message)
        else:
            messages.success(request, _("The power of attorney is given."))
            return redirect("identification:attorneys", ep_ident=clinic.ep_ident)
    context["form"] = form
    return render(request, "identification/attorney_give.html", context)


@patient_required
def attorney_end(request: PatientRequest, ep_ident: str, attorney_id: int) -> HttpResponse:
    """End a power of attorney the patient gave or holds: a confirmation page, then a POST.
    Anyone else's reads as missing (404)."""
    if is_acting(request):
        return _not_while_acting(request)
    patient = logged_in_patient(request)
    attorney = patient_attorney(patient, attorney_id)
    if attorney is None:
        raise Http404
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        clinic_services.power_of_attorney_end(
            patient=patient, attorney_id=attorney.pk, request=request
        )
        messages.success(request, _("The power of attorney is ended."))
        return redirect("identification:attorneys", ep_ident=patient.clinic.ep_ident)
    context = {
        "clinic": patient.clinic,
        "attorney": attorney,
        "given": attorney.giver_id == patient.pk,
    }
    return render(request, "identification/attorney_end.html", context)
