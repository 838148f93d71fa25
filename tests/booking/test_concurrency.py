"""Correctness under concurrency (docs/booking.md), on PostgreSQL: 50 patients try to book one
slot at the same instant through the real views, each on its own connection."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.test import Client

from booking.models import Appointment
from delegation.models import Service
from delegation.services import service_matrix_save
from tests import factories
from tests.factories import make_slot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

N = 50


def race(clients_and_urls) -> list[tuple[int, str]]:
    """POST all at once, one thread (and so one database connection) each."""
    barrier = threading.Barrier(len(clients_and_urls))
    results: list[tuple[int, str]] = [(0, "")] * len(clients_and_urls)

    def attempt(i: int, client: Client, url: str) -> None:
        try:
            barrier.wait()
            response = client.post(url, {"reason": "Kontroll"})
            results[i] = (response.status_code, response.content.decode())
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=(i, c, u))
        for i, (c, u) in enumerate(clients_and_urls)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def crowd(world):
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    start = soon.replace(minute=0, second=0, microsecond=0)
    world.slot = make_slot(world.gp, world.ep, start, minutes=30)
    world.overlapping = make_slot(world.gp, world.ep, start + datetime.timedelta(minutes=20))
    world.later = make_slot(world.gp, world.ep, start + datetime.timedelta(hours=2))
    patients = [factories.make_patient(world.clinic, patient_list=world.gp_list) for _ in range(N)]
    service_matrix_save(
        clinic=world.clinic, service=Service.BOOKING, cells=[(world.gp_list.pk, world.gp.pk)]
    )
    world.clients = [factories.log_in_patient(p) for p in patients]
    return world


def test_fifty_concurrent_bookings_of_one_slot_one_wins(crowd):
    url = f"/c/DEMO1/timer/{crowd.slot.pk}/"
    results = race([(c, url) for c in crowd.clients])
    statuses = [status for status, _ in results]
    assert statuses.count(302) == 1, statuses
    assert statuses.count(409) == N - 1, statuses
    losers = [body for status, body in results if status == 409]
    # A friendly "just taken" with fresh alternatives: the later slot, not the taken ones.
    assert all('role="alert"' in body for body in losers)
    assert all("Timen ble nettopp tatt" in body for body in losers)
    assert all(f"/c/DEMO1/timer/{crowd.later.pk}/" in body for body in losers)
    assert not any(f"/c/DEMO1/timer/{crowd.overlapping.pk}/" in body for body in losers)
    assert Appointment.objects.filter(slot=crowd.slot, status="booked").count() == 1


def test_concurrent_bookings_of_overlapping_slots_one_wins(crowd):
    urls = [f"/c/DEMO1/timer/{crowd.slot.pk}/", f"/c/DEMO1/timer/{crowd.overlapping.pk}/"]
    results = race([(c, urls[i % 2]) for i, c in enumerate(crowd.clients)])
    statuses = [status for status, _ in results]
    assert statuses.count(302) == 1, statuses
    assert set(statuses) == {302, 409}
    assert Appointment.objects.filter(status="booked").count() == 1


def test_the_database_refuses_overlapping_bookings(world):
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    a = make_slot(world.gp, world.ep, start, minutes=30)
    b = make_slot(world.gp, world.ep, start + datetime.timedelta(minutes=20))
    other = factories.make_patient(world.clinic)

    def book(slot, patient):
        return Appointment.objects.create(
            slot=slot,
            patient=patient,
            practitioner=world.gp,
            start=slot.start,
            end=slot.end,
            reason="x",
        )

    book(a, world.patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        book(b, other)
    with pytest.raises(IntegrityError), transaction.atomic():
        book(a, other)


def test_one_patient_booking_many_slots_at_once_stays_within_the_limit(world):
    """Ten tabs of one patient, ten different free slots, the same instant: the clinic's
    limit (2 future online appointments) holds, because bookings of one patient queue on
    the patient's row."""
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    start = soon.replace(minute=0, second=0, microsecond=0)
    slots = [
        make_slot(world.gp, world.ep, start + datetime.timedelta(minutes=30 * i), minutes=30)
        for i in range(10)
    ]
    service_matrix_save(
        clinic=world.clinic, service=Service.BOOKING, cells=[(world.gp_list.pk, world.gp.pk)]
    )
    patient = factories.make_patient(world.clinic, patient_list=world.gp_list)
    cookie = django_settings.SESSION_COOKIE_NAME
    key = factories.log_in_patient(patient).cookies[cookie].value
    tabs = []
    for slot in slots:
        tab = Client()  # one client per thread, all with the patient's session
        tab.cookies[cookie] = key
        tabs.append((tab, f"/c/DEMO1/timer/{slot.pk}/"))
    results = race(tabs)
    statuses = [status for status, _ in results]
    assert statuses.count(302) == 2, statuses
    assert set(statuses) == {302, 409}, statuses
    assert Appointment.objects.filter(patient=patient, status="booked").count() == 2


