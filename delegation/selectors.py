"""The one question every service asks: which practitioners may this patient use for it?

Booking, urgent booking and eConsultation call :func:`practitioners_for` (or compose
:func:`offered_practitioners` into their own queries) and nothing else, so the rule lives in
one place, :func:`offered_practitioners`:

- Only practitioners of the patient's own clinic with "Aktiver ePortal" on are ever offered;
  switching a practitioner off hides them everywhere at once, their ticks stay in the matrix.
- Not configured (no :class:`~delegation.models.ServiceMatrix`): the standard package, the
  patient's own GP (their list's ``gp``), and nobody for patients without a GP here.
- Configured: exactly the ticked practitioners of the patient's row (their patient list, or
  the NULL row when they have no GP here).
- A patient who may not use the portal (no active record, no full identity number) or whose
  clinic's portal is switched off gets nobody. The patient session checks eligibility too;
  this keeps a stale session or a background task from offering anything.
- Someone acting for the patient (docs/acting-for-others.md) gets nobody for a service
  their relation does not cover: :func:`may_serve`, asked first by every function here.
- Order, everywhere: the patient's own GP first, then by name, then by id.

Whatever the matrix's size, this is one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import (
    Case,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic, Patient, PatientList, Practitioner
from clinics.selectors import acting_covers, may_use_portal
from eportal.db.prepared import PreparedQuery

from .models import MatrixCell, Service, ServiceMatrix

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def as_service(service: Service | str) -> Service:
    try:
        return Service(service)
    except ValueError:
        raise ValueError(f"Unknown service {service!r}") from None


def may_serve(patient: Patient, service: Service | str) -> bool:
    """Whether the portal serves ``patient`` in ``service`` at all in this request: they may
    use the portal (:func:`clinics.selectors.may_use_portal`) and, when someone acts for
    them, the relation covers the service (:func:`clinics.selectors.acting_covers`; an
    urgent appointment is a booking, ``"reception"`` an eConsultation). Every service's
    page and write asks it, through :func:`practitioners_for` or directly."""
    value = service.value if isinstance(service, Service) else service
    return may_use_portal(patient) and acting_covers(patient, value)


def offered_practitioners(
    *, clinic_id: int, list_id: int | None, service: str
) -> QuerySet[Practitioner]:
    """The rule itself, unordered: the practitioners offered for ``service`` (a
    :class:`~delegation.models.Service` value) to a patient of ``clinic_id`` on ``list_id``
    (None: no GP here) who may use the portal; the caller checks that first.

    Compose it into a query of your own (``Exists(offered_practitioners(...).filter(
    pk=OuterRef("practitioner_id")))``) instead of asking per row.
    """
    configured = ServiceMatrix.objects.filter(clinic_id=clinic_id, service=service)
    cells = MatrixCell.objects.filter(
        matrix__clinic_id=clinic_id, matrix__service=service, practitioner=OuterRef("pk")
    )
    candidates = Practitioner.objects.filter(
        clinic_id=clinic_id, clinic__active=True, eportal_enabled=True
    )
    if list_id is None:
        # The last row: no own GP, and nobody under the standard package.
        return candidates.filter(Exists(cells.filter(patient_list__isnull=True)))
    offered = Exists(cells.filter(patient_list_id=list_id)) | (
        ~Exists(configured) & Q(pk=_own_gp(clinic_id, list_id))
    )
    return candidates.filter(offered)


def _own_gp(clinic_id: int, list_id: int) -> Subquery:
    return Subquery(
        PatientList.objects.filter(pk=list_id, clinic_id=clinic_id).order_by().values("gp_id")[:1]
    )


def _in_order(
    offered: QuerySet[Practitioner], *, clinic_id: int, list_id: int | None
) -> QuerySet[Practitioner]:
    """The patient's own GP first, then by name, then by id."""
    if list_id is None:
        return offered.order_by("name", "pk")
    own_gp = _own_gp(clinic_id, list_id)
    return offered.annotate(
        _not_own_gp=Case(When(pk=own_gp, then=Value(0)), default=Value(1))
    ).order_by("_not_own_gp", "name", "pk")


def _ordered_offer(clinic_id: int, list_id: int | None, service: str) -> QuerySet[Practitioner]:
    offered = offered_practitioners(clinic_id=clinic_id, list_id=list_id, service=service)
    return _in_order(offered, clinic_id=clinic_id, list_id=list_id)


def practitioners_for_queryset(patient: Patient, service: Service | str) -> QuerySet[Practitioner]:
    """The practitioners ``patient`` may use for ``service``, as a lazy, ordered queryset.

    Uses ``patient`` as given (its clinic, list and eligibility fields); it is not re-read.
    """
    service = as_service(service)
    if not may_serve(patient, service):
        return Practitioner.objects.none()
    return _ordered_offer(patient.clinic_id, patient.patient_list_id, service.value)


