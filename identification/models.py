"""What patient identification keeps: passwords, SMS-code attempts and rate-limit events.

The tables were created by the clinics app and keep their names (``clinics_…``): the move
to this app changed only Django's state, no row (docs/architecture.md, "identification").
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic, Patient


class PatientCredential(models.Model):
    """The patient's own password (hashed with Django's hashers) for login without BankID."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="credential", verbose_name=_("patient")
    )
    password = models.CharField(_("password"), max_length=128)
    changed = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        db_table = "clinics_patientcredential"
        verbose_name = _("patient password")
        verbose_name_plural = _("patient passwords")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.patient_id}"


class LoginChallenge(models.Model):
    """One identification attempt that asked for an SMS code.

    Created for every attempt, eligible or not, so the pages answer the same way for a number
    that belongs to nobody (``patient`` is then empty and no code is ever sent). The code is
    stored only as a keyed hash and is bound to this attempt, which is bound to the browser
    session that started it.
    """

    class Purpose(models.TextChoices):
        LOGIN = "login", _("Login")
        SET_PASSWORD = "set_password", _("Set password")

    token = models.CharField(max_length=64, unique=True)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(max_length=128, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    wrong_tries = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    sent_to_last_digits = models.CharField(max_length=4, blank=True)
    #: Counts the codes asked for in this attempt; the worker sends a code only for the
    #: newest request (``code_serial``) and only once (``code_delivered_serial``).
    code_serial = models.PositiveIntegerField(default=0)
    code_delivered_serial = models.PositiveIntegerField(default=0)
    #: The language of the page the code was asked for in: the SMS speaks it too.
    language = models.CharField(max_length=8, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "clinics_loginchallenge"
        indexes = [models.Index(fields=["created"], name="challenge_created")]

    def __str__(self) -> str:
        return f"challenge {self.pk}"


class ThrottleEvent(models.Model):
    """Counted events for rate limits, kept on the server (not in the session or a cookie).

    ``key`` is a keyed hash of the person's identity number, the client IP or the clinic,
    so a new session, a new IP or a forged header resets nothing.
    """

    scope = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    created = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "clinics_throttleevent"
        indexes = [models.Index(fields=["scope", "key", "created"], name="throttle_lookup")]

    def __str__(self) -> str:
        return f"{self.scope} {self.created:%Y-%m-%d %H:%M}"
