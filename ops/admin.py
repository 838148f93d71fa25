"""'Overvåkning' (Monitoring) in the admin site: the portal's status over a month.

Superusers and clinic administrators see it. Uptime, health cycles, heartbeat gaps and
incidents are the whole installation's; SMS counts are the administrator's own clinic's
(a superuser's: every clinic's).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import charts, selectors, wiring
from .models import HealthCycle

STEP_LABELS = {
    "database": gettext_lazy("Database"),
    "broker": gettext_lazy("Broker"),
    "sms_provider": gettext_lazy("SMS provider"),
    "slot_horizon": gettext_lazy("Slot horizon"),
    "login_codes": gettext_lazy("Login codes"),
    "sessions": gettext_lazy("Sessions"),
    "stale_sms": gettext_lazy("Stuck SMS"),
    "heartbeats": gettext_lazy("Old heartbeats"),
    "worker_restart": gettext_lazy("Worker restart"),
}


def _month(request: HttpRequest, today: datetime.date) -> datetime.date:
    """The first day of the month asked for (``?month=YYYY-MM``), this month by default."""
    try:
        year, month = (int(part) for part in request.GET.get("month", "").split("-"))
        return datetime.date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def _days_in(month: datetime.date) -> int:
    following = (month + datetime.timedelta(days=32)).replace(day=1)
    return (following - month).days


def _percent(value: float | None) -> str:
    """Cut, not rounded, to two decimals: 99.999 % shows as 99.99 %, never as 100 %."""
    return "–" if value is None else formats.number_format(value, 2) + " %"


@admin.register(HealthCycle)
class MonitoringAdmin(admin.ModelAdmin):
    """The model's changelist is the monitoring page; there is nothing to add or change."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return wiring.is_clinic_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return wiring.is_clinic_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name="{}_{}_changelist".format(*info))]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        now = timezone.now()
        today = timezone.localdate(now)
        month = _month(request, today)
        days = _days_in(month)
        clinic_id = None if request.user.is_superuser else wiring.staff_clinic_id(request)

        report = selectors.heartbeat_report(first_day=month, days=days, now=now)
        sms = selectors.sms_per_day(first_day=month, days=days, clinic_id=clinic_id)
        cycles = selectors.recent_cycles()
        incidents = selectors.recent_incidents()

        day_labels = [wiring.short_day_and_month(d.day) for d in report.days]
        uptime_rows = [
            {"label": label, "day": d, "percent": _percent(d.percent)}
            for label, d in zip(day_labels, report.days, strict=True)
        ]
        uptime_chart = charts.uptime_chart(report.days, day_labels)
        for column, row in zip(uptime_chart.columns, uptime_rows, strict=True):
            for bar in column.bars:
                bar.label = _("%(day)s: %(percent)s uptime") % {
                    "day": row["label"],
                    "percent": row["percent"],
                }
        sms_chart = charts.stacked_chart(
            sms,
            [("delivered", "bar-ok"), ("sent", "bar-sent"), ("failed", "bar-bad")],
            day_labels,
        )
        for column, day_sms in zip(sms_chart.columns, sms, strict=True):
            for bar in column.bars:
                bar.label = _(
                    "%(day)s: %(delivered)d delivered, %(sent)d sent, %(failed)d failed"
                ) % {
                    "day": column.label,
                    "delivered": day_sms.delivered,
                    "sent": day_sms.sent,
                    "failed": day_sms.failed,
                }
        previous = (month - datetime.timedelta(days=1)).replace(day=1)
        following = (month + datetime.timedelta(days=32)).replace(day=1)
        step_names = list(STEP_LABELS)
        longest = max((g.minutes for g in report.gaps[:20]), default=1) or 1
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Monitoring"),
            "month": month,
            "previous_month": f"{previous:%Y-%m}",
            "next_month": f"{following:%Y-%m}" if following <= today else None,
            "month_uptime": _percent(report.percent),
            "uptime_chart": uptime_chart,
            "uptime_rows": uptime_rows,
            "sms_chart": sms_chart,
            "sms_rows": list(zip(day_labels, sms, strict=True)),
            "sms_totals": {
                "delivered": sum(d.delivered for d in sms),
                "sent": sum(d.sent for d in sms),
                "failed": sum(d.failed for d in sms),
            },
            "sms_scope_all": clinic_id is None,
            "gaps": [
                {"gap": g, "width": max(round(100 * g.minutes / longest), 1)}
                for g in report.gaps[:20]
            ],
            "gap_count": len(report.gaps),
            "cycles": [
                {
                    "cycle": c,
                    "day": wiring.short_day_and_month(c.day),
                    "cells": [{s.name: s for s in c.steps.all()}.get(n) for n in step_names],
                }
                for c in cycles
            ],
            "step_columns": [(name, STEP_LABELS[name]) for name in step_names],
            "incidents": incidents,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/ops/monitoring.html", context)
