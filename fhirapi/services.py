"""Writes from a clinic's record system: patients and practitioners (create, update with the
version it read), a practitioner's role, their schedule's templates and slots. The timebook's
rules are booking's (``practitioner_templates_replace``, ``slot_create``, ``slot_update``,
``slot_delete``); booking and cancelling go to booking's own services (fhirapi.views), the
same functions the patient pages use. Each write checks the version in the transaction that
locks the row (If-Match: 412 when it changed)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from booking.models import AppointmentType, Slot
from booking.services import SlotRefused, appointment_type_save, practitioner_templates_replace
from booking.services import slot_create as booking_slot_create
from booking.services import slot_delete as booking_slot_delete
from booking.services import slot_update as booking_slot_update
from clinics import audit
from clinics.models import (
    Clinic,
    Medication,
    ParentChild,
    Patient,
    PatientList,
    PowerOfAttorney,
    Practitioner,
    new_key,
)
from clinics.services import (
    attorney_values,
    clinic_update,
    medication_save,
    parent_child_remove,
    parent_child_save,
    patient_list_save,
    power_of_attorney_save,
    powers_of_attorney_close,
)
from delegation.models import Service
from delegation.selectors import Cell, configured_services
from delegation.services import service_matrix_reset, service_matrix_save

from . import selectors
from .auth import Caller
from .http import FhirError, issue, version_of
from .mapping import consent as consent_map
from .mapping import group as group_map
from .mapping import healthcare_service as service_map
from .mapping import medication as medication_map
from .mapping import related_person as related_map
from .mapping.consent import ConsentInput
from .mapping.group import GroupInput
from .mapping.healthcare_service import HealthcareServiceInput
from .mapping.medication import MedicationInput
from .mapping.organization import OrganizationInput
from .mapping.patient import PatientInput
from .mapping.practitioner import PractitionerInput
from .mapping.related_person import RelatedPersonInput
from .mapping.schedule import ScheduleInput
from .mapping.slot import SlotInput


def _unprocessable(errors: list[tuple[str, str]], what: str = "patient") -> FhirError:
    return FhirError(
        422,
        "processing",
        f"The {what} was not stored.",
        issues=[issue("processing", message, place) for place, message in errors],
    )


def _list_of_gp(clinic: Clinic, data: PatientInput) -> PatientList | None:
    if data.gp_id is None:
        return None
    found = PatientList.objects.filter(clinic=clinic, gp_id=data.gp_id).order_by("pk").first()
    if found is None:
        raise _unprocessable(
            [
                (
                    "Patient.generalPractitioner[0]",
                    f"Practitioner/{data.gp_id} owns no patient list at this clinic.",
                )
            ]
        )
    return found


def patient_create(*, caller: Caller, data: PatientInput, request: HttpRequest) -> Patient:
    if data.errors:
        raise _unprocessable(data.errors)
    clinic = caller.clinic
    try:
        with transaction.atomic():
            patient = Patient.objects.create(
                clinic=clinic,
                national_id=data.national_id,
                name=data.name,
                mobile=data.mobile,
                journal_active=data.journal_active,
                patient_list=_list_of_gp(clinic, data),
                confidential_address=data.confidential_address,
            )
            audit.record(
                "fhir.create",
                request=request,
                clinic=clinic,
                obj=patient,
                api_client=caller.client_id,
            )
    except IntegrityError:
        raise FhirError(
            409,
            "duplicate",
            "A patient with this identity number exists at the clinic.",
            "Patient.identifier",
        ) from None
    return patient


def patient_update(
    *,
    caller: Caller,
    patient_id: int,
    data: PatientInput,
    version: str | None,
    request: HttpRequest,
) -> Patient:
    """Update the clinic's patient if it is still at ``version`` (If-Match); 412 if not."""
    if data.errors:
        raise _unprocessable(data.errors)
    clinic = caller.clinic
    try:
        with transaction.atomic():
            patient = (
                Patient.objects.select_for_update(of=("self",))
                .filter(clinic=clinic, pk=patient_id)
                .select_related("patient_list")
                .first()
            )
            if patient is None:
                raise FhirError(404, "not-found", f"Patient/{patient_id} is not known.")
            if version is not None and version != version_of(patient.updated):
                raise FhirError(
                    412,
                    "conflict",
                    "The patient changed since that version was read.",
                    headers={"ETag": f'W/"{version_of(patient.updated)}"'},
                )
            values = {
                "national_id": data.national_id,
                "name": data.name,
                "mobile": data.mobile,
                "journal_active": data.journal_active,
                "patient_list": _list_of_gp(clinic, data),
                "confidential_address": data.confidential_address,
            }
            changed = [name for name, value in values.items() if getattr(patient, name) != value]
            for name in changed:
                setattr(patient, name, values[name])
            if changed:
                patient.save(update_fields=[*changed, "updated"])
            audit.record(
                "fhir.update",
                request=request,
                clinic=clinic,
                obj=patient,
                details={"fields": changed},
                api_client=caller.client_id,
            )
    except IntegrityError:
        raise FhirError(
            409,
            "duplicate",
            "Another patient at the clinic has this identity number.",
            "Patient.identifier",
        ) from None
    return patient


