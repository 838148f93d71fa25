"""The patient's "Flytt timen" pages (docs/booking.md, "Reschedule"): the link on "Mine
timer", the week grid of free times, the confirm page, the move, its conflicts and refusals,
and that nobody reaches another patient's appointment.

Checked by structure and data (URLs, ids, status codes, database state), not by wording:
the UI text is being translated.
"""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client

from booking.models import Appointment, Slot
from booking.services import appointment_book, slots_generate
from clinics.models import AuditEvent
from delegation.models import Service
from delegation.services import service_matrix_save
from sms.models import OutboxMessage
from tests import factories
from tests.factories import make_slot, make_template, oslo

pytestmark = pytest.mark.django_db

NOW = oslo(2026, 2, 2, 9, 0)  # a Monday morning


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def slot_at(practitioner, *args) -> Slot:
    return Slot.objects.get(practitioner=practitioner, start=oslo(*args))


@pytest.fixture
def w(world, patient_client_for):
    """Weekday slots 08:00–11:00 every 20 minutes; the patient has booked Thursday 08:00."""
    make_template(world.gp, world.ep)
    slots_generate(practitioner_id=world.gp.pk)
    service_matrix_save(
        clinic=world.clinic, service=Service.BOOKING, cells=[(world.gp_list.pk, world.gp.pk)]
    )
    world.old = slot_at(world.gp, 2026, 2, 5, 8, 0)
    world.new = slot_at(world.gp, 2026, 2, 4, 9, 0)
    world.appointment = appointment_book(
        patient=world.patient, slot_id=world.old.pk, reason="Vondt i kneet"
    )
    OutboxMessage.objects.all().delete()
    world.client = patient_client_for(world.patient)
    world.base = f"/c/DEMO1/mine-timer/{world.appointment.pk}/flytt/"
    return world


def slot_ids(response) -> set[int]:
    return {int(x) for x in re.findall(r'id="slot-(\d+)"', response.content.decode())}


def hrefs(response) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', response.content.decode()))


def row(w) -> Appointment:
    return Appointment.objects.get(pk=w.appointment.pk)


def assert_unchanged(w) -> None:
    current = row(w)
    assert (current.slot_id, current.status, current.sequence) == (w.old.pk, "booked", 0)
    assert not OutboxMessage.objects.filter(purpose="booking_moved").exists()


# "Mine timer"


def test_mine_timer_links_to_moving_each_movable_appointment(w):
    page = w.client.get("/c/DEMO1/mine-timer/")
    assert w.base in hrefs(page)


def test_no_move_link_after_the_deadline_or_for_an_urgent_one(w, frozen, patient_client_for):
    service_matrix_save(clinic=w.clinic, service=Service.URGENT, cells=[(w.gp_list.pk, w.gp.pk)])
    urgent = appointment_book(
        patient=w.patient,
        slot_id=make_slot(w.gp, w.ep, oslo(2026, 2, 2, 14, 0)).pk,
        reason="x",
        urgent=True,
    )
    page = w.client.get("/c/DEMO1/mine-timer/")
    assert f"/c/DEMO1/mine-timer/{urgent.pk}/flytt/" not in hrefs(page)
    assert w.base in hrefs(page)
    frozen.move_to(oslo(2026, 2, 4, 8, 1))  # less than 24 hours before Thursday 08:00
    page = patient_client_for(w.patient).get("/c/DEMO1/mine-timer/")
    assert page.status_code == 200
    assert w.base not in hrefs(page)
    assert f"/c/DEMO1/mine-timer/{w.appointment.pk}/kalender.ics" in hrefs(page)


# The week grid


def test_the_move_page_shows_the_free_times_linking_to_the_moves_confirm_pages(w):
    response = w.client.get(w.base)
    assert response.status_code == 200
    ids = slot_ids(response)
    assert w.new.pk in ids
    assert w.old.pk not in ids  # its own time is not offered again
    links = hrefs(response)
    assert f"{w.base}{w.new.pk}/" in links
    assert not any(re.fullmatch(r"/c/DEMO1/timer/\d+/", link) for link in links)
    assert "no-store" in response["Cache-Control"]
    assert response.context["chosen"] == w.gp


def test_the_move_page_offers_the_matrixs_practitioners_and_pages_by_week(w):
    locum = factories.make_practitioner(w.clinic, "Vera Vikar", eportal_enabled=True)
    make_template(locum, w.ep)
    slots_generate(practitioner_id=locum.pk)
    stranger = factories.make_practitioner(w.clinic, "Ikke Tilbudt", eportal_enabled=True)
    make_template(stranger, w.ep)
    slots_generate(practitioner_id=stranger.pk)
    service_matrix_save(
        clinic=w.clinic,
        service=Service.BOOKING,
        cells=[(w.gp_list.pk, w.gp.pk), (w.gp_list.pk, locum.pk)],
    )
    page = w.client.get(w.base).content.decode()
    assert "Vera Vikar" in page and "Ikke Tilbudt" not in page
    response = w.client.get(f"{w.base}?p={locum.pk}&week=2026-02-09")
    assert response.context["chosen"] == locum
    assert slot_at(locum, 2026, 2, 10, 8, 0).pk in slot_ids(response)
    # Someone the matrix does not offer: the default, the appointment's practitioner.
    response = w.client.get(f"{w.base}?p={stranger.pk}")
    assert response.context["chosen"] == w.gp
    # Nonsense in the query string is no error.
    for query in ("?p=abc&week=zzz", "?p=99999999999999999999", "?week=2026-13-45", "?p=%00"):
        assert w.client.get(w.base + query).status_code == 200


