"""Moving a booking ("Flytt timen", docs/booking.md, "Reschedule"): one transaction, the row
moves; the rules of booking the new slot and of cancelling the old one.

SMS texts are checked by their data (time, practitioner, clinic, never the reason), not by
their wording: the texts are being translated.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine

from booking import services
from booking.models import Appointment, SlotOffer, WaitlistEntry
from booking.rendering import appointment_ics
from clinics.models import AuditEvent
from delegation.models import Service
from delegation.services import service_matrix_save
from sms.models import OutboxMessage
from tests import factories
from tests.factories import make_slot, oslo

pytestmark = pytest.mark.django_db

NOW = oslo(2026, 2, 2, 9, 0)  # a Monday morning


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def booked(world):
    """The patient's booking on Friday 10:00; a free slot on Wednesday 10:00."""
    service_matrix_save(
        clinic=world.clinic, service=Service.BOOKING, cells=[(world.gp_list.pk, world.gp.pk)]
    )
    world.old = make_slot(world.gp, world.ep, oslo(2026, 2, 6, 10, 0))
    world.new = make_slot(world.gp, world.ep, oslo(2026, 2, 4, 10, 0))
    world.appointment = services.appointment_book(
        patient=world.patient, slot_id=world.old.pk, reason="Kontroll"
    )
    OutboxMessage.objects.all().delete()  # the confirmation
    return world


def move(w, slot, **kwargs):
    return services.appointment_move(
        patient=kwargs.pop("patient", w.patient),
        appointment_id=kwargs.pop("appointment_id", w.appointment.pk),
        slot_id=slot if isinstance(slot, int) else slot.pk,
        **kwargs,
    )


def unchanged(w) -> None:
    """The old booking stands as it was, and nothing was sent or recorded."""
    row = Appointment.objects.get(pk=w.appointment.pk)
    assert (row.slot_id, row.start, row.status, row.sequence, row.moved_at) == (
        w.old.pk,
        w.old.start,
        "booked",
        0,
        None,
    )
    assert not OutboxMessage.objects.filter(purpose="booking_moved").exists()
    assert not AuditEvent.objects.filter(action="booking.move").exists()


def test_a_move_books_the_new_slot_and_frees_the_old(booked):
    w = booked
    moved = move(w, w.new)
    assert moved.pk == w.appointment.pk
    row = Appointment.objects.get()
    assert (row.slot_id, row.start, row.end, row.reason, row.sequence, row.status) == (
        w.new.pk,
        w.new.start,
        w.new.end,
        "Kontroll",
        1,
        "booked",
    )
    assert row.moved_at == NOW
    # The old slot is free again: another patient may book it.
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    assert services.appointment_book(patient=other, slot_id=w.old.pk, reason="x")


def test_a_move_to_another_offered_practitioner(booked):
    w = booked
    locum = factories.make_practitioner(w.clinic, "Vera Vikar", eportal_enabled=True)
    service_matrix_save(
        clinic=w.clinic,
        service=Service.BOOKING,
        cells=[(w.gp_list.pk, w.gp.pk), (w.gp_list.pk, locum.pk)],
    )
    slot = make_slot(locum, w.ep, oslo(2026, 2, 5, 9, 0))
    move(w, slot)
    row = Appointment.objects.get()
    assert (row.slot_id, row.practitioner_id) == (slot.pk, locum.pk)
    (sms,) = OutboxMessage.objects.filter(purpose="booking_moved")
    assert "Vera Vikar" in sms.text


def test_the_calendar_file_keeps_its_uid_and_counts_up_sequence(booked):
    w = booked
    before = appointment_ics(w.appointment, w.clinic)
    uid = next(line for line in before.splitlines() if line.startswith("UID:"))
    assert "SEQUENCE:0" in before
    move(w, w.new)
    third = make_slot(w.gp, w.ep, oslo(2026, 2, 5, 10, 0))
    move(w, third)
    after = appointment_ics(Appointment.objects.get(), w.clinic)
    assert uid in after.splitlines()
    assert "SEQUENCE:2" in after
    assert "DTSTART:20260205T090000Z" in after  # 10:00 in Oslo
    assert "Kontroll" not in after


