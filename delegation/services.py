"""Writing the service matrix: the admin page and the clinic import both come through here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinics import audit
from clinics.models import Clinic, PatientList, Practitioner

from .models import MatrixCell, Service, ServiceMatrix
from .selectors import Cell, as_service


@dataclass(frozen=True)
class MatrixChange:
    """What one write did to one service's matrix."""

    service: Service
    was_configured: bool
    configured: bool
    added: frozenset[Cell]
    removed: frozenset[Cell]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed) or self.was_configured != self.configured


def _keys(clinic: Clinic) -> tuple[dict[int, str], dict[int, str]]:
    practitioners = dict(Practitioner.objects.filter(clinic=clinic).values_list("pk", "key"))
    lists = dict(PatientList.objects.filter(clinic=clinic).values_list("pk", "key"))
    return practitioners, lists


def _check_cells(cells: frozenset[Cell], practitioners: dict, lists: dict) -> None:
    """Refuse a cell naming another clinic's (or no) practitioner or list."""
    for list_id, practitioner_id in cells:
        if practitioner_id not in practitioners:
            raise ValidationError(
                _("Practitioner %(id)s is not one of this clinic's practitioners."),
                code="foreign_practitioner",
                params={"id": practitioner_id},
            )
        if list_id is not None and list_id not in lists:
            raise ValidationError(
                _("Patient list %(id)s is not one of this clinic's lists."),
                code="foreign_list",
                params={"id": list_id},
            )


def _details(change: MatrixChange, practitioners: dict, lists: dict) -> dict[str, Any]:
    """Audit details: keys and ids of the changed cells, never anything about patients."""

    def describe(cells: frozenset[Cell]) -> list[dict[str, Any]]:
        ordered = sorted(cells, key=lambda c: (c[0] is None, c[0] or 0, c[1]))
        return [
            {
                "patient_list": lists.get(list_id) if list_id is not None else None,
                "patient_list_id": list_id,
                "practitioner": practitioners.get(practitioner_id),
                "practitioner_id": practitioner_id,
            }
            for list_id, practitioner_id in ordered
        ]

    return {
        "service": change.service.value,
        "was_configured": change.was_configured,
        "configured": change.configured,
        "added": describe(change.added),
        "removed": describe(change.removed),
    }


def _lock(clinic: Clinic) -> None:
    # Serialises writers of one clinic's matrix, so two saves cannot race on the same cells.
    Clinic.objects.select_for_update().filter(pk=clinic.pk).first()


def _replace(clinic: Clinic, service: Service, cells: frozenset[Cell]) -> MatrixChange:
    matrix = ServiceMatrix.objects.filter(clinic=clinic, service=service).first()
    was_configured = matrix is not None
    if matrix is None:
        matrix = ServiceMatrix.objects.create(clinic=clinic, service=service)
    existing = {
        (c.patient_list_id, c.practitioner_id): c.pk
        for c in MatrixCell.objects.filter(matrix=matrix).only(
            "pk", "patient_list_id", "practitioner_id"
        )
    }
    removed = frozenset(existing) - cells
    added = cells - frozenset(existing)
    if removed:
        MatrixCell.objects.filter(pk__in=[existing[c] for c in removed]).delete()
    if added:
        MatrixCell.objects.bulk_create(
            MatrixCell(matrix=matrix, patient_list_id=list_id, practitioner_id=practitioner_id)
            for list_id, practitioner_id in sorted(added, key=lambda c: (c[0] or 0, c[1]))
        )
    if added or removed:
        matrix.save(update_fields=["updated"])
    return MatrixChange(service, was_configured, True, added, removed)


def _reset(clinic: Clinic, service: Service) -> MatrixChange:
    matrix = ServiceMatrix.objects.filter(clinic=clinic, service=service).first()
    if matrix is None:
        return MatrixChange(service, False, False, frozenset(), frozenset())
    removed = frozenset(matrix.cells.values_list("patient_list_id", "practitioner_id"))
    matrix.delete()
    return MatrixChange(service, True, False, frozenset(), removed)


def service_matrix_save(
    *,
    clinic: Clinic,
    service: Service | str,
    cells: Iterable[Cell],
    request: HttpRequest | None = None,
    audit_action: str = "delegation.matrix_save",
    api_client: str | None = None,
) -> MatrixChange:
    """Configure ``service`` for ``clinic`` with exactly ``cells``, in one transaction.

    Writes no cell that is unchanged; records one audit event (who, and which cells were
    added and removed) for every call, changed or not (``api_client``: the FHIR API's client
    who wrote it). Raises ValidationError, having written nothing, when a cell names another
    clinic's practitioner or list.
    """
    service = as_service(service)
    wanted = frozenset(cells)
    with transaction.atomic():
        _lock(clinic)
        practitioners, lists = _keys(clinic)
        _check_cells(wanted, practitioners, lists)
        change = _replace(clinic, service, wanted)
        audit.record(
            audit_action,
            request=request,
            clinic=clinic,
            details=_details(change, practitioners, lists),
            api_client=api_client,
        )
    return change


def service_matrix_reset(
    *,
    clinic: Clinic,
    service: Service | str,
    request: HttpRequest | None = None,
    audit_action: str = "delegation.matrix_reset",
    api_client: str | None = None,
) -> MatrixChange:
    """Return ``service`` to the standard package: forget the clinic's matrix for it."""
    service = as_service(service)
    with transaction.atomic():
        _lock(clinic)
        practitioners, lists = _keys(clinic)
        change = _reset(clinic, service)
        audit.record(
            audit_action,
            request=request,
            clinic=clinic,
            details=_details(change, practitioners, lists),
            api_client=api_client,
        )
    return change


def service_matrix_import(
    *, clinic: Clinic, configured: dict[Service, frozenset[Cell]]
) -> list[MatrixChange]:
    """Make the clinic's whole matrix what an import file says; runs inside the import.

    Services in ``configured`` get exactly those cells; every other service goes back to the
    standard package. Writes nothing when nothing changes. Like the rest of the import it
    writes no audit event: the import command reports what it changed.
    """
    practitioners, lists = _keys(clinic)
    for cells in configured.values():
        _check_cells(cells, practitioners, lists)
    changes = []
    for service in Service:
        if service in configured:
            changes.append(_replace(clinic, service, configured[service]))
        else:
            changes.append(_reset(clinic, service))
    return changes
