"""Clinics, their practitioners, patient lists, patients and staff accounts."""

from __future__ import annotations

import datetime
import secrets
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from .national_id import IdKind, classify, mask, validate_national_id

if TYPE_CHECKING:  # the stubs' type of a verbose name (a text or a lazy one)
    from django_stubs_ext import StrOrPromise

ep_ident_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
    _("Use 1–32 letters (a–z), digits, hyphens or underscores, starting with a letter or digit."),
)
key_validator = RegexValidator(
    r"^[A-Za-z0-9_.-]{1,64}$",
    _("Use 1–64 letters (a–z), digits, dots, hyphens or underscores."),
)
hpr_validator = RegexValidator(r"^\d{4,9}$", _("An HPR number has 4 to 9 digits."))


def new_key() -> str:
    return secrets.token_hex(4)


class Clinic(models.Model):
    name = models.CharField(_("name"), max_length=200)
    ep_ident = models.CharField(
        _("EP identifier"),
        max_length=32,
        validators=[ep_ident_validator],
        help_text=_("The clinic's public identifier in the patient link Login.aspx?ClinicId=…"),
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    website = models.URLField(_("website"), blank=True)
    active = models.BooleanField(
        _("portal active"),
        default=True,
        help_text=_("Patients can reach the clinic's self-service only while this is on."),
    )
    allow_bankid = models.BooleanField(_("BankID login allowed"), default=True)
    allow_sms = models.BooleanField(_("password and SMS code login allowed"), default=True)
    econsult_requires_bankid = models.BooleanField(
        _("eConsultation requires BankID"),
        default=False,
        help_text=_(
            "Patients who logged in with password and SMS code cannot send eConsultations."
        ),
    )
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("ep_ident"), name="clinic_ep_ident_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("identification:start", kwargs={"ep_ident": self.ep_ident})

    def clean(self) -> None:
        super().clean()
        if self.ep_ident:
            clash = Clinic.objects.filter(ep_ident__iexact=self.ep_ident).exclude(pk=self.pk)
            if clash.exists():
                raise ValidationError(
                    {"ep_ident": _("Another clinic already uses this EP identifier.")}
                )

    @property
    def login_methods(self) -> list[str]:
        methods = []
        if self.allow_bankid:
            methods.append("bankid")
        if self.allow_sms:
            methods.append("sms")
        return methods

    @property
    def phone_display(self) -> str:
        """The phone number as Norwegians write it ("22 00 00 00"); foreign ones in full."""
        import phonenumbers

        try:
            number = phonenumbers.parse(self.phone, "NO")
        except phonenumbers.NumberParseException:
            return self.phone
        if not phonenumbers.is_valid_number(number):
            return self.phone
        fmt = (
            phonenumbers.PhoneNumberFormat.NATIONAL
            if number.country_code == 47
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        return phonenumbers.format_number(number, fmt)

    def entry_path(self) -> str:
        return f"/Login.aspx?ClinicId={self.ep_ident}"


class Practitioner(models.Model):
    class Role(models.TextChoices):
        GP = "gp", _("GP")
        LOCUM = "locum", _("Locum")
        JUNIOR = "junior", _("Junior doctor")
        NURSE = "nurse", _("Nurse")
        OTHER = "other", _("Other")

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="practitioners", verbose_name=_("clinic")
    )
    key = models.CharField(
        _("key"),
        max_length=64,
        default=new_key,
        validators=[key_validator],
        help_text=_("Identifies the practitioner in the clinic's import file."),
    )
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.GP)
    hpr = models.CharField(_("HPR number"), max_length=9, blank=True, validators=[hpr_validator])
    eportal_enabled = models.BooleanField(
        _("Aktiver ePortal"),
        default=False,
        help_text=_("Offer this practitioner's services to patients online."),
    )
    #: The FHIR API's meta.lastUpdated and version (fhirapi).
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "key"], name="practitioner_key_per_clinic"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class PatientList(models.Model):
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="patient_lists", verbose_name=_("clinic")
    )
    key = models.CharField(_("key"), max_length=64, default=new_key, validators=[key_validator])
    name = models.CharField(_("name"), max_length=200)
    gp = models.ForeignKey(
        Practitioner,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient_lists",
        verbose_name=_("GP (list owner)"),
    )
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("patient list")
        verbose_name_plural = _("patient lists")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "key"], name="patient_list_key_per_clinic"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if (
            self.gp_id
            and self.clinic_id
            and self.gp is not None
            and self.gp.clinic_id != self.clinic_id
        ):
            raise ValidationError({"gp": _("The GP must work at the same clinic.")})


