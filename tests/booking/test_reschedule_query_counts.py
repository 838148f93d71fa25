"""Speed (docs/benchmarks.md): the "Flytt timen" pages and the move POST run a fixed number of
queries, the same for a one-doctor clinic and for a big one with many appointments, and for
a patient with one appointment or many."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.models import Appointment, Slot
from booking.services import appointment_book, slots_generate
from tests.booking.test_query_counts import grow
from tests.factories import build_booking_world, make_template, oslo

pytestmark = pytest.mark.django_db(transaction=True)

NOW = oslo(2026, 2, 2, 9, 0)


def measure(client, method: str, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url)
    return response.status_code, len(ctx.captured_queries)


@pytest.mark.parametrize("size", ["small", "large"])
def test_move_pages_and_post_query_counts(clinic, patient_client_for, size, monkeypatch, settings):
    # As in production: the move SMS waits for the dispatcher on beat (no SQL in the request
    # after the commit).
    settings.SMS_DISPATCH_AT_COMMIT = False
    monkeypatch.setattr("sms.services._enqueue", lambda pk: None)
    with time_machine.travel(NOW, tick=False):
        w = build_booking_world(clinic)
        make_template(w.gp, w.ep)
        slots_generate(practitioner_id=w.gp.pk)
        if size == "large":
            grow(w, practitioners=30, patients=150)
        free = [
            s
            for s in Slot.objects.filter(practitioner=w.gp, start__gte=oslo(2026, 2, 3)).order_by(
                "start"
            )
            if not s.appointments.exists()
        ]
        own = next(s for s in free if s.start >= oslo(2026, 2, 5))  # before the deadline
        appointment = appointment_book(patient=w.patient, slot_id=own.pk, reason="x")
        if size == "large":  # the patient's own history: cancelled and past appointments
            Appointment.objects.bulk_create(
                Appointment(
                    slot=None,
                    patient=w.patient,
                    practitioner=w.gp,
                    start=oslo(2025, 1, 6 + i, 9, 0),
                    end=oslo(2025, 1, 6 + i, 9, 20),
                    reason="x",
                    status="cancelled" if i % 2 else "booked",
                )
                for i in range(20)
            )
        client = patient_client_for(w.patient)
        base = f"/c/DEMO1/mine-timer/{appointment.pk}/flytt/"
        status, move_page = measure(client, "get", f"{base}?week=2026-02-09")
        assert status == 200
        target = free[-1]
        status, confirm_page = measure(client, "get", f"{base}{target.pk}/")
        assert status == 200
        status, move_post = measure(client, "post", f"{base}{target.pk}/")
        assert status == 302
        assert Appointment.objects.get(pk=appointment.pk).slot_id == target.pk
    # The same numbers whatever the clinic's size and the patient's history. With sessions
    # read through Redis (CI and production) the move page fills the session cache and the
    # next requests read it from there.
    cached_sessions = settings.SESSION_ENGINE.endswith("cached_db")
    # The move page: the session, the patient (with clinic, list and booking settings), the
    # appointment, the offered practitioners, the week's free slots. The confirm page: the
    # same, the one slot instead of the week. The POST: the patient, the appointment; BEGIN,
    # the patient's lock, the appointment's lock, the slots' lock, the update, the audit
    # event, the SMS outbox row (its idempotency key: a look-up and an insert in a
    # savepoint), COMMIT; then, the old slot being free, the waitlist's sweep, which the
    # tests run in-process (production enqueues it): three queries whatever the waitlist's
    # length (tests/booking/test_waitlist.py).
    assert (move_page, confirm_page, move_post) == ((5, 4, 16) if cached_sessions else (5, 5, 17))
