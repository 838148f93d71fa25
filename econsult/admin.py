"""The clinic's side: the eConsultation inbox, the settings and each practitioner's capacity.

The inbox is a page of its own (``/admin/econsult/inbox/``), not a changelist: open
consultations by answer-by date, oldest first, overdue marked and unread bold; a
consultation's page shows the thread (every staff read is audited), and lets staff answer,
close, or ask the patient to book an appointment; a clinic administrator can move it to
another practitioner of the clinic. Another clinic's consultation answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics import audit
from clinics.admin_base import ClinicScopedAdmin, ClinicStaffPage, staff_clinic_id
from clinics.converters import parse_id
from clinics.models import Clinic, Practitioner, User

from . import services
from .forms import AnswerForm, ReassignForm
from .models import CapacityPeriod, Consultation, EconsultSettings, Inbox, RenewalItem
from .selectors import (
    InboxFilter,
    inbox,
    is_overdue,
    local_today,
    may_reassign,
    renewal_inbox,
    staff_attachment,
    staff_consultation,
    staff_renewal,
)
from .views import attachment_response


@admin.register(EconsultSettings)
class EconsultSettingsAdmin(ClinicScopedAdmin):
    list_display = (
        "clinic",
        "answer_days",
        "daily_cap",
        "message_max_length",
        "max_open_per_patient",
        "fee_nok",
        "answer_requires_bankid",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # One row per clinic: a clinic administrator adds it once, then edits it.
        clinic_id = staff_clinic_id(request)
        if (
            clinic_id is not None
            and not request.user.is_superuser
            and EconsultSettings.objects.filter(clinic_id=clinic_id).exists()
        ):
            return False
        return super().has_add_permission(request)


@admin.register(CapacityPeriod)
class CapacityPeriodAdmin(ClinicScopedAdmin):
    clinic_lookup = "practitioner__clinic"
    list_display = ("practitioner", "first_day", "last_day", "daily_cap")
    list_filter = ("practitioner",)
    list_select_related = ("practitioner",)
    date_hierarchy = "first_day"


@dataclass(frozen=True)
class InboxRow:
    consultation: Consultation
    overdue: bool
    sent: str
    answer_by: str


def _staff(request: HttpRequest) -> User:
    """The staff user of a page the admin's login and permission block let through."""
    return cast(User, request.user)


def _clinic_id(request: HttpRequest) -> int:
    """The clinic whose inbox this is; a superuser chooses one with ``?clinic=``."""
    if request.user.is_superuser:
        wanted = parse_id(request.GET.get("clinic"))
        if wanted is None:
            first = Clinic.objects.order_by("name", "pk").values_list("pk", flat=True).first()
            if first is None:
                raise Http404
            return first
        return wanted
    clinic_id = staff_clinic_id(request)
    if clinic_id is None:
        raise Http404
    return clinic_id


def _filters(request: HttpRequest, practitioner_ids: set[int]) -> tuple[int | None, bool, str]:
    """The inbox's filters from the query: whose threads (a practitioner of the clinic,
    ``all``, or ``reception``; by default the staff member's own practitioner, or the
    reception for a reception member), and open or closed ones. Another clinic's
    practitioner answers 404."""
    raw = request.GET.get("practitioner")
    staff = _staff(request)
    own = staff.practitioner_id
    reception = raw == "reception" or (not raw and staff.is_reception and own is None)
    chosen: int | None = own
    if raw == "all" or reception:
        chosen = None
    elif raw:
        chosen = parse_id(raw)
        if chosen not in practitioner_ids:
            raise Http404
    show = InboxFilter.CLOSED if request.GET.get("show") == "closed" else InboxFilter.OPEN
    return chosen, reception, show


def _decisions(request: HttpRequest, waiting: list[RenewalItem]) -> dict[int, services.Decision]:
    decided = {}
    for item in waiting:
        status = request.POST.get(f"decision-{item.pk}", "")
        if status not in {
            RenewalItem.Status.APPROVED,
            RenewalItem.Status.REJECTED,
            RenewalItem.Status.NEEDS_APPOINTMENT,
        }:
            continue
        reason = request.POST.get(f"reason-{item.pk}", "")
        if status == RenewalItem.Status.REJECTED and reason not in RenewalItem.Reason.values:
            reason = RenewalItem.Reason.OTHER
        comment = " ".join(request.POST.get(f"comment-{item.pk}", "").split())[:1000]
        decided[item.pk] = services.Decision(status=status, reason=reason, comment=comment)
    return decided