def _check_version(version: str | None, current: datetime.datetime, what: str) -> None:
    if version is not None and version != version_of(current):
        raise FhirError(
            412,
            "conflict",
            f"The {what} changed since that version was read.",
            headers={"ETag": f'W/"{version_of(current)}"'},
        )


# Practitioners and their role


def _hpr_taken(clinic: Clinic, hpr: str, practitioner_id: int | None = None) -> None:
    if not hpr:
        return
    others = Practitioner.objects.filter(clinic=clinic, hpr=hpr)
    if practitioner_id is not None:
        others = others.exclude(pk=practitioner_id)
    if others.exists():
        raise FhirError(
            409,
            "duplicate",
            "A practitioner with this HPR number exists at the clinic.",
            "Practitioner.identifier",
        )


def _key_taken() -> FhirError:
    return FhirError(
        409,
        "duplicate",
        "A practitioner with this key exists at the clinic.",
        "Practitioner.identifier",
    )


def practitioner_create(
    *, caller: Caller, data: PractitionerInput, request: HttpRequest
) -> Practitioner:
    """A practitioner of the clinic (role GP and not offered online until their
    PractitionerRole says otherwise, as the import's defaults)."""
    if data.errors:
        raise _unprocessable(data.errors, "practitioner")
    clinic = caller.clinic
    try:
        with transaction.atomic():
            _hpr_taken(clinic, data.hpr)
            practitioner = Practitioner.objects.create(
                clinic=clinic, name=data.name, hpr=data.hpr, key=data.key or new_key()
            )
            audit.record(
                "fhir.create",
                request=request,
                clinic=clinic,
                obj=practitioner,
                api_client=caller.client_id,
            )
    except IntegrityError:
        raise _key_taken() from None
    return practitioner


def _practitioner_save(
    *,
    caller: Caller,
    practitioner_id: int,
    values: dict[str, object],
    version: str | None,
    request: HttpRequest,
) -> Practitioner:
    clinic = caller.clinic
    try:
        with transaction.atomic():
            practitioner = (
                Practitioner.objects.select_for_update().filter(clinic=clinic, pk=practitioner_id)
            ).first()
            if practitioner is None:
                raise FhirError(404, "not-found", f"Practitioner/{practitioner_id} is not known.")
            _check_version(version, practitioner.updated, "practitioner")
            if "hpr" in values:
                _hpr_taken(clinic, str(values["hpr"]), practitioner.pk)
            changed = [
                name for name, value in values.items() if getattr(practitioner, name) != value
            ]
            for name in changed:
                setattr(practitioner, name, values[name])
            if changed:
                practitioner.save(update_fields=[*changed, "updated"])
            audit.record(
                "fhir.update",
                request=request,
                clinic=clinic,
                obj=practitioner,
                details={"fields": changed},
                api_client=caller.client_id,
            )
    except IntegrityError:
        raise _key_taken() from None
    return practitioner


