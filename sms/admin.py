"""The outbox in the admin site: read-only, each clinic administrator sees their clinic's SMS.

Staff never see a secret (a login code): the admin shows only the redacted text, and every
look at the outbox is written to the audit log. The tenant-scoped admin base and the audit
log live in ``clinics``; this is the one place ``sms`` imports another app of ours, and only
for the admin site.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from clinics import audit
from clinics.admin_base import ReadOnlyClinicScopedAdmin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyClinicScopedAdmin):
    audit_read_action = "sms.outbox_viewed"
    list_display = ("created", "recipient_masked", "purpose", "status", "attempts", "sent_at")
    list_filter = ("status", "purpose")
    # Exact matches only: staff can look up "the SMS to this number" without the list
    # ever showing whole numbers.
    search_fields = ("=recipient", "=provider_id")
    unfilterable_fields = ("text", "redacted_text", "recipient")
    list_select_related = ("clinic",)
    readonly_fields = (
        "created",
        "recipient_masked",
        "purpose",
        "text_for_staff",
        "status",
        "attempts",
        "last_error",
        "provider_id",
        "sent_at",
        "updated",
    )

    @admin.display(description=_("recipient"))
    def recipient_masked(self, obj: OutboxMessage) -> str:
        return obj.masked_recipient

    @admin.display(description=_("text"))
    def text_for_staff(self, obj: OutboxMessage) -> str:
        return obj.staff_text

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))
        if request.user.is_superuser:
            columns.insert(1, "clinic")
        return columns

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(self.readonly_fields)
        if request.user.is_superuser:
            fields.insert(0, "clinic")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if request.method == "GET" and response.status_code == 200:
            # Neither the search (a phone number) nor the filters go in the event.
            audit.record("sms.outbox_list_viewed", request=request)
        return response
