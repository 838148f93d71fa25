"""The SMS a patient gets about an appointment: confirmation, reminder, move, cancellation.

Each text is a template, ``templates/sms/<kind>.txt`` (the kind is the outbox purpose),
rendered in the language the patient booked in.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation

from clinics.dates import long_date
from clinics.models import Clinic, Patient
from clinics.selectors import sms_recipient
from sms.services import sms_queue
from sms.texts import sms_text

from ..models import Appointment
from ..selectors import local_tz

logger = logging.getLogger(__name__)


def _when(start: datetime.datetime) -> dict[str, str]:
    local = start.astimezone(local_tz())
    return {
        "date": long_date(local),
        "time": local.strftime("%H:%M"),
    }


def appointment_sms(
    appointment: Appointment, patient: Patient, clinic: Clinic, kind: str, **extra: str
) -> None:
    """Confirmation, reminder, move or cancellation: date, time, practitioner, clinic; no
    reason (``extra``: further values of the text, such as the confirmation's ``url``). In
    the language the patient booked in, whoever causes it (a worker, staff in English).

    To the representative who booked it for the patient, if one did (a parent for a child:
    docs/acting-for-others.md), else to the patient."""
    if not _recipient(appointment, patient):
        return
    language = appointment.language
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        _sms_in_language(appointment, patient, clinic, kind, extra)


def _recipient(appointment: Appointment, patient: Patient) -> str:
    """The mobile the appointment's SMS go to (the callers read ``booked_by`` with the
    appointment: no query here)."""
    return sms_recipient(patient, appointment.booked_by if appointment.booked_by_id else None)


@dataclass(frozen=True)
class _Kind:
    #: The SMS's idempotency key is this prefix and the appointment's id (None: no key).
    key: str | None
    #: Whether it may go out a few seconds later (``sms_queue(wait=True)``).
    wait: bool


# The texts are templates/sms/<kind>.txt. Confirmations and cancellations may go out a few
# seconds later: no broker round trip in the patient's request (a worker sends reminders).
_KINDS = {
    "booking_confirmation": _Kind(key=None, wait=True),
    "booking_reminder": _Kind(key="booking-reminder", wait=False),
    "booking_cancelled": _Kind(key="booking-cancelled", wait=True),
    "booking_moved": _Kind(key="booking-moved", wait=True),
}


def appointment_sms_text(appointment: Appointment, clinic: Clinic, kind: str, **extra: str) -> str:
    """The SMS text of ``kind`` about ``appointment``, in the active language."""
    return sms_text(
        kind,
        **_when(appointment.start),
        practitioner=appointment.practitioner.name,
        clinic=clinic.name,
        **extra,
    )


def _key(what: _Kind, appointment: Appointment) -> str | None:
    """Once per appointment and time: a moved appointment (SEQUENCE above 0) gets its move
    SMS and its reminder again for the new time."""
    if what.key is None:
        return None
    if appointment.sequence:
        return f"{what.key}:{appointment.pk}:{appointment.sequence}"
    return f"{what.key}:{appointment.pk}"


def _sms_in_language(
    appointment: Appointment, patient: Patient, clinic: Clinic, kind: str, extra: dict[str, str]
) -> None:
    what = _KINDS[kind]
    try:
        sms_queue(
            clinic_id=clinic.pk,
            to=_recipient(appointment, patient),
            text=appointment_sms_text(appointment, clinic, kind, **extra),
            purpose=kind,
            idempotency_key=_key(what, appointment),
            wait=what.wait,
        )
    except ValueError:
        # A malformed number in the record: the booking or cancellation stands.
        logger.warning("Appointment %s: no %s SMS (bad number)", appointment.pk, kind)
