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
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from clinics.dates import long_date
from identification.session import (
    LEVEL_HIGH,
    PatientRequest,
    auth_level,
    logged_in_patient,
    patient_required,
)

from . import services
from .forms import NewConsultationForm, ReplyForm
from .models import MAX_ATTACHMENTS, Attachment, Consultation, EconsultSettings, Message
from .selectors import (
    Recipient,
    econsult_settings,
    open_limit_reached,
    patient_attachment,
    patient_consultation,
    patient_consultations,
    recipients,
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
    form = NewConsultationForm(
        request.POST or None,
        request.FILES or None,
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
        + f"?p={consultation.practitioner_id}",
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
