"""Moving under concurrency (docs/booking.md, "Reschedule"), on PostgreSQL: 50 patients, each
with a booking of their own, move it onto the same free slot at the same instant through the
real views, each on its own connection."""

from __future__ import annotations

import datetime
import re

import pytest

from booking.models import Appointment
from booking.services import appointment_book
from delegation.models import Service
from delegation.services import service_matrix_save
from sms.models import OutboxMessage
from tests import factories
from tests.booking.test_concurrency import race
from tests.factories import make_slot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

N = 50


@pytest.fixture
def movers(world):
    service_matrix_save(
        clinic=world.clinic, service=Service.BOOKING, cells=[(world.gp_list.pk, world.gp.pk)]
    )
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    start = soon.replace(minute=0, second=0, microsecond=0)
    world.target = make_slot(world.gp, world.ep, start, minutes=30)
    world.later = make_slot(world.gp, world.ep, start + datetime.timedelta(hours=2))
    world.bookings = []
    world.clients = []
    for i in range(N):
        patient = factories.make_patient(world.clinic, patient_list=world.gp_list)
        slot = make_slot(world.gp, world.ep, start + datetime.timedelta(days=1, minutes=20 * i))
        world.bookings.append(appointment_book(patient=patient, slot_id=slot.pk, reason=f"r{i}"))
        world.clients.append(factories.log_in_patient(patient))
    OutboxMessage.objects.all().delete()
    return world


def test_fifty_patients_moving_onto_one_slot_one_moves(movers):
    w = movers
    before = {a.pk: (a.slot_id, a.start, a.end, a.reason) for a in w.bookings}
    urls = [f"/c/DEMO1/mine-timer/{a.pk}/flytt/{w.target.pk}/" for a in w.bookings]
    results = race(list(zip(w.clients, urls, strict=True)))
    statuses = [status for status, _ in results]
    assert 500 not in statuses
    assert statuses.count(302) == 1, statuses
    assert statuses.count(409) == N - 1, statuses

    moved = Appointment.objects.filter(slot=w.target, status="booked")
    assert moved.count() == 1  # no double booking
    winner = moved.get()
    assert winner.sequence == 1 and winner.reason == before[winner.pk][3]
    for appointment in Appointment.objects.exclude(pk=winner.pk):
        # The 49 others keep their old booking exactly as it was.
        assert appointment.status == "booked"
        assert (appointment.slot_id, appointment.start, appointment.end, appointment.reason) == (
            before[appointment.pk]
        )
        assert appointment.sequence == 0
    assert Appointment.objects.filter(status="booked").count() == N
    # One move SMS, the winner's.
    (sms,) = OutboxMessage.objects.filter(purpose="booking_moved")
    assert sms.idempotency_key == f"booking-moved:{winner.pk}:1"

    losers = [body for status, body in results if status == 409]
    # "Just taken", the old time unchanged, and fresh times that move (not book anew).
    assert all('role="alert"' in body and 'id="kept"' in body for body in losers)

    def offered(body: str) -> set[int]:
        return {int(pk) for pk in re.findall(r'href="/c/DEMO1/mine-timer/\d+/flytt/(\d+)/"', body)}

    assert all(w.later.pk in offered(body) for body in losers)
    assert not any(w.target.pk in offered(body) for body in losers)
    assert not any(re.search(r'href="/c/DEMO1/timer/\d+/"', body) for body in losers)
    # The winner's old slot is free again.
    old_slot = before[winner.pk][0]
    assert not Appointment.objects.filter(slot_id=old_slot, status="booked").exists()


def test_moves_and_new_bookings_of_one_slot_at_once_one_wins(movers):
    """Half of them move onto the slot, half of them book it anew: one gets it."""
    w = movers
    newcomers = [factories.make_patient(w.clinic, patient_list=w.gp_list) for _ in range(N // 2)]
    attempts = [
        (client, f"/c/DEMO1/mine-timer/{a.pk}/flytt/{w.target.pk}/")
        for client, a in list(zip(w.clients, w.bookings, strict=True))[: N // 2]
    ] + [(factories.log_in_patient(p), f"/c/DEMO1/timer/{w.target.pk}/") for p in newcomers]
    statuses = [status for status, _ in race(attempts)]
    assert 500 not in statuses
    assert statuses.count(302) == 1, statuses
    assert statuses.count(409) == N - 1, statuses
    assert Appointment.objects.filter(slot=w.target, status="booked").count() == 1
    assert Appointment.objects.filter(status="booked").count() in {N, N + 1}
