"""The waitlist for an earlier time (docs/booking.md, "Waitlist"): joining, the offer sweep
(first come first served, one offer per slot and per patient, held, expired, quiet hours),
accepting (the booking moves, or a new one is made), declining, the pages and the admin."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking import services
from booking.models import Appointment, SlotOffer, WaitlistEntry
from booking.selectors import offer_candidates
from clinics.models import AuditEvent
from delegation.models import Service
from delegation.services import service_matrix_save
from sms.models import OutboxMessage
from tests.factories import build_booking_world, make_patient, make_practitioner, make_slot, oslo

pytestmark = pytest.mark.django_db

#: A Monday late morning, inside the offer hours.
NOW = oslo(2027, 3, 1, 10, 0)
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def w(clinic):
    w = build_booking_world(clinic)
    w.locum = make_practitioner(clinic, "Vera Vikar", eportal_enabled=True)
    w.outsider = make_practitioner(clinic, "Ikke Tilbudt", eportal_enabled=True)
    service_matrix_save(
        clinic=clinic,
        service=Service.BOOKING,
        cells=[(w.gp_list.pk, w.gp.pk), (w.gp_list.pk, w.locum.pk)],
    )
    w.anne = make_patient(clinic, name="Anne Ansen", patient_list=w.gp_list)
    w.bo = make_patient(clinic, name="Bo Bosen", patient_list=w.gp_list)
    # Tuesday next week at 09:00 (soon) and the Monday after at 09:00 (later).
    w.soon = make_slot(w.gp, w.ep, oslo(2027, 3, 9, 9, 0))
    w.later = make_slot(w.gp, w.ep, oslo(2027, 3, 15, 9, 0))
    w.other_later = make_slot(w.gp, w.ep, oslo(2027, 3, 16, 9, 0))
    return w


def book(patient, slot, reason="Kontroll"):
    return services.appointment_book(patient=patient, slot_id=slot.pk, reason=reason)


def join(patient, practitioners, *, appointment=None, until=datetime.date(2027, 4, 1), **kw):
    return services.waitlist_join(
        patient=patient,
        practitioner_ids=[p.pk for p in practitioners],
        weekdays=kw.pop("weekdays", [1, 2, 3, 4, 5]),
        time_from=kw.pop("time_from", datetime.time(8, 0)),
        time_to=kw.pop("time_to", datetime.time(16, 0)),
        until=until,
        appointment_id=appointment.pk if appointment else None,
        reason=kw.pop("reason", "Vondt i kneet"),
    )


# Joining


def test_join_refuses_practitioners_the_matrix_does_not_offer(w):
    with pytest.raises(services.NotOffered):
        join(w.patient, [w.gp, w.outsider])
    with pytest.raises(services.NotOffered):
        join(w.patient, [])
    assert not WaitlistEntry.objects.exists()


def test_join_refuses_a_last_day_in_the_past_or_beyond_the_horizon(w):
    with pytest.raises(services.BadUntil):
        join(w.patient, [w.gp], until=datetime.date(2027, 2, 28))
    with pytest.raises(services.BadUntil):
        join(w.patient, [w.gp], until=datetime.date(2027, 6, 1))  # horizon: 6 weeks
    assert not WaitlistEntry.objects.exists()


def test_one_waiting_entry_per_booking_and_one_without(w):
    mine = book(w.patient, w.later)
    join(w.patient, [w.gp], appointment=mine)
    with pytest.raises(services.AlreadyWaiting):
        join(w.patient, [w.gp], appointment=mine)
    join(w.patient, [w.gp])
    with pytest.raises(services.AlreadyWaiting):
        join(w.patient, [w.locum])
    assert WaitlistEntry.objects.filter(status="waiting").count() == 2


def test_join_with_someone_elses_appointment_is_refused(w):
    theirs = book(w.anne, w.later)
    with pytest.raises(services.NotMovable):
        join(w.patient, [w.gp], appointment=theirs)


# The sweep


def test_a_freed_slot_is_offered_held_and_accepted_moves_the_booking(
    w, django_capture_on_commit_callbacks
):
    mine = book(w.patient, w.later)
    entry = join(w.patient, [w.gp], appointment=mine)
    theirs = book(w.anne, w.soon, reason="Hemmelig diagnose")
    with django_capture_on_commit_callbacks() as callbacks:
        services.appointment_cancel(appointment_id=theirs.pk, patient=w.anne)
    assert callbacks  # the cancel enqueues the sweep after its commit (the beat would too)

    assert services.offers_sweep() == 1
    offer = SlotOffer.objects.get()
    assert (offer.slot_id, offer.entry_id, offer.patient_id) == (w.soon.pk, entry.pk, w.patient.pk)
    assert offer.expires_at == NOW + datetime.timedelta(minutes=15)
    sms = OutboxMessage.objects.get(purpose="slot_offer")
    assert sms.idempotency_key == f"slot-offer:{offer.pk}"
    assert sms.recipient == w.patient.mobile
    assert f"/c/DEMO1/timer/tilbud/{offer.pk}/" in sms.text
    assert "09:00" in sms.text and w.clinic.name in sms.text
    assert "Kontroll" not in sms.text and "diagnose" not in sms.text
    # A second run offers nothing more (not the same slot, not the same patient).
    assert services.offers_sweep() == 0

    # Held: nobody else can book it.
    with pytest.raises(services.SlotTaken):
        book(w.bo, w.soon)

    moved = services.offer_accept(patient=w.patient, offer_id=offer.pk)
    assert moved.pk == mine.pk
    mine.refresh_from_db()
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (mine.slot_id, mine.sequence, mine.reason) == (w.soon.pk, 1, "Kontroll")
    assert offer.status == "accepted" and entry.status == "fulfilled"
    # The old slot is free: someone else may book it.
    assert book(w.bo, w.later).slot_id == w.later.pk


def test_an_offer_without_a_booking_books_anew_with_the_reason(w):
    entry = join(w.patient, [w.gp], reason="Vondt i kneet")
    theirs = book(w.anne, w.soon)
    services.appointment_cancel(appointment_id=theirs.pk, patient=w.anne)
    # The patient has no booking: the earliest fitting slot is offered (w.soon).
    assert services.offers_sweep() == 1
    offer = SlotOffer.objects.get(entry=entry)
    appointment = services.offer_accept(patient=w.patient, offer_id=offer.pk)
    assert (appointment.slot_id, appointment.reason) == (offer.slot_id, "Vondt i kneet")
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (offer.status, entry.status) == ("accepted", "fulfilled")
    sms = OutboxMessage.objects.get(purpose="slot_offer")
    assert "kneet" not in sms.text


def test_first_come_first_served_and_one_offer_per_patient(w):
    anne_booking = book(w.anne, w.later)
    bo_booking = book(w.bo, w.other_later)
    first = join(w.anne, [w.gp], appointment=anne_booking)
    second = join(w.bo, [w.gp], appointment=bo_booking)
    extra = make_slot(w.gp, w.ep, oslo(2027, 3, 10, 9, 0))
    assert services.offers_sweep() == 2
    offers = {o.entry_id: o.slot_id for o in SlotOffer.objects.all()}
    # Anne came first: the earliest slot is hers; Bo gets the next one, one each.
    assert offers == {first.pk: w.soon.pk, second.pk: extra.pk}


def test_an_expired_offer_goes_to_the_next_patient_and_never_back(w):
    anne_booking = book(w.anne, w.later)
    bo_booking = book(w.bo, w.other_later)
    first = join(w.anne, [w.gp], appointment=anne_booking)
    second = join(w.bo, [w.gp], appointment=bo_booking, weekdays=[2])  # Tuesdays only
    services.offers_sweep()
    offer = SlotOffer.objects.get(entry=first)
    assert offer.slot_id == w.soon.pk
    assert not SlotOffer.objects.filter(entry=second).exists()
    with time_machine.travel(NOW + datetime.timedelta(minutes=16), tick=False):
        services.offers_sweep()
        with pytest.raises(services.OfferGone):
            services.offer_accept(patient=w.anne, offer_id=offer.pk)
    offer.refresh_from_db()
    assert offer.status == "expired"
    first.refresh_from_db()
    assert first.status == "waiting"  # still waiting, but not for that slot
    assert SlotOffer.objects.get(entry=second, status="offered").slot_id == w.soon.pk
    assert not SlotOffer.objects.filter(entry=first, status="offered").exists()


def test_decline_offers_the_slot_to_the_next(w):
    anne_booking = book(w.anne, w.later)
    join(w.anne, [w.gp], appointment=anne_booking)
    join(w.bo, [w.gp], until=datetime.date(2027, 3, 10))  # only w.soon suits
    services.offers_sweep()
    assert not SlotOffer.objects.filter(patient=w.bo).exists()
    offer = SlotOffer.objects.get(patient=w.anne)
    services.offer_decline(patient=w.anne, offer_id=offer.pk)
    services.offers_sweep()
    assert SlotOffer.objects.get(patient=w.bo, status="offered").slot_id == w.soon.pk


def test_no_offer_sms_at_night_and_the_slot_is_offered_in_the_morning(w):
    anne_booking = book(w.anne, w.later)
    join(w.anne, [w.gp], appointment=anne_booking)
    night = oslo(2027, 3, 1, 21, 30)
    with time_machine.travel(night, tick=False):
        assert services.offers_sweep(now=night) == 0
    morning = oslo(2027, 3, 2, 8, 0)
    with time_machine.travel(morning, tick=False):
        assert services.offers_sweep(now=morning) == 1
    assert SlotOffer.objects.get().slot_id == w.soon.pk


def test_a_slot_starting_sooner_than_the_notice_is_not_offered(w):
    w.settings.waitlist_notice_hours = 24 * 9  # nine days: w.soon (8 days ahead) is too soon
    w.settings.save()
    anne_booking = book(w.anne, w.other_later)
    join(w.anne, [w.gp], appointment=anne_booking)
    services.offers_sweep()
    assert SlotOffer.objects.get().slot_id == w.later.pk


def test_the_window_weekdays_times_and_practitioners_are_respected(w):
    anne_booking = book(w.anne, w.other_later)
    # w.soon is a Tuesday 09:00, w.later a Monday 09:00: only Mondays from 10:00 suit.
    join(w.anne, [w.gp], appointment=anne_booking, weekdays=[1], time_from=datetime.time(10, 0))
    assert services.offers_sweep() == 0
    join(w.bo, [w.locum])  # nobody of the locum's is free
    assert services.offers_sweep() == 0


def test_cancelling_the_booking_ends_its_entry_and_voids_its_offer(w):
    anne_booking = book(w.anne, w.later)
    entry = join(w.anne, [w.gp], appointment=anne_booking)
    services.offers_sweep()
    services.appointment_cancel(appointment_id=anne_booking.pk, patient=w.anne)
    entry.refresh_from_db()
    assert entry.status == "cancelled"
    assert SlotOffer.objects.get().status == "void"


def test_blocking_a_held_slot_voids_its_offer_and_unblocking_enqueues_the_sweep(
    w, django_capture_on_commit_callbacks
):
    anne_booking = book(w.anne, w.later)
    join(w.anne, [w.gp], appointment=anne_booking)
    services.offers_sweep()
    services.slots_set_blocked(slot_ids=[w.soon.pk], blocked=True)
    assert SlotOffer.objects.get().status == "void"
    with django_capture_on_commit_callbacks() as callbacks:
        services.slots_set_blocked(slot_ids=[w.soon.pk], blocked=False)
    assert callbacks


def test_leaving_gives_up_the_offer(w):
    entry = join(w.anne, [w.gp])
    services.offers_sweep()
    services.waitlist_leave(patient=w.anne, entry_id=entry.pk)
    entry.refresh_from_db()
    assert entry.status == "cancelled"
    assert SlotOffer.objects.get().status == "declined"
    assert services.waitlist_leave(patient=w.bo, entry_id=entry.pk) is None


def test_every_waitlist_action_is_audited_without_the_reason(w):
    entry = join(w.anne, [w.gp], reason="Hemmelig")
    services.offers_sweep()
    services.waitlist_leave(patient=w.anne, entry_id=entry.pk)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"booking.waitlist_join", "booking.offer_made", "booking.waitlist_leave"} <= actions
    assert "Hemmelig" not in str(list(AuditEvent.objects.values_list("details", flat=True)))


# Query counts: the sweep reads ONE query to find what to offer, whatever the waitlist


def _sweep_queries():
    with CaptureQueriesContext(connection) as ctx:
        services.offers_sweep()
    reads = [
        q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
    ]
    return len(ctx.captured_queries), len(reads)


def _grow(w, n):
    """n more waiting patients for whom nothing fits, and n more free slots nobody wants."""
    for i in range(n):
        patient = make_patient(w.clinic, patient_list=w.gp_list)
        join(patient, [w.gp], weekdays=[6])  # Saturdays: no slots
        make_slot(w.gp, w.ep, oslo(2027, 3, 11, 12, 0) + datetime.timedelta(minutes=20 * i))


def test_the_sweep_reads_one_query_whatever_the_length_of_the_waitlist(w):
    join(w.anne, [w.gp], time_to=datetime.time(10, 0))
    small = _sweep_queries()
    SlotOffer.objects.all().delete()
    _grow(w, 30)
    large = _sweep_queries()
    assert small == large
    # Nothing to offer: the two expiring UPDATEs and the one candidate query.
    SlotOffer.objects.all().update(status="accepted")
    WaitlistEntry.objects.filter(patient=w.anne).update(status="fulfilled")
    total, reads = _sweep_queries()
    assert (total, reads) == (3, 1)


def test_offers_cost_the_same_each(w):
    join(w.anne, [w.gp])
    one = _sweep_queries()[0]
    SlotOffer.objects.all().delete()
    OutboxMessage.objects.all().delete()
    join(w.bo, [w.gp])
    two = _sweep_queries()[0]
    assert two - one == one - 3  # 3: the expiring UPDATEs and the candidate query


def test_the_candidates_are_capped_per_entry(w):
    for i in range(10):
        make_slot(w.gp, w.ep, oslo(2027, 3, 11, 8, 0) + datetime.timedelta(minutes=20 * i))
    join(w.anne, [w.gp])
    assert len(offer_candidates(NOW)) == 5


# The pages


@pytest.fixture
def offered(w):
    anne_booking = book(w.anne, w.later)
    join(w.anne, [w.gp], appointment=anne_booking)
    services.offers_sweep()
    w.anne_booking = anne_booking
    w.offer = SlotOffer.objects.get()
    return w


def test_the_offer_page_is_the_patients_own(offered, patient_client_for):
    w = offered
    url = f"/c/DEMO1/timer/tilbud/{w.offer.pk}/"
    assert patient_client_for(w.bo).get(url).status_code == 404
    assert patient_client_for(w.bo).post(url, {"answer": "accept"}).status_code == 404
    page = patient_client_for(w.anne).get(url)
    assert page.status_code == 200
    assert b"09:00" in page.content


def test_accepting_on_the_page_moves_the_booking(offered, patient_client_for):
    w = offered
    client = patient_client_for(w.anne)
    response = client.post(f"/c/DEMO1/timer/tilbud/{w.offer.pk}/", {"answer": "accept"})
    assert response.status_code == 302
    assert response["Location"] == f"/c/DEMO1/timer/bestilt/{w.anne_booking.pk}/"
    assert Appointment.objects.get(pk=w.anne_booking.pk).slot_id == w.soon.pk


def test_an_expired_offer_says_so_and_changes_nothing(offered, patient_client_for):
    w = offered
    with time_machine.travel(NOW + datetime.timedelta(minutes=20), tick=False):
        client = patient_client_for(w.anne)
        response = client.post(f"/c/DEMO1/timer/tilbud/{w.offer.pk}/", {"answer": "accept"})
        assert response.status_code == 409
        assert b'id="offer-gone"' in response.content
        assert client.get(f"/c/DEMO1/timer/tilbud/{w.offer.pk}/").status_code == 200
    assert Appointment.objects.get(pk=w.anne_booking.pk).slot_id == w.later.pk


def test_declining_on_the_page(offered, patient_client_for):
    w = offered
    client = patient_client_for(w.anne)
    response = client.post(f"/c/DEMO1/timer/tilbud/{w.offer.pk}/", {"answer": "decline"})
    assert response.status_code == 302
    w.offer.refresh_from_db()
    assert w.offer.status == "declined"


def test_the_join_page_books_an_entry_and_mine_lists_it(w, patient_client_for):
    mine = book(w.anne, w.later)
    client = patient_client_for(w.anne)
    page = client.get(f"/c/DEMO1/timer/venteliste/?a={mine.pk}")
    assert page.status_code == 200
    assert w.outsider.name.encode() not in page.content  # only the matrix's practitioners
    data = {
        "a": mine.pk,
        "practitioners": [w.gp.pk, w.locum.pk],
        "weekdays": ["1", "3"],
        "time_from": "08:00",
        "time_to": "12:00",
        "until": "2027-03-14",
    }
    assert client.post("/c/DEMO1/timer/venteliste/", data).status_code == 302
    entry = WaitlistEntry.objects.get()
    assert (entry.appointment_id, entry.weekdays, entry.until) == (
        mine.pk,
        0b101,
        datetime.date(2027, 3, 14),
    )
    listing = client.get("/c/DEMO1/mine-timer/")
    assert f'id="waitlist-{entry.pk}"'.encode() in listing.content
    assert client.post(f"/c/DEMO1/mine-timer/venteliste/{entry.pk}/avslutt/").status_code == 302
    entry.refresh_from_db()
    assert entry.status == "cancelled"


@pytest.mark.parametrize(
    "change",
    [
        {"practitioners": ["999999"]},
        {"practitioners": []},
        {"weekdays": ["9"]},
        {"time_from": "12:00", "time_to": "08:00"},
        {"time_from": "nonsense"},
        {"until": "2030-01-01"},
        {"until": "2027-02-01"},
        {"until": ""},
        {"reason": ""},
        {"a": "abc"},
    ],
)
def test_bad_input_on_the_join_page_changes_nothing(w, patient_client_for, change):
    client = patient_client_for(w.anne)
    data = {
        "practitioners": [w.gp.pk],
        "weekdays": ["1"],
        "time_from": "08:00",
        "time_to": "12:00",
        "until": "2027-03-14",
        "reason": "Kontroll",
    }
    data.update(change)
    response = client.post("/c/DEMO1/timer/venteliste/", data)
    assert response.status_code in (400, 404)
    assert not WaitlistEntry.objects.exists()


def test_the_join_page_refuses_someone_elses_appointment(w, patient_client_for):
    theirs = book(w.bo, w.later)
    response = patient_client_for(w.anne).get(f"/c/DEMO1/timer/venteliste/?a={theirs.pk}")
    assert response.status_code == 404


# The admin


def test_staff_see_their_clinics_waitlist_only(w, other_clinic, admin_client_for, clinic_admin):
    from tests.factories import build_booking_world as build

    join(w.anne, [w.gp], reason="Hemmelig")
    other = build(other_clinic)
    service_matrix_save(
        clinic=other_clinic, service=Service.BOOKING, cells=[(other.gp_list.pk, other.gp.pk)]
    )
    join(other.patient, [other.gp], reason="x")
    client = admin_client_for(clinic_admin)
    page = client.get("/admin/booking/waitlistentry/")
    assert page.status_code == 200
    assert b"Anne Ansen" in page.content
    assert other.patient.name.encode() not in page.content  # theirs: not on this clinic's list
    assert b"Hemmelig" not in page.content  # the list shows no reason
    foreign = WaitlistEntry.objects.get(patient=other.patient)
    assert client.get(f"/admin/booking/waitlistentry/{foreign.pk}/change/").status_code in (
        302,
        404,
    )
    assert AuditEvent.objects.filter(action="booking.waitlist_viewed").exists()


def test_an_offer_for_someone_a_representative_put_on_the_list_goes_to_the_representative(w):
    """A parent puts a child (no mobile of its own) on the list: the offer SMS goes to the
    parent (docs/acting-for-others.md)."""
    from django.test import RequestFactory

    child = make_patient(w.clinic, name="Anna Barn", patient_list=w.gp_list, mobile="")
    request = RequestFactory().post("/")
    request.patient_actor = w.anne  # the patient session's mark of a representative
    services.waitlist_join(
        patient=child,
        practitioner_ids=[w.gp.pk],
        weekdays=[1, 2, 3, 4, 5],
        time_from=datetime.time(8, 0),
        time_to=datetime.time(16, 0),
        until=datetime.date(2027, 4, 1),
        reason="Kontroll",
        request=request,
    )
    assert services.offers_sweep() == 1
    sms = OutboxMessage.objects.get(purpose="slot_offer")
    assert sms.recipient == w.anne.mobile
    assert SlotOffer.objects.get().patient == child
