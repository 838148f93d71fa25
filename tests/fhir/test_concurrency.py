"""$book under contention, on PostgreSQL: ten record-system calls for one slot at the same
instant, each on its own connection: one booking, nine 409s (booking's own service)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from booking.models import Appointment
from tests import factories

from .conftest import Api

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

N = 10


def test_ten_books_of_one_slot_one_wins(world):
    patients = [factories.make_patient(world.clinic, patient_list=world.gp_list) for _ in range(N)]
    barrier = threading.Barrier(N)
    results = [0] * N

    def attempt(i: int) -> None:
        try:
            api = Api(world.api.token)
            barrier.wait()
            response = api.post(
                "Appointment/$book",
                {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": "slot", "valueReference": {"reference": f"Slot/{world.slot.pk}"}},
                        {
                            "name": "patient",
                            "valueReference": {"reference": f"Patient/{patients[i].pk}"},
                        },
                    ],
                },
            )
            results[i] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [201] + [409] * (N - 1)
    assert Appointment.objects.filter(slot=world.slot, status="booked").count() == 1
