"""The patient's booking pages (docs/booking.md): who is offered, what is offered,
booking, double submit, conflicts, limits, cancelling, the calendar file, urgent booking."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine

from booking.models import Appointment, BookingSettings, Slot
from booking.services import slots_generate
from clinics.models import AuditEvent, Practitioner
from delegation.models import Service
from delegation.services import service_matrix_save
from sms.models import OutboxMessage
from tests import factories
from tests.factories import make_slot, make_template, oslo

pytestmark = pytest.mark.django_db

NOW = oslo(2026, 2, 2, 9, 0)  # a Monday morning
CONFIRM = {"confirm": "yes"}  # the answer to "Cancel the appointment?"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def w(world):
    make_template(world.gp, world.ep)
    slots_generate(practitioner_id=world.gp.pk)
    return world


def outbox() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.order_by("pk"))


def slot_at(practitioner, *args) -> Slot:
    return Slot.objects.get(practitioner=practitioner, start=oslo(*args))


def book(client, slot, reason="Vondt i kneet", ep="DEMO1"):
    return client.post(f"/c/{ep}/timer/{slot.pk}/", {"reason": reason})


def slot_ids(response) -> set[int]:
    return {int(x) for x in re.findall(r'id="slot-(\d+)"', response.content.decode())}


# Who and what is offered


def test_slot_page_offers_own_gp_first_and_the_weeks_free_slots(w, patient_client_for):
    locum = factories.make_practitioner(w.clinic, "Aase Vikar", eportal_enabled=True)
    service_matrix_save(
        clinic=w.clinic,
        service=Service.BOOKING,
        cells=[(w.gp_list.pk, w.gp.pk), (w.gp_list.pk, locum.pk)],
    )
    client = patient_client_for(w.patient)
    response = client.get("/c/DEMO1/timer/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Kari Nordmann") < page.index("Aase Vikar")  # own GP first
    # Monday 9:00 + 2 h notice: first offered is 11:00 → none on Monday (template ends 11:00).
    ids = slot_ids(response)
    monday = Slot.objects.filter(start__date=datetime.date(2026, 2, 2))
    assert not ids & set(monday.values_list("pk", flat=True))
    tuesday_8 = slot_at(w.gp, 2026, 2, 3, 8, 0)
    assert tuesday_8.pk in ids
    assert len(ids) == 4 * 9
    assert "no-store" in response["Cache-Control"]


def test_each_slot_label_names_day_time_and_practitioner(w, patient_client_for, settings):
    settings.LANGUAGE_CODE = "en"
    client = patient_client_for(w.patient)
    client.cookies["eportal_language"] = "en"
    page = client.get("/c/DEMO1/timer/").content.decode()
    slot = slot_at(w.gp, 2026, 2, 3, 8, 20)
    assert re.search(
        rf'id="slot-{slot.pk}"[^>]*aria-label="08:20, Tuesday 3 February, Kari Nordmann"', page
    )


def test_only_online_types_of_enabled_practitioners_past_the_notice_are_offered(
    w, patient_client_for
):
    internal = make_slot(w.gp, w.internal, oslo(2026, 2, 3, 13, 0))
    soon = slot_at(w.gp, 2026, 2, 2, 10, 40)  # inside the 2-hour notice
    later = make_slot(w.gp, w.ep, oslo(2026, 2, 2, 11, 20))
    blocked = slot_at(w.gp, 2026, 2, 3, 9, 0)
    blocked.blocked = True
    blocked.save()
    client = patient_client_for(w.patient)
    ids = slot_ids(client.get("/c/DEMO1/timer/"))
    assert later.pk in ids
    assert not {internal.pk, soon.pk, blocked.pk} & ids
    for slot in (internal, soon, blocked):
        assert book(client, slot).status_code == 409
    assert not Appointment.objects.exists()

    Practitioner.objects.filter(pk=w.gp.pk).update(eportal_enabled=False)
    response = client.get("/c/DEMO1/timer/")
    assert slot_ids(response) == set()
    assert book(client, later).status_code == 409


def test_the_matrix_decides_who_is_offered(w, patient_client_for):
    other_gp = factories.make_practitioner(w.clinic, "Per Hansen", eportal_enabled=True)
    make_template(other_gp, w.ep)
    slots_generate(practitioner_id=other_gp.pk)
    client = patient_client_for(w.patient)
    page = client.get("/c/DEMO1/timer/").content.decode()
    assert "Per Hansen" not in page  # standard package: own GP only
    assert client.get(f"/c/DEMO1/timer/?p={other_gp.pk}").context["chosen"] == w.gp
    foreign = slot_at(other_gp, 2026, 2, 3, 8, 0)
    assert book(client, foreign).status_code == 409

    service_matrix_save(
        clinic=w.clinic, service=Service.BOOKING, cells=[(w.gp_list.pk, other_gp.pk)]
    )
    page = client.get("/c/DEMO1/timer/").content.decode()
    assert "Per Hansen" in page and "Kari Nordmann" not in page
    assert book(client, foreign).status_code == 302
    assert book(client, slot_at(w.gp, 2026, 2, 3, 9, 0)).status_code == 409


def test_week_paging_stops_at_the_horizon_and_first_free_time(w, patient_client_for):
    BookingSettings.objects.filter(pk=w.settings.pk).update(horizon_weeks=2)
    client = patient_client_for(w.patient)
    response = client.get("/c/DEMO1/timer/")
    assert response.context["prev_week"] is None
    assert response.context["next_week"] == "2026-02-09"
    response = client.get("/c/DEMO1/timer/?week=2026-02-09")
    assert response.context["next_week"] is None
    assert response.context["days"][0].date == datetime.date(2026, 2, 9)
    response = client.get("/c/DEMO1/timer/?week=2027-01-04")  # beyond: the last week
    assert response.context["days"][0].date == datetime.date(2026, 2, 9)

    response = client.get(f"/c/DEMO1/timer/forste-ledige/?p={w.gp.pk}")
    assert response["Location"] == f"/c/DEMO1/timer/{slot_at(w.gp, 2026, 2, 3, 8, 0).pk}/"


# Booking


def test_booking_confirms_by_page_and_sms_without_the_reason(w, patient_client_for):
    client = patient_client_for(w.patient)
    slot = slot_at(w.gp, 2026, 2, 3, 8, 20)
    page = client.get(f"/c/DEMO1/timer/{slot.pk}/")
    assert page.status_code == 200
    response = book(client, slot, reason="Vondt i kneet")
    appointment = Appointment.objects.get()
    assert response["Location"] == f"/c/DEMO1/timer/bestilt/{appointment.pk}/"
    assert (appointment.patient, appointment.slot, appointment.reason) == (
        w.patient,
        slot,
        "Vondt i kneet",
    )
    confirmation = client.get(response["Location"]).content.decode()
    assert 'role="status"' in confirmation and 'aria-live="polite"' in confirmation
    assert len(outbox()) == 1
    text = outbox()[0].text
    assert "08:20" in text and "Kari Nordmann" in text and w.clinic.name in text
    assert "kneet" not in text
    event = AuditEvent.objects.get(action="booking.book")
    assert "kneet" not in str(event.details) and w.patient.national_id not in str(event.details)


def test_reason_is_required_and_length_limited(w, patient_client_for):
    client = patient_client_for(w.patient)
    slot = slot_at(w.gp, 2026, 2, 3, 8, 20)
    assert book(client, slot, reason="   ").status_code == 400
    assert book(client, slot, reason="x" * 201).status_code == 400
    assert book(client, slot, reason="a\x00b").status_code == 400
    assert not Appointment.objects.exists()


def test_double_submit_books_once(w, patient_client_for):
    client = patient_client_for(w.patient)
    slot = slot_at(w.gp, 2026, 2, 3, 8, 20)
    first = book(client, slot)
    second = book(client, slot)
    assert first["Location"] == second["Location"]
    assert Appointment.objects.count() == 1
    assert len(outbox()) == 1


def test_a_taken_slot_gives_a_friendly_page_with_fresh_alternatives(w, patient_client_for):
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    slot = slot_at(w.gp, 2026, 2, 3, 8, 20)
    assert book(patient_client_for(other), slot).status_code == 302
    client = patient_client_for(w.patient)
    assert slot.pk not in slot_ids(client.get("/c/DEMO1/timer/"))
    response = book(client, slot)
    assert response.status_code == 409
    alternatives = response.context["alternatives"]
    assert alternatives and slot.pk not in {a.id for a in alternatives}
    assert 'role="alert"' in response.content.decode()
    assert Appointment.objects.count() == 1


def test_overlapping_slots_of_one_practitioner_are_never_both_booked(w, patient_client_for):
    long = make_slot(w.gp, w.ep, oslo(2026, 2, 6, 13, 0), minutes=30)
    short = make_slot(w.gp, w.ep, oslo(2026, 2, 6, 13, 20), minutes=20)
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    assert book(patient_client_for(other), long).status_code == 302
    client = patient_client_for(w.patient)
    assert short.pk not in slot_ids(client.get("/c/DEMO1/timer/?week=2026-02-02"))
    assert book(client, short).status_code == 409
    assert Appointment.objects.count() == 1


def test_per_patient_limit(w, patient_client_for):
    client = patient_client_for(w.patient)
    assert book(client, slot_at(w.gp, 2026, 2, 4, 8, 0)).status_code == 302
    assert book(client, slot_at(w.gp, 2026, 2, 4, 8, 20)).status_code == 302
    third = slot_at(w.gp, 2026, 2, 4, 8, 40)
    # The confirmation page says so at once, before the patient writes the reason.
    response = client.get(f"/c/DEMO1/timer/{third.pk}/")
    assert response.context["code"] == "limit" and "reason" not in response.content.decode()
    response = book(client, third)
    assert response.status_code == 409
    assert response.context["code"] == "limit"
    assert Appointment.objects.count() == 2
    # A cancelled one frees a place.
    first = Appointment.objects.order_by("start").first()
    client.post(f"/c/DEMO1/mine-timer/{first.pk}/avbestill/", CONFIRM)
    assert book(client, slot_at(w.gp, 2026, 2, 4, 8, 40)).status_code == 302


# Mine timer, cancelling, calendar


def test_mine_timer_lists_and_cancels_until_the_deadline(w, patient_client_for, frozen):
    client = patient_client_for(w.patient)
    slot = slot_at(w.gp, 2026, 2, 4, 10, 0)
    book(client, slot)
    appointment = Appointment.objects.get()
    response = client.get("/c/DEMO1/mine-timer/")
    assert [v.appointment for v in response.context["upcoming"]] == [appointment]
    assert response.context["upcoming"][0].can_cancel
    assert AuditEvent.objects.filter(action="booking.list_viewed", patient=w.patient).exists()

    # 23 hours before: too late online; the page shows the clinic's phone.
    frozen.move_to(oslo(2026, 2, 3, 11, 0))
    client = patient_client_for(w.patient)
    response = client.get("/c/DEMO1/mine-timer/")
    assert not response.context["upcoming"][0].can_cancel
    assert w.clinic.phone in response.content.decode()
    client.post(f"/c/DEMO1/mine-timer/{appointment.pk}/avbestill/", CONFIRM)
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_cancel_asks_first(w, patient_client_for):
    # Issue #16, item 6: "Avbestill" shows the appointment and asks; no JavaScript needed.
    client = patient_client_for(w.patient)
    client.cookies["eportal_language"] = "en"
    book(client, slot_at(w.gp, 2026, 2, 4, 10, 0))
    appointment = Appointment.objects.get()
    url = f"/c/DEMO1/mine-timer/{appointment.pk}/avbestill/"
    asked = client.post(url)
    assert asked.status_code == 200
    body = asked.content.decode()
    assert "Cancel the appointment?" in body
    assert "Wednesday 4 February 2026" in body and "10:00" in body and "Kari Nordmann" in body
    assert 'name="confirm" value="yes"' in body and f'action="{url}"' in body
    assert 'href="/c/DEMO1/mine-timer/"' in body  # "No, keep it"
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert client.post(url, CONFIRM)["Location"] == "/c/DEMO1/mine-timer/"
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    # Asking again about a cancelled appointment goes back to the list.
    assert client.post(url)["Location"] == "/c/DEMO1/mine-timer/"


def test_cancel_frees_the_slot_at_once(w, patient_client_for):
    client = patient_client_for(w.patient)
    slot = slot_at(w.gp, 2026, 2, 4, 10, 0)
    book(client, slot)
    appointment = Appointment.objects.get()
    response = client.post(f"/c/DEMO1/mine-timer/{appointment.pk}/avbestill/", CONFIRM)
    assert response["Location"] == "/c/DEMO1/mine-timer/"
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert slot.pk in slot_ids(client.get("/c/DEMO1/timer/"))
    assert outbox()[-1].purpose == "booking_cancelled"
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    assert book(patient_client_for(other), slot).status_code == 302


def test_another_patients_appointment_is_404(w, patient_client_for):
    other = factories.make_patient(w.clinic, patient_list=w.gp_list)
    book(patient_client_for(other), slot_at(w.gp, 2026, 2, 4, 10, 0))
    appointment = Appointment.objects.get()
    client = patient_client_for(w.patient)
    assert client.get(f"/c/DEMO1/timer/bestilt/{appointment.pk}/").status_code == 404
    assert client.get(f"/c/DEMO1/mine-timer/{appointment.pk}/kalender.ics").status_code == 404
    assert client.post(f"/c/DEMO1/mine-timer/{appointment.pk}/avbestill/").status_code == 404
    url = f"/c/DEMO1/mine-timer/{appointment.pk}/avbestill/"
    assert client.post(url, CONFIRM).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_another_clinics_session_opens_nothing_here(w, patient_client_for, other_clinic):
    stranger = factories.make_patient(other_clinic)
    client = patient_client_for(stranger)
    for url in ("/c/DEMO1/timer/", "/c/DEMO1/mine-timer/", "/c/DEMO1/hastetime/"):
        assert client.get(url)["Location"] == "/c/DEMO1/login/"


def test_the_week_page_says_the_limit_before_listing_times(w, patient_client_for, client):
    # Issue #16, item 4: not after a time is chosen.
    client = patient_client_for(w.patient)
    client.cookies["eportal_language"] = "en"
    assert slot_ids(client.get("/c/DEMO1/timer/"))  # times listed below the limit
    book(client, slot_at(w.gp, 2026, 2, 4, 8, 0))
    book(client, slot_at(w.gp, 2026, 2, 4, 8, 20))
    response = client.get("/c/DEMO1/timer/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="at-limit"' in page
    assert "You already have 2 booked appointments, as many as the clinic allows" in page
    assert not slot_ids(response)  # no times to choose that would be refused
    assert "/c/DEMO1/mine-timer/" in page
    # An urgent appointment is another kind: the week page does not count it.
    Appointment.objects.update(urgent=True)
    assert 'id="at-limit"' not in client.get("/c/DEMO1/timer/").content.decode()


def test_the_limit_costs_the_week_page_no_query(w, patient_client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = patient_client_for(w.patient)
    client.get("/c/DEMO1/timer/")  # the session's first read
    with CaptureQueriesContext(connection) as below:
        client.get("/c/DEMO1/timer/")
    book(client, slot_at(w.gp, 2026, 2, 4, 8, 0))
    book(client, slot_at(w.gp, 2026, 2, 4, 8, 20))
    with CaptureQueriesContext(connection) as at_limit:
        assert 'id="at-limit"' in client.get("/c/DEMO1/timer/").content.decode()
    assert len(at_limit) <= len(below)


def test_ics_file(w, patient_client_for):
    client = patient_client_for(w.patient)
    book(client, slot_at(w.gp, 2026, 2, 4, 10, 0), reason="Hemmelig grunn")
    appointment = Appointment.objects.get()
    response = client.get(f"/c/DEMO1/mine-timer/{appointment.pk}/kalender.ics")
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert "DTSTART:20260204T090000Z" in body and "DTEND:20260204T092000Z" in body
    assert "Kari Nordmann" in body and "Hemmelig" not in body


# Urgent


@pytest.fixture
def urgent_world(w):
    junior = factories.make_practitioner(
        w.clinic, "Tore Turnus", role=Practitioner.Role.JUNIOR, eportal_enabled=True
    )
    service_matrix_save(clinic=w.clinic, service=Service.URGENT, cells=[(w.gp_list.pk, junior.pk)])
    w.junior = junior
    w.past = make_slot(junior, w.ep, oslo(2026, 2, 2, 8, 30))
    w.soon = make_slot(junior, w.ep, oslo(2026, 2, 2, 9, 30))
    w.tomorrow = make_slot(junior, w.ep, oslo(2026, 2, 3, 9, 30))
    return w


def test_urgent_offers_todays_slots_from_now_of_the_urgent_practitioners(
    urgent_world, patient_client_for
):
    w = urgent_world
    client = patient_client_for(w.patient)
    response = client.get("/c/DEMO1/hastetime/")
    page = response.content.decode()
    assert [(name, [s.id for s in slots]) for name, slots in response.context["groups"]] == [
        ("Tore Turnus", [w.soon.pk])
    ]
    assert "<h3" in page and "Tore Turnus" in page  # whose time it is, visible
    assert "113" in page and "116117" in page
    assert book(client, w.tomorrow).status_code == 409  # not urgent-offered via booking
    response = client.post(f"/c/DEMO1/hastetime/{w.soon.pk}/", {"reason": "Feber"})
    appointment = Appointment.objects.get()
    assert response["Location"] == f"/c/DEMO1/timer/bestilt/{appointment.pk}/"
    assert appointment.urgent and appointment.practitioner == w.junior
    assert client.post(f"/c/DEMO1/hastetime/{w.tomorrow.pk}/", {"reason": "x"}).status_code == 409
    assert client.post(f"/c/DEMO1/hastetime/{w.past.pk}/", {"reason": "x"}).status_code == 409


def _title_and_heading(page: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)
    return title.split(" – ")[0].strip(), heading.strip()


def test_urgent_page_says_one_urgent_appointment_at_a_time_before_the_list(
    urgent_world, patient_client_for
):
    w = urgent_world
    client = patient_client_for(w.patient)
    client.cookies["eportal_language"] = "en"
    title, heading = _title_and_heading(client.get("/c/DEMO1/hastetime/").content.decode())
    assert title == heading
    assert client.post(f"/c/DEMO1/hastetime/{w.soon.pk}/", {"reason": "Feber"}).status_code == 302
    later = make_slot(w.junior, w.ep, oslo(2026, 2, 2, 11, 30))
    response = client.get("/c/DEMO1/hastetime/")
    page = response.content.decode()
    assert 'id="at-limit"' in page
    assert "You already have an urgent appointment" in page
    assert f"/c/DEMO1/hastetime/{later.pk}/" not in page
    title, heading = _title_and_heading(page)
    assert title == heading


def test_urgent_with_nothing_left_today_gives_the_phone(urgent_world, patient_client_for):
    w = urgent_world
    Slot.objects.filter(pk=w.soon.pk).update(blocked=True)
    response = patient_client_for(w.patient).get("/c/DEMO1/hastetime/")
    page = response.content.decode()
    assert response.context["groups"] == [] and not response.context["slots"]
    assert 'id="no-urgent"' in page and w.clinic.phone in page


def test_home_page_links_to_booking_and_urgent(urgent_world, patient_client_for):
    page = patient_client_for(urgent_world.patient).get("/c/DEMO1/home/").content.decode()
    assert 'href="/c/DEMO1/timer/"' in page and 'href="/c/DEMO1/hastetime/"' in page


def test_two_urgent_practitioners_times_are_told_apart(urgent_world, patient_client_for):
    w = urgent_world
    second = factories.make_practitioner(
        w.clinic, "Siri Sykepleier", role=Practitioner.Role.JUNIOR, eportal_enabled=True
    )
    service_matrix_save(
        clinic=w.clinic,
        service=Service.URGENT,
        cells=[(w.gp_list.pk, w.junior.pk), (w.gp_list.pk, second.pk)],
    )
    same_time = make_slot(second, w.ep, oslo(2026, 2, 2, 9, 30))
    response = patient_client_for(w.patient).get("/c/DEMO1/hastetime/")
    groups = {name: [s.id for s in slots] for name, slots in response.context["groups"]}
    assert groups == {"Tore Turnus": [w.soon.pk], "Siri Sykepleier": [same_time.pk]}


def test_the_confirmation_mentions_an_sms_only_when_one_was_sent(w, patient_client_for):
    client = patient_client_for(w.patient)
    book(client, slot_at(w.gp, 2026, 2, 4, 10, 0))
    appointment = Appointment.objects.get()
    url = f"/c/DEMO1/timer/bestilt/{appointment.pk}/"
    sms_line = "SMS"
    assert sms_line in client.get(url).content.decode()
    w.patient.mobile = ""  # e.g. a BankID patient with no mobile number in the record
    w.patient.save()
    assert sms_line not in client.get(url).content.decode()
