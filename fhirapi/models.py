"""A clinic's record system (EPJ) as a client of the FHIR API: one OAuth 2 application
(django-oauth-toolkit, client credentials) tied to one clinic, with the scopes it may ask
for. Its tokens see that clinic's data and nothing else."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import Application

from clinics.models import Clinic

from . import scopes as scope_names


class ApiClient(models.Model):
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="api_clients", verbose_name=_("clinic")
    )
    application = models.OneToOneField(
        Application,
        on_delete=models.CASCADE,
        related_name="api_client",
        verbose_name=_("OAuth application"),
        editable=False,
    )
    name = models.CharField(_("name"), max_length=200)
    scopes = models.CharField(
        _("scopes"),
        max_length=1000,
        help_text=_("What the system may read and write, e.g. system/Patient.read."),
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive client gets no new tokens.")
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_list(self) -> list[str]:
        return scope_names.parse(self.scopes)

    @property
    def client_id(self) -> str:
        return self.application.client_id
