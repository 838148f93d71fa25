"""The outbox in the admin site: read-only, each clinic administrator sees their clinic's SMS.

The tenant-scoped admin base lives in ``clinics``; this is the one place ``sms`` imports
another app of ours, and only for the admin site.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinics.admin_base import ReadOnlyClinicScopedAdmin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyClinicScopedAdmin):
    list_display = ("created", "recipient_masked", "purpose", "status", "attempts", "sent_at")
    list_filter = ("status", "purpose")
    # Exact matches only: staff can look up "the SMS to this number" without the list
    # ever showing whole numbers.
    search_fields = ("=recipient", "=provider_id")
    list_select_related = ("clinic",)
    readonly_fields = (
        "created",
        "recipient_masked",
        "purpose",
        "text",
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