def practitioner_update(
    *,
    caller: Caller,
    practitioner_id: int,
    data: PractitionerInput,
    version: str | None,
    request: HttpRequest,
) -> Practitioner:
    """Name, HPR number and key (kept when the resource gives none)."""
    if data.errors:
        raise _unprocessable(data.errors, "practitioner")
    values: dict[str, object] = {"name": data.name, "hpr": data.hpr}
    if data.key is not None:
        values["key"] = data.key
    return _practitioner_save(
        caller=caller, practitioner_id=practitioner_id, values=values, version=version,
        request=request,
    )  # fmt: skip


def role_update(
    *,
    caller: Caller,
    practitioner_id: int,
    data: PractitionerInput,
    version: str | None,
    request: HttpRequest,
) -> Practitioner:
    """ "Aktiver ePortal" (``active``) and the role (kept when the resource gives none)."""
    if data.errors:
        raise _unprocessable(data.errors, "practitioner role")
    values: dict[str, object] = {"eportal_enabled": data.eportal_enabled is True}
    if data.role is not None:
        values["role"] = data.role
    return _practitioner_save(
        caller=caller, practitioner_id=practitioner_id, values=values, version=version,
        request=request,
    )  # fmt: skip


# Schedules and slots


def schedule_update(
    *,
    caller: Caller,
    practitioner_id: int,
    data: ScheduleInput,
    version: str | None,
    request: HttpRequest,
) -> None:
    """The practitioner's templates as the Schedule gives them (its whole set)."""
    if data.errors:
        raise _unprocessable(data.errors, "schedule")
    clinic = caller.clinic
    with transaction.atomic():
        current = (
            selectors.schedules(clinic.pk)
            .select_for_update(of=("self",))
            .filter(pk=practitioner_id)
            .first()
        )
        if current is None:
            raise FhirError(404, "not-found", f"Schedule/{practitioner_id} is not known.")
        _check_version(version, current.last_changed, "schedule")  # type: ignore[attr-defined]
        if data.active is not None and data.active != current.eportal_enabled:
            raise _unprocessable(
                [("Schedule.active", "A schedule is active when its PractitionerRole is.")],
                "schedule",
            )
        try:
            outcomes = practitioner_templates_replace(
                practitioner_id=practitioner_id, templates=data.templates
            )
        except ValidationError as error:
            raise _unprocessable([("Schedule.extension", error.messages[0])], "schedule") from None
        audit.record(
            "fhir.update",
            request=request,
            clinic=clinic,
            obj=current,
            details={"type": "Schedule", "templates": outcomes},
            api_client=caller.client_id,
        )


#: How booking's refusals answer: status and issue code.
_REFUSED = {"booked": (409, "conflict"), "overlap": (409, "conflict")}


def _refused(error: SlotRefused) -> FhirError:
    status, code = _REFUSED.get(error.code, (422, "business-rule"))
    place = f"Slot.{error.field}" if error.field else "Slot"
    return FhirError(status, code, str(error), place)


def _slot_practitioner(clinic: Clinic, data: SlotInput) -> int:
    if data.errors or data.practitioner_id is None:
        raise _unprocessable(data.errors, "slot")
    found = selectors.practitioners(clinic.pk).filter(pk=data.practitioner_id).exists()
    if not found:
        raise _unprocessable(
            [("Slot.schedule", f"Schedule/{data.practitioner_id} is not known.")], "slot"
        )
    return data.practitioner_id


