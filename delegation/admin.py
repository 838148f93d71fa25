"""'ePortal delegerer': the admin page where a clinic's administrator edits the service matrix.

Not a ModelAdmin changelist: one page per service, ``/admin/delegation/delegation/<service>/``,
shows the clinic's matrix as a table of checkboxes and saves it whole. A clinic administrator
always works on their own clinic; a superuser chooses the clinic with ``?clinic=<id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from clinics.admin_base import ClinicStaffPage, staff_clinic_id
from clinics.converters import parse_id
from clinics.models import Clinic, PatientList

from .forms import MatrixForm, cell_value
from .models import Delegation, Service
from .selectors import MatrixState, matrix_state
from .services import service_matrix_reset, service_matrix_save


def _clinic_for(request: HttpRequest) -> Clinic | None:
    """The clinic whose matrix this request may see and change, or None (a superuser who has
    not chosen one yet). Another clinic's id answers 404, as for a clinic that does not exist.
    Only for the page's views, which let clinic staff in and nobody else.
    """
    raw = request.GET.get("clinic", "")
    wanted = parse_id(raw)
    if raw and wanted is None:
        raise Http404
    if request.user.is_superuser:
        return get_object_or_404(Clinic, pk=wanted) if wanted is not None else None
    clinic_id = staff_clinic_id(request)
    if wanted is not None and wanted != clinic_id:
        raise Http404
    return get_object_or_404(Clinic, pk=clinic_id)


def _service_or_404(service: str) -> Service:
    if service not in Service.values:
        raise Http404
    return Service(service)


@dataclass(frozen=True)
class CellView:
    value: str
    id: str
    label: str
    checked: bool
    disabled: bool


@dataclass(frozen=True)
class RowView:
    patient_list: PatientList | None
    header: str
    cells: list[CellView]
    #: Nobody with "Aktiver ePortal" is ticked: these patients cannot use the service.
    unserved: bool


def _rows(state: MatrixState, checked: frozenset) -> list[RowView]:
    rows = []
    no_gp_label = gettext("Patients without a GP at this clinic")
    for row in state.rows:
        list_id = row.pk if row else None
        header = row.name if row else no_gp_label
        cells = [
            CellView(
                value=cell_value(list_id, p.pk),
                id=f"cell-{cell_value(list_id, p.pk).replace(':', '-')}",
                label=f"{header} – {p.name}",
                checked=(list_id, p.pk) in checked,
                disabled=not p.eportal_enabled,
            )
            for p in state.practitioners
        ]
        unserved = not any(
            (list_id, p.pk) in checked for p in state.practitioners if p.eportal_enabled
        )
        rows.append(RowView(row, header, cells, unserved))
    return rows


@admin.register(Delegation)
class DelegationAdmin(ClinicStaffPage):
    staff_may = ("view", "change")

    def get_urls(self) -> list:
        view = self.page_view
        return [
            path("", view(self.index_view), name=self.page_url_name()),
            path("<str:service>/", view(self.matrix_view), name=self.page_url_name("matrix")),
            path(
                "<str:service>/reset/",
                view(require_POST(self.reset_view)),
                name=self.page_url_name("reset"),
            ),
        ]

    def _url(self, name: str, service: Service, clinic: Clinic | None, request: HttpRequest) -> str:
        url = reverse(f"admin:{self.page_url_name(name)}", kwargs={"service": service.value})
        if clinic is not None and request.user.is_superuser:
            url += "?" + urlencode({"clinic": clinic.pk})
        return url

    def index_view(self, request: HttpRequest) -> HttpResponse:
        clinic = _clinic_for(request)
        return HttpResponseRedirect(self._url("matrix", Service.BOOKING, clinic, request))

    def matrix_view(self, request: HttpRequest, service: str) -> HttpResponse:
        chosen = _service_or_404(service)
        clinic = _clinic_for(request)
        if clinic is None:
            return self._render(request, chosen, None, None)
        state = matrix_state(clinic, chosen)
        if request.method == "POST":
            form = MatrixForm(request.POST, state=state)
            if form.is_valid():
                try:
                    change = service_matrix_save(
                        clinic=clinic,
                        service=chosen,
                        cells=form.cleaned_data["cells"],
                        request=request,
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    if change.changed:
                        messages.success(
                            request,
                            gettext("The service matrix for “%(service)s” was saved.")
                            % {"service": chosen.label},
                        )
                    else:
                        messages.info(request, gettext("Nothing was changed."))
                    return HttpResponseRedirect(self._url("matrix", chosen, clinic, request))
        else:
            form = MatrixForm(state=state)
        return self._render(request, chosen, state, form)

    def reset_view(self, request: HttpRequest, service: str) -> HttpResponse:
        chosen = _service_or_404(service)
        clinic = _clinic_for(request)
        if clinic is None:
            raise Http404
        if request.POST.get("confirm") != "yes":
            # The matrix page's button asks first: the clinic's own setting would be gone.
            context = self.page_context(
                request,
                title=_("Use the standard package?"),
                subtitle=chosen.label,
                clinic=clinic,
                service=chosen,
                reset_url=self._url("reset", chosen, clinic, request),
                back_url=self._url("matrix", chosen, clinic, request),
            )
            return TemplateResponse(request, "admin/delegation/reset_confirm.html", context)
        change = service_matrix_reset(clinic=clinic, service=chosen, request=request)
        if change.changed:
            messages.success(
                request,
                gettext("“%(service)s” now follows the standard package.")
                % {"service": chosen.label},
            )
        return HttpResponseRedirect(self._url("matrix", chosen, clinic, request))

    def _render(
        self,
        request: HttpRequest,
        service: Service,
        state: MatrixState | None,
        form: MatrixForm | None,
    ) -> HttpResponse:
        clinic = state.clinic if state else None
        context = self.page_context(
            request,
            title=_("ePortal delegerer"),
            subtitle=service.label,
            clinic=clinic,
            service=service,
            tabs=[
                {
                    "label": s.label,
                    "url": self._url("matrix", s, clinic, request),
                    "current": s == service,
                }
                for s in Service
            ],
            clinics=Clinic.objects.order_by("name", "pk") if request.user.is_superuser else None,
        )
        status = 200
        if state is not None and form is not None:
            checked = state.cells
            if form.is_bound and not form.is_valid():
                status = 400
            context.update(
                {
                    "state": state,
                    "form": form,
                    "practitioners": state.practitioners,
                    "rows": _rows(state, checked),
                    "form_url": self._url("matrix", service, clinic, request),
                    "reset_url": self._url("reset", service, clinic, request),
                }
            )
        return TemplateResponse(request, "admin/delegation/matrix.html", context, status=status)