# Every patient page asks it (the home page once per service): compiled once per process,
# since building and compiling the queryset cost far more than running it
# (docs/benchmarks.md). The same queryset as practitioners_for_queryset.
_PRACTITIONERS_FOR = PreparedQuery(_ordered_offer)


def practitioners_for(patient: Patient, service: Service | str) -> list[Practitioner]:
    """The practitioners ``patient`` may use for ``service``: own GP first, then by name.

    :func:`practitioners_for_queryset`, run as a query compiled once.
    """
    service = as_service(service)
    if not may_serve(patient, service):
        return []
    return _PRACTITIONERS_FOR(
        clinic_id=patient.clinic_id, list_id=patient.patient_list_id, service=service.value
    )


def may_use(patient: Patient, service: Service | str, practitioner_id: int) -> bool:
    """Whether ``patient`` may use this practitioner for ``service`` (check it on every POST)."""
    return practitioners_for_queryset(patient, service).filter(pk=practitioner_id).exists()


# The matrix as the admin page and the export see it.

Cell = tuple[int | None, int]
"""A cell: (patient list id, or None for patients without a GP here; practitioner id)."""


@dataclass(frozen=True)
class MatrixState:
    """One clinic's matrix for one service, with everything needed to show or compare it."""

    clinic: Clinic
    service: Service
    practitioners: list[Practitioner]
    patient_lists: list[PatientList]
    configured: bool
    #: The stored cells; empty when the service is not configured.
    stored: frozenset[Cell]

    @property
    def cells(self) -> frozenset[Cell]:
        """What patients get: the stored cells, or the standard package's equivalent."""
        if self.configured:
            return self.stored
        return standard_package_cells(self.patient_lists)

    @property
    def rows(self) -> list[PatientList | None]:
        """The rows in display order: every patient list, then None (no GP at this clinic)."""
        return [*self.patient_lists, None]


def standard_package_cells(patient_lists: list[PatientList]) -> frozenset[Cell]:
    """The cells that offer what the standard package offers: each list its own GP."""
    return frozenset((pl.pk, pl.gp_id) for pl in patient_lists if pl.gp_id is not None)


def configured_services(clinic: Clinic) -> set[Service]:
    """The services the clinic has configured (the others: the standard package)."""
    return {
        Service(value)
        for value in ServiceMatrix.objects.filter(clinic=clinic).values_list("service", flat=True)
    }


def matrix_state(clinic: Clinic, service: Service | str) -> MatrixState:
    """The clinic's matrix for ``service`` in three queries, whatever its size."""
    service = as_service(service)
    matrix = ServiceMatrix.objects.filter(clinic=clinic, service=service).first()
    stored: frozenset[Cell] = frozenset()
    if matrix is not None:
        stored = frozenset(matrix.cells.values_list("patient_list_id", "practitioner_id"))
    return MatrixState(
        clinic=clinic,
        service=service,
        practitioners=list(Practitioner.objects.filter(clinic=clinic).order_by("name", "pk")),
        patient_lists=list(
            PatientList.objects.filter(clinic=clinic).select_related("gp").order_by("name", "pk")
        ),
        configured=matrix is not None,
        stored=stored,
    )


# The services on the patient's home page

#: The services in the order patients see them, with the labels they see.
SERVICE_LABELS = (
    (Service.BOOKING, _("Book an appointment")),
    (Service.URGENT, _("Urgent appointment today")),
    (Service.ECONSULT, _("eConsultation: write to a practitioner")),
    (Service.RENEWAL, _("Renew a prescription")),
)


@dataclass(frozen=True)
class OfferedService:
    """A service the patient may use, and the names of the practitioners who offer it."""

    service: Service
    label: StrOrPromise
    practitioners: tuple[str, ...]
    #: The clinic demands BankID for this service and the patient did not log in with it.
    needs_bankid: bool


def offered_services(patient: Patient, *, high_assurance: bool) -> list[OfferedService]:
    """The services ``patient`` may use (someone offers it: :func:`practitioners_for`), in
    the order of :data:`SERVICE_LABELS`.

    eConsultation needs BankID where the clinic demands it
    (``Clinic.econsult_requires_bankid``): a patient whose login was not at the high level
    (``high_assurance``: BankID, never password and SMS code) sees it, with what they lack.
    """
    offered = []
    for service, label in SERVICE_LABELS:
        practitioners = practitioners_for(patient, service)
        if practitioners:
            needs_bankid = (
                service == Service.ECONSULT
                and patient.clinic.econsult_requires_bankid
                and not high_assurance
            )
            offered.append(
                OfferedService(
                    service=service,
                    label=label,
                    practitioners=tuple(p.name for p in practitioners),
                    needs_bankid=needs_bankid,
                )
            )
    return offered