class Patient(models.Model):
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="patients", verbose_name=_("clinic")
    )
    national_id = models.CharField(
        _("identity number"), max_length=11, validators=[validate_national_id]
    )
    name = models.CharField(_("name"), max_length=200)
    mobile = models.CharField(
        _("mobile number"),
        max_length=20,
        blank=True,
        help_text=_("The mobile number registered in the patient's record, in E.164 form."),
    )
    journal_active = models.BooleanField(_("active record"), default=True)
    confidential_address = models.BooleanField(
        _("confidential address"),
        default=False,
        help_text=_(
            "Kode 6 or 7 (sperret adresse): the patient can neither act for others in the "
            "portal nor be acted for."
        ),
    )
    patient_list = models.ForeignKey(
        PatientList,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patients",
        verbose_name=_("patient list"),
        help_text=_("Empty: the patient has no GP at this clinic."),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "national_id"], name="patient_national_id_once_per_clinic"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked_national_id})"

    def clean(self) -> None:
        super().clean()
        if (
            self.patient_list_id
            and self.clinic_id
            and self.patient_list is not None
            and self.patient_list.clinic_id != self.clinic_id
        ):
            raise ValidationError({"patient_list": _("The patient list must be this clinic's.")})

    @property
    def masked_national_id(self) -> str:
        return mask(self.national_id)

    @property
    def id_kind(self) -> IdKind:
        return classify(self.national_id)

    @property
    def has_gp_here(self) -> bool:
        return self.patient_list_id is not None


atc_validator = RegexValidator(
    r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$",
    _("An ATC code looks like N02BE01: a letter, two digits, two letters, two digits."),
)


def representative_field(
    verbose_name: StrOrPromise, related_name: str = "+"
) -> models.ForeignKey[Patient | None, Patient | None]:
    """The representative (a parent, a holder of a power of attorney) who did something for
    the patient: an appointment booked, a message or a renewal request sent, a waitlist
    entry made. Its SMS go to them (``clinics.selectors.sms_recipient``;
    docs/acting-for-others.md). Never searched by, so no index on the write path."""
    return models.ForeignKey(
        Patient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name=related_name,
        verbose_name=verbose_name,
        db_index=False,
    )


class Medication(models.Model):
    """A medication in the patient's record at the clinic (from the journal's export).

    A- and B-preparations (narcotics and other addictive drugs, legemiddelforskriften's
    reseptgruppe A and B) are never renewable online. Medications that leave the journal's
    export are kept (a renewal request may refer to them) but are no longer current.
    """

    class Group(models.TextChoices):
        A = "A", _("A-preparation")
        B = "B", _("B-preparation")
        C = "C", _("C-preparation")

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="medications", verbose_name=_("patient")
    )
    key = models.CharField(_("key"), max_length=64, validators=[key_validator])
    name = models.CharField(_("name"), max_length=200)
    strength = models.CharField(_("strength"), max_length=100, blank=True)
    form = models.CharField(_("form"), max_length=100, blank=True)
    atc = models.CharField(_("ATC code"), max_length=7, blank=True, validators=[atc_validator])
    group = models.CharField(
        _("prescription group"), max_length=1, choices=Group.choices, default=Group.C
    )
    last_prescribed = models.DateField(_("last prescribed"), null=True, blank=True)
    #: When the last prescription runs out, if the journal knows.
    runs_out = models.DateField(_("runs out"), null=True, blank=True)
    current = models.BooleanField(_("current"), default=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("medication")
        verbose_name_plural = _("medications")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "key"], name="medication_key_per_patient"),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.name, self.strength, self.form) if part)

    @property
    def addictive(self) -> bool:
        """A- or B-preparation: never renewed online."""
        return self.group in (self.Group.A, self.Group.B)


