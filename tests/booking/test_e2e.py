"""The patient's booking path in a real browser (docs/booking.md): log in with password and an
SMS code from the file backend, book, see it under "Mine timer", cancel; the urgent path; one
journey by keyboard alone. Every page is checked with axe-core (WCAG 2.1 AA).

Found by structure and data (URLs, ids, names, database state), not by wording: the UI text
is being translated.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import Page, expect

from booking.models import Appointment
from clinics.models import Practitioner
from delegation.models import Service
from delegation.services import service_matrix_save
from identification.models import PatientCredential
from tests import factories
from tests.e2e.conftest import assert_accessible
from tests.factories import OSLO, build_booking_world, make_slot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "fjelltur-i-oktober-2026"


def sms_files(sms_dir) -> list[str]:
    return [f.read_text(encoding="utf-8") for f in sorted(sms_dir.glob("*.txt"))]


def latest_code(sms_dir) -> str:
    return re.search(r"\b(\d{6})\b", sms_files(sms_dir)[-1]).group(1)


@pytest.fixture
def world(clinic):
    w = build_booking_world(clinic)
    PatientCredential.objects.create(patient=w.patient, password=make_password(PASSWORD))
    # Next week's Wednesday: the booking page opens on this week, so the patient pages on.
    today = datetime.datetime.now(OSLO).date()
    day = today + datetime.timedelta(days=7 - today.weekday() + 2)
    w.day = day
    w.slots = [
        make_slot(w.gp, w.ep, datetime.datetime.combine(day, t, tzinfo=OSLO))
        for t in (datetime.time(10, 0), datetime.time(10, 20))
    ]
    return w


def log_in(page: Page, base: str, patient, sms_dir) -> None:
    page.goto(f"{base}/login/")
    page.locator("input[name=national_id]").fill(patient.national_id)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page).to_have_url(f"{base}/login/code/")
    page.locator("input[name=code]").fill(latest_code(sms_dir))
    page.locator("form:has(input[name=code]) [type=submit]").click()
    expect(page).to_have_url(f"{base}/home/")


def test_book_see_under_mine_timer_and_cancel(page: Page, live_server, world, sms_dir):
    base = f"{live_server.url}/c/{world.clinic.ep_ident}"
    log_in(page, base, world.patient, sms_dir)
    assert_accessible(page)

    page.locator('a[href="/c/DEMO1/timer/"]').click()
    expect(page).to_have_url(f"{base}/timer/")
    assert_accessible(page)
    page.locator('a[href^="/c/DEMO1/timer/forste-ledige/"]').click()  # first free time
    expect(page).to_have_url(f"{base}/timer/{world.slots[0].pk}/")
    assert_accessible(page)
    page.locator("textarea[name=reason]").fill("Vondt i ryggen")
    page.locator("form:has(textarea[name=reason]) [type=submit]").click()

    appointment = Appointment.objects.get()
    expect(page).to_have_url(f"{base}/timer/bestilt/{appointment.pk}/")
    status = page.locator("[role=status][aria-live=polite]")
    expect(status).to_contain_text("10:00")
    expect(status).to_contain_text(world.gp.name)
    assert_accessible(page)
    confirmation = sms_files(sms_dir)[-1]
    assert "booking_confirmation" in confirmation and "10:00" in confirmation
    assert "ryggen" not in confirmation

    page.locator('a[href="/c/DEMO1/mine-timer/"]').first.click()
    expect(page).to_have_url(f"{base}/mine-timer/")
    expect(page.locator("main")).to_contain_text(world.gp.name)
    assert_accessible(page)
    with page.expect_download() as download:
        page.locator(f'a[href="/c/DEMO1/mine-timer/{appointment.pk}/kalender.ics"]').click()
    assert download.value.suggested_filename.endswith(".ics")

    page.locator(f'form[action="/c/DEMO1/mine-timer/{appointment.pk}/avbestill/"] button').click()
    # It asks first (issue #16, item 6), on a page of its own: no JavaScript, by keyboard.
    confirm = page.locator("form:has(input[name=confirm][value=yes]) [type=submit]")
    expect(confirm).to_have_count(1)
    expect(page.locator("main")).to_contain_text("10:00")
    expect(page.locator('main a[href="/c/DEMO1/mine-timer/"]')).to_have_count(1)  # "No"
    assert_accessible(page)
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    tab_to(page, "el.name === '' && el.type === 'submit' && el.form && el.form.confirm", "Yes")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/mine-timer/")
    expect(
        page.locator(f'form[action="/c/DEMO1/mine-timer/{appointment.pk}/avbestill/"]')
    ).to_have_count(0)
    assert_accessible(page)
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert "booking_cancelled" in sms_files(sms_dir)[-1]


def tab_to(page: Page, test: str, what: str, presses: int = 80) -> None:
    """Press Tab until ``test`` (JavaScript on document.activeElement, as ``el``) holds."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {test}; }})()"):
            return
    pytest.fail(f"{what} cannot be reached with Tab")


