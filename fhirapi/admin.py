"""'API-klienter': a clinic administrator registers their record system's client; the
secret is shown once, on the page after saving, and stored only hashed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application

from clinics import audit
from clinics.admin_base import ClinicScopedAdmin

from .models import ApiClient
from .scopes import ALL_SCOPES


class ApiClientForm(forms.ModelForm):
    scope_choices = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=[(s, s) for s in ALL_SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=[s for s in ALL_SCOPES if s.endswith(".read")],
    )

    class Meta:
        model = ApiClient
        fields = ("clinic", "name", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["scope_choices"].initial = self.instance.scope_list

    def save(self, commit: bool = True) -> ApiClient:
        self.instance.scopes = " ".join(self.cleaned_data["scope_choices"])
        return super().save(commit)


@admin.register(ApiClient)
class ApiClientAdmin(ClinicScopedAdmin):
    form = ApiClientForm
    list_display = ("name", "client_id", "active", "created")
    readonly_fields = ("client_id", "created")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        hidden = set(self.get_exclude(request, obj) or ())  # the clinic, for clinic staff
        fields = [f for f in ("clinic", "name", "scope_choices", "active") if f not in hidden]
        return [*fields, "client_id", "created"] if obj is not None else fields

    @admin.display(description=_("client id"))
    def client_id(self, obj: ApiClient) -> str:
        return obj.application.client_id

    def save_model(self, request: HttpRequest, obj: ApiClient, form: Any, change: bool) -> None:
        secret = None
        if not change:
            secret = generate_client_secret()
            obj.application = Application.objects.create(
                name=f"{obj.name}"[:255],
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                client_secret=secret,  # hashed on save
            )
        super().save_model(request, obj, form, change)
        if secret is not None:
            audit.record("fhir.client_registered", request=request, obj=obj)
            messages.warning(
                request,
                _(
                    "Client id %(id)s, secret %(secret)s: copy the secret now, it is not shown "
                    "again."
                )
                % {"id": obj.application.client_id, "secret": secret},
            )
