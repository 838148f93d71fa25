"""The service matrix ↔ the operation ``$service-matrix`` (a Parameters resource).

Why an operation and not PractitionerRole: the matrix says, per service, either "not
configured" (the standard package: each patient their own GP) or "configured with exactly
these cells", and "configured with nobody ticked" is neither. A cell on a PractitionerRole
cannot say that a service is configured with no cell at all, nor that a service went back
to the standard package, and one matrix would be spread over every role, written one role
at a time. As one Parameters it is what the file's ``service_matrix`` section is: the
whole matrix, read and written at once.

::

    {"resourceType": "Parameters", "parameter": [
      {"name": "service", "part": [
        {"name": "code", "valueCode": "booking"},
        {"name": "row", "part": [
          {"name": "patientList", "valueReference": {"reference": "Group/5"}},
          {"name": "practitioner", "valueReference": {"reference": "Practitioner/3"}}]},
        {"name": "row", "part": [
          {"name": "noGp", "valueBoolean": true},
          {"name": "practitioner", "valueReference": {"reference": "Practitioner/4"}}]}]}]}

A ``service`` given is configured exactly with its rows' practitioners (a row left out, or
a service without rows: nobody); a service not given has, or goes back to, the standard
package. Read, every configured service has every row (each list, then the row for
patients without a GP here), as the export lists them. Checked by the import's check of
the section (``delegation.exchange``), each error at its place in the Parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinics.exchange import ImportContext
from delegation.exchange import section
from delegation.models import Service
from delegation.selectors import Cell, MatrixState

from .refs import parse_ref, ref

ROOT = "Parameters.parameter"


def to_parameters(states: list[MatrixState]) -> dict[str, Any]:
    """The configured services' matrices, as :func:`delegation.selectors.matrix_state` reads
    them (every row of each; lists by key, the row for patients without a GP last)."""
    parameters = []
    for state in states:
        if not state.configured:
            continue
        parts: list[dict[str, Any]] = [{"name": "code", "valueCode": state.service.value}]
        lists = sorted(state.patient_lists, key=lambda pl: pl.key)
        for list_id in [*(pl.pk for pl in lists), None]:
            row: list[dict[str, Any]] = [
                {"name": "patientList", "valueReference": ref("Group", list_id)}
                if list_id is not None
                else {"name": "noGp", "valueBoolean": True}
            ]
            row += [
                {"name": "practitioner", "valueReference": ref("Practitioner", p)}
                for p in sorted(p for lst, p in state.stored if lst == list_id)
            ]
            parts.append({"name": "row", "part": row})
        parameters.append({"name": "service", "part": parts})
    found: dict[str, Any] = {"resourceType": "Parameters"}
    if parameters:
        found["parameter"] = parameters
    return found


@dataclass
class MatrixInput:
    """The matrix as the file's section (``rows``, by keys) and as cells by service."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    configured: dict[Service, set[Cell]] = field(default_factory=dict)
    #: The place in the Parameters of each row's parts: row index → part name → place.
    where: list[dict[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def _service(parts: list[dict[str, Any]], at: str, found: MatrixInput) -> Service | None:
    codes = [(i, p.get("valueCode")) for i, p in enumerate(parts) if p.get("name") == "code"]
    if len(codes) != 1:
        found.errors.append((f"{at}.part", "Give the service's code once."))
        return None
    i, code = codes[0]
    if code not in Service.values:
        found.errors.append(
            (f"{at}.part[{i}].valueCode", f"The service is one of {', '.join(Service.values)}.")
        )
        return None
    service = Service(code)
    if service in found.configured:
        found.errors.append((f"{at}.part[{i}].valueCode", f"{code} is given twice."))
        return None
    return service


def _row(
    parts: list[dict[str, Any]],
    at: str,
    service: Service,
    lists: dict[int, str],
    practitioners: dict[int, str],
    found: MatrixInput,
) -> None:
    row: dict[str, Any] = {"service": service.value, "practitioners": []}
    where = {"": at, "service": at}
    for q, part in enumerate(parts):
        name, place = part.get("name"), f"{at}.part[{q}]"
        if name == "patientList" and "patient_list" not in row:
            list_id = parse_ref(part.get("valueReference"), "Group")
            if list_id is None:
                found.errors.append((place, "Give the patient list as Group/<id>."))
                return
            row["patient_list"] = lists.get(list_id, f"Group/{list_id}")
            where["patient_list"] = place
        elif name == "noGp" and "patient_list" not in row and part.get("valueBoolean") is True:
            row["patient_list"] = None
            where["patient_list"] = place
        elif name == "practitioner":
            pk = parse_ref(part.get("valueReference"), "Practitioner")
            if pk is None:
                found.errors.append((place, "Give the practitioner as Practitioner/<id>."))
                return
            where[f"practitioners[{len(row['practitioners'])}]"] = place
            row["practitioners"].append(practitioners.get(pk, f"Practitioner/{pk}"))
        else:
            found.errors.append(
                (place, "A row has one patientList (or noGp true) and its practitioners.")
            )
            return
    if "patient_list" not in row:
        found.errors.append((f"{at}.part", "Give the row's patientList, or noGp true."))
        return
    found.rows.append(row)
    found.where.append(where)


def from_parameters(
    data: dict[str, Any], lists: dict[int, str], practitioners: dict[int, str]
) -> MatrixInput:
    """Read a Parameters (checked against the FHIR model) with the clinic's lists and
    practitioners (id → key); an id not the clinic's is unknown, as another clinic's key is
    in a file."""
    found = MatrixInput()
    for p, parameter in enumerate(data.get("parameter") or []):
        at = f"{ROOT}[{p}]"
        if parameter.get("name") != "service":
            found.errors.append((f"{at}.name", "Each parameter is a service."))
            continue
        parts = parameter.get("part") or []
        service = _service(parts, at, found)
        if service is None:
            continue
        found.configured[service] = set()
        for r, part in enumerate(parts):
            if part.get("name") == "row":
                _row(
                    part.get("part") or [], f"{at}.part[{r}]", service, lists, practitioners, found
                )
            elif part.get("name") != "code":
                found.errors.append((f"{at}.part[{r}]", "A service has its code and rows."))
    if found.errors:
        return found
    ctx = ImportContext(
        practitioner_keys=set(practitioners.values()), list_keys=set(lists.values())
    )
    section.validate(found.rows, ctx)
    prefix = f"{section.key}["
    for place, message in ctx.errors:
        index, _, name = place.removeprefix(prefix).partition("]")
        where = found.where[int(index)] if index.isdigit() else {}
        found.errors.append((where.get(name.lstrip("."), where.get("", ROOT)), message))
    if found.errors:
        return found
    list_ids = {key: pk for pk, key in lists.items()}
    practitioner_ids = {key: pk for pk, key in practitioners.items()}
    for row in found.rows:
        list_id = list_ids[row["patient_list"]] if row["patient_list"] is not None else None
        found.configured[Service(row["service"])].update(
            (list_id, practitioner_ids[key]) for key in row["practitioners"]
        )
    return found
