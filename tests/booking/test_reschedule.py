"""Moving a booking ("Flytt timen", docs/booking.md): one transaction, the row moves."""

from __future__ import annotations

import datetime

import pytest

from booking import services
from booking.models import Appointment
from booking.rendering import appointment_ics
from delegation.models import Service
from delegation.services import service_matrix_save
from tests.factories import make_slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(world):
    service_matrix_save(
        clinic=world.clinic, service=Service.BOOKING, cells=[(world.gp_list.pk, world.gp.pk)]
    )
    start = datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(days=5)
    world.old = make_slot(world.gp, world.ep, start)
    world.new = make_slot(world.gp, world.ep, start - datetime.timedelta(days=2))
    world.appointment = services.appointment_book(
        patient=world.patient, slot_id=world.old.pk, reason="Kontroll"
    )
    return world


def test_a_move_books_the_new_slot_and_frees_the_old(booked):
    w = booked
    moved = services.appointment_move(
        patient=w.patient, appointment_id=w.appointment.pk, slot_id=w.new.pk
    )
    assert moved.pk == w.appointment.pk
    row = Appointment.objects.get()
    assert (row.slot_id, row.start, row.reason, row.sequence) == (
        w.new.pk,
        w.new.start,
        "Kontroll",
        1,
    )
    assert "SEQUENCE:1" in appointment_ics(row, w.clinic)
    # The old slot is free again: another patient may book it.
    assert services.appointment_book(patient=w.patient, slot_id=w.old.pk, reason="x")
