"""Group ↔ clinics.PatientList: a GP's patient list (fastlegeliste). Its key (the import's
``key``) is the identifier, its GP the ``managingEntity``. The patients are not listed as
members: each Patient's ``generalPractitioner`` says whose list they are on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinics.exchange import ImportContext, validate_patient_list
from clinics.models import PatientList

from ..http import meta
from .refs import parse_ref, ref
from .rows import ROW, places

LIST_KEY = "urn:eportal:patient-list-key"
WHERE = {"key": "Group.identifier", "name": "Group.name", "gp": "Group.managingEntity"}


def to_fhir(patient_list: PatientList) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Group",
        "id": str(patient_list.pk),
        "meta": meta(patient_list.last_changed),  # type: ignore[attr-defined]
        "identifier": [{"system": LIST_KEY, "value": patient_list.key}],
        "active": True,
        "type": "person",
        "actual": True,
        "code": {"text": "fastlegeliste"},
        "name": patient_list.name,
    }
    if patient_list.gp_id is not None:
        resource["managingEntity"] = ref("Practitioner", patient_list.gp_id)
    return resource


@dataclass
class GroupInput:
    """``key`` None: not given (made on create, kept on update); ``gp_id`` the GP's id."""

    key: str | None = None
    name: str = ""
    gp_id: int | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)


def from_fhir(data: dict[str, Any]) -> GroupInput:
    found = GroupInput(name=str(data.get("name") or "").strip())
    keys = [(i, item) for i, item in enumerate(data.get("identifier") or [])
            if item.get("system") == LIST_KEY]  # fmt: skip
    if len(keys) > 1:
        found.errors.append(("Group.identifier", f"Give one {LIST_KEY}."))
    elif keys:
        found.key = str(keys[0][1].get("value") or "")
    if data.get("type") != "person" or data.get("actual") is not True:
        found.errors.append(("Group.type", "A patient list is an actual group of persons."))
    if data.get("managingEntity") is not None:
        found.gp_id = parse_ref(data["managingEntity"], "Practitioner")
        if found.gp_id is None:
            found.errors.append(("Group.managingEntity", "Give the GP as Practitioner/<id>."))
    return found


def validate(found: GroupInput, key: str, gp_key: str | None) -> dict[str, Any]:
    """The import's check of a ``patient_lists`` row; errors added to ``found``."""
    ctx = ImportContext(practitioner_keys={gp_key} if gp_key else set())
    clean = validate_patient_list({"key": key, "name": found.name, "gp": gp_key}, ROW, ctx)
    found.errors += places(ctx.errors, WHERE, "Group")
    return clean
