""" "Flytt timen" in a real browser, by keyboard alone (docs/booking.md, "Reschedule"): the
confirmation SMS's link opened logged out, the login with password and SMS code, "Mine
timer", "Flytt timen", page to the week, pick the time, confirm. Every page is checked with
axe-core (WCAG 2.1 AA).

Found by structure and data (URLs, ids, database state), not by wording: the UI text is
being translated.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import Page, expect

from booking.models import Appointment
from booking.services import appointment_book
from delegation.models import Service
from delegation.services import service_matrix_save
from identification.models import PatientCredential
from tests import factories
from tests.booking.test_e2e import PASSWORD, latest_code, log_in, sms_files, tab_to
from tests.e2e.conftest import assert_accessible
from tests.factories import OSLO, build_booking_world, make_slot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(clinic):
    """A booking the Wednesday after next at 09:00; free times next Wednesday."""
    w = build_booking_world(clinic)
    PatientCredential.objects.create(patient=w.patient, password=make_password(PASSWORD))
    service_matrix_save(clinic=clinic, service=Service.BOOKING, cells=[(w.gp_list.pk, w.gp.pk)])
    today = datetime.datetime.now(OSLO).date()
    w.day = today + datetime.timedelta(days=7 - today.weekday() + 2)  # next week's Wednesday
    w.slots = [
        make_slot(w.gp, w.ep, datetime.datetime.combine(w.day, t, tzinfo=OSLO))
        for t in (datetime.time(10, 0), datetime.time(10, 20))
    ]
    old = datetime.datetime.combine(w.day + datetime.timedelta(days=7), datetime.time(9, 0))
    w.old = make_slot(w.gp, w.ep, old.replace(tzinfo=OSLO))
    w.appointment = appointment_book(patient=w.patient, slot_id=w.old.pk, reason="Kontroll")
    return w


def test_move_by_keyboard_from_the_sms_link(page: Page, live_server, world, sms_dir):
    base = f"{live_server.url}/c/{world.clinic.ep_ident}"
    # The confirmation SMS's link, opened logged out: the login first.
    page.goto(f"{base}/mine-timer/")
    expect(page).to_have_url(f"{base}/login/")
    tab_to(page, "el.name === 'national_id'", "the identity number field")
    page.keyboard.type(world.patient.national_id)
    tab_to(page, "el.name === 'password'", "the password field")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/login/code/")
    tab_to(page, "el.name === 'code'", "the code field")
    page.keyboard.type(latest_code(sms_dir))
    page.keyboard.press("Enter")
    # ... and back to the page the link asked for.
    expect(page).to_have_url(f"{base}/mine-timer/")
    assert_accessible(page)

    move_path = f"/c/DEMO1/mine-timer/{world.appointment.pk}/flytt/"
    tab_to(page, f"el.pathname === '{move_path}'", "'Flytt timen'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/mine-timer/{world.appointment.pk}/flytt/")
    expect(page.locator("#current-appointment")).to_contain_text("09:00")
    assert_accessible(page)

    target = world.slots[1]
    expect(page.locator(f"#slot-{target.pk}")).to_have_count(0)  # next week's
    monday = world.day - datetime.timedelta(days=world.day.weekday())
    tab_to(page, f"el.search && el.search.includes('week={monday}')", "'Next week'")
    page.keyboard.press("Enter")
    expect(page.locator(f"#slot-{target.pk}")).to_have_count(1)
    assert_accessible(page)
    label = page.locator(f"#slot-{target.pk}").get_attribute("aria-label")
    assert "10:20" in label and world.gp.name in label
    assert page.locator(f"#slot-{target.pk}").get_attribute("href") == (f"{move_path}{target.pk}/")
    tab_to(page, f"el.id === 'slot-{target.pk}'", "the slot", presses=120)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{base}/mine-timer/{world.appointment.pk}/flytt/{target.pk}/")
    expect(page.locator("#move-from")).to_contain_text("09:00")
    expect(page.locator("#move-to")).to_contain_text("10:20")
    assert_accessible(page)
    assert Appointment.objects.get().slot == world.old  # nothing moved yet
    tab_to(page, "el.type === 'submit' && el.form && el.form.id === 'move-form'", "'Move'")
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{base}/mine-timer/")
    status = page.locator("main [role=status]")
    expect(status).to_contain_text("10:20")
    expect(status).to_contain_text(world.gp.name)
    assert_accessible(page)

    moved = Appointment.objects.get()
    assert (moved.pk, moved.slot, moved.reason, moved.sequence) == (
        world.appointment.pk,
        target,
        "Kontroll",
        1,
    )
    texts = sms_files(sms_dir)
    moves = [text for text in texts if "booking_moved" in text]
    assert len(moves) == 1
    assert "10:20" in moves[0] and "Kontroll" not in moves[0]
    # The calendar file of the moved appointment: the same UID, a higher SEQUENCE.
    with page.expect_download() as download:
        page.locator(f'a[href="/c/DEMO1/mine-timer/{moved.pk}/kalender.ics"]').click()
    ics = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"UID:appointment-{moved.pk}@" in ics and "SEQUENCE:1" in ics
    assert re.search(r"DTSTART:\d{8}T\d{6}Z", ics)


def test_a_time_taken_meanwhile_keeps_the_booking_and_offers_others(
    page: Page, live_server, world, sms_dir
):
    base = f"{live_server.url}/c/{world.clinic.ep_ident}"
    log_in(page, base, world.patient, sms_dir)
    target, other_time = world.slots
    page.goto(f"{base}/mine-timer/{world.appointment.pk}/flytt/{target.pk}/")
    someone = factories.make_patient(world.clinic, patient_list=world.gp_list)
    appointment_book(patient=someone, slot_id=target.pk, reason="x")  # meanwhile
    page.locator("#move-form [type=submit]").click()

    expect(page.locator("[role=alert]")).to_have_count(1)
    expect(page.locator("#kept")).to_contain_text("09:00")
    assert_accessible(page)
    assert Appointment.objects.get(pk=world.appointment.pk).slot == world.old
    # Another free time moves the same booking.
    page.locator(
        f'a[href="/c/DEMO1/mine-timer/{world.appointment.pk}/flytt/{other_time.pk}/"]'
    ).click()
    page.locator("#move-form [type=submit]").click()
    expect(page).to_have_url(f"{base}/mine-timer/")
    assert Appointment.objects.get(pk=world.appointment.pk).slot == other_time
