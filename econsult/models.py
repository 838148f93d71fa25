"""eConsultations: a patient's written question to a practitioner and the written answers.

A :class:`Consultation` is one thread: the patient's first message and every message after
it, with up to three attachments each. It is kept for good (journal duty): deleting a
patient who has consultations is refused (``PROTECT``), and no retention job deletes them
(docs/econsult.md).

Nothing of a consultation's content (subject, message, file name) is ever written to a log
line, an audit event's details or an SMS.
"""

from __future__ import annotations

import uuid

from django.core.files.storage import Storage, storages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic, Medication, Patient, Practitioner, User, representative_field

#: The subject's length on every clinic.
SUBJECT_MAX_LENGTH = 120
#: The longest message any clinic may allow.
MESSAGE_MAX_LENGTH = 10_000
#: At most this many files per message, each at most this size.
MAX_ATTACHMENTS = 3
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


class EconsultSettings(models.Model):
    """A clinic's eConsultation rules. A clinic without a row uses the defaults below."""

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, related_name="econsult_settings", verbose_name=_("clinic")
    )
    answer_days = models.PositiveSmallIntegerField(
        _("answer time (working days)"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_(
            "Patients are promised an answer within this many working days (weekdays that are "
            "not public holidays and on which the practitioner takes eConsultations)."
        ),
    )
    daily_cap = models.PositiveSmallIntegerField(
        _("new eConsultations per practitioner per day"),
        default=10,
        validators=[MaxValueValidator(500)],
        help_text=_(
            "0 closes eConsultation. A practitioner's own capacity periods (holidays, other "
            "numbers) override it."
        ),
    )
    message_max_length = models.PositiveIntegerField(
        _("longest message (characters)"),
        default=2000,
        validators=[MinValueValidator(100), MaxValueValidator(MESSAGE_MAX_LENGTH)],
    )
    max_open_per_patient = models.PositiveSmallIntegerField(
        _("unanswered eConsultations per patient"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text=_("A patient may wait for this many answers at a time."),
    )
    fee_nok = models.PositiveIntegerField(
        _("fee (NOK)"),
        default=0,
        validators=[MaxValueValidator(10_000)],
        help_text=_(
            "The patient's fee for an eConsultation (takst 2ae); 0: no fee. Patients must "
            "accept it before they send."
        ),
    )
    reception_enabled = models.BooleanField(
        _("“Kontakt ekspedisjonen” on"),
        default=True,
        help_text=_(
            "Patients may send administrative messages (a copy of a sick note, a new address, "
            "a question about a bill) to the reception."
        ),
    )
    renewal_days_before = models.PositiveSmallIntegerField(
        _("renewal at the earliest (days before running out)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(365)],
        help_text=_(
            "Empty: patients may ask for a renewal at any time. A number: not earlier than "
            "this many days before the prescription runs out (where the journal says when)."
        ),
    )
    answer_requires_bankid = models.BooleanField(
        _("reading an answer requires BankID"),
        default=True,
        help_text=_(
            "Patients who logged in with password and SMS code may send, but must log in "
            "with BankID to read the clinic's answer."
        ),
    )

    class Meta:
        verbose_name = _("eConsultation settings")
        verbose_name_plural = _("eConsultation settings")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name}: {self.clinic}"


class CapacityPeriod(models.Model):
    """A practitioner's own number of new eConsultations per day for a period (0: closed,
    for example during holidays). Outside every period the clinic's daily cap applies."""

    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.CASCADE,
        related_name="econsult_capacity",
        verbose_name=_("practitioner"),
    )
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(
        _("last day"), null=True, blank=True, help_text=_("Empty: until further notice.")
    )
    daily_cap = models.PositiveSmallIntegerField(
        _("new eConsultations per day"),
        validators=[MaxValueValidator(500)],
        help_text=_("0: closed for eConsultations."),
    )

    class Meta:
        verbose_name = _("eConsultation capacity period")
        verbose_name_plural = _("eConsultation capacity")
        ordering = ["practitioner", "first_day"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__isnull=True) | Q(last_day__gte=models.F("first_day")),
                name="capacity_period_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner.name}: {self.first_day}–{self.last_day or ''}"


class Status(models.TextChoices):
    SENT = "sent", _("Sent")
    READ = "read", _("Read")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


#: The statuses of a consultation that waits for the clinic.
AWAITING_CLINIC = (Status.SENT, Status.READ)


class Kind(models.TextChoices):
    ECONSULT = "econsult", _("eConsultation")
    RECEPTION = "reception", _("Message to the reception")


class Consultation(models.Model):
    """One thread: an eConsultation to a practitioner, or an administrative message to the
    clinic's reception ("Kontakt ekspedisjonen", no practitioner, free of charge)."""

    Status = Status
    Kind = Kind

    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="consultations", verbose_name=_("clinic")
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="consultations", verbose_name=_("patient")
    )
    sent_by = representative_field(_("sent by representative"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ECONSULT)
    #: Empty for a message to the reception.
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consultations",
        verbose_name=_("practitioner"),
    )
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SENT
    )
    created = models.DateTimeField(_("sent"), auto_now_add=True)
    #: The working day whose capacity the consultation took (the day it was sent, or the next
    #: working day of the practitioner's).
    intake_day = models.DateField(_("intake day"))
    answer_by = models.DateField(_("answer by"))
    #: When the patient last wrote, or the clinic last answered.
    last_patient_message_at = models.DateTimeField(_("last message from the patient"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    #: The clinic has not opened the patient's newest message yet (bold in the inbox).
    unread_by_staff = models.BooleanField(_("unread by the clinic"), default=True)
    #: The patient has not read the clinic's newest answer yet.
    unread_by_patient = models.BooleanField(_("unread by the patient"), default=False)
    #: The fee the patient accepted when sending (NOK; 0: none).
    fee_nok = models.PositiveIntegerField(_("fee (NOK)"), default=0)
    #: The clinic asks the patient to book an appointment with ``practitioner`` instead.
    booking_offered = models.BooleanField(_("booking offered"), default=False)
    #: The patient's language when sending (the answer SMS speaks it).
    language = models.CharField(_("language"), max_length=8, default="nb")
    #: The sending form's one-time key: a double submit finds the first consultation.
    submission_key = models.CharField(max_length=36, blank=True, editable=False)

    class Meta:
        verbose_name = _("eConsultation")
        verbose_name_plural = _("eConsultations")
        ordering = ["-created", "-pk"]
        permissions = [("reassign_consultation", _("Can reassign eConsultations"))]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "submission_key"],
                condition=~Q(submission_key=""),
                name="econsult_submitted_once",
            ),
            # An eConsultation always has its practitioner; the reception's messages none.
            models.CheckConstraint(
                condition=Q(kind="econsult", practitioner__isnull=False)
                | Q(kind="reception", practitioner__isnull=True),
                name="econsult_practitioner_by_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["practitioner", "intake_day"], name="econsult_capacity"),
            models.Index(fields=["clinic", "status", "answer_by"], name="econsult_inbox"),
            models.Index(fields=["patient", "-created"], name="econsult_patient"),
        ]

    def __str__(self) -> str:
        # Never the subject: this string reaches the admin's history and the audit log.
        return f"{self._meta.verbose_name} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status != Status.CLOSED


