"""The clinic system administrator's admin site: practitioners, lists, patients, staff."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from . import audit
from .admin_base import (
    ClinicScopedAdmin,
    ClinicStaffPage,
    ReadOnlyClinicScopedAdmin,
    scope_to_clinic,
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
from .national_id import compact, validate_national_id
from .phones import normalise_mobile
from .selectors import public_entry_url


class PatientAdminForm(forms.ModelForm):
    """A new patient: the identity number is typed in like any other field."""

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


class PatientChangeForm(forms.ModelForm):
    """An existing patient: the identity number is not an input that shows it.

    With the number and an SMS to the patient's phone, staff could set the patient's password
    and log in as them, so the form shows it masked (the admin's "show" button reveals it, on
    the record). A wrong number is corrected by typing the right one into an empty field.
    """

    class Meta:
        model = Patient
        fields = ("clinic", "new_national_id", "name", "mobile", "journal_active", "patient_list")

    new_national_id = forms.CharField(
        label=capfirst(_("new identity number")),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_(
            "Only to correct a wrong number: the number typed here replaces the current one. "
            "Leave it empty to keep the current number."
        ),
    )

    def clean_new_national_id(self) -> str:
        number = compact(self.cleaned_data.get("new_national_id", ""))
        if number:
            validate_national_id(number)
        return number

    def clean_mobile(self) -> str:
        return normalise_mobile(self.cleaned_data.get("mobile"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what ModelForm.clean returns
        # The number is not a model field of this form, so Django does not check the
        # one-number-per-clinic constraint; check it here (a new number, or a new clinic).
        number = data.get("new_national_id") or self.instance.national_id
        clinic = data.get("clinic") or self.instance.clinic
        if (
            number
            and clinic is not None
            and Patient.objects.filter(clinic=clinic, national_id=number)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            message = _("Another patient at this clinic has this identity number.")
            self.add_error("new_national_id" if data.get("new_national_id") else None, message)
        return data

    def save(self, commit: bool = True) -> Patient:
        if self.cleaned_data.get("new_national_id"):
            self.instance.national_id = self.cleaned_data["new_national_id"]
        return super().save(commit)


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_lookup = "pk"
    # A clinic administrator keeps their clinic's record up to date; clinics come and go
    # with the superuser.
    staff_may = ("view", "change")
    superuser_may = ("add", "delete")
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

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return ()
        return ("ep_ident",)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # An audit event that pointed at the clinic would protect it from this very deletion
        # (AuditEvent.clinic is PROTECT), so the event names the clinic by id and name only.
        for clinic in queryset:
            AuditEvent.objects.create(
                action="admin.delete",
                actor_type=AuditEvent.ActorType.STAFF,
                staff=cast(User, request.user),  # the admin lets only staff users in
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
    staff_may = ("view", "change")  # the practitioners themselves are kept elsewhere


@admin.register(PatientList)
class PatientListAdmin(ClinicScopedAdmin):
    list_display = ("name", "gp")
    list_select_related = ("gp",)
    search_fields = ("name", "gp__name")


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    """Staff see identity numbers masked; the whole number only on an audited request.

    The identity number and an SMS code to the patient's phone are all it takes to set the
    patient's password, so it is shown in full only by :meth:`national_id_view`, which a
    button on the change form calls with a POST and which writes ``patient.national_id_shown``
    to the audit log. Search takes a whole number (an exact match).
    """

    audit_read_action = "patient.read"

    form = PatientAdminForm
    list_display = ("name", "masked_id", "patient_list", "has_mobile", "journal_active")
    list_filter = ("journal_active", "patient_list")
    list_select_related = ("patient_list",)
    search_fields = ("name", "=national_id")
    unfilterable_fields = ("national_id",)
    show_full_result_count = False

    @admin.display(description=_("identity number"))
    def masked_id(self, obj: Patient) -> str:
        return obj.masked_national_id

    @admin.display(description=_("identity number"))
    def national_id_masked(self, obj: Patient) -> SafeString:
        # The button belongs to the form the change_form template puts after the main form
        # (forms do not nest); with form= it is not the main form's default button either.
        return format_html(
            '{} <button type="submit" form="national-id-form" class="button">{}</button>',
            obj.masked_national_id,
            _("Show the identity number"),
        )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = PatientAdminForm if obj is None else PatientChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f for f in super().get_fields(request, obj) if f != "national_id_masked"]
        if obj is not None:
            fields.insert(fields.index("new_national_id"), "national_id_masked")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("national_id_masked",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and form.cleaned_data.get("new_national_id"):
            audit.record("patient.national_id_changed", request=request, obj=obj)

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/national-id/",
                self.admin_site.admin_view(self.national_id_view),
                name="{}_{}_national_id".format(*info),
            ),
            *super().get_urls(),
        ]

    def national_id_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The whole identity number, for a POST only, recorded in the audit log.

        Found like the change view finds the patient (another clinic's patient does not
        exist here), and never stored by a browser or a proxy.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        patient = self.get_object(request, unquote(object_id))
        if patient is None or not self.has_view_permission(request, patient):
            raise Http404
        audit.record("patient.national_id_shown", request=request, obj=patient)
        context = {
            **self.admin_site.each_context(request),
            "title": capfirst(_("identity number")),
            "subtitle": str(patient),
            "opts": self.opts,
            "original": patient,
            "national_id": patient.national_id,
        }
        response = TemplateResponse(request, "admin/clinics/patient/national_id.html", context)
        add_never_cache_headers(response)
        return response

    @admin.display(description=_("mobile registered"), boolean=True)
    def has_mobile(self, obj: Patient) -> bool:
        return bool(obj.mobile)


@admin.register(ClinicActivation)
class ClinicActivationAdmin(ClinicStaffPage):
    """'Aktiver ePortal': the clinic's EP identifier, patient link and a website snippet."""

    def get_urls(self) -> list:
        from django.urls import path

        return [path("", self.page_view(self.activation_view), name=self.page_url_name())]

    def activation_view(self, request: HttpRequest) -> HttpResponse:
        clinics = scope_to_clinic(Clinic.objects.all(), request, "pk")
        entries = [
            {"clinic": clinic, "url": public_entry_url(request, clinic)} for clinic in clinics
        ]
        context = self.page_context(request, title=_("Aktiver ePortal"), entries=entries)
        return TemplateResponse(request, "admin/clinics/activation.html", context)


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
    list_display = ("email", "clinic", "practitioner", "is_staff", "is_superuser", "is_active")
    list_filter = ("clinic", "is_staff", "is_superuser", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Clinic"), {"fields": ("clinic", "practitioner", "is_reception")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "clinic", "is_staff", "password1")}),
    )


class AuditActionFilter(admin.SimpleListFilter):
    """By action, in words; the URL keeps the recorded code (``?action=patient.login``)."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        labels = [(code, audit.action_label(code)) for code in audit.ACTION_LABELS]
        return sorted(labels, key=lambda pair: pair[1])

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        return queryset.filter(action=value) if value else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyClinicScopedAdmin):
    """The audit log: readable and filterable, never editable or deletable."""

    list_display = (
        "created",
        "action_words",
        "actor_type",
        "staff",
        "patient_masked",
        "object_repr",
        "ip",
    )
    list_filter = (AuditActionFilter, "actor_type", ("created", admin.DateFieldListFilter))
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
        return obj.patient.masked_national_id if obj.patient is not None else ""

    @admin.display(description=_("action"), ordering="action")
    def action_words(self, obj: AuditEvent) -> str:
        return audit.action_label(obj.action)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return tuple("action_words" if f == "action" else f for f in self.readonly_fields)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.get_readonly_fields(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        return {}
