"""The day-before reminders."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from ..models import Appointment
from ..selectors import local_midnight, local_today, local_tz, settings_of_loaded_clinic
from .notices import appointment_sms

Status = Appointment.Status

#: How long after the clinic's reminder time the day-before reminders may still go out.
REMINDER_WINDOW = datetime.timedelta(hours=3)


def reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Queue the day-before reminder for tomorrow's appointments, once each.

    Sends from each clinic's ``reminder_time`` (local) on the day before, for
    ``REMINDER_WINDOW`` (a run delayed for hours, a worker that was down, sends no SMS late
    at night); run it often (beat, every 15 minutes). An appointment booked (or moved) after
    that day's reminder time gets none: its confirmation (or move SMS) has just come. A
    moved appointment is due again (``appointment_move`` clears ``reminder_sent_at``; the
    SMS's key counts the move). The conditional update on
    ``reminder_sent_at`` and the SMS idempotency key make a second run, or two workers at
    once, send nothing more.
    """
    now = now or timezone.now()
    tz = local_tz()
    today = local_today(now)
    tomorrow = local_midnight(today + datetime.timedelta(days=1))
    after = local_midnight(today + datetime.timedelta(days=2))
    due = (
        Appointment.objects.filter(
            status=Status.BOOKED,
            reminder_sent_at__isnull=True,
            start__gte=tomorrow,
            start__lt=after,
        )
        .select_related("practitioner", "patient__clinic__booking_settings", "booked_by")
        .order_by("start", "pk")
    )
    sent = 0
    for appointment in due:
        clinic = appointment.patient.clinic
        reminder_time = settings_of_loaded_clinic(clinic).reminder_time
        opens = datetime.datetime.combine(today, reminder_time, tzinfo=tz)
        if not opens <= now < opens + REMINDER_WINDOW:
            continue  # not yet, or too late today: no SMS late at night
        if opens <= (appointment.moved_at or appointment.created) <= now:
            continue  # booked or moved after the reminders went out: its SMS just came
        with transaction.atomic():
            claimed = Appointment.objects.filter(
                pk=appointment.pk, status=Status.BOOKED, reminder_sent_at__isnull=True
            ).update(reminder_sent_at=now)
            if claimed:
                appointment_sms(appointment, appointment.patient, clinic, "booking_reminder")
                sent += 1
    return sent
