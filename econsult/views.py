"""The patient's pages: "Ny eKonsultasjon", "Mine meldinger", a thread, an attachment.

Thin views: parse, ask the selectors or call one service, render. Who may receive a
patient's eConsultation is decided by ``delegation.selectors`` alone, capacity and the
answer-by date by ``econsult.selectors``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.dates import long_date
from delegation.selectors import practitioners_for
from identification.session import (
    LEVEL_HIGH,
    PatientRequest,
    auth_level,
    logged_in_patient,
    patient_required,
)

from . import services
from .forms import NewConsultationForm, ReceptionForm, RenewalForm, ReplyForm
from .models import (
    MAX_ATTACHMENTS,
    Attachment,
    Consultation,
    EconsultSettings,
    Message,
)
from .selectors import (
    MedicationOption,
    Recipient,
    econsult_settings,
    looks_clinical,
    open_limit_reached,
    patient_attachment,
    patient_consultation,
    patient_consultations,
    patient_renewal,
    patient_renewals,
    reception_offered,
    recipients,
    renewal_options,
    submitted_consultation,
    submitted_renewal,
)


def _long_date(day: Any) -> str:
    return long_date(day) if day else ""


def _high(request: PatientRequest) -> bool:
    return auth_level(request) == LEVEL_HIGH


def _bankid_url(request: PatientRequest, ep_ident: str) -> str:
    """The BankID login that brings the patient back to this page."""
    base = reverse("identification:bankid_start", kwargs={"ep_ident": ep_ident})
    return f"{base}?{urlencode({'next': request.get_full_path()})}"


def _may_read_answers(request: PatientRequest, rules: EconsultSettings) -> bool:
    return _high(request) or not rules.answer_requires_bankid


def _recipient_label(recipient: Recipient) -> str:
    capacity = recipient.capacity
    if capacity.available:
        return _("answer by %(date)s") % {"date": _long_date(capacity.answer_by)}
    if capacity.opens_on:
        return _("full – opens again %(date)s") % {"date": _long_date(capacity.opens_on)}
    return _("not taking eConsultations at the moment")


@patient_required
def new(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """ "Ny eKonsultasjon": choose a practitioner, write, attach, accept the fee, send."""
    patient = logged_in_patient(request)
    clinic = patient.clinic
    rules = econsult_settings(clinic)
    context: dict[str, Any] = {
        "clinic": clinic,
        "rules": rules,
        "booking_url": reverse("booking:book", kwargs={"ep_ident": ep_ident}),
        "max_attachments": MAX_ATTACHMENTS,
    }
    if clinic.econsult_requires_bankid and not _high(request):
        context["bankid_url"] = _bankid_url(request, ep_ident)
        return render(request, "econsult/needs_bankid.html", context)
    key = _submission_key(request.POST.get("key")) if request.method == "POST" else ""
    earlier = submitted_consultation(patient, key)
    if earlier is not None:  # a double submit: the first one went through
        return redirect("econsult:thread", ep_ident=ep_ident, consultation_id=earlier.pk)
    offered = recipients(patient, rules)
    available = [r for r in offered if r.capacity.available]
    context.update(
        {
            "recipients": [(r, _recipient_label(r)) for r in offered],
            "any_available": bool(available),
            "offered": bool(offered),
        }
    )
    if not offered:
        return render(request, "econsult/new.html", context)
    if open_limit_reached(patient, rules):
        context["open_limit"] = rules.max_open_per_patient
        return render(request, "econsult/new.html", context)
    draft = request.session.pop(SESSION_DRAFT, None) if request.method == "GET" else None
    form = NewConsultationForm(
        request.POST or None,
        request.FILES or None,
        initial=draft if isinstance(draft, dict) else None,
        choices=[(r.practitioner_id, r.name) for r in available],
        fee_nok=rules.fee_nok,
        max_length=rules.message_max_length,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                consultation = services.consultation_send(
                    patient=patient,
                    practitioner_id=data["practitioner"],
                    subject=data["subject"],
                    body=data["body"],
                    files=data["attachments"],
                    fee_accepted=data.get("accept_fee", False),
                    submission_key=_submission_key(request.POST.get("key")),
                    request=request,
                )
            except services.CapacityFull as full:
                status = 409
                opens = full.capacity.opens_on
                form.add_error(
                    "practitioner",
                    _(
                        "This practitioner takes no more eConsultations today. "
                        "It opens again %(date)s."
                    )
                    % {"date": _long_date(opens)}
                    if opens
                    else _("This practitioner takes no eConsultations at the moment."),
                )
            except services.OpenLimitReached:
                status = 409
                form.add_error(
                    None,
                    _("You already have %(count)s eConsultations waiting for an answer.")
                    % {"count": rules.max_open_per_patient},
                )
            except services.NotOffered:
                form.add_error("practitioner", _("Choose one of the practitioners listed."))
            except services.FeeNotAccepted:
                form.add_error("accept_fee", _("Accept the fee to send the eConsultation."))
            else:
                messages.success(
                    request,
                    _("Your eConsultation is sent. You will get an answer by %(date)s.")
                    % {"date": _long_date(consultation.answer_by)},
                )
                return redirect(
                    "econsult:thread", ep_ident=ep_ident, consultation_id=consultation.pk
                )
    context.update({"form": form, "key": uuid.uuid4().hex})
    return render(request, "econsult/new.html", context, status=status)


#: A message to the reception that the patient chose to send as an eConsultation instead:
#: its subject and text prefill "Ny eKonsultasjon".
SESSION_DRAFT = "econsult_draft"


@patient_required
def reception(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """ "Kontakt ekspedisjonen": an administrative message to the reception, not for medical
    questions. A text that reads like one is offered to go as an eConsultation instead."""
    patient = logged_in_patient(request)
    clinic = patient.clinic
    rules = econsult_settings(clinic)
    context: dict[str, Any] = {"clinic": clinic, "offered": reception_offered(patient)}
    if not context["offered"]:
        return render(request, "econsult/reception.html", context)
    key = _submission_key(request.POST.get("key")) if request.method == "POST" else ""
    earlier = submitted_consultation(patient, key)
    if earlier is not None:  # a double submit: the first one went through
        return redirect("econsult:thread", ep_ident=ep_ident, consultation_id=earlier.pk)
    if open_limit_reached(patient, rules, "reception"):
        context["open_limit"] = rules.max_open_per_patient
        return render(request, "econsult/reception.html", context)
    form = ReceptionForm(
        request.POST or None, request.FILES or None, max_length=rules.message_max_length
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            text = f"{data['subject']} {data['body']}"
            if request.POST.get("as") == "econsult":
                request.session[SESSION_DRAFT] = {"subject": data["subject"], "body": data["body"]}
                return redirect("econsult:new", ep_ident=ep_ident)
            if request.POST.get("as") != "reception" and looks_clinical(
                text, translation.get_language()
            ):
                status = 200
                context["looks_clinical"] = True
            else:
                try:
                    consultation = services.reception_send(
                        patient=patient,
                        subject=data["subject"],
                        body=data["body"],
                        files=data["attachments"],
                        submission_key=key,
                        request=request,
                    )
                except services.OpenLimitReached:
                    status = 409
                    form.add_error(
                        None,
                        _("You already have %(count)s messages waiting for an answer.")
                        % {"count": rules.max_open_per_patient},
                    )
                except services.NotOffered:
                    raise Http404 from None
                else:
                    messages.success(
                        request,
                        _(
                            "Your message is sent to the reception. You get an SMS when it is "
                            "answered."
                        ),
                    )
                    return redirect(
                        "econsult:thread", ep_ident=ep_ident, consultation_id=consultation.pk
                    )
    context.update({"form": form, "key": key or uuid.uuid4().hex})
    return render(request, "econsult/reception.html", context, status=status)


def _submission_key(value: str | None) -> str:
    value = (value or "").strip()
    return value if len(value) == 32 and all(c in "0123456789abcdef" for c in value) else ""


@dataclass(frozen=True)
class ThreadRow:
    consultation: Consultation
    sent: str


@patient_required
def mine(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """ "Mine meldinger": every thread with its status (two queries, whatever their number)."""
    patient = logged_in_patient(request)
    rows = [
        ThreadRow(c, long_date(timezone.localtime(c.created), weekday=False))
        for c in patient_consultations(patient)
    ]
    return render(
        request,
        "econsult/mine.html",
        {"clinic": patient.clinic, "rows": rows},
    )


@patient_required
def thread(request: PatientRequest, ep_ident: str, consultation_id: int) -> HttpResponse:
    """One thread: every message; the clinic's answers only after BankID where the clinic
    demands it; reply while it is open."""
    patient = logged_in_patient(request)
    consultation = patient_consultation(patient, consultation_id)
    if consultation is None:
        raise Http404
    rules = econsult_settings(patient.clinic)
    may_read = _may_read_answers(request, rules)
    form = ReplyForm(
        request.POST or None, request.FILES or None, max_length=rules.message_max_length
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.consultation_reply(
                    patient=patient,
                    consultation_id=consultation.pk,
                    body=form.cleaned_data["body"],
                    files=form.cleaned_data["attachments"],
                    request=request,
                )
            except services.ConsultationClosed:
                status = 409
                form.add_error(None, _("This conversation is closed. Send a new eConsultation."))
            except services.NotFound:
                raise Http404 from None
            else:
                messages.success(request, _("Your message is sent."))
                return redirect(
                    "econsult:thread", ep_ident=ep_ident, consultation_id=consultation.pk
                )
    thread_messages: list[Message] = list(consultation.messages.all())
    hidden = 0
    if may_read:
        services.consultation_read_by_patient(
            patient=patient, consultation=consultation, request=request
        )
    else:
        hidden = sum(1 for m in thread_messages if m.author == Message.Author.CLINIC)
        thread_messages = [m for m in thread_messages if m.author == Message.Author.PATIENT]
    context = {
        "clinic": patient.clinic,
        "consultation": consultation,
        "thread_messages": thread_messages,
        "hidden_answers": hidden,
        "bankid_url": _bankid_url(request, ep_ident) if hidden else "",
        "form": form if consultation.is_open else None,
        "booking_url": reverse("booking:book", kwargs={"ep_ident": ep_ident})
        + (f"?p={consultation.practitioner_id}" if consultation.practitioner_id else ""),
        "answer_by": _long_date(consultation.answer_by),
    }
    return render(request, "econsult/thread.html", context, status=status)


def attachment_response(attachment: Attachment) -> FileResponse:
    """The file as a download: never shown inline, its checked type, no sniffing, no cache."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@patient_required