def slot_create(*, caller: Caller, data: SlotInput, request: HttpRequest) -> Slot:
    practitioner_id = _slot_practitioner(caller.clinic, data)
    if data.busy:
        raise _unprocessable([("Slot.status", "A new slot is free or busy-unavailable.")], "slot")
    assert data.start and data.end and data.appointment_type_id  # noqa: S101 - as above
    try:
        with transaction.atomic():
            slot = booking_slot_create(
                practitioner_id=practitioner_id,
                start=data.start,
                end=data.end,
                appointment_type_id=data.appointment_type_id,
                blocked=data.blocked,
            )
            audit.record(
                "fhir.create",
                request=request,
                clinic=caller.clinic,
                obj=slot,
                api_client=caller.client_id,
            )
    except SlotRefused as error:
        raise _refused(error) from None
    return slot


def _locked_slot(caller: Caller, slot_id: int, version: str | None) -> Slot:
    current = (
        selectors.slots(caller.clinic.pk).select_for_update(of=("self",)).filter(pk=slot_id).first()
    )
    if current is None:
        raise FhirError(404, "not-found", f"Slot/{slot_id} is not known.")
    _check_version(version, current.last_changed, "slot")  # type: ignore[attr-defined]
    return current


def slot_update(
    *, caller: Caller, slot_id: int, data: SlotInput, version: str | None, request: HttpRequest
) -> None:
    practitioner_id = _slot_practitioner(caller.clinic, data)
    assert data.start and data.end and data.appointment_type_id  # noqa: S101 - as above
    try:
        with transaction.atomic():
            current = _locked_slot(caller, slot_id, version)
            if practitioner_id != current.practitioner_id:
                raise _unprocessable([("Slot.schedule", "A slot stays in its schedule.")], "slot")
            booked = current.booked  # type: ignore[attr-defined]
            if data.busy and not booked:
                raise _unprocessable(
                    [("Slot.status", "Only a booked slot is busy: book with $book.")], "slot"
                )
            if booked and not data.busy:
                raise FhirError(
                    409,
                    "conflict",
                    "The slot holds a booked appointment; cancel or move it first.",
                    "Slot.status",
                )
            changed = booking_slot_update(
                slot_id=slot_id,
                start=data.start,
                end=data.end,
                appointment_type_id=data.appointment_type_id,
                blocked=data.blocked,
            )
            audit.record(
                "fhir.update",
                request=request,
                clinic=caller.clinic,
                obj=current,
                details={"fields": changed},
                api_client=caller.client_id,
            )
    except SlotRefused as error:
        raise _refused(error) from None


def slot_delete(*, caller: Caller, slot_id: int, version: str | None, request: HttpRequest) -> None:
    try:
        with transaction.atomic():
            current = _locked_slot(caller, slot_id, version)
            booking_slot_delete(slot_id=slot_id)
            audit.record(
                "fhir.delete",
                request=request,
                clinic=caller.clinic,
                details={"type": "Slot", "id": slot_id, "start": current.start.isoformat()},
                api_client=caller.client_id,
            )
    except SlotRefused as error:
        raise _refused(error) from None


# The clinic's own rows: the clinic (Organization), its patient lists (Group), appointment
# types (HealthcareService), medications (MedicationStatement) and parent-child links
# (RelatedPerson). Each is checked by the file import's validator of that row (through
# fhirapi.mapping) and written by the owning app's service, as the import writes it.


