"""The appointment book: types, weekly templates, closed days, slots and appointments.

Slots are generated from the templates (see :mod:`booking.services`); an appointment holds
one slot. What must never break is enforced by the database:

- one *booked* appointment per slot (a partial unique constraint, every database);
- two overlapping slots of one practitioner are never both booked (on PostgreSQL an exclusion
  constraint over the appointment's practitioner and time range, created by migration 0002;
  the booking service also locks the practitioner's overlapping slots, which serialises the
  attempts and gives the same guarantee on SQLite, where writers are serialised anyway).

The appointment copies its slot's practitioner, start and end so the exclusion constraint and
the patient's own lists need no join; a booked slot's times never change (regeneration leaves
booked slots alone), so the copy cannot drift.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic, Patient, Practitioner, key_validator, representative_field

colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1a7f37."))

#: The longest reason or problem description a patient may write.
REASON_MAX_LENGTH = 200


class BookingSettings(models.Model):
    """A clinic's booking rules. A clinic without a row uses the defaults below."""

    clinic = models.OneToOneField(
        Clinic,
        on_delete=models.CASCADE,
        related_name="booking_settings",
        verbose_name=_("clinic"),
    )
    horizon_weeks = models.PositiveSmallIntegerField(
        _("booking horizon (weeks)"),
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(52)],
        help_text=_("How far ahead slots are generated and offered."),
    )
    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"),
        default=120,
        help_text=_("Slots starting sooner than this are not offered for ordinary booking."),
    )
    cancel_deadline_hours = models.PositiveIntegerField(
        _("cancellation deadline (hours)"),
        default=24,
        help_text=_("Patients may cancel online until this many hours before the appointment."),
    )
    max_future_online = models.PositiveSmallIntegerField(
        _("future online appointments per patient"),
        default=2,
        validators=[MinValueValidator(1)],
    )
    reminder_time = models.TimeField(
        _("reminder time"),
        default=datetime.time(18, 0),
        # booking.services.REMINDER_WINDOW: three hours.
        help_text=_(
            "The reminder SMS goes out the day before the appointment, from this time and for "
            "three hours (a delayed run sends nothing late at night)."
        ),
    )

    waitlist_notice_hours = models.PositiveSmallIntegerField(
        _("waitlist: offer freed times at least (hours ahead)"),
        default=2,
        validators=[MaxValueValidator(24 * 14)],
        help_text=_(
            "A freed time is offered to waiting patients only if it starts this far ahead."
        ),
    )
    waitlist_hold_minutes = models.PositiveSmallIntegerField(
        _("waitlist: offer held for (minutes)"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text=_("How long a freed time is kept for the patient it is offered to."),
    )

    class Meta:
        verbose_name = _("booking settings")
        verbose_name_plural = _("booking settings")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name}: {self.clinic}"


class AppointmentType(models.Model):
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="appointment_types", verbose_name=_("clinic")
    )
    key = models.CharField(_("key"), max_length=64, validators=[key_validator])
    name = models.CharField(_("name"), max_length=100)
    minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), default=20, validators=[MinValueValidator(5)]
    )
    colour = models.CharField(
        _("colour"), max_length=7, default="#0d6efd", validators=[colour_validator]
    )
    online = models.BooleanField(
        _("ePortal type"),
        default=False,
        help_text=_("Slots of this type are offered to patients online."),
    )
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("appointment type")
        verbose_name_plural = _("appointment types")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "key"], name="booking_type_key_per_clinic"),
        ]

    def __str__(self) -> str:
        return self.name