def test_a_booking_that_commits_behind_the_lock_becomes_slot_taken(world, monkeypatch):
    """The database has the last word: when another appointment for the slot appears after
    the locking statement (a writer that took no lock), the insert's IntegrityError, raised
    inside the pipelined transaction, becomes SlotTaken and nothing of this booking stays."""
    from booking import queries, services
    from clinics.models import AuditEvent
    from sms.models import OutboxMessage

    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    slot = make_slot(world.gp, world.ep, soon.replace(minute=0, second=0, microsecond=0))
    other = factories.make_patient(world.clinic, patient_list=world.gp_list)
    original = queries._LOCK_SLOTS

    def lock_then_someone_books(**values):
        rows = original(**values)
        Appointment.objects.create(
            slot=slot,
            patient=other,
            practitioner=world.gp,
            start=slot.start,
            end=slot.end,
            reason="x",
        )
        return rows

    monkeypatch.setattr(queries, "_LOCK_SLOTS", lock_then_someone_books)
    with pytest.raises(services.SlotTaken):
        services.appointment_book(patient=world.patient, slot_id=slot.pk, reason="Kontroll")
    assert not Appointment.objects.filter(patient=world.patient).exists()
    assert not AuditEvent.objects.filter(action="booking.book").exists()
    assert not OutboxMessage.objects.exists()


def test_a_lost_race_leaves_the_connection_fit_for_the_next_booking(world, settings):
    """The lost race's INSERT fails in the pipeline; the audit and outbox INSERTs queued
    behind it were to be prepared on that run and were skipped. The worker's connection
    must still book afterwards (it answered "prepared statement does not exist" until
    atomic_pipeline rolled back through psycopg's rollback())."""
    import time

    from booking.services import SlotTaken, SlotUnavailable, appointment_book

    settings.SMS_DISPATCH_AT_COMMIT = False  # production: the dispatcher runs on beat
    service_matrix_save(
        clinic=world.clinic, service=Service.BOOKING, cells=[(world.gp_list.pk, world.gp.pk)]
    )
    base = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)).replace(
        minute=0, second=0, microsecond=0
    )
    slots = [
        make_slot(world.gp, world.ep, base + datetime.timedelta(minutes=30 * i)) for i in range(6)
    ]
    people = [factories.make_patient(world.clinic, patient_list=world.gp_list) for _ in range(6)]
    connection.close()  # a worker's fresh connection
    with pytest.raises(SlotUnavailable):
        appointment_book(patient=people[0], slot_id=10**9, reason="x")
    appointment_book(patient=people[1], slot_id=slots[1].pk, reason="x")
    appointment_book(patient=people[2], slot_id=slots[2].pk, reason="x")

    locked = threading.Event()

    def rival():  # another patient's booking commits while ours waits for the slot's lock
        try:
            with transaction.atomic():
                slot = type(slots[3]).objects.select_for_update().get(pk=slots[3].pk)
                Appointment.objects.create(
                    slot=slot,
                    patient=people[5],
                    practitioner=world.gp,
                    start=slot.start,
                    end=slot.end,
                    reason="r",
                )
                locked.set()
                time.sleep(0.5)
        finally:
            connection.close()

    thread = threading.Thread(target=rival)
    thread.start()
    assert locked.wait(30)
    with pytest.raises(SlotTaken):
        appointment_book(patient=people[3], slot_id=slots[3].pk, reason="x")
    thread.join(30)
    booked = appointment_book(patient=people[4], slot_id=slots[4].pk, reason="x")
    assert booked.pk and booked.patient_id == people[4].pk
