"""The SMS outbox: one row per SMS, written in the transaction of the action that caused it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

#: Twilio accepts at most 1600 characters in a message body.
MAX_TEXT_LENGTH = 1600
#: What staff see instead of a secret (a login code): always the same, so not even its length
#: shows.
REDACTED = "••••••"


# The choices live at module level so that Meta.constraints can refer to them; use them as
# OutboxMessage.Purpose and OutboxMessage.Status.
class Purpose(models.TextChoices):
    LOGIN_CODE = "login_code", _("Login code")
    PASSWORD_SET = "password_set", _("Password set or changed")
    BOOKING_CONFIRMATION = "booking_confirmation", _("Booking confirmation")
    BOOKING_REMINDER = "booking_reminder", _("Booking reminder")
    BOOKING_CANCELLED = "booking_cancelled", _("Booking cancelled")
    BOOKING_MOVED = "booking_moved", _("Booking moved")
    SLOT_OFFER = "slot_offer", _("Earlier time offered")
    ECONSULT_ANSWER = "econsult_answer", _("eConsultation answered")
    RENEWAL_HANDLED = "renewal_handled", _("Prescription renewal handled")
    POWER_OF_ATTORNEY = "power_of_attorney", _("Power of attorney given")
    CHILD_TURNS_12 = "child_turns_12", _("Child turns 12")
    OTHER = "other", _("Other")


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    UNDELIVERED = "undelivered", _("Undelivered")


class OutboxMessage(models.Model):
    """An SMS to one recipient, and what became of it.

    The text carries no health information by design (a code, a time, a place, a link). A
    text with a secret in it (a login code) also has ``redacted_text``, the same text with the
    secret replaced by :data:`REDACTED`: staff only ever see that (:attr:`staff_text`), and
    once the row is sent or failed for good ``text`` is overwritten with it, so the secret
    lives in the database only while it may still have to be sent. The text is never logged,
    and ``last_error`` never repeats it (nor the recipient).
    """

    Purpose = Purpose
    Status = Status

    clinic = models.ForeignKey(
        "clinics.Clinic",
        on_delete=models.PROTECT,
        related_name="sms_messages",
        verbose_name=_("clinic"),
        db_index=False,  # sms_clinic_created leads with it
    )
    recipient = models.CharField(_("recipient"), max_length=16, help_text=_("In E.164 form."))
    text = models.TextField(_("text"), max_length=MAX_TEXT_LENGTH)
    #: Empty when the text holds no secret.
    redacted_text = models.TextField(
        _("redacted text"), max_length=MAX_TEXT_LENGTH, blank=True, default=""
    )
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    provider_id = models.CharField(_("provider id"), max_length=64, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True, default="")
    idempotency_key = models.CharField(
        _("idempotency key"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("Set by the caller so that the same SMS is never queued twice."),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    #: When the send task was handed to the broker; empty while the row waits for the
    #: dispatcher (SMS that may wait a few seconds are queued without a broker round trip).
    enqueued_at = models.DateTimeField(_("enqueued at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("SMS")
        verbose_name_plural = _("SMS outbox")
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider_id"],
                condition=~Q(provider_id=""),
                name="sms_provider_id_unique",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="sms_idempotency_key_unique",
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="sms_status_valid"),
        ]
        indexes = [
            # The admin's list and the per-clinic daily count.
            models.Index(fields=["clinic", "-created"], name="sms_clinic_created"),
            # Finding rows stuck in 'queued' or 'sending'.
            models.Index(fields=["status", "updated"], name="sms_status_updated"),
            # The dispatcher's rows: queued, not yet handed to the broker.
            models.Index(
                fields=["created"],
                condition=Q(status="queued", enqueued_at__isnull=True),
                name="sms_waiting_dispatch",
            ),
        ]

    def __str__(self) -> str:
        return f"SMS {self.pk} ({self.purpose}, {self.status})"

    @property
    def staff_text(self) -> str:
        """The text as staff may see it: with any secret in it replaced by :data:`REDACTED`."""
        return self.redacted_text or self.text

    @property
    def masked_recipient(self) -> str:
        """The recipient as patients see it on screen: only the last three digits."""
        return f"••• •• {self.recipient[-3:]}" if self.recipient else ""