def test_a_slot_overlapping_the_own_booking_is_offered(w):
    longer = make_slot(w.gp, w.ep, oslo(2026, 2, 5, 7, 50), minutes=30)  # overlaps 08:00
    other_patient = factories.make_patient(w.clinic, patient_list=w.gp_list)
    appointment_book(patient=other_patient, slot_id=w.new.pk, reason="x")
    overlapping_theirs = make_slot(w.gp, w.ep, oslo(2026, 2, 4, 8, 50), minutes=20)
    response = w.client.get(f"{w.base}?week=2026-02-02")
    ids = slot_ids(response)
    assert longer.pk in ids
    assert w.new.pk not in ids and overlapping_theirs.pk not in ids
    assert w.client.post(f"{w.base}{longer.pk}/").status_code == 302
    assert row(w).slot_id == longer.pk


# Confirm and move


def test_confirm_shows_old_and_new_and_the_post_moves(w):
    url = f"{w.base}{w.new.pk}/"
    page = w.client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "08:00" in text and "09:00" in text  # the old time and the new one
    assert 'name="csrfmiddlewaretoken"' in text
    assert_unchanged(w)  # a GET changes nothing

    response = w.client.post(url)
    assert response.status_code == 302
    assert response["Location"] == "/c/DEMO1/mine-timer/"
    current = row(w)
    assert (current.slot_id, current.reason, current.sequence) == (w.new.pk, "Vondt i kneet", 1)
    (sms,) = OutboxMessage.objects.all()
    assert sms.purpose == "booking_moved" and "09:00" in sms.text and "kneet" not in sms.text
    assert AuditEvent.objects.filter(action="booking.move").count() == 1

    mine = w.client.get(response["Location"])
    status = re.search(r'<div role="status"[^>]*>(.*?)</div>\s*</div>', mine.content.decode(), re.S)
    assert status and "09:00" in status.group(1) and w.gp.name in status.group(1)
    # The old slot is free for others again.
    assert w.old.pk in slot_ids(w.client.get("/c/DEMO1/timer/?week=2026-02-02"))


def test_a_double_submit_moves_once(w):
    url = f"{w.base}{w.new.pk}/"
    assert w.client.post(url).status_code == 302
    assert w.client.post(url).status_code == 302
    assert row(w).sequence == 1
    assert OutboxMessage.objects.filter(purpose="booking_moved").count() == 1
    # Back to the confirm page of the time it now has: nothing to confirm.
    assert w.client.get(url)["Location"] == "/c/DEMO1/mine-timer/"


def test_a_taken_slot_keeps_the_old_booking_and_offers_other_move_times(w, patient_client_for):
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    url = f"{w.base}{w.new.pk}/"
    assert w.client.get(url).status_code == 200  # the patient looks at it ...
    appointment_book(patient=other, slot_id=w.new.pk, reason="x")  # ... someone books it
    response = w.client.post(url)
    assert response.status_code == 409
    assert_unchanged(w)
    page = response.content.decode()
    assert 'role="alert"' in page
    assert 'id="kept"' in page and "08:00" in page  # the old time, unchanged
    alternatives = re.findall(r'href="(/c/DEMO1/[^"]+)"', page)
    move_links = [link for link in alternatives if re.fullmatch(rf"{w.base}\d+/", link)]
    assert move_links, page
    assert f"{w.base}{w.new.pk}/" not in move_links
    assert f"{w.base}{w.old.pk}/" not in move_links  # not its own time
    assert not any(re.fullmatch(r"/c/DEMO1/timer/\d+/", link) for link in alternatives)
    assert w.base in alternatives  # "see all free times": the move page
    # And a GET of the taken time says so too.
    assert w.client.get(url).status_code == 409


@pytest.mark.parametrize("case", ["unknown", "blocked", "not_offered", "too_soon"])
def test_a_slot_not_offered_keeps_the_old_booking(w, case):
    if case == "unknown":
        slot_id = 10**17
    elif case == "blocked":
        slot = w.new
        Slot.objects.filter(pk=slot.pk).update(blocked=True)
        slot_id = slot.pk
    elif case == "not_offered":
        stranger = factories.make_practitioner(w.clinic, "Ikke Tilbudt", eportal_enabled=True)
        slot_id = make_slot(stranger, w.ep, oslo(2026, 2, 4, 9, 0)).pk
    else:
        slot_id = slot_at(w.gp, 2026, 2, 2, 10, 0).pk  # inside the 2-hour notice
    url = f"{w.base}{slot_id}/"
    assert w.client.get(url).status_code == 409
    assert w.client.post(url).status_code == 409
    assert_unchanged(w)