def save(
    *,
    caller: Caller,
    resource: str,
    pk: int | None,
    version: str | None,
    request: HttpRequest,
    write: Callable[[Any], tuple[Any, list[str]]],
    duplicate: tuple[str, str],
) -> Any:
    """Create (``pk`` None) or update one of the clinic's rows of ``resource``: the row
    locked, its version checked (412), ``write(current)`` (the owning app's service; it
    raises FhirError to refuse), audited. A unique key taken is a 409 at ``duplicate``."""
    clinic = caller.clinic
    try:
        with transaction.atomic():
            current = None
            if pk is not None:
                current = (
                    selectors.ROWS[resource](clinic.pk)
                    .select_for_update(of=("self",))
                    .filter(pk=pk)
                    .first()
                )
                if current is None:
                    raise FhirError(404, "not-found", f"{resource}/{pk} is not known.")
                _check_version(version, current.last_changed, resource)  # type: ignore[attr-defined]
            obj, changed = write(current)
            audit.record(
                "fhir.create" if current is None else "fhir.update",
                request=request,
                clinic=clinic,
                obj=obj,
                details={"type": resource, "fields": changed},
                api_client=caller.client_id,
            )
    except IntegrityError:
        place, message = duplicate
        raise FhirError(409, "duplicate", message, place) from None
    return obj


def refused(errors: list[tuple[str, str]], what: str) -> None:
    if errors:
        raise _unprocessable(errors, what)


def organization_update(
    *, caller: Caller, data: OrganizationInput, version: str | None, request: HttpRequest
) -> Clinic:
    refused(data.errors, "organization")

    def write(current: Clinic) -> tuple[Clinic, list[str]]:
        return current, clinic_update(clinic=current, values=data.values)

    return save(
        caller=caller, resource="Organization", pk=caller.clinic.pk, version=version,
        request=request, write=write, duplicate=("Organization", "Not stored."),
    )  # fmt: skip


def _gp(caller: Caller, gp_id: int | None) -> Practitioner | None:
    if gp_id is None:
        return None
    found = selectors.practitioners(caller.clinic.pk).filter(pk=gp_id).first()
    if found is None:
        raise _unprocessable(
            [("Group.managingEntity", f"Practitioner/{gp_id} is not known.")], "patient list"
        )
    return found


def group_save(
    *,
    caller: Caller,
    pk: int | None,
    data: GroupInput,
    version: str | None,
    request: HttpRequest,
) -> PatientList:
    refused(data.errors, "patient list")
    gp = _gp(caller, data.gp_id)

    def write(current: PatientList | None) -> tuple[PatientList, list[str]]:
        key = data.key if data.key is not None else (current.key if current else new_key())
        clean = group_map.validate(data, key, gp.key if gp else None)
        refused(data.errors, "patient list")
        values = {"key": clean["key"], "name": clean["name"], "gp_id": gp.pk if gp else None}
        return patient_list_save(clinic_id=caller.clinic.pk, values=values, patient_list=current)

    return save(
        caller=caller, resource="Group", pk=pk, version=version, request=request, write=write,
        duplicate=("Group.identifier", "A patient list with this key exists at the clinic."),
    )  # fmt: skip


def healthcare_service_save(
    *,
    caller: Caller,
    pk: int | None,
    data: HealthcareServiceInput,
    version: str | None,
    request: HttpRequest,
) -> AppointmentType:
    refused(data.errors, "appointment type")

    def write(current: AppointmentType | None) -> tuple[AppointmentType, list[str]]:
        key = data.key if data.key is not None else (current.key if current else new_key())
        clean = service_map.validate(data, key)
        refused(data.errors, "appointment type")
        return appointment_type_save(
            clinic_id=caller.clinic.pk, values=clean, appointment_type=current
        )

    return save(
        caller=caller, resource="HealthcareService", pk=pk, version=version, request=request,
        write=write,
        duplicate=("HealthcareService.identifier",
                   "An appointment type with this key exists at the clinic."),
    )  # fmt: skip


