"""Speed (issue 5 §6): the slot page and the booking POST run a fixed number of queries,
the same for a one-doctor clinic and for a big one."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.models import Appointment, Slot
from booking.services import slots_generate
from delegation.models import Service
from delegation.services import service_matrix_save
from tests import factories
from tests.factories import build_booking_world, make_template, oslo

pytestmark = pytest.mark.django_db(transaction=True)

NOW = oslo(2026, 2, 2, 9, 0)


def grow(w, practitioners: int, patients: int) -> None:
    """Make the clinic big: more practitioners with templates, patients and appointments,
    all of them offered to the test patient through the matrix."""
    others = [
        factories.make_practitioner(w.clinic, f"Lege {i:02d}", eportal_enabled=True)
        for i in range(practitioners)
    ]
    for p in others:
        make_template(p, w.ep, end="15:00", slot_minutes=15)
        slots_generate(practitioner_id=p.pk)
    service_matrix_save(
        clinic=w.clinic,
        service=Service.BOOKING,
        cells=[(w.gp_list.pk, w.gp.pk)] + [(w.gp_list.pk, p.pk) for p in others],
    )
    people = [factories.make_patient(w.clinic, patient_list=w.gp_list) for _ in range(patients)]
    slots = list(Slot.objects.filter(practitioner__in=[w.gp, *others]).order_by("?")[:patients])
    Appointment.objects.bulk_create(
        Appointment(
            slot=s,
            patient=p,
            practitioner_id=s.practitioner_id,
            start=s.start,
            end=s.end,
            reason="x",
        )
        for s, p in zip(slots, people, strict=False)
    )


def measure(client, method: str, url: str, data=None) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
    return response.status_code, len(ctx.captured_queries)


@pytest.mark.parametrize("size", ["small", "large"])
def test_slot_page_and_booking_post_query_counts(
    clinic, patient_client_for, size, monkeypatch, settings
):
    # As in production: the confirmation waits for the dispatcher on beat (no SQL in the
    # request after the commit), which hands it to a stand-in for the broker.
    from sms.services import sms_dispatch

    settings.SMS_DISPATCH_AT_COMMIT = False
    enqueued: list[int] = []
    monkeypatch.setattr("sms.services._enqueue", enqueued.append)
    with time_machine.travel(NOW, tick=False):
        w = build_booking_world(clinic)
        make_template(w.gp, w.ep)
        slots_generate(practitioner_id=w.gp.pk)
        if size == "large":
            grow(w, practitioners=30, patients=150)
        client = patient_client_for(w.patient)
        free = [
            s
            for s in Slot.objects.filter(practitioner=w.gp, start__gte=oslo(2026, 2, 3)).order_by(
                "start"
            )
            if not s.appointments.exists()
        ]
        status, slot_page = measure(client, "get", "/c/DEMO1/timer/?week=2026-02-09")
        assert status == 200
        status, booking = measure(client, "post", f"/c/DEMO1/timer/{free[0].pk}/", {"reason": "x"})
        assert status == 302
    sms_dispatch()  # the beat
    assert len(enqueued) == 1  # the confirmation SMS
    assert slot_page <= 5
    assert booking <= 10
    # The same number whatever the clinic's size. With sessions read through Redis (CI and
    # production) the slot page fills the session cache and the POST reads it from there.
    from django.conf import settings

    # The slot page: the session (its first read fills the cache), the patient (with clinic,
    # list and booking settings), the offered practitioners, the week's free slots.
    # The POST: the patient, BEGIN, the patient's row lock, the slots' lock, the appointment,
    # the audit event and the SMS outbox row, COMMIT (+ the session without the cache).
    cached_sessions = settings.SESSION_ENGINE.endswith("cached_db")
    assert (slot_page, booking) == ((4, 8) if cached_sessions else (4, 9))
