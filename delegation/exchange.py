"""The ``service_matrix`` section of the clinic exchange format (see docs/import-format.md).

::

    "service_matrix": [
      {"service": "booking", "patient_list": "l1", "practitioners": ["p1", "p2"]},
      {"service": "urgent",  "patient_list": null, "practitioners": ["p3"]}
    ]

The section, when present, describes the clinic's whole matrix: a service with at least one
row is configured exactly as its rows say (a row left out, or with no practitioners, offers
nobody); a service with no row keeps, or goes back to, the standard package. A file without
the section leaves the matrix as it is.
"""

from __future__ import annotations

from typing import Any

from clinics.exchange import ImportContext
from clinics.models import Clinic

from .models import MatrixCell, Service, ServiceMatrix
from .selectors import Cell
from .services import service_matrix_import

ROW_FIELDS = ("service", "patient_list", "practitioners")


class ServiceMatrixSection:
    key = "service_matrix"
    order = 100

    def validate(self, data: Any, ctx: ImportContext) -> None:
        if not isinstance(data, list):
            ctx.error(self.key, "must be a list")
            return
        seen_rows: set[tuple[str, str | None]] = set()
        for i, row in enumerate(data):
            place = f"{self.key}[{i}]"
            if not isinstance(row, dict):
                ctx.error(place, "must be an object")
                continue
            for name in row:
                if name not in ROW_FIELDS:
                    ctx.error(f"{place}.{name}", "is not a known field")
            service = row.get("service")
            if service not in Service.values:
                ctx.error(f"{place}.service", f"must be one of {', '.join(Service.values)}")
            if "patient_list" not in row:
                ctx.error(
                    f"{place}.patient_list",
                    "is required (a patient list key, or null for patients without a GP here)",
                )
            patient_list = row.get("patient_list")
            if patient_list is not None and not isinstance(patient_list, str):
                ctx.error(f"{place}.patient_list", "must be a patient list key or null")
                patient_list = ""
            elif patient_list is not None and patient_list not in ctx.list_keys:
                ctx.error(f"{place}.patient_list", f'unknown patient list "{patient_list}"')
            if isinstance(service, str) and patient_list != "":
                if (service, patient_list) in seen_rows:
                    ctx.error(place, "this service and patient list appear twice")
                seen_rows.add((service, patient_list))
            practitioners = row.get("practitioners")
            if not isinstance(practitioners, list):
                ctx.error(f"{place}.practitioners", "is required and must be a list")
                continue
            seen: set[str] = set()
            for j, key in enumerate(practitioners):
                if not isinstance(key, str):
                    ctx.error(f"{place}.practitioners[{j}]", "must be a practitioner key")
                elif key not in ctx.practitioner_keys:
                    ctx.error(f"{place}.practitioners[{j}]", f'unknown practitioner "{key}"')
                elif key in seen:
                    ctx.error(f"{place}.practitioners[{j}]", f'"{key}" is listed twice')
                else:
                    seen.add(key)

    def apply(self, data: list[dict[str, Any]], ctx: ImportContext) -> None:
        assert ctx.clinic is not None  # noqa: S101 - the import sets it before sections apply
        configured: dict[Service, set[Cell]] = {}
        for row in data:
            cells = configured.setdefault(Service(row["service"]), set())
            patient_list = ctx.lists[row["patient_list"]] if row["patient_list"] else None
            for key in row["practitioners"]:
                cells.add((patient_list.pk if patient_list else None, ctx.practitioners[key].pk))
        changes = service_matrix_import(
            clinic=ctx.clinic,
            configured={service: frozenset(cells) for service, cells in configured.items()},
        )
        for change in changes:
            if change.configured and not change.was_configured:
                ctx.count("services configured")
            if change.was_configured and not change.configured:
                ctx.count("services back to the standard package")
            if change.added:
                ctx.count("service matrix cells added", len(change.added))
            if change.removed:
                ctx.count("service matrix cells removed", len(change.removed))

    def export(self, clinic: Clinic) -> list[dict[str, Any]]:
        """Every row of every configured service; services in their declared order, lists by
        key with the row for patients without a GP last, practitioner keys sorted."""
        list_keys = sorted(clinic.patient_lists.values_list("key", flat=True))
        configured = set(
            ServiceMatrix.objects.filter(clinic=clinic).values_list("service", flat=True)
        )
        ticked: dict[tuple[str, str | None], list[str]] = {}
        for service, list_key, practitioner_key in MatrixCell.objects.filter(
            matrix__clinic=clinic
        ).values_list("matrix__service", "patient_list__key", "practitioner__key"):
            ticked.setdefault((service, list_key), []).append(practitioner_key)
        rows = []
        for service in Service:
            if service.value not in configured:
                continue
            for row_list_key in [*list_keys, None]:
                rows.append(
                    {
                        "service": service.value,
                        "patient_list": row_list_key,
                        "practitioners": sorted(ticked.get((service.value, row_list_key), [])),
                    }
                )
        return rows


section = ServiceMatrixSection()