def attachment(request: PatientRequest, ep_ident: str, attachment_id: int) -> HttpResponseBase:
    patient = logged_in_patient(request)
    found = patient_attachment(patient, attachment_id)
    if found is None:
        raise Http404
    if found.message.author == Message.Author.CLINIC and not _may_read_answers(
        request, econsult_settings(patient.clinic)
    ):
        raise Http404
    return attachment_response(found)


# Prescription renewal ("Reseptfornyelse")

_NOT_RENEWABLE = {
    "addictive": gettext_lazy(
        "A- and B-preparations are never renewed online. Book an appointment or call the clinic."
    ),
    "open": gettext_lazy("You have asked for this already; the practitioner has not answered yet."),
}


@patient_required
def renewal(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """ "Reseptfornyelse": tick the medicines to renew (from the record, never typed in),
    optionally a note and a pharmacy, send; the earlier requests with each medicine's
    status below."""
    patient = logged_in_patient(request)
    clinic = patient.clinic
    rules = econsult_settings(clinic)
    key = _submission_key(request.POST.get("key")) if request.method == "POST" else ""
    earlier = submitted_renewal(patient, key)
    if earlier is not None:  # a double submit: the first one went through
        return redirect("econsult:renewal_detail", ep_ident=ep_ident, request_id=earlier.pk)
    practitioners = practitioners_for(patient, "renewal")
    options = renewal_options(patient, rules)
    renewable = [o for o in options if o.renewable]
    form = RenewalForm(
        request.POST or None,
        practitioners=[(p.pk, p.name) for p in practitioners],
        medications=[(o.medication.pk, str(o.medication)) for o in renewable],
    )
    status = 200
    if request.method == "POST" and practitioners:
        status = 400
        if form.is_valid():
            try:
                made = services.renewal_request(
                    patient=patient,
                    practitioner_id=form.cleaned_data["practitioner"],
                    medication_ids=form.cleaned_data["medications"],
                    note=form.cleaned_data["note"],
                    pharmacy=form.cleaned_data["pharmacy"],
                    submission_key=_submission_key(request.POST.get("key")),
                    request=request,
                )
            except services.RenewalRefused:
                status = 409
                form.add_error("medications", _NOT_RENEWABLE["open"])
            except (services.NotOffered, services.NotFound):
                form.add_error(None, _("Choose among the medicines and practitioners listed."))
            else:
                messages.success(
                    request,
                    _("Your request is sent. You get an SMS when the practitioner has answered."),
                )
                return redirect("econsult:renewal_detail", ep_ident=ep_ident, request_id=made.pk)
    booking_url = reverse("booking:book", kwargs={"ep_ident": ep_ident})
    context = {
        "clinic": clinic,
        "form": form,
        "key": uuid.uuid4().hex,
        "offered": bool(practitioners),
        "options": [(o, _why_not(o)) for o in options],
        "any_renewable": bool(renewable),
        "booking_url": booking_url,
        "earlier": patient_renewals(patient),
    }
    return render(request, "econsult/renewal.html", context, status=status)


def _why_not(option: MedicationOption) -> str:
    if option.why_not == "too_early":
        return _("You can ask for a renewal from %(date)s.") % {"date": _long_date(option.from_day)}
    return str(_NOT_RENEWABLE.get(option.why_not, ""))


@patient_required
def renewal_detail(request: PatientRequest, ep_ident: str, request_id: int) -> HttpResponse:
    """One renewal request: each medicine's status, the practitioner's reasons, and a link to
    book with the practitioner where they asked for an appointment."""
    patient = logged_in_patient(request)
    found = patient_renewal(patient, request_id)
    if found is None:
        raise Http404
    services.renewal_read_by_patient(patient=patient, renewal=found)
    book = reverse("booking:book", kwargs={"ep_ident": ep_ident})
    return render(
        request,
        "econsult/renewal_detail.html",
        {
            "clinic": patient.clinic,
            "renewal": found,
            "items": list(found.items.all()),
            "booking_url": f"{book}?p={found.practitioner_id}",
            "sent": long_date(timezone.localtime(found.created), weekday=False),
        },
    )
