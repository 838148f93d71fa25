"""Patient-facing clinic pages: the entry link, the start page, login and the home page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import identification as ident
from .audit import client_ip
from .forms import CodeForm, LoginForm, PasswordStartForm, SetPasswordForm
from .models import Clinic, LoginChallenge
from .patient_session import end_patient_session, log_in_patient, patient_required
from .selectors import clinic_by_ep_ident

SESSION_CHALLENGE = "login_challenge"
SESSION_PERSON = "login_person"


def _bankid_available(clinic: Clinic) -> bool:
    """Offer the BankID button only where the clinic allows it and the provider is set up."""
    from .oidc import bankid_configured  # oidc imports this module

    return clinic.allow_bankid and bankid_configured()


def unknown_clinic(request: HttpRequest) -> HttpResponse:
    return render(request, "clinics/unknown_clinic.html", status=404)


def entry(request: HttpRequest) -> HttpResponse:
    """``/Login.aspx?ClinicId=<EP_ident>``: the link clinics put on their own website."""
    ep_ident = next(
        (value for key, value in request.GET.items() if key.lower() == "clinicid"), None
    )
    clinic = clinic_by_ep_ident(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    return redirect("clinics:start", ep_ident=clinic.ep_ident)


def start(request: HttpRequest, ep_ident: str) -> HttpResponse:
    patient = getattr(request, "patient", None)
    if patient is not None and patient.clinic.ep_ident.lower() == ep_ident.lower():
        clinic = patient.clinic  # read with the patient (active: the session checked it)
    else:
        clinic = clinic_by_ep_ident(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    if clinic.ep_ident != ep_ident:
        return redirect("clinics:start", ep_ident=clinic.ep_ident)
    context = {"clinic": clinic, "bankid_available": _bankid_available(clinic)}
    return render(request, "clinics/start.html", context)


# Password + SMS code


def _wait_message(error: ident.RateLimited) -> str:
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
    request.session[SESSION_PERSON] = ident.person_key(national_id)


def _forget_challenge(request: HttpRequest) -> None:
    request.session.pop(SESSION_CHALLENGE, None)
    request.session.pop(SESSION_PERSON, None)


def _session_challenge(request: HttpRequest, clinic: Clinic) -> LoginChallenge | None:
    token = request.session.get(SESSION_CHALLENGE)
    if not token:
        return None
    return (
        LoginChallenge.objects.select_related("patient", "clinic")
        .filter(token=token, clinic=clinic, finished_at__isnull=True)
        .first()
    )


@never_cache
def login(request: HttpRequest, ep_ident: str) -> HttpResponse:
    clinic = _sms_clinic(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge = ident.login_start(
                clinic=clinic,
                national_id=form.cleaned_data["national_id"],
                password=form.cleaned_data["password"],
                ip=client_ip(request),
            )
        except ident.BadCredentials:
            form.add_error(None, _("Wrong identity number or password."))
        except ident.RateLimited as error:
            form.add_error(None, _wait_message(error))
        else:
            _remember_challenge(request, challenge, form.cleaned_data["national_id"])
            return redirect("clinics:login_code", ep_ident=clinic.ep_ident)
    context = {"clinic": clinic, "form": form, "bankid_available": _bankid_available(clinic)}
    return render(request, "clinics/login.html", context)


@never_cache
def password_start(request: HttpRequest, ep_ident: str) -> HttpResponse:
    """'Ny bruker' and 'Glemt passord': identity number, then a code by SMS."""
    clinic = _sms_clinic(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    form = PasswordStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge = ident.password_start(
                clinic=clinic,
                national_id=form.cleaned_data["national_id"],
                ip=client_ip(request),
            )
        except ident.RateLimited as error:
            form.add_error(None, _wait_message(error))
        else:
            _remember_challenge(request, challenge, form.cleaned_data["national_id"])
            return redirect("clinics:login_code", ep_ident=clinic.ep_ident)
    return render(request, "clinics/password_start.html", {"clinic": clinic, "form": form})


@never_cache
def login_code(request: HttpRequest, ep_ident: str) -> HttpResponse:
    clinic = _sms_clinic(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    challenge = _session_challenge(request, clinic)
    if challenge is None:
        messages.info(request, _("Your login attempt has expired. Please start again."))
        return redirect("clinics:login", ep_ident=clinic.ep_ident)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ident.verify_code(challenge=challenge, code=form.cleaned_data["code"])
        except ident.CodeRejected as error:
            form.add_error("code", _code_message(error))
        else:
            if challenge.purpose == LoginChallenge.Purpose.SET_PASSWORD:
                return redirect("clinics:password_set", ep_ident=clinic.ep_ident)
            try:
                patient = ident.finish_login(challenge=challenge)
            except ident.CodeRejected as error:
                form.add_error("code", _code_message(error))
            else:
                _forget_challenge(request)
                log_in_patient(request, patient, method="sms")
                return redirect("clinics:home", ep_ident=clinic.ep_ident)
    context = {
        "clinic": clinic,
        "form": form,
        "challenge": challenge,
        "sent_to": ident.masked_mobile_hint(challenge),
        "set_password": challenge.purpose == LoginChallenge.Purpose.SET_PASSWORD,
    }
    return render(request, "clinics/login_code.html", context)


def _code_message(error: ident.CodeRejected) -> str:
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
        return redirect("clinics:login", ep_ident=clinic.ep_ident)
    try:
        ident.resend_code(challenge=challenge, person=person, ip=client_ip(request))
    except ident.RateLimited as error:
        messages.error(request, _wait_message(error))
    else:
        messages.success(request, _("A new code is on its way. The old code no longer works."))
    return redirect("clinics:login_code", ep_ident=clinic.ep_ident)


@never_cache
def password_set(request: HttpRequest, ep_ident: str) -> HttpResponse:
    clinic = _sms_clinic(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    challenge = _session_challenge(request, clinic)
    if challenge is None or not ident.can_set_password(challenge):
        messages.info(request, _("Please start again: enter your identity number."))
        return redirect("clinics:password_start", ep_ident=clinic.ep_ident)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ident.set_password(challenge=challenge, password=form.cleaned_data["password1"])
        except ident.CodeRejected:
            return redirect("clinics:password_start", ep_ident=clinic.ep_ident)
        _forget_challenge(request)
        messages.success(
            request, _("Your password is saved. Log in with it and a code sent by SMS.")
        )
        return redirect("clinics:login", ep_ident=clinic.ep_ident)
    return render(request, "clinics/password_set.html", {"clinic": clinic, "form": form})


# The patient's pages


@require_POST
def logout(request: HttpRequest, ep_ident: str) -> HttpResponse:
    patient = getattr(request, "patient", None)
    end_patient_session(request, reason="logout", patient=patient)
    messages.success(request, _("You are logged out."))
    return redirect("clinics:start", ep_ident=ep_ident)


@patient_required
def home(request: HttpRequest, ep_ident: str) -> HttpResponse:
    clinic = request.patient.clinic
    context = {"clinic": clinic, "bankid_available": _bankid_available(clinic)}
    return render(request, "clinics/home.html", context)