@admin.register(Inbox)
class InboxAdmin(ClinicStaffPage):
    staff_may = ("view", "change")

    def get_urls(self) -> list:
        view = self.page_view
        return [
            path("", view(self.inbox_view), name=self.page_url_name()),
            path(
                "<int:consultation_id>/", view(self.detail_view), name=self.page_url_name("detail")
            ),
            path(
                "file/<int:attachment_id>/",
                view(self.attachment_view),
                name=self.page_url_name("file"),
            ),
            path("renewals/", view(self.renewals_view), name=self.page_url_name("renewals")),
            path(
                "renewals/<int:request_id>/",
                view(self.renewal_view),
                name=self.page_url_name("renewal"),
            ),
        ]

    def inbox_view(self, request: HttpRequest) -> HttpResponse:
        clinic_id = _clinic_id(request)
        practitioners = list(
            Practitioner.objects.filter(clinic_id=clinic_id).order_by("name", "pk")
        )
        chosen, reception, show = _filters(request, {p.pk for p in practitioners})
        today = local_today()
        found = inbox(
            clinic_id,
            practitioner_id=chosen,
            show=show,
            page=parse_id(request.GET.get("page")) or 1,
            reception=reception,
        )
        query = request.GET.copy()
        query.pop("page", None)
        rows = [
            InboxRow(
                c,
                is_overdue(c, today),
                formats.date_format(c.created, "SHORT_DATETIME_FORMAT"),
                formats.date_format(c.answer_by, "SHORT_DATE_FORMAT"),
            )
            for c in found.rows
        ]
        # The list shows subjects and patients' names: a read of the clinic's consultations.
        audit.record(
            "econsult.inbox_viewed",
            request=request,
            clinic=Clinic(pk=clinic_id),
            details={
                "show": show,
                "practitioner": "reception" if reception else chosen,
                "rows": len(found.rows),
            },
            fetch_pk=False,
        )
        context = self.page_context(
            request,
            title=_("eConsultation inbox"),
            rows=rows,
            found=found,
            reception=reception,
            page_query=query.urlencode(),
            practitioners=practitioners,
            chosen=chosen,
            show=show,
            clinic=Clinic.objects.filter(pk=clinic_id).first(),
            clinics=Clinic.objects.order_by("name", "pk") if request.user.is_superuser else None,
            detail_url_name=f"admin:{self.page_url_name('detail')}",
        )
        return TemplateResponse(request, "admin/econsult/inbox.html", context)

    def _detail_url(self, consultation_id: int) -> str:
        return reverse(
            f"admin:{self.page_url_name('detail')}", kwargs={"consultation_id": consultation_id}
        )

    def detail_view(self, request: HttpRequest, consultation_id: int) -> HttpResponse:
        consultation = staff_consultation(_staff(request), consultation_id)
        if consultation is None:
            raise Http404
        answer_form = AnswerForm()
        choices = [
            (p.pk, p.name)
            for p in Practitioner.objects.filter(clinic_id=consultation.clinic_id).order_by(
                "name", "pk"
            )
        ]
        reassign_form = ReassignForm(
            choices=choices, initial={"practitioner": consultation.practitioner_id}
        )
        status = 200
        if request.method == "POST":
            outcome = self._act(request, consultation, choices)
            if isinstance(outcome, HttpResponse):
                return outcome
            answer_form, reassign_form = outcome
            status = 400
        # Every page that shows the thread is a read (audited; the first marks it read).
        services.consultation_open(
            staff=_staff(request), consultation=consultation, request=request
        )
        context = self.page_context(
            request,
            title=gettext("eConsultation #%(id)s") % {"id": consultation.pk},
            consultation=consultation,
            thread_messages=list(consultation.messages.all()),
            overdue=is_overdue(consultation),
            answer_form=answer_form,
            # A reception message may be routed to a practitioner by anyone who reads it.
            reassign_form=reassign_form
            if consultation.kind == "reception"
            or may_reassign(_staff(request))
            or request.user.is_superuser
            else None,
            inbox_url=reverse(f"admin:{self.page_url_name()}"),
            file_url_name=f"admin:{self.page_url_name('file')}",
        )
        return TemplateResponse(request, "admin/econsult/detail.html", context, status=status)

    def _act(
        self, request: HttpRequest, consultation: Consultation, choices: list[tuple[int, str]]
    ) -> HttpResponse | tuple[AnswerForm, ReassignForm]:
        action = request.POST.get("action", "")
        answer_form = AnswerForm()
        reassign_form = ReassignForm(choices=choices)
        done = None
        try:
            if action in {"answer", "answer_close", "offer_booking"}:
                answer_form = AnswerForm(request.POST)
                if answer_form.is_valid():
                    services.consultation_answer(
                        staff=_staff(request),
                        consultation_id=consultation.pk,
                        body=answer_form.cleaned_data["body"],
                        close=action == "answer_close",
                        offer_booking=action == "offer_booking",
                        request=request,
                    )
                    done = {
                        "answer": gettext("The answer is sent. The patient gets an SMS."),
                        "answer_close": gettext(
                            "The answer is sent and the conversation closed. The patient gets "
                            "an SMS."
                        ),
                        "offer_booking": gettext(
                            "The patient is asked to book an appointment and gets an SMS."
                        ),
                    }[action]
            elif action == "close":
                services.consultation_close(
                    staff=_staff(request), consultation_id=consultation.pk, request=request
                )
                done = gettext("The conversation is closed.")
            elif action in {"convert", "reassign"}:
                # A reception message becomes an eConsultation; an eConsultation moves.
                move, moved = {
                    "convert": (
                        services.reception_convert,
                        gettext("The message is now an eConsultation to the practitioner."),
                    ),
                    "reassign": (
                        services.consultation_reassign,
                        gettext("The eConsultation is moved."),
                    ),
                }[action]
                reassign_form = ReassignForm(request.POST, choices=choices)
                if reassign_form.is_valid():
                    move(
                        staff=_staff(request),
                        consultation_id=consultation.pk,
                        practitioner_id=reassign_form.cleaned_data["practitioner"],
                        request=request,
                    )
                    done = moved
            else:
                messages.error(request, gettext("Choose what to do."))
                return HttpResponseRedirect(self._detail_url(consultation.pk))
        except services.ConsultationClosed:
            messages.error(request, gettext("This conversation is closed already."))
            return HttpResponseRedirect(self._detail_url(consultation.pk))
        except services.NotAllowed:
            messages.error(request, gettext("Only a clinic administrator can move eConsultations."))
            return HttpResponseRedirect(self._detail_url(consultation.pk))
        except services.NotFound:
            raise Http404 from None
        if done is None:
            return answer_form, reassign_form
        messages.success(request, done)
        return HttpResponseRedirect(self._detail_url(consultation.pk))

    def renewals_view(self, request: HttpRequest) -> HttpResponse:
        clinic_id = _clinic_id(request)
        practitioners = list(
            Practitioner.objects.filter(clinic_id=clinic_id).order_by("name", "pk")
        )
        chosen, _reception, show = _filters(request, {p.pk for p in practitioners})
        rows, total, page, pages = renewal_inbox(
            clinic_id,
            practitioner_id=chosen,
            show=show,
            page=parse_id(request.GET.get("page")) or 1,
        )
        audit.record(
            "renewal.inbox_viewed",
            request=request,
            clinic=Clinic(pk=clinic_id),
            details={"show": show, "practitioner": chosen, "rows": len(rows)},
            fetch_pk=False,
        )
        query = request.GET.copy()
        query.pop("page", None)
        context = self.page_context(
            request,
            title=_("Prescription renewals"),
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            page_query=query.urlencode(),
            show=show,
            chosen=chosen,
            practitioners=practitioners,
            clinic=Clinic.objects.filter(pk=clinic_id).first(),
            clinics=Clinic.objects.order_by("name", "pk") if request.user.is_superuser else None,
            inbox_url=reverse(f"admin:{self.page_url_name()}"),
            detail_url_name=f"admin:{self.page_url_name('renewal')}",
        )
        return TemplateResponse(request, "admin/econsult/renewals.html", context)

    def renewal_view(self, request: HttpRequest, request_id: int) -> HttpResponse:
        found = staff_renewal(_staff(request), request_id)
        if found is None:
            raise Http404
        here = reverse(f"admin:{self.page_url_name('renewal')}", kwargs={"request_id": found.pk})
        if request.method == "POST":
            waiting = [i for i in found.items.all() if i.status == RenewalItem.Status.REQUESTED]
            decided = _decisions(request, waiting)
            if not decided:
                messages.error(request, gettext("Choose a decision for at least one medicine."))
                return HttpResponseRedirect(here)
            try:
                handled = services.renewal_handle(
                    staff=_staff(request), request_id=found.pk, decisions=decided, request=request
                )
            except services.NotFound:
                raise Http404 from None
            messages.success(
                request,
                gettext("The request is handled. The patient gets an SMS.")
                if handled.handled_at
                else gettext("Saved. Some medicines are still waiting for a decision."),
            )
            return HttpResponseRedirect(here)
        services.renewal_open(staff=_staff(request), renewal=found, request=request)
        context = self.page_context(
            request,
            title=gettext("Prescription renewal #%(id)s") % {"id": found.pk},
            renewal=found,
            items=list(found.items.all()),
            reasons=RenewalItem.Reason.choices,
            renewals_url=reverse(f"admin:{self.page_url_name('renewals')}"),
        )
        return TemplateResponse(request, "admin/econsult/renewal_detail.html", context)

    def attachment_view(self, request: HttpRequest, attachment_id: int) -> HttpResponseBase:
        found = staff_attachment(_staff(request), attachment_id)
        if found is None:
            raise Http404
        audit.record(
            "econsult.attachment_viewed",
            request=request,
            clinic=found.message.consultation.clinic,
            obj=found.message.consultation,
            details={"attachment": found.pk},
        )
        return attachment_response(found)
