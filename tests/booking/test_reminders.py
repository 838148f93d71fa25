"""The day-before reminder (issue 5 §2): sent from the clinic's reminder time, once."""

from __future__ import annotations

import datetime

import pytest

from booking.models import Appointment
from booking.tasks import send_booking_reminders
from sms.models import OutboxMessage
from tests.factories import make_slot, oslo

pytestmark = pytest.mark.django_db


def book(world, start, *, booked_at=None, reason="Hemmelig grunn"):
    slot = make_slot(world.gp, world.ep, start)
    appointment = Appointment.objects.create(
        slot=slot,
        patient=world.patient,
        practitioner=world.gp,
        start=slot.start,
        end=slot.end,
        reason=reason,
    )
    # Booked a week before the appointment unless said otherwise.
    appointment.created = booked_at or start - datetime.timedelta(days=7)
    appointment.save(update_fields=["created"])
    return appointment


@pytest.fixture
def tomorrow(world):
    return book(world, oslo(2026, 2, 3, 10, 0))


def reminders():
    return list(OutboxMessage.objects.filter(purpose="booking_reminder"))


def test_reminder_goes_once_from_the_reminder_time(world, tomorrow, time_machine):
    time_machine.move_to(oslo(2026, 2, 2, 17, 45), tick=False)
    send_booking_reminders.delay()
    assert reminders() == []
    time_machine.move_to(oslo(2026, 2, 2, 18, 0), tick=False)
    send_booking_reminders.delay()
    send_booking_reminders.delay()
    time_machine.move_to(oslo(2026, 2, 2, 21, 0), tick=False)
    send_booking_reminders.delay()
    (sms,) = reminders()
    assert sms.idempotency_key == f"booking-reminder:{tomorrow.pk}"
    assert "10:00" in sms.text and "Kari Nordmann" in sms.text and world.clinic.name in sms.text
    assert "Hemmelig" not in sms.text
    tomorrow.refresh_from_db()
    assert tomorrow.reminder_sent_at is not None


def test_clinic_sets_the_reminder_time(world, tomorrow, time_machine):
    world.settings.reminder_time = datetime.time(9, 0)
    world.settings.save()
    time_machine.move_to(oslo(2026, 2, 2, 9, 5), tick=False)
    send_booking_reminders.delay()
    assert len(reminders()) == 1


def test_no_reminder_for_cancelled_or_later_appointments(world, tomorrow, time_machine):
    Appointment.objects.filter(pk=tomorrow.pk).update(status="cancelled")
    later = make_slot(world.gp, world.ep, oslo(2026, 2, 4, 10, 0))
    Appointment.objects.create(
        slot=later,
        patient=world.patient,
        practitioner=world.gp,
        start=later.start,
        end=later.end,
        reason="x",
    )
    time_machine.move_to(oslo(2026, 2, 2, 20, 0), tick=False)
    send_booking_reminders.delay()
    assert reminders() == []


def test_reminder_speaks_the_language_the_patient_booked_in(world, tomorrow, time_machine):
    time_machine.move_to(oslo(2026, 2, 2, 18, 0), tick=False)
    Appointment.objects.filter(pk=tomorrow.pk).update(language="en")
    send_booking_reminders.delay()
    (english,) = reminders()
    OutboxMessage.objects.all().delete()
    Appointment.objects.filter(pk=tomorrow.pk).update(language="nb", reminder_sent_at=None)
    send_booking_reminders.delay()
    (bokmaal,) = reminders()
    assert english.text != bokmaal.text


def test_no_reminder_at_night_nor_right_after_a_late_booking(world, tomorrow, time_machine):
    # The beat was down from 18:00: at 21:00 it is too late to send anything.
    time_machine.move_to(oslo(2026, 2, 2, 21, 0), tick=False)
    send_booking_reminders.delay()
    time_machine.move_to(oslo(2026, 2, 2, 23, 45), tick=False)
    send_booking_reminders.delay()
    assert reminders() == []
    # Booked at 19:30 for tomorrow morning: the confirmation was the SMS; no reminder at 19:45.
    Appointment.objects.all().delete()
    book(world, oslo(2026, 2, 3, 9, 0), booked_at=oslo(2026, 2, 2, 19, 30))
    time_machine.move_to(oslo(2026, 2, 2, 19, 45), tick=False)
    send_booking_reminders.delay()
    assert reminders() == []


def test_staff_cancellation_sms_speaks_the_patients_language(world, tomorrow):
    from django.utils import translation

    from booking.services import appointment_cancel

    Appointment.objects.filter(pk=tomorrow.pk).update(language="nb")
    with translation.override("en"):  # the staff member's admin runs in English
        appointment_cancel(appointment_id=tomorrow.pk, by_staff=True)
    (sms,) = OutboxMessage.objects.filter(purpose="booking_cancelled")
    assert sms.text.startswith("Time avbestilt"), sms.text


def test_a_late_reminder_time_is_honoured(world, tomorrow, time_machine):
    world.settings.reminder_time = datetime.time(21, 30)
    world.settings.save()
    time_machine.move_to(oslo(2026, 2, 2, 21, 30), tick=False)
    send_booking_reminders.delay()
    assert len(reminders()) == 1


def test_a_booking_stamped_after_now_still_gets_its_reminder(world, time_machine):
    # A clock set back (or a row written with another clock): only a booking made between
    # the reminder time and now counts as "just confirmed".
    book(world, oslo(2026, 2, 3, 10, 0), booked_at=oslo(2026, 3, 1, 12, 0))
    time_machine.move_to(oslo(2026, 2, 2, 18, 0), tick=False)
    send_booking_reminders.delay()
    assert len(reminders()) == 1