def test_exactly_one_move_sms_with_the_new_time_and_never_the_reason(booked):
    w = booked
    move(w, w.new)
    (sms,) = OutboxMessage.objects.all()
    assert sms.purpose == "booking_moved"
    assert sms.recipient == w.patient.mobile
    assert sms.idempotency_key == f"booking-moved:{w.appointment.pk}:1"
    assert "10:00" in sms.text and "4." in sms.text  # Wednesday 4 February
    assert w.gp.name in sms.text and w.clinic.name in sms.text
    assert "Kontroll" not in sms.text


def test_the_move_is_audited_without_the_reason(booked):
    w = booked
    move(w, w.new)
    (event,) = AuditEvent.objects.filter(action="booking.move")
    assert event.patient_id == w.patient.pk and event.clinic_id == w.clinic.pk
    assert event.details["from_slot"] == w.old.pk and event.details["to_slot"] == w.new.pk
    assert "Kontroll" not in str(event.details)


def test_moving_onto_the_slot_it_holds_changes_nothing(booked):
    w = booked
    move(w, w.new)
    again = move(w, w.new)  # a double submit
    assert again.pk == w.appointment.pk
    row = Appointment.objects.get()
    assert (row.slot_id, row.sequence) == (w.new.pk, 1)
    assert OutboxMessage.objects.filter(purpose="booking_moved").count() == 1
    assert AuditEvent.objects.filter(action="booking.move").count() == 1


def test_moving_onto_a_slot_overlapping_its_own_old_booking(booked):
    """A longer template's slot may overlap the booking being moved: that is no conflict."""
    w = booked
    longer = make_slot(w.gp, w.ep, oslo(2026, 2, 6, 9, 50), minutes=40)
    move(w, longer)
    row = Appointment.objects.get()
    assert (row.slot_id, row.start, row.end) == (longer.pk, longer.start, longer.end)


def test_a_slot_taken_by_someone_else_leaves_the_old_booking(booked):
    w = booked
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    services.appointment_book(patient=other, slot_id=w.new.pk, reason="x")
    overlapping = make_slot(w.gp, w.ep, oslo(2026, 2, 4, 10, 10))
    with pytest.raises(services.SlotTaken):
        move(w, w.new)
    with pytest.raises(services.SlotTaken):
        move(w, overlapping)
    unchanged(w)


def test_a_slot_held_for_a_waiting_patient_is_not_free(booked):
    w = booked
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    entry = WaitlistEntry.objects.create(
        clinic=w.clinic, patient=other, until=datetime.date(2026, 3, 1)
    )
    SlotOffer.objects.create(
        slot=w.new, entry=entry, patient=other, expires_at=NOW + datetime.timedelta(hours=1)
    )
    with pytest.raises(services.SlotTaken):
        move(w, w.new)
    unchanged(w)


@pytest.mark.parametrize(
    "case", ["unknown", "blocked", "internal_type", "too_soon", "beyond_horizon", "not_offered"]
)
def test_a_slot_not_offered_to_the_patient_leaves_the_old_booking(booked, case):
    w = booked
    if case == "unknown":
        slot_id = 10**9
    elif case == "blocked":
        slot_id = make_slot(w.gp, w.ep, oslo(2026, 2, 5, 8, 0), blocked=True).pk
    elif case == "internal_type":
        slot_id = make_slot(w.gp, w.internal, oslo(2026, 2, 5, 8, 0)).pk
    elif case == "too_soon":  # the minimum notice is two hours
        slot_id = make_slot(w.gp, w.ep, oslo(2026, 2, 2, 10, 0)).pk
    elif case == "beyond_horizon":  # six weeks
        slot_id = make_slot(w.gp, w.ep, oslo(2026, 3, 17, 10, 0)).pk
    else:  # the matrix does not offer this practitioner to the patient's list
        stranger = factories.make_practitioner(w.clinic, "Ikke Tilbudt", eportal_enabled=True)
        slot_id = make_slot(stranger, w.ep, oslo(2026, 2, 5, 8, 0)).pk
    with pytest.raises(services.SlotUnavailable):
        move(w, slot_id)
    unchanged(w)


def test_another_clinics_slot_is_unavailable(booked, other_clinic):
    w = booked
    elsewhere = factories.build_booking_world(other_clinic)
    slot = make_slot(elsewhere.gp, elsewhere.ep, oslo(2026, 2, 5, 8, 0))
    with pytest.raises(services.SlotUnavailable):
        move(w, slot)
    unchanged(w)