def test_keyboard_only_booking_with_labelled_slots(page: Page, live_server, world, sms_dir):
    """The whole journey without a mouse: log in, open 'Bestill time' from the home page,
    page to the week, pick the slot, write the reason, book."""
    base = f"{live_server.url}/c/{world.clinic.ep_ident}"
    page.goto(f"{base}/login/")
    tab_to(page, "el.name === 'national_id'", "the identity number field")
    page.keyboard.type(world.patient.national_id)
    tab_to(page, "el.name === 'password'", "the password field")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/login/code/")
    tab_to(page, "el.name === 'code'", "the code field")
    page.keyboard.type(latest_code(sms_dir))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/home/")
    tab_to(page, "el.pathname && el.pathname.endsWith('/timer/')", "'Bestill time'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/timer/"))
    expect(page.locator(f"#slot-{world.slots[1].pk}")).to_have_count(0)  # next week's
    monday = world.day - datetime.timedelta(days=world.day.weekday())
    tab_to(page, f"el.search && el.search.includes('week={monday}')", "'Next week'")
    page.keyboard.press("Enter")
    expect(page.locator(f"#slot-{world.slots[1].pk}")).to_have_count(1)
    assert_accessible(page)

    target = world.slots[1]
    slot_link = page.locator(f"#slot-{target.pk}")
    label = slot_link.get_attribute("aria-label")
    assert "10:20" in label and world.gp.name in label
    assert str(world.day.day) in label  # the day is named too
    tab_to(page, f"el.id === 'slot-{target.pk}'", "the slot", presses=120)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/timer/{target.pk}/")

    tab_to(page, "el.name === 'reason'", "the reason field", presses=40)
    page.keyboard.type("Kontroll")
    page.keyboard.press("Tab")  # the submit button follows the field
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/timer/bestilt/\d+/$"))
    expect(page.locator("[role=status][aria-live=polite]")).to_contain_text("10:20")
    # The focus moves to the confirmation's heading: a screen reader reads it out at once.
    expect(page.locator("#booking-confirmation h1")).to_be_focused()
    assert_accessible(page)
    assert Appointment.objects.get().slot == target


def test_urgent_path(page: Page, live_server, world, sms_dir):
    junior = factories.make_practitioner(
        world.clinic, "Tore Turnus", role=Practitioner.Role.JUNIOR, eportal_enabled=True
    )
    service_matrix_save(
        clinic=world.clinic, service=Service.URGENT, cells=[(world.gp_list.pk, junior.pk)]
    )
    now = datetime.datetime.now(OSLO)
    base = f"{live_server.url}/c/{world.clinic.ep_ident}"
    log_in(page, base, world.patient, sms_dir)

    # Nothing left today: the page says so, with the clinic's phone.
    page.locator('a[href="/c/DEMO1/hastetime/"]').click()
    expect(page).to_have_url(f"{base}/hastetime/")
    expect(page.locator(f'#no-urgent a[href="tel:{world.clinic.phone}"]')).to_have_count(1)
    expect(page.locator("main")).to_contain_text("113")
    expect(page.locator("main")).to_contain_text("116117")
    assert_accessible(page)

    midnight = datetime.datetime.combine(
        now.date() + datetime.timedelta(days=1), datetime.time(0, 0), tzinfo=OSLO
    )
    start = now + (midnight - now) / 2  # later today, whatever the time of the test run
    if midnight - now < datetime.timedelta(minutes=10):
        pytest.skip("too close to midnight for a slot later today")
    slot = make_slot(junior, world.ep, start.replace(second=0, microsecond=0), minutes=1)
    page.reload()
    page.locator(f'a[href="/c/DEMO1/hastetime/{slot.pk}/"]').click()
    expect(page).to_have_url(f"{base}/hastetime/{slot.pk}/")
    assert_accessible(page)
    page.locator("textarea[name=reason]").fill("Høy feber siden i går")
    page.locator("form:has(textarea[name=reason]) [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/timer/bestilt/\d+/$"))
    assert_accessible(page)
    appointment = Appointment.objects.get()
    assert appointment.urgent and appointment.practitioner == junior
