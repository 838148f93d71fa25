"""The clinic system administrator's admin site: practitioners, lists, patients, staff."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from . import audit
from .admin_base import (
    ClinicScopedAdmin,
    ReadOnlyClinicScopedAdmin,
    is_clinic_staff,
    staff_clinic_id,
)
from .models import (
    AuditEvent,
    Clinic,
    ClinicActivation,
    EPortalService,
    Patient,
    PatientList,
    Practitioner,
    User,
)
from .national_id import compact
from .phones import normalise_mobile
from .selectors import public_entry_url


class PatientAdminForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ("clinic", "national_id", "name", "mobile", "journal_active", "patient_list")

    national_id = forms.CharField(
        label=capfirst(_("identity number")),
        max_length=20,
        help_text=_("11 digits; spaces are ignored."),
    )

    def clean_national_id(self) -> str:
        return compact(self.cleaned_data["national_id"])

    def clean_mobile(self) -> str:
        return normalise_mobile(self.cleaned_data.get("mobile"))


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_lookup = "id"
    list_display = ("name", "ep_ident", "active", "allow_bankid", "allow_sms")
    fields = (
        "name",
        "ep_ident",
        "address",
        "phone",
        "website",
        "active",
        "allow_bankid",
        "allow_sms",
        "econsult_requires_bankid",
    )
    search_fields = ("name", "ep_ident")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return qs
        clinic_id = staff_clinic_id(request)
        return qs.filter(pk=clinic_id) if clinic_id else qs.none()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return ()
        return ("ep_ident",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # An audit event that pointed at the clinic would protect it from this very deletion
        # (AuditEvent.clinic is PROTECT), so the event names the clinic by id and name only.
        for clinic in queryset:
            AuditEvent.objects.create(
                action="admin.delete",
                actor_type=AuditEvent.ActorType.STAFF,
                staff=request.user,
                object_type=clinic._meta.label_lower,
                object_id=str(clinic.pk),
                object_repr=str(clinic)[:200],
                ip=audit.client_ip(request),
            )
        return admin.ModelAdmin.log_deletions(self, request, queryset)


@admin.register(Practitioner)
class PractitionerAdmin(ClinicScopedAdmin):
    list_display = ("name", "role", "hpr", "eportal_enabled")
    list_filter = ("role", "eportal_enabled")
    search_fields = ("name", "hpr")


@admin.register(EPortalService)
class EPortalServiceAdmin(ClinicScopedAdmin):
    """'ePortal tjenester': switch each practitioner's 'Aktiver ePortal' from the list."""

    list_display = ("name", "role", "eportal_enabled")
    list_display_links = None
    list_editable = ("eportal_enabled",)
    list_filter = ("role",)
    search_fields = ("name",)
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PatientList)
class PatientListAdmin(ClinicScopedAdmin):
    list_display = ("name", "gp")
    list_select_related = ("gp",)
    search_fields = ("name", "gp__name")


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    form = PatientAdminForm
    list_display = ("name", "masked_id", "patient_list", "has_mobile", "journal_active")
    list_filter = ("journal_active", "patient_list")
    list_select_related = ("patient_list",)
    search_fields = ("name", "=national_id")
    show_full_result_count = False

    @admin.display(description=_("identity number"))
    def masked_id(self, obj: Patient) -> str:
        return obj.masked_national_id

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            patient = self.get_object(request, object_id)
            if patient is not None:
                audit.record("patient.read", request=request, obj=patient)
        return response

    @admin.display(description=_("mobile registered"), boolean=True)
    def has_mobile(self, obj: Patient) -> bool:
        return bool(obj.mobile)


@admin.register(ClinicActivation)
class ClinicActivationAdmin(admin.ModelAdmin):
    """'Aktiver ePortal': the clinic's EP identifier, patient link and a website snippet."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_clinic_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_clinic_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        clinics = Clinic.objects.all()
        if not request.user.is_superuser:
            clinics = clinics.filter(pk=staff_clinic_id(request))
        entries = [
            {"clinic": clinic, "url": public_entry_url(request, clinic)} for clinic in clinics
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Aktiver ePortal"),
            "opts": self.model._meta,
            "entries": entries,
        }
        return TemplateResponse(request, "admin/clinics/activation.html", context)

    def get_urls(self) -> list:
        from django.urls import path

        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="{}_{}_changelist".format(*info),
            )
        ]


class StaffCreationForm(forms.ModelForm):
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput)

    class Meta:
        model = User
        fields = ("email", "clinic", "is_staff")

    def clean_password1(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data["password1"]
        try:
            validate_password(password)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None
        return password

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password1"])
        if commit:
            user.save()
        return user


@admin.register(User)
class StaffUserAdmin(DjangoUserAdmin):
    add_form = StaffCreationForm
    ordering = ("email",)
    list_display = ("email", "clinic", "is_staff", "is_superuser", "is_active")
    list_filter = ("clinic", "is_staff", "is_superuser", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Clinic"), {"fields": ("clinic",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "clinic", "is_staff", "password1")}),
    )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyClinicScopedAdmin):
    """The audit log: readable and filterable, never editable or deletable."""

    list_display = (
        "created",
        "action",
        "actor_type",
        "staff",
        "patient_masked",
        "object_repr",
        "ip",
    )
    list_filter = ("action", "actor_type", ("created", admin.DateFieldListFilter))
    list_select_related = ("staff", "patient")
    search_fields = ("action", "object_repr", "staff__email")
    date_hierarchy = "created"
    show_full_result_count = False
    readonly_fields = (
        "created",
        "clinic",
        "actor_type",
        "staff",
        "patient_masked",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "details",
        "ip",
    )
    fields = readonly_fields

    @admin.display(description=_("patient"))
    def patient_masked(self, obj: AuditEvent) -> str:
        return obj.patient.masked_national_id if obj.patient_id else ""

    def get_actions(self, request: HttpRequest) -> dict:
        return {}
