"""The SMS a patient gets about an appointment: confirmation, reminder, cancellation."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext

from clinics.models import Clinic, Patient
from sms.services import sms_queue

from ..models import Appointment
from ..selectors import local_tz

logger = logging.getLogger(__name__)


def _when(start: datetime.datetime) -> dict[str, str]:
    local = start.astimezone(local_tz())
    return {
        "date": formats.date_format(local, "l j. F Y"),
        "time": local.strftime("%H:%M"),
    }


def appointment_sms(appointment: Appointment, patient: Patient, clinic: Clinic, kind: str) -> None:
    """Confirmation, reminder or cancellation: date, time, practitioner, clinic; no reason.
    In the language the patient booked in, whoever causes it (a worker, staff in English)."""
    if not patient.mobile:
        return
    language = appointment.language
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        _sms_in_language(appointment, patient, clinic, kind)


def _sms_in_language(appointment: Appointment, patient: Patient, clinic: Clinic, kind: str) -> None:
    values = {
        **_when(appointment.start),
        "practitioner": appointment.practitioner.name,
        "clinic": clinic.name,
    }
    if kind == "booking_confirmation":
        text = gettext(
            "Appointment booked: %(date)s at %(time)s with %(practitioner)s, %(clinic)s."
        )
        key = None
    elif kind == "booking_reminder":
        text = gettext(
            "Reminder: appointment %(date)s at %(time)s with %(practitioner)s, %(clinic)s."
        )
        key = f"booking-reminder:{appointment.pk}"
    else:
        text = gettext(
            "Appointment cancelled: %(date)s at %(time)s with %(practitioner)s, %(clinic)s."
        )
        key = f"booking-cancelled:{appointment.pk}"
    try:
        sms_queue(
            clinic_id=clinic.pk,
            to=patient.mobile,
            text=text % values,
            purpose=kind,
            idempotency_key=key,
            # Confirmations and cancellations may go out a few seconds later: no broker
            # round trip in the patient's request (the reminders are sent by a worker).
            wait=kind != "booking_reminder",
        )
    except ValueError:
        # A malformed number in the record: the booking or cancellation stands.
        logger.warning("Appointment %s: no %s SMS (bad number)", appointment.pk, kind)