def medication_statement_save(
    *,
    caller: Caller,
    pk: int | None,
    data: MedicationInput,
    version: str | None,
    request: HttpRequest,
) -> Medication:
    refused(data.errors, "medication")
    patient_id = data.patient_id or 0
    if not selectors.patients(caller.clinic.pk).filter(pk=patient_id).exists():
        raise _unprocessable(
            [("MedicationStatement.subject", f"Patient/{patient_id} is not known.")], "medication"
        )

    def write(current: Medication | None) -> tuple[Medication, list[str]]:
        if current is not None and current.patient_id != patient_id:
            raise _unprocessable(
                [("MedicationStatement.subject", "A medication stays the patient's.")],
                "medication",
            )
        key = data.key if data.key is not None else (current.key if current else new_key())
        clean = medication_map.validate(data, key)
        refused(data.errors, "medication")
        return medication_save(
            patient_id=patient_id, values={**clean, "current": data.current}, medication=current
        )

    return save(
        caller=caller, resource="MedicationStatement", pk=pk, version=version, request=request,
        write=write,
        duplicate=("MedicationStatement.identifier",
                   "This patient has a medication with this key."),
    )  # fmt: skip


def _link_patients(caller: Caller, data: RelatedPersonInput) -> tuple[Patient, Patient]:
    patients = selectors.patients(caller.clinic.pk)
    child = patients.filter(pk=data.child_id or 0).first()
    if data.parent_id is not None:
        parent = patients.filter(pk=data.parent_id).first()
    else:
        parent = patients.filter(national_id=data.parent_number).first()
    errors = []
    if parent is None:
        # The number is not repeated, as the import does not repeat it.
        errors.append(("RelatedPerson.identifier", "The parent is not a patient of the clinic."))
    if child is None:
        errors.append(("RelatedPerson.patient", f"Patient/{data.child_id} is not known."))
    refused(errors, "parent-child link")
    assert parent is not None and child is not None  # noqa: S101 - as above
    return parent, child


def related_person_save(
    *,
    caller: Caller,
    pk: int | None,
    data: RelatedPersonInput,
    version: str | None,
    request: HttpRequest,
) -> ParentChild:
    refused(data.errors, "parent-child link")
    parent, child = _link_patients(caller, data)
    clean = related_map.validate(data, parent, child)
    refused(data.errors, "parent-child link")
    values = {
        "same_address": clean["same_address"],
        "parental_responsibility": clean["parental_responsibility"],
    }

    def write(current: ParentChild | None) -> tuple[ParentChild, list[str]]:
        if current is not None and (current.parent_id, current.child_id) != (parent.pk, child.pk):
            raise _unprocessable(
                [("RelatedPerson.patient", "A link stays between its parent and child.")],
                "parent-child link",
            )
        return parent_child_save(
            parent_id=parent.pk, child_id=child.pk, values=values, link=current
        )

    return save(
        caller=caller, resource="RelatedPerson", pk=pk, version=version, request=request,
        write=write,
        duplicate=("RelatedPerson", "This parent and child are linked already."),
    )  # fmt: skip


def related_person_delete(
    *, caller: Caller, pk: int, version: str | None, request: HttpRequest
) -> None:
    with transaction.atomic():
        current = (
            selectors.related_persons(caller.clinic.pk)
            .select_for_update(of=("self",))
            .filter(pk=pk)
            .first()
        )
        if current is None:
            raise FhirError(404, "not-found", f"RelatedPerson/{pk} is not known.")
        _check_version(version, current.last_changed, "RelatedPerson")  # type: ignore[attr-defined]
        parent_child_remove(link_id=pk)
        audit.record(
            "fhir.delete",
            request=request,
            clinic=caller.clinic,
            details={"type": "RelatedPerson", "id": pk},
            api_client=caller.client_id,
        )


# Powers of attorney (Consent): checked by the import's check of a powers_of_attorney row,
# written by clinics.services as the import writes them; ended, never deleted.


def _attorney_patients(caller: Caller, data: ConsentInput) -> tuple[Patient, Patient]:
    patients = {
        p.pk: p
        for p in selectors.patients(caller.clinic.pk).filter(
            pk__in=[data.giver_id or 0, data.holder_id or 0]
        )
    }
    giver, holder = patients.get(data.giver_id or 0), patients.get(data.holder_id or 0)
    errors = []
    if giver is None:
        errors.append(("Consent.patient", f"Patient/{data.giver_id} is not known."))
    if holder is None:
        errors.append(
            ("Consent.provision.actor[0].reference", f"Patient/{data.holder_id} is not known.")
        )
    refused(errors, "power of attorney")
    assert giver is not None and holder is not None  # noqa: S101 - as above
    return giver, holder


