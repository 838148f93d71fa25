"""What the operations side records: daily health cycles, heartbeats and incidents."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class HealthCycle(models.Model):
    """One run of the daily health cycle. ``day`` (the local date, Europe/Oslo) is unique:
    that is what makes it run at most once a day, whoever starts it and however often."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        OK = "ok", _("OK")
        FAILED = "failed", _("Failed")

    day = models.DateField(_("day"), unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RUNNING
    )
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("health cycle")
        verbose_name_plural = _("Monitoring")
        ordering = ["-day"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["running", "ok", "failed"]), name="ops_cycle_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.status}"


class HealthStep(models.Model):
    """One step of a cycle: what it found (``detail``, never a secret) and how long it took."""

    cycle = models.ForeignKey(
        HealthCycle, on_delete=models.CASCADE, related_name="steps", verbose_name=_("cycle")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(_("step"), max_length=32)
    ok = models.BooleanField(_("ok"))
    detail = models.CharField(_("detail"), max_length=200, blank=True, default="")
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))

    class Meta:
        verbose_name = _("health cycle step")
        verbose_name_plural = _("health cycle steps")
        ordering = ["cycle", "position"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "position"], name="ops_step_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'failed'}"


class Heartbeat(models.Model):
    """A minute in which a beat-sent task reached a worker and the database: one row per
    minute at most (``minute`` is the start of the minute, in UTC)."""

    minute = models.DateTimeField(_("minute"), unique=True)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")
        ordering = ["-minute"]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M}"


class Incident(models.Model):
    """Something staff were told about: opened once, closed once (each with one e-mail).

    At most one incident of each kind is open at a time (the partial unique constraint), so
    two checks running at once cannot open it twice.
    """

    class Kind(models.TextChoices):
        HEARTBEAT = "heartbeat", _("No heartbeat")
        CYCLE = "cycle", _("Health cycle failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    summary = models.CharField(_("summary"), max_length=200)
    opened_at = models.DateTimeField(_("opened"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(closed_at__isnull=True), name="ops_one_open_incident"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["heartbeat", "cycle"]), name="ops_incident_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.opened_at:%Y-%m-%d %H:%M}"