def test_the_cancel_deadline_applies(booked):
    w = booked
    w.settings.cancel_deadline_hours = 24
    w.settings.save()
    with pytest.raises(services.CancelTooLate):
        move(w, w.new, now=oslo(2026, 2, 5, 10, 1))  # 23h59 before Friday 10:00
    unchanged(w)
    move(w, w.new, now=oslo(2026, 2, 2, 10, 0))
    assert Appointment.objects.get().slot_id == w.new.pk


def test_not_movable_cancelled_urgent_or_someone_elses(booked):
    w = booked
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    with pytest.raises(services.NotMovable):
        move(w, w.new, patient=other)  # someone else's
    with pytest.raises(services.NotMovable):
        move(w, w.new, appointment_id=10**9)
    unchanged(w)
    urgent_slot = make_slot(w.gp, w.ep, oslo(2026, 2, 2, 14, 0))
    service_matrix_save(clinic=w.clinic, service=Service.URGENT, cells=[(w.gp_list.pk, w.gp.pk)])
    urgent = services.appointment_book(
        patient=w.patient, slot_id=urgent_slot.pk, reason="x", urgent=True
    )
    with pytest.raises(services.NotMovable):
        move(w, w.new, appointment_id=urgent.pk)
    services.appointment_cancel(appointment_id=w.appointment.pk, patient=w.patient)
    with pytest.raises(services.NotMovable):
        move(w, w.new)


def test_a_patient_at_the_limit_may_still_move(booked):
    """A move holds as many appointments as before: the limit does not stop it."""
    w = booked
    second = make_slot(w.gp, w.ep, oslo(2026, 2, 9, 10, 0))
    services.appointment_book(patient=w.patient, slot_id=second.pk, reason="y")
    with pytest.raises(services.LimitReached):
        services.appointment_book(
            patient=w.patient, slot_id=make_slot(w.gp, w.ep, oslo(2026, 2, 10, 8, 0)).pk, reason="z"
        )
    move(w, w.new)
    assert Appointment.objects.get(pk=w.appointment.pk).slot_id == w.new.pk


def test_a_patient_who_may_no_longer_use_the_portal_cannot_move(booked):
    w = booked
    w.patient.journal_active = False
    w.patient.save()
    with pytest.raises(services.SlotUnavailable):
        move(w, w.new)
    unchanged(w)


def test_the_reminder_follows_the_new_time(booked, frozen):
    """Reminded for Tuesday on Monday evening, moved to Wednesday that evening: reminded
    again on Tuesday evening, for Wednesday (the SMS's key counts the move)."""
    w = booked
    w.settings.cancel_deadline_hours = 2
    w.settings.save()
    tuesday = make_slot(w.gp, w.ep, oslo(2026, 2, 3, 10, 0))
    move(w, tuesday)
    frozen.move_to(oslo(2026, 2, 2, 18, 0))
    assert services.reminders_send() == 1
    assert Appointment.objects.get().reminder_sent_at is not None
    frozen.move_to(oslo(2026, 2, 2, 19, 0))
    move(w, w.new)  # Wednesday 10:00
    assert Appointment.objects.get().reminder_sent_at is None
    assert services.reminders_send() == 0  # nothing for Wednesday on Monday
    frozen.move_to(oslo(2026, 2, 3, 18, 0))
    assert services.reminders_send() == 1
    assert services.reminders_send() == 0
    first, second = OutboxMessage.objects.filter(purpose="booking_reminder").order_by("pk")
    assert first.idempotency_key == f"booking-reminder:{w.appointment.pk}:1"
    assert second.idempotency_key == f"booking-reminder:{w.appointment.pk}:2"
    assert "10:00" in second.text and "4." in second.text


def test_no_reminder_right_after_a_move_in_the_reminder_hours(booked, frozen):
    """Moved onto tomorrow after today's reminder time: the move SMS has just said it."""
    w = booked
    w.settings.cancel_deadline_hours = 2
    w.settings.save()
    tuesday = make_slot(w.gp, w.ep, oslo(2026, 2, 3, 10, 0))
    frozen.move_to(oslo(2026, 2, 2, 18, 30))
    move(w, tuesday)
    assert services.reminders_send() == 0