class ScheduleTemplate(models.Model):
    """'Timebok-mal': a practitioner's weekly rules, valid between two dates."""

    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.CASCADE,
        related_name="schedule_templates",
        verbose_name=_("practitioner"),
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("Empty: until further notice.")
    )
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("schedule template")
        verbose_name_plural = _("schedule templates")
        ordering = ["practitioner__name", "valid_from", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="booking_template_dates_ordered",
                violation_error_message=_("“Valid to” cannot be before “valid from”."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner.name} {self.valid_from:%Y-%m-%d}–{self.valid_to or ''}"


class ScheduleRule(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 1, _("Monday")
        TUESDAY = 2, _("Tuesday")
        WEDNESDAY = 3, _("Wednesday")
        THURSDAY = 4, _("Thursday")
        FRIDAY = 5, _("Friday")
        SATURDAY = 6, _("Saturday")
        SUNDAY = 7, _("Sunday")

    template = models.ForeignKey(
        ScheduleTemplate, on_delete=models.CASCADE, related_name="rules", verbose_name=_("template")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("to"))
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    appointment_type = models.ForeignKey(
        AppointmentType,
        on_delete=models.RESTRICT,
        related_name="rules",
        verbose_name=_("appointment type"),
    )

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["weekday", "start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=1, weekday__lte=7), name="booking_rule_weekday"
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="booking_rule_ordered",
                violation_error_message=_("A rule must end after it starts."),
            ),
            # MAX_DURATION relies on the upper bound.
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=480),
                name="booking_rule_slot_len",
                violation_error_message=_("The slot length must be 5 to 480 minutes."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class ClosedDay(models.Model):
    """A day the whole clinic is closed (besides the public holidays, which are built in)."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="closed_days", verbose_name=_("clinic")
    )
    date = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "date"], name="booking_closed_day_once"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d}"


LAST_DATE = datetime.date(2099, 12, 31)


def on_clinic_clock(value: datetime.datetime) -> datetime.datetime:
    """``value`` on the clinic's clock (``TIME_ZONE``, Europe/Oslo), as every page shows
    times: the audit log's object column too, which keeps ``str()`` of a slot or an
    appointment."""
    return localtime(value, ZoneInfo(settings.TIME_ZONE))


#: The longest absence one row may hold (its days are handled one by one in places).
MAX_ABSENCE = datetime.timedelta(days=366)


class Absence(models.Model):
    """A practitioner away for whole days (holiday, course, illness): their slots on these
    days are blocked, also those generated later (a template change, the horizon moving on).
    Appointments already booked stay booked: the clinic contacts those patients."""

    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.CASCADE,
        related_name="absences",
        verbose_name=_("practitioner"),
    )
    # An upper bound keeps the day arithmetic (the day after the last) inside Python's dates.
    first_day = models.DateField(_("first day"), validators=[MaxValueValidator(LAST_DATE)])
    last_day = models.DateField(_("last day"), validators=[MaxValueValidator(LAST_DATE)])
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["first_day", "practitioner_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=F("first_day")),
                name="booking_absence_ordered",
                violation_error_message=_("The last day cannot be before the first day."),
            ),
        ]
        indexes = [models.Index(fields=["practitioner", "last_day"], name="booking_absence_pract")]

    def __str__(self) -> str:
        if self.first_day == self.last_day:
            return f"{self.practitioner} {self.first_day:%Y-%m-%d}"
        return f"{self.practitioner} {self.first_day:%Y-%m-%d}–{self.last_day:%Y-%m-%d}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.first_day and self.last_day and self.last_day - self.first_day > MAX_ABSENCE:
            raise ValidationError(
                {"last_day": _("An absence can last at most a year; add another after it.")}
            )

    def days(self) -> list[datetime.date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + datetime.timedelta(days=n) for n in range(count)]


#: No slot, hence no appointment, lasts longer: slots are made only from schedule rules, in
#: real time (also over a daylight-saving change), and a rule's slot length is at most 480
#: minutes (checked by the database, the admin form and the import). Overlap checks look back
#: this far from a slot's start, so that the (practitioner, start) indexes scan a few rows
#: instead of a practitioner's whole history.
MAX_DURATION = datetime.timedelta(minutes=480)


class Slot(models.Model):
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="slots", verbose_name=_("practitioner")
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    appointment_type = models.ForeignKey(
        AppointmentType,
        on_delete=models.RESTRICT,
        related_name="slots",
        verbose_name=_("appointment type"),
    )
    blocked = models.BooleanField(
        _("blocked"), default=False, help_text=_("A blocked slot is never offered (absence).")
    )
    #: The FHIR API's meta.lastUpdated (fhirapi); the updates that block or open slots set it.
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["start", "practitioner_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner", "start"], name="booking_slot_once_per_start"
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="booking_slot_ordered"),
        ]
        # The unique constraint's index (practitioner, start) serves the week query; this
        # one serves "every practitioner's slots today" (urgent) and the admin's day view.
        indexes = [models.Index(fields=["start"], name="booking_slot_start")]

    def __str__(self) -> str:
        return f"{self.practitioner.name} {on_clinic_clock(self.start):%Y-%m-%d %H:%M}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")

    # SET_NULL: regeneration may delete a slot that only cancelled appointments ever held;
    # they keep their copy of the time. A booked slot is never deleted (the services and the
    # admin refuse it).
    slot = models.ForeignKey(
        Slot,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("slot"),
    )
    patient = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        related_name="appointments",
        verbose_name=_("patient"),
        db_index=False,  # booking_appt_patient_start leads with it
    )
    # Copied from the slot (see the module docstring).
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.RESTRICT,
        related_name="appointments",
        verbose_name=_("practitioner"),
        db_index=False,  # booking_appt_pract_start leads with it
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    reason = models.CharField(_("reason"), max_length=REASON_MAX_LENGTH)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.BOOKED
    )
    booked_by = representative_field(
        _("booked by representative"), related_name="appointments_booked_for_others"
    )
    urgent = models.BooleanField(_("urgent (same day)"), default=False)
    online = models.BooleanField(_("booked online"), default=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    #: How many times the appointment was moved: the calendar file's SEQUENCE (its UID stays).
    sequence = models.PositiveIntegerField(_("times moved"), default=0, editable=False)
    moved_at = models.DateTimeField(_("moved"), null=True, blank=True)
    # The language the patient booked in, so the reminder (sent later by a worker) uses it.
    language = models.CharField(_("language"), max_length=8, default="nb", editable=False)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(status="booked"),
                name="booking_one_active_appointment_per_slot",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["booked", "cancelled"]), name="booking_appt_status"
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="booking_appt_ordered"),
        ]
        indexes = [
            models.Index(fields=["patient", "start"], name="booking_appt_patient_start"),
            models.Index(fields=["practitioner", "start"], name="booking_appt_pract_start"),
            models.Index(fields=["status", "start"], name="booking_appt_status_start"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.practitioner_id} {on_clinic_clock(self.start):%Y-%m-%d %H:%M} ({self.status})"
        )


#: Weekdays as bits of :attr:`WaitlistEntry.weekdays` (Monday = 1, as ScheduleRule counts).
ALL_WEEKDAYS = 0b1111111


class WaitlistEntry(models.Model):
    """ "Ønsker tidligere time": a patient waits for an earlier time with one of the chosen
    practitioners, on the weekdays and between the times that suit, until a date. With
    ``appointment`` set, accepting an offer moves that booking; without, it books anew."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        FULFILLED = "fulfilled", _("Got a time")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="waitlist", verbose_name=_("clinic")
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="waitlist", verbose_name=_("patient")
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="waitlist",
        verbose_name=_("appointment to move"),
    )
    practitioners = models.ManyToManyField(
        Practitioner, related_name="waitlist", verbose_name=_("practitioners")
    )
    #: Bit ``1 << (weekday - 1)`` for each weekday that suits (Monday = 1).
    weekdays = models.PositiveSmallIntegerField(_("weekdays"), default=ALL_WEEKDAYS)
    time_from = models.TimeField(_("from"), default=datetime.time(0, 0))
    time_to = models.TimeField(_("to"), default=datetime.time(23, 59))
    until = models.DateField(_("until"))
    reason = models.CharField(_("reason"), max_length=REASON_MAX_LENGTH, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.WAITING
    )
    sent_by = representative_field(_("sent by representative"))
    created = models.DateTimeField(_("created"), auto_now_add=True)
    language = models.CharField(_("language"), max_length=8, default="nb", editable=False)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ["created", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["waiting", "fulfilled", "cancelled", "expired"]),
                name="booking_waitlist_status",
            ),
            models.CheckConstraint(
                condition=Q(time_to__gt=F("time_from")),
                name="booking_waitlist_times_ordered",
                violation_error_message=_("“To” must be after “from”."),
            ),
            models.CheckConstraint(
                condition=Q(weekdays__gte=1, weekdays__lte=ALL_WEEKDAYS),
                name="booking_waitlist_weekdays",
            ),
            # One waiting entry per patient and booking (none: one for a new booking).
            models.UniqueConstraint(
                fields=["patient", "appointment"],
                condition=Q(status="waiting", appointment__isnull=False),
                name="booking_waitlist_once_per_booking",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status="waiting", appointment__isnull=True),
                name="booking_waitlist_once_without_booking",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "status", "created"], name="booking_waitlist_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.created:%Y-%m-%d} ({self.status})"


class SlotOffer(models.Model):
    """A freed slot offered to one waiting patient: held for them alone until
    ``expires_at`` (nobody else can book it), then offered to the next."""

    class Status(models.TextChoices):
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        VOID = "void", _("No longer free")

    slot = models.ForeignKey(
        Slot, on_delete=models.CASCADE, related_name="offers", verbose_name=_("slot")
    )
    entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.CASCADE, related_name="offers", verbose_name=_("entry")
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="slot_offers", verbose_name=_("patient")
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("held until"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OFFERED
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("slot offer")
        verbose_name_plural = _("slot offers")
        ordering = ["created", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["offered", "accepted", "declined", "expired", "void"]),
                name="booking_offer_status",
            ),
            # A slot is held for one patient at a time, and a patient holds one offer.
            models.UniqueConstraint(
                fields=["slot"], condition=Q(status="offered"), name="booking_offer_one_per_slot"
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status="offered"),
                name="booking_offer_one_per_patient",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="booking_offer_due"),
        ]

    def __str__(self) -> str:
        return f"{self.slot_id} → {self.patient_id} ({self.status})"