class ParentChild(models.Model):
    """A parent and a child at the clinic, from the journal's export (docs/acting-for-others.md).

    Whether the parent may act for the child is computed each time from these two flags, the
    child's date of birth (its identity number) and both sides' confidential address
    (``clinics.selectors.may_act_for``); nothing else is stored.
    """

    parent = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="children_links", verbose_name=_("parent")
    )
    child = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="parent_links", verbose_name=_("child")
    )
    same_address = models.BooleanField(
        _("same registered address"),
        default=False,
        help_text=_("The parent shares the child's address in the population register."),
    )
    parental_responsibility = models.BooleanField(_("parental responsibility"), default=False)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("parent and child")
        verbose_name_plural = _("parents and children")
        ordering = ["parent_id", "child_id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "child"], name="parent_child_once"),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("child")), name="parent_child_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent_id} → {self.child_id}"

    def clean(self) -> None:
        super().clean()
        if self.parent_id and self.child_id and self.parent.clinic_id != self.child.clinic_id:
            raise ValidationError(_("The parent and the child must be patients of one clinic."))


class PowerOfAttorney(models.Model):
    """A power of attorney (fullmakt): the giver lets the holder use the portal for them for
    some services, from one day to another (docs/acting-for-others.md).

    Ended, never deleted: ``ended_at`` (and ``ended_by``, the giver or the holder; empty when
    a later import ended it). At most one open power of attorney per giver and holder.
    """

    class Service(models.TextChoices):
        # The values of delegation.models.Service (which clinics may not import):
        # tests/clinics/test_acting_for_others.py keeps them in step.
        BOOKING = "booking", _("Appointment booking")
        ECONSULT = "econsult", _("eConsultation")
        RENEWAL = "renewal", _("Prescription renewal")

    class Source(models.TextChoices):
        IMPORT = "import", _("Imported from the journal")
        PORTAL = "portal", _("Given in the portal")

    giver = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        related_name="attorneys_given",
        verbose_name=_("giver"),
    )
    holder = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        related_name="attorneys_held",
        verbose_name=_("holder"),
    )
    valid_from = models.DateField(_("valid from"))
    #: Inclusive; empty: until further notice (only an import can say so).
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    covers_booking = models.BooleanField(_("appointment booking"), default=False)
    covers_econsult = models.BooleanField(_("eConsultation"), default=False)
    covers_renewal = models.BooleanField(_("prescription renewal"), default=False)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    #: The last change (the FHIR API's Consent: meta.lastUpdated, ETag, ``_lastUpdated``).
    updated = models.DateTimeField(_("updated"), auto_now=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        Patient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ended by"),
    )

    class Meta:
        verbose_name = _("power of attorney")
        verbose_name_plural = _("powers of attorney")
        ordering = ["valid_from", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["giver", "holder"],
                condition=models.Q(ended_at__isnull=True),
                name="attorney_one_open_per_pair",
            ),
            models.CheckConstraint(
                condition=~models.Q(giver=models.F("holder")), name="attorney_not_self"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="attorney_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=models.Q(covers_booking=True)
                | models.Q(covers_econsult=True)
                | models.Q(covers_renewal=True),
                name="attorney_covers_a_service",
            ),
        ]

    def __str__(self) -> str:
        # Never a name or an identity number: this goes into the audit log.
        return f"Power of attorney {self.pk}"

    @property
    def services(self) -> tuple[str, ...]:
        """The services covered, in the order of :class:`Service`."""
        return tuple(
            service for service in self.Service.values if getattr(self, f"covers_{service}")
        )

    def service_labels(self) -> list[str]:
        return [str(self.Service(service).label) for service in self.services]

    def covers(self, service: str) -> bool:
        return service in self.services

    def valid_on(self, day: datetime.date) -> bool:
        """Not ended, and ``day`` between the dates (both inclusive)."""
        return (
            self.ended_at is None
            and self.valid_from <= day
            and (self.valid_to is None or day <= self.valid_to)
        )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("Staff users need an email address")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A staff account (never a patient). Clinic administrators belong to one clinic."""

    # Django's documented way to drop an inherited field; the stubs type it as a CharField.
    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("clinic"),
        help_text=_("The clinic this staff member administers. Empty only for superusers."),
    )
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_users",
        verbose_name=_("practitioner"),
        help_text=_(
            "The practitioner this staff member is: their eConsultation inbox. Empty for an "
            "administrator who is not a practitioner."
        ),
    )

    is_reception = models.BooleanField(
        _("reception"),
        default=False,
        help_text=_("Answers the patients' messages to the reception (“Kontakt ekspedisjonen”)."),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # An email-keyed manager: the stubs expect auth's username-keyed UserManager here.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        practitioner = self.practitioner if self.practitioner_id is not None else None
        if practitioner is not None and practitioner.clinic_id != self.clinic_id:
            raise ValidationError(
                {"practitioner": _("The practitioner must work at the staff member's clinic.")}
            )

    @property
    def is_clinic_admin(self) -> bool:
        return self.is_active and self.is_staff and self.clinic_id is not None


class EPortalService(Practitioner):
    """'ePortal tjenester': the admin's list of practitioners with their online switch."""

    class Meta:
        proxy = True
        verbose_name = _("ePortal service")
        verbose_name_plural = _("ePortal tjenester")