class Message(models.Model):
    """One message of a thread, from the patient or from the clinic."""

    class Author(models.TextChoices):
        PATIENT = "patient", _("Patient")
        CLINIC = "clinic", _("Clinic")

    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="messages"
    )
    author = models.CharField(_("from"), max_length=16, choices=Author.choices)
    #: The staff user who wrote a clinic message.
    staff = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: The practitioner a clinic message was written as (shown to the patient).
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("message"), max_length=MESSAGE_MAX_LENGTH)
    created = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


def attachment_storage() -> Storage:
    """Where attachments live: ``STORAGES["econsult"]`` (outside the static and media web
    roots; docs/econsult.md)."""
    return storages["econsult"]


def attachment_path(instance: Attachment, filename: str) -> str:
    # Never the patient's file name on disk: a random name, sharded by clinic.
    return f"{instance.clinic_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file attached to a message, its type decided from its content."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(storage=attachment_storage, upload_to=attachment_path, max_length=200)
    #: The patient's file name, for display and the download's name only.
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class Inbox(Consultation):
    """'eKonsultasjoner': the staff inbox page (not a changelist)."""

    class Meta:
        proxy = True
        verbose_name = _("eConsultation inbox")
        verbose_name_plural = _("eConsultation inbox")


# Prescription renewal ("Reseptfornyelse")

#: The longest note a patient may add to a renewal request.
RENEWAL_NOTE_MAX_LENGTH = 500


class RenewalRequest(models.Model):
    """A patient's request to renew one or more of their medications."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="renewal_requests", verbose_name=_("clinic")
    )
    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="renewal_requests",
        verbose_name=_("patient"),
    )
    sent_by = representative_field(_("sent by representative"))
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.PROTECT,
        related_name="renewal_requests",
        verbose_name=_("practitioner"),
    )
    note = models.TextField(_("note"), max_length=RENEWAL_NOTE_MAX_LENGTH, blank=True)
    pharmacy = models.CharField(_("pharmacy"), max_length=100, blank=True)
    created = models.DateTimeField(_("sent"), auto_now_add=True)
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    unread_by_staff = models.BooleanField(_("unread by the clinic"), default=True)
    unread_by_patient = models.BooleanField(_("unread by the patient"), default=False)
    language = models.CharField(_("language"), max_length=8, default="nb")
    submission_key = models.CharField(max_length=36, blank=True, editable=False)

    class Meta:
        verbose_name = _("renewal request")
        verbose_name_plural = _("renewal requests")
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "submission_key"],
                condition=~Q(submission_key=""),
                name="renewal_submitted_once",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "handled_at", "created"], name="renewal_inbox"),
            models.Index(fields=["patient", "-created"], name="renewal_patient"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.handled_at is None


class RenewalItem(models.Model):
    """One medication of a renewal request, and what the practitioner decided."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Waiting")
        APPROVED = "approved", _("Renewed")
        REJECTED = "rejected", _("Not renewed")
        NEEDS_APPOINTMENT = "needs_appointment", _("Needs an appointment")

    class Reason(models.TextChoices):
        NOT_NEEDED = "not_needed", _("The medication is no longer needed")
        CHANGED = "changed", _("The treatment is being changed")
        CHECK_UP = "check_up", _("A check-up is needed first")
        ELSEWHERE = "elsewhere", _("Another doctor prescribes it")
        OTHER = "other", _("Other reason")

    request = models.ForeignKey(RenewalRequest, on_delete=models.PROTECT, related_name="items")
    medication = models.ForeignKey(
        Medication, on_delete=models.PROTECT, related_name="renewals", verbose_name=_("medication")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    handled_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)

    class Meta:
        verbose_name = _("renewal of a medication")
        verbose_name_plural = _("renewals of medications")
        ordering = ["pk"]
        constraints = [
            # One open request per medication, whoever asks twice and however fast.
            models.UniqueConstraint(
                fields=["medication"],
                condition=Q(status="requested"),
                name="renewal_one_open_per_medication",
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"