def test_too_late_to_move_says_so_with_the_phone(w, frozen, patient_client_for):
    url = f"{w.base}{w.new.pk}/"
    assert w.client.get(url).status_code == 200
    frozen.move_to(oslo(2026, 2, 4, 8, 1))  # less than 24 hours before Thursday 08:00
    client = patient_client_for(w.patient)  # a fresh session: the old one timed out
    for response in (client.post(url), client.get(url), client.get(w.base)):
        assert response.status_code == 302
        assert response["Location"] == "/c/DEMO1/mine-timer/"
    mine = client.get("/c/DEMO1/mine-timer/").content.decode()
    assert "22 00 00 00" in mine  # the clinic's phone, in the message
    assert_unchanged(w)


def test_a_cancelled_or_urgent_appointment_is_not_moved(w):
    service_matrix_save(clinic=w.clinic, service=Service.URGENT, cells=[(w.gp_list.pk, w.gp.pk)])
    urgent = appointment_book(
        patient=w.patient,
        slot_id=make_slot(w.gp, w.ep, oslo(2026, 2, 2, 14, 0)).pk,
        reason="x",
        urgent=True,
    )
    base = f"/c/DEMO1/mine-timer/{urgent.pk}/flytt/"
    for response in (w.client.get(base), w.client.get(f"{base}{w.new.pk}/")):
        assert response["Location"] == "/c/DEMO1/mine-timer/"
    assert w.client.post(f"{base}{w.new.pk}/")["Location"] == "/c/DEMO1/mine-timer/"
    assert Appointment.objects.get(pk=urgent.pk).slot_id != w.new.pk

    w.client.post(f"/c/DEMO1/mine-timer/{w.appointment.pk}/avbestill/", {"confirm": "yes"})
    for response in (
        w.client.get(w.base),
        w.client.get(f"{w.base}{w.new.pk}/"),
        w.client.post(f"{w.base}{w.new.pk}/"),
    ):
        assert response["Location"] == "/c/DEMO1/mine-timer/"
    current = row(w)
    assert (current.status, current.slot_id) == ("cancelled", w.old.pk)


# Nobody else's


def test_another_patients_or_another_clinics_appointment_is_404(w, other_clinic):
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    theirs = appointment_book(patient=other, slot_id=slot_at(w.gp, 2026, 2, 6, 8, 0).pk, reason="x")
    elsewhere = factories.build_booking_world(other_clinic)
    far_slot = make_slot(elsewhere.gp, elsewhere.ep, oslo(2026, 2, 6, 8, 0))
    service_matrix_save(
        clinic=other_clinic,
        service=Service.BOOKING,
        cells=[(elsewhere.gp_list.pk, elsewhere.gp.pk)],
    )
    foreign = appointment_book(patient=elsewhere.patient, slot_id=far_slot.pk, reason="x")
    for appointment_id in (theirs.pk, foreign.pk, 10**17):
        base = f"/c/DEMO1/mine-timer/{appointment_id}/flytt/"
        for url in (base, f"{base}{w.new.pk}/", f"{base}{w.old.pk}/"):
            assert w.client.get(url).status_code == 404, url
            assert w.client.post(url).status_code == 404, url
    assert Appointment.objects.get(pk=theirs.pk).slot_id != w.new.pk
    assert Appointment.objects.get(pk=foreign.pk).slot_id == far_slot.pk
    assert not OutboxMessage.objects.filter(purpose="booking_moved").exists()


def test_another_clinics_session_opens_nothing_here(w, other_clinic, patient_client_for):
    stranger = factories.make_patient(other_clinic)
    client = patient_client_for(stranger)
    url = f"{w.base}{w.new.pk}/"
    for response in (client.get(w.base), client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"] == "/c/DEMO1/login/"
    assert_unchanged(w)


def test_not_logged_in_goes_to_login_and_comes_back(w):
    anonymous = Client()
    response = anonymous.get(w.base)
    assert response["Location"] == "/c/DEMO1/login/"
    # Where the login goes afterwards (the SMS's link: tests/booking/test_reschedule_e2e.py).
    assert anonymous.session.get("patient_next") == w.base
    assert anonymous.post(f"{w.base}{w.new.pk}/")["Location"] == "/c/DEMO1/login/"
    assert_unchanged(w)


def test_a_post_without_the_csrf_token_is_refused(w):
    strict = factories.log_in_patient(w.patient, client=Client(enforce_csrf_checks=True))
    assert strict.post(f"{w.base}{w.new.pk}/").status_code == 403
    assert_unchanged(w)


def test_ids_out_of_range_are_404_not_500(w):
    for url in (
        "/c/DEMO1/mine-timer/99999999999999999999/flytt/",
        f"{w.base}99999999999999999999/",
        "/c/DEMO1/mine-timer/abc/flytt/",
        f"{w.base}-1/",
    ):
        assert w.client.get(url).status_code == 404, url
        assert w.client.post(url).status_code == 404, url
