"""Reads for patient identification: who may log in with a code, and the open attempt."""

from __future__ import annotations

from clinics.models import Clinic, Patient
from clinics.selectors import may_use_portal

from .models import LoginChallenge
from .session import METHOD_SMS


def eligible_patient(clinic: Clinic, national_id: str) -> Patient | None:
    """The clinic's patient with this number if they may log in with password and SMS code
    (:func:`~clinics.selectors.may_use_portal`), else None. One lookup either way."""
    patient = (
        Patient.objects.select_related("clinic")
        .filter(clinic=clinic, national_id=national_id)
        .first()
    )
    return patient if may_use_portal(patient, method=METHOD_SMS) else None


def open_challenge(*, token: str | None, clinic: Clinic) -> LoginChallenge | None:
    """The unfinished attempt at ``clinic`` with this token (the browser session's), else None."""
    if not token:
        return None
    return (
        LoginChallenge.objects.select_related("patient", "clinic")
        .filter(token=token, clinic=clinic, finished_at__isnull=True)
        .first()
    )
