"""The service matrix: which practitioners serve which patients, per clinic and service.

For each clinic and service there is either no :class:`ServiceMatrix` (the clinic has not
configured the service: the standard package applies, each patient is offered their own GP)
or one, whose :class:`MatrixCell` rows are the ticked cells. A cell's row is a patient list,
or NULL for "patients without a GP at this clinic"; its column is a practitioner. A
configured matrix with no cells means "nobody offers this service", which is not the same as
the standard package.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic, PatientList, Practitioner


class Service(models.TextChoices):
    BOOKING = "booking", _("Appointment booking")
    URGENT = "urgent", _("Urgent same-day appointment")
    ECONSULT = "econsult", _("eConsultation")
    RENEWAL = "renewal", _("Prescription renewal")


class ServiceMatrix(models.Model):
    """The marker "this clinic has configured this service", and the owner of its cells."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="service_matrices", verbose_name=_("clinic")
    )
    service = models.CharField(_("service"), max_length=16, choices=Service.choices)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("service matrix")
        verbose_name_plural = _("service matrices")
        ordering = ["clinic_id", "service"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "service"], name="delegation_one_matrix_per_service"
            ),
            models.CheckConstraint(
                condition=models.Q(service__in=Service.values),
                name="delegation_matrix_known_service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clinic} – {self.get_service_display()}"


class MatrixCell(models.Model):
    """A ticked cell: patients of ``patient_list`` (NULL: no GP here) may use ``practitioner``.

    The list and the practitioner must belong to the matrix's clinic; the services that write
    cells check it, and ``delegation.selectors`` never trusts it (it filters by clinic again).
    """

    matrix = models.ForeignKey(
        ServiceMatrix, on_delete=models.CASCADE, related_name="cells", verbose_name=_("matrix")
    )
    patient_list = models.ForeignKey(
        PatientList,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="matrix_cells",
        verbose_name=_("patient list"),
        help_text=_("Empty: patients without a GP at this clinic."),
    )
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.CASCADE,
        related_name="matrix_cells",
        verbose_name=_("practitioner"),
    )

    class Meta:
        verbose_name = _("matrix cell")
        verbose_name_plural = _("matrix cells")
        ordering = ["matrix_id", "patient_list_id", "practitioner_id"]
        constraints = [
            # NULLs are distinct in a unique index on SQLite and PostgreSQL < 15, so the row
            # for patients without a GP gets its own partial index.
            models.UniqueConstraint(
                fields=["matrix", "patient_list", "practitioner"],
                condition=models.Q(patient_list__isnull=False),
                name="delegation_cell_once",
            ),
            models.UniqueConstraint(
                fields=["matrix", "practitioner"],
                condition=models.Q(patient_list__isnull=True),
                name="delegation_no_gp_cell_once",
            ),
        ]

    def __str__(self) -> str:
        row = self.patient_list or _("Patients without a GP at this clinic")
        return f"{self.matrix}: {row} – {self.practitioner}"

    def clean(self) -> None:
        super().clean()
        clinic_id = self.matrix.clinic_id if self.matrix_id else None
        if self.practitioner_id and clinic_id and self.practitioner.clinic_id != clinic_id:
            raise ValidationError({"practitioner": _("The practitioner must work at this clinic.")})
        if (
            self.patient_list_id
            and clinic_id
            and self.patient_list is not None
            and self.patient_list.clinic_id != clinic_id
        ):
            raise ValidationError({"patient_list": _("The patient list must be this clinic's.")})


class Delegation(ServiceMatrix):
    """'ePortal delegerer': the admin page where the clinic administrator edits the matrix."""

    class Meta:
        proxy = True
        verbose_name = _("ePortal delegerer")
        verbose_name_plural = _("ePortal delegerer")