def consent_save(
    *,
    caller: Caller,
    pk: int | None,
    data: ConsentInput,
    version: str | None,
    request: HttpRequest,
) -> PowerOfAttorney:
    """Give (``pk`` None) or change a power of attorney; ``status`` inactive ends it. The
    giver and the holder stay; an ended one is history and is not changed again."""
    refused(data.errors, "power of attorney")
    if pk is None and not data.active:
        raise _unprocessable(
            [("Consent.status", "A new power of attorney is active.")], "power of attorney"
        )
    giver, holder = _attorney_patients(caller, data)
    clean = consent_map.validate(data, giver, holder)
    refused(data.errors, "power of attorney")
    values = attorney_values(clean)

    def write(current: PowerOfAttorney | None) -> tuple[PowerOfAttorney, list[str]]:
        if current is not None and (current.giver_id, current.holder_id) != (giver.pk, holder.pk):
            raise _unprocessable(
                [("Consent.patient", "A power of attorney stays between its giver and holder.")],
                "power of attorney",
            )
        if current is not None and current.ended_at is not None:
            if not data.active:
                return current, []
            raise FhirError(
                409,
                "conflict",
                "This power of attorney has ended and is kept as history; give a new one.",
                "Consent.status",
            )
        attorney, changed = power_of_attorney_save(
            giver_id=giver.pk, holder_id=holder.pk, values=values, attorney=current
        )
        if not data.active:
            powers_of_attorney_close(attorney_ids=[attorney.pk])
            changed.append("ended_at")
        return attorney, changed

    return save(
        caller=caller, resource="Consent", pk=pk, version=version, request=request, write=write,
        duplicate=("Consent.provision.actor[0].reference",
                   "The giver has an open power of attorney for this holder; change that one."),
    )  # fmt: skip


def consent_end(*, caller: Caller, pk: int, version: str | None, request: HttpRequest) -> None:
    """DELETE: the record system ends it (as an import without it does); kept, never deleted."""
    with transaction.atomic():
        current = (
            selectors.consents(caller.clinic.pk)
            .select_for_update(of=("self",))
            .filter(pk=pk)
            .first()
        )
        if current is None:
            raise FhirError(404, "not-found", f"Consent/{pk} is not known.")
        _check_version(version, current.last_changed, "Consent")  # type: ignore[attr-defined]
        ended = powers_of_attorney_close(attorney_ids=[pk])
        audit.record(
            "fhir.update",
            request=request,
            clinic=caller.clinic,
            obj=current,
            details={"type": "Consent", "fields": ["ended_at"] if ended else []},
            api_client=caller.client_id,
        )


# The service matrix ($service-matrix): written by delegation's service_matrix_save, the
# function the admin page writes it with, one service at a time in one transaction.


def service_matrix_replace(
    *, caller: Caller, configured: dict[Service, set[Cell]], request: HttpRequest
) -> None:
    """The clinic's whole matrix: the services in ``configured`` exactly with those cells,
    every other configured one back to the standard package (as the file's section)."""
    clinic = caller.clinic
    with transaction.atomic():
        was = configured_services(clinic)
        for service in Service:
            if service in configured:
                service_matrix_save(
                    clinic=clinic, service=service, cells=configured[service], request=request,
                    audit_action="fhir.update", api_client=caller.client_id,
                )  # fmt: skip
            elif service in was:
                service_matrix_reset(
                    clinic=clinic, service=service, request=request,
                    audit_action="fhir.update", api_client=caller.client_id,
                )  # fmt: skip
