"""The one question every service asks: which practitioners may this patient use for it?

Booking, urgent booking and eConsultation call :func:`practitioners_for` (or compose
:func:`practitioners_for_queryset` into their own queries) and nothing else, so the rule lives
in one place:

- Only practitioners of the patient's own clinic with "Aktiver ePortal" on are ever offered;
  switching a practitioner off hides them everywhere at once, their ticks stay in the matrix.
- Not configured (no :class:`~delegation.models.ServiceMatrix`): the standard package, the
  patient's own GP (their list's ``gp``), and nobody for patients without a GP here.
- Configured: exactly the ticked practitioners of the patient's row (their patient list, or
  the NULL row when they have no GP here).
- A patient who may not use the portal (no active record, no full identity number) or whose
  clinic's portal is switched off gets nobody. The patient session checks eligibility too;
  this keeps a stale session or a background task from offering anything.
- Order, everywhere: the patient's own GP first, then by name, then by id.

Whatever the matrix's size, this is one query.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import connection
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
from clinics.selectors import may_use_portal

from .models import MatrixCell, Service, ServiceMatrix


def as_service(service: Service | str) -> Service:
    try:
        return Service(service)
    except ValueError:
        raise ValueError(f"Unknown service {service!r}") from None


def practitioners_for_queryset(patient: Patient, service: Service | str) -> QuerySet[Practitioner]:
    """The practitioners ``patient`` may use for ``service``, as a lazy, ordered queryset.

    Uses ``patient`` as given (its clinic, list and eligibility fields); it is not re-read.
    """
    service = as_service(service)
    if not may_use_portal(patient):
        return Practitioner.objects.none()
    clinic_id = patient.clinic_id
    list_id = patient.patient_list_id

    configured = ServiceMatrix.objects.filter(clinic_id=clinic_id, service=service)
    cells = MatrixCell.objects.filter(
        matrix__clinic_id=clinic_id, matrix__service=service, practitioner=OuterRef("pk")
    )
    candidates = Practitioner.objects.filter(
        clinic_id=clinic_id, clinic__active=True, eportal_enabled=True
    )
    if list_id is None:
        # The last row: no own GP, and nobody under the standard package.
        return candidates.filter(Exists(cells.filter(patient_list__isnull=True))).order_by(
            "name", "pk"
        )
    own_gp = Subquery(
        PatientList.objects.filter(pk=list_id, clinic_id=clinic_id).order_by().values("gp_id")[:1]
    )
    offered = Exists(cells.filter(patient_list_id=list_id)) | (~Exists(configured) & Q(pk=own_gp))
    return (
        candidates.filter(offered)
        .annotate(_not_own_gp=Case(When(pk=own_gp, then=Value(0)), default=Value(1)))
        .order_by("_not_own_gp", "name", "pk")
    )


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    names = {
        "practitioner": Practitioner._meta.db_table,
        "clinic": Clinic._meta.db_table,
        "patient_list": PatientList._meta.db_table,
        "matrix": ServiceMatrix._meta.db_table,
        "cell": MatrixCell._meta.db_table,
    }
    return {key: quote(name) for key, name in names.items()}


@functools.cache
def _offered_sql(with_list: bool) -> tuple[str, str]:
    """The rule of :func:`practitioners_for_queryset` as SQL on a practitioner ``p``: its FROM
    and WHERE, and the ORDER BY (own GP first, then name, then id).

    Written once instead of compiled from the ORM expression tree on every request (that
    compile was most of the cost). ``tests/delegation`` (the matrix property test among them)
    holds it to the same answers. Parameters: :func:`_offered_params`, then
    :func:`_order_params`.
    """
    t = _tables()
    where = (
        # Only quoted table names are put in; every value is a parameter.
        f"{t['practitioner']} p INNER JOIN {t['clinic']} c ON c.id = p.clinic_id "  # noqa: S608  # nosec B608
        "WHERE p.clinic_id = %s AND c.active = %s AND p.eportal_enabled = %s AND "
        f"EXISTS (SELECT 1 FROM {t['cell']} mc INNER JOIN {t['matrix']} m ON m.id = mc.matrix_id "
        "WHERE m.clinic_id = %s AND m.service = %s AND mc.practitioner_id = p.id AND "
    )
    if not with_list:
        return where + "mc.patient_list_id IS NULL)", "p.name ASC, p.id ASC"
    own_gp = (
        f"(SELECT pl.gp_id FROM {t['patient_list']} pl "  # noqa: S608  # nosec B608 - a quoted table name
        "WHERE pl.id = %s AND pl.clinic_id = %s)"
    )
    # The cell's EXISTS is the first half of the OR: reopen it as "(EXISTS … OR …)".
    where = where.replace("AND EXISTS (SELECT 1", "AND (EXISTS (SELECT 1", 1)
    where += (
        f"mc.patient_list_id = %s) OR (NOT EXISTS (SELECT 1 FROM {t['matrix']} m2 "  # noqa: S608  # nosec B608
        f"WHERE m2.clinic_id = %s AND m2.service = %s) AND p.id = {own_gp}))"
    )
    return where, f"CASE WHEN p.id = {own_gp} THEN 0 ELSE 1 END ASC, p.name ASC, p.id ASC"


def _offered_params(patient: Patient, service: Service) -> list[object]:
    return _offered_params_for(patient.clinic_id, patient.patient_list_id, service)


def _offered_params_for(clinic_id: int, list_id: int | None, service: Service) -> list[object]:
    params: list[object] = [clinic_id, True, True, clinic_id, service.value]
    if list_id is not None:
        params += [list_id, clinic_id, service.value, list_id, clinic_id]
    return params


def practitioners_for(patient: Patient, service: Service | str) -> list[Practitioner]:
    """The practitioners ``patient`` may use for ``service``: own GP first, then by name.

    One raw query with the same rule as :func:`practitioners_for_queryset` (which stays for
    callers that compose it into their own queries).
    """
    service = as_service(service)
    if not may_use_portal(patient):
        return []
    list_id = patient.patient_list_id
    where, order = _offered_sql(list_id is not None)
    params = _offered_params(patient, service)
    if list_id is not None:
        params += [list_id, patient.clinic_id]
    columns, attnames = _practitioner_columns()
    sql = f"SELECT {columns} FROM {where} ORDER BY {order}"  # noqa: S608  # nosec B608 - fixed SQL, values are params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # What a queryset would build, without the per-query column mapping of raw().
    return [Practitioner.from_db(connection.alias, attnames, row) for row in rows]


@functools.cache
def _practitioner_columns() -> tuple[str, list[str]]:
    fields = Practitioner._meta.concrete_fields
    quote = connection.ops.quote_name
    return ", ".join(f"p.{quote(f.column)}" for f in fields), [f.attname for f in fields]


def offered_exists_sql(
    *, clinic_id: int, list_id: int | None, service: Service | str, practitioner_column: str
) -> tuple[str, list[object]]:
    """``EXISTS (…)``: whether the practitioner in ``practitioner_column`` (an outer query's
    column, as SQL) is offered for ``service`` to a patient of ``clinic_id`` on ``list_id``
    (None: no GP here) who may use the portal; check
    :func:`~clinics.selectors.may_use_portal` first.

    The same rule as :func:`practitioners_for`, for a ``RawSQL`` annotation where composing
    :func:`practitioners_for_queryset` would cost an ORM build and compile per request.
    """
    service = as_service(service)
    where, _order = _offered_sql(list_id is not None)
    sql = f"EXISTS (SELECT 1 FROM {where} AND p.id = {practitioner_column})"  # noqa: S608  # nosec B608
    return sql, _offered_params_for(clinic_id, list_id, service)


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
)


@dataclass(frozen=True)
class OfferedService:
    """A service the patient may use, and the names of the practitioners who offer it."""

    service: Service
    label: str
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
