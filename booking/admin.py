"""The clinic's side of booking in the admin site, scoped to the administrator's clinic."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clinics import audit
from clinics.admin_base import (
    ClinicScopedAdmin,
    ClinicScopedInline,
    ReadOnlyClinicScopedAdmin,
    staff_clinic_id,
)

from . import services
from .models import (
    Absence,
    Appointment,
    AppointmentType,
    BookingSettings,
    ClosedDay,
    ScheduleRule,
    ScheduleTemplate,
    Slot,
    WaitlistEntry,
)
from .selectors import local_tz


@admin.register(BookingSettings)
class BookingSettingsAdmin(ClinicScopedAdmin):
    list_display = (
        "clinic",
        "horizon_weeks",
        "min_notice_minutes",
        "cancel_deadline_hours",
        "max_future_online",
        "reminder_time",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # One row per clinic: a clinic administrator adds it once, then edits it.
        clinic_id = staff_clinic_id(request)
        if (
            clinic_id is not None
            and not request.user.is_superuser
            and BookingSettings.objects.filter(clinic_id=clinic_id).exists()
        ):
            return False
        return super().has_add_permission(request)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # A new row is in the administrator's clinic already (the scoped form puts it there).
        services.booking_settings_save(booking_settings=obj)


@admin.register(AppointmentType)
class AppointmentTypeAdmin(ClinicScopedAdmin):
    list_display = ("name", "key", "minutes", "colour", "online")
    list_filter = ("online",)
    search_fields = ("name", "key")


class ScheduleRuleInline(ClinicScopedInline, admin.TabularInline):
    model = ScheduleRule
    clinic_lookup = "template__practitioner__clinic"
    extra = 1
    fields = ("weekday", "start", "end", "slot_minutes", "appointment_type")


class ScheduleTemplateForm(forms.ModelForm):
    class Meta:
        model = ScheduleTemplate
        fields = ["practitioner", "valid_from", "valid_to"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what ModelForm.clean returns
        practitioner, valid_from = data.get("practitioner"), data.get("valid_from")
        if (
            practitioner is not None
            and valid_from is not None
            and services.schedule_template_start_taken(
                practitioner_id=practitioner.pk, valid_from=valid_from, template_id=self.instance.pk
            )
        ):
            self.add_error("valid_from", services.TEMPLATE_START_TAKEN)
        return data


@admin.register(ScheduleTemplate)
class ScheduleTemplateAdmin(ClinicScopedAdmin):
    form = ScheduleTemplateForm
    clinic_lookup = "practitioner__clinic"
    list_display = ("practitioner", "valid_from", "valid_to", "updated")
    list_filter = ("practitioner",)
    inlines = [ScheduleRuleInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # The slots follow the template once this save has committed.
        services.slots_regenerate_later(practitioner_ids=[form.instance.practitioner_id])

    def delete_model(self, request: HttpRequest, obj: ScheduleTemplate) -> None:
        practitioner_id = obj.practitioner_id
        super().delete_model(request, obj)
        services.slots_regenerate_later(practitioner_ids=[practitioner_id])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        # "Delete selected": the same as deleting them one by one.
        ids = list(queryset.values_list("practitioner_id", flat=True))
        super().delete_queryset(request, queryset)
        services.slots_regenerate_later(practitioner_ids=ids)


@admin.register(ClosedDay)
class ClosedDayAdmin(ClinicScopedAdmin):
    list_display = ("date", "note")
    date_hierarchy = "date"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.clinic_slots_regenerate_later(clinic_ids=[obj.clinic_id])

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        clinic_id = obj.clinic_id
        super().delete_model(request, obj)
        services.clinic_slots_regenerate_later(clinic_ids=[clinic_id])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        clinics = set(queryset.values_list("clinic_id", flat=True))
        super().delete_queryset(request, queryset)
        services.clinic_slots_regenerate_later(clinic_ids=clinics)


@admin.register(Absence)
class AbsenceAdmin(ClinicScopedAdmin):
    """A practitioner's absent days: their slots are blocked, also those made later."""

    clinic_lookup = "practitioner__clinic"
    list_display = ("practitioner", "first_day", "last_day", "note")
    list_filter = ("practitioner",)
    date_hierarchy = "first_day"
    list_select_related = ("practitioner",)

    def save_model(self, request: HttpRequest, obj: Absence, form: Any, change: bool) -> None:
        services.absence_save(absence=obj)

    def delete_model(self, request: HttpRequest, obj: Absence) -> None:
        services.absence_delete(absence=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        services.absences_delete(absences=queryset)


@admin.register(Slot)
class SlotAdmin(ClinicScopedAdmin):
    """The generated slots by practitioner and day; staff block and unblock them here."""

    clinic_lookup = "practitioner__clinic"
    list_display = ("practitioner", "local_start", "local_end", "appointment_type", "blocked")
    list_filter = ("practitioner", "blocked", "appointment_type")
    date_hierarchy = "start"
    list_select_related = ("practitioner", "appointment_type")
    fields = ("practitioner", "start", "end", "appointment_type", "blocked")
    readonly_fields = ("practitioner", "start", "end", "appointment_type")
    actions = ["block", "unblock", "block_days", "unblock_days"]
    # Slots come from the schedule templates, and are blocked rather than deleted: a booked
    # slot must never vanish.
    staff_may = ("view", "change")

    @admin.display(description=_("start"), ordering="start")
    def local_start(self, obj: Slot) -> str:
        return f"{obj.start.astimezone(local_tz()):%Y-%m-%d %H:%M}"

    @admin.display(description=_("end"))
    def local_end(self, obj: Slot) -> str:
        return f"{obj.end.astimezone(local_tz()):%H:%M}"

    def _done(self, request: HttpRequest, count: int) -> None:
        self.message_user(
            request,
            ngettext("%(count)d slot changed.", "%(count)d slots changed.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Block the selected slots"))
    def block(self, request: HttpRequest, queryset: Any) -> None:
        self._done(
            request,
            services.slots_set_blocked(
                slot_ids=list(queryset.values_list("pk", flat=True)), blocked=True
            ),
        )

    @admin.action(description=_("Unblock the selected slots"))
    def unblock(self, request: HttpRequest, queryset: Any) -> None:
        self._done(
            request,
            services.slots_set_blocked(
                slot_ids=list(queryset.values_list("pk", flat=True)), blocked=False
            ),
        )

    def _days(self, request: HttpRequest, queryset: Any, blocked: bool) -> None:
        tz = local_tz()
        days = {(s.practitioner_id, s.start.astimezone(tz).date()) for s in queryset}
        count = sum(
            services.practitioner_day_set_blocked(practitioner_id=p, day=d, blocked=blocked)
            for p, d in sorted(days)
        )
        self._done(request, count)

    @admin.action(description=_("Block the whole day of the selected slots (absence)"))
    def block_days(self, request: HttpRequest, queryset: Any) -> None:
        self._days(request, queryset, True)

    @admin.action(description=_("Unblock the whole day of the selected slots"))
    def unblock_days(self, request: HttpRequest, queryset: Any) -> None:
        self._days(request, queryset, False)


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyClinicScopedAdmin):
    """Appointments booked online, with patient, reason and status."""

    audit_read_action = "booking.appointment_read"  # in the patient's access log

    clinic_lookup = "practitioner__clinic"
    list_display = ("local_start", "practitioner", "patient", "reason", "status", "urgent")
    list_filter = ("status", "urgent", "practitioner")
    date_hierarchy = "start"
    list_select_related = ("practitioner", "patient")
    search_fields = ("patient__name",)
    fields = (
        "practitioner",
        "patient",
        "start",
        "end",
        "reason",
        "status",
        "urgent",
        "created",
        "cancelled_at",
        "reminder_sent_at",
    )
    readonly_fields = fields
    actions = ["cancel"]
    staff_may = ("view", "change")  # change: for the cancel action; every field is read-only

    @admin.display(description=_("start"), ordering="start")
    def local_start(self, obj: Appointment) -> str:
        return f"{obj.start.astimezone(local_tz()):%Y-%m-%d %H:%M}"

    @admin.action(description=_("Cancel the selected appointments (SMS to the patient)"))
    def cancel(self, request: HttpRequest, queryset: Any) -> None:
        count = 0
        for pk in queryset.filter(status=Appointment.Status.BOOKED).values_list("pk", flat=True):
            services.appointment_cancel(appointment_id=pk, request=request, by_staff=True)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d appointment cancelled.", "%(count)d appointments cancelled.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyClinicScopedAdmin):
    """The waitlist per practitioner ("Ønsker tidligere time", docs/booking.md): who waits
    for which practitioners, weekdays and times, until when, and the offers made. Patients
    join and leave it themselves; staff only look (every look is in the audit log)."""

    audit_read_action = "booking.waitlist_viewed"
    list_display = (
        "created",
        "patient_name",
        "practitioner_names",
        "window",
        "until",
        "current_appointment",
        "status",
        "offer_count",
    )
    list_filter = ("status", "practitioners")
    list_select_related = ("patient", "appointment")
    search_fields = ("patient__name",)
    fields = (
        "patient",
        "practitioner_names",
        "window",
        "until",
        "current_appointment",
        "reason",
        "status",
        "created",
        "offer_count",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super()
            .get_queryset(request)
            .prefetch_related("practitioners")
            .annotate(_offers=Count("offers"))
        )

    @admin.display(description=_("patient"), ordering="patient__name")
    def patient_name(self, obj: WaitlistEntry) -> str:
        return obj.patient.name

    @admin.display(description=_("practitioners"))
    def practitioner_names(self, obj: WaitlistEntry) -> str:
        return ", ".join(p.name for p in obj.practitioners.all())

    @admin.display(description=_("weekdays and times"))
    def window(self, obj: WaitlistEntry) -> str:
        days = [
            str(label)[:3]
            for value, label in ScheduleRule.Weekday.choices
            if obj.weekdays & (1 << (value - 1))
        ]
        return f"{' '.join(days)} {obj.time_from:%H:%M}–{obj.time_to:%H:%M}"

    @admin.display(description=_("appointment to move"))
    def current_appointment(self, obj: WaitlistEntry) -> str:
        if obj.appointment is None:
            return "–"
        return f"{obj.appointment.start.astimezone(local_tz()):%Y-%m-%d %H:%M}"

    @admin.display(description=_("offers"), ordering="_offers")
    def offer_count(self, obj: WaitlistEntry) -> int:
        return getattr(obj, "_offers", 0)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if request.method == "GET" and response.status_code == 200:
            audit.record("booking.waitlist_viewed", request=request)
        return response