class ClinicActivation(Clinic):
    """'Aktiver ePortal': the admin page with the clinic's patient link."""

    class Meta:
        proxy = True
        verbose_name = _("Aktiver ePortal")
        verbose_name_plural = _("Aktiver ePortal")


class AuditEvent(models.Model):
    """An append-only record of who did what to which object, when and from where.

    Never holds a code, a message text or an identity number: ``details`` carries only
    field names, keys and outcomes.
    """

    class ActorType(models.TextChoices):
        PATIENT = "patient", _("Patient")
        STAFF = "staff", _("Staff")
        SYSTEM = "system", _("System")
        ANONYMOUS = "anonymous", _("Anonymous")
        API = "api", _("API client")

    created = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("clinic"),
        db_index=False,  # audit_clinic_created leads with it
    )
    actor_type = models.CharField(_("actor type"), max_length=16, choices=ActorType.choices)
    staff = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("staff user")
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("patient")
    )
    #: The patient whose data the event is about (the patient themself, or the patient whose
    #: consultation, appointment or record a staff member or a representative opened): the
    #: patient's own access log ("Hvem har sett mine opplysninger") reads by it.
    subject = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_about",
        verbose_name=_("about patient"),
        db_index=False,  # audit_subject_created leads with it
    )
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-created", "-pk"]
        # Every audit event is written inside someone's request: no index more than the
        # lists and filters need (a plain one on action, without LIKE's pattern twin).
        indexes = [
            models.Index(fields=["clinic", "-created"], name="audit_clinic_created"),
            models.Index(fields=["action"], name="audit_action"),
            models.Index(fields=["subject", "-created"], name="audit_subject_created"),
        ]

    def __str__(self) -> str:
        created = localtime(self.created, ZoneInfo(settings.TIME_ZONE)) if self.created else None
        return f"{created:%Y-%m-%d %H:%M} {self.action}" if created else self.action

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events are append-only")
