"""Writes from a clinic's record system: patients (create, update with the version it read).
Booking and cancelling go to booking's own services (fhirapi.views), the same functions
the patient pages use."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from clinics import audit
from clinics.models import Clinic, Patient, PatientList

from .auth import Caller
from .http import FhirError, issue, version_of
from .mapping.patient import PatientInput


def _unprocessable(errors: list[tuple[str, str]]) -> FhirError:
    return FhirError(
        422,
        "processing",
        "The patient was not stored.",
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
