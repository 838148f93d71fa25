"""Writes from a clinic's record system: patients and practitioners (create, update with the
version it read), a practitioner's role, their schedule's templates and slots. The timebook's
rules are booking's (``practitioner_templates_replace``, ``slot_create``, ``slot_update``,
``slot_delete``); booking and cancelling go to booking's own services (fhirapi.views), the
same functions the patient pages use. Each write checks the version in the transaction that
locks the row (If-Match: 412 when it changed)."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from booking.models import Slot
from booking.services import SlotRefused, practitioner_templates_replace
from booking.services import slot_create as booking_slot_create
from booking.services import slot_delete as booking_slot_delete
from booking.services import slot_update as booking_slot_update
from clinics import audit
from clinics.models import Clinic, Patient, PatientList, Practitioner, new_key

from . import selectors
from .auth import Caller
from .http import FhirError, issue, version_of
from .mapping.patient import PatientInput
from .mapping.practitioner import PractitionerInput
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
