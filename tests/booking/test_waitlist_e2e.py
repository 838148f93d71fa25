"""The waitlist in a real browser (docs/booking.md, "Waitlist"): a patient asks for an
earlier time from "Mine timer", another patient cancels, the offer SMS arrives (file
backend), the patient follows its link, logs in, takes the time, and the booking has moved.
Every page is checked with axe-core (WCAG 2.1 AA). Found by structure and data, not by
wording (the UI text is being translated)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import Page, expect

from booking import selectors, services
from booking.models import Appointment, SlotOffer, WaitlistEntry
from delegation.models import Service
from delegation.services import service_matrix_save
from identification.models import PatientCredential
from tests.booking.test_e2e import PASSWORD, latest_code, log_in, sms_files
from tests.e2e.conftest import assert_accessible
from tests.factories import OSLO, build_booking_world, make_patient, make_slot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(clinic, settings, monkeypatch, live_server):
    # Whatever the hour of the test run: the offer hours are the rule under test elsewhere.
    monkeypatch.setattr(selectors, "OFFER_HOURS", (datetime.time(0, 0), datetime.time.max))
    settings.EPORTAL_PUBLIC_BASE_URL = live_server.url
    w = build_booking_world(clinic)
    service_matrix_save(clinic=clinic, service=Service.BOOKING, cells=[(w.gp_list.pk, w.gp.pk)])
    PatientCredential.objects.create(patient=w.patient, password=make_password(PASSWORD))
    w.other = make_patient(clinic, name="Anne Annen", patient_list=w.gp_list)
    today = datetime.datetime.now(OSLO).date()
    soon = today + datetime.timedelta(days=7 - today.weekday() + 2)  # next week's Wednesday
    later = soon + datetime.timedelta(days=7)
    w.soon = make_slot(w.gp, w.ep, datetime.datetime.combine(soon, datetime.time(10, 0), OSLO))
    w.later = make_slot(w.gp, w.ep, datetime.datetime.combine(later, datetime.time(10, 0), OSLO))
    w.mine = services.appointment_book(patient=w.patient, slot_id=w.later.pk, reason="Kontroll")
    w.theirs = services.appointment_book(patient=w.other, slot_id=w.soon.pk, reason="Annet")
    return w


def test_join_offer_by_sms_log_in_from_the_link_accept(
    page: Page, browser, live_server, world, sms_dir
):
    w = world
    base = f"{live_server.url}/c/{w.clinic.ep_ident}"
    log_in(page, base, w.patient, sms_dir)
    page.goto(f"{base}/mine-timer/")
    page.locator(f'a[href="/c/DEMO1/timer/venteliste/?a={w.mine.pk}"]').click()
    expect(page).to_have_url(f"{base}/timer/venteliste/?a={w.mine.pk}")
    assert_accessible(page)
    # The defaults suit: the GP, Monday to Friday, 08–16, until the day before the booking.
    expect(page.locator(f"input[name=practitioners][value='{w.gp.pk}']")).to_be_checked()
    page.locator("form:has(input[name=until]) [type=submit]").click()
    expect(page).to_have_url(f"{base}/mine-timer/")
    entry = WaitlistEntry.objects.get()
    expect(page.locator(f"#waitlist-{entry.pk}")).to_have_count(1)
    assert_accessible(page)

    # Another patient cancels: the sweep runs after the commit and the SMS goes out.
    services.appointment_cancel(appointment_id=w.theirs.pk, patient=w.other)
    offer = SlotOffer.objects.get()
    assert offer.slot_id == w.soon.pk
    sms = next(text for text in sms_files(sms_dir) if "slot_offer" in text)
    assert "Kontroll" not in sms and "Annet" not in sms
    link = re.search(r"https?://\S+/timer/tilbud/\d+/", sms).group(0)
    assert link == f"{base}/timer/tilbud/{offer.pk}/"

    # The link needs login: a fresh browser (the phone) logs in first, then lands on it.
    context = browser.new_context(locale="nb-NO")
    context.set_default_timeout(10_000)
    phone = context.new_page()
    try:
        phone.goto(link)
        expect(phone).to_have_url(f"{base}/login/")
        phone.locator("input[name=national_id]").fill(w.patient.national_id)
        phone.locator("input[name=password]").fill(PASSWORD)
        phone.locator("form:has(input[name=password]) [type=submit]").click()
        expect(phone).to_have_url(f"{base}/login/code/")
        phone.locator("input[name=code]").fill(latest_code(sms_dir))
        phone.locator("form:has(input[name=code]) [type=submit]").click()
        expect(phone).to_have_url(link)
        expect(phone.locator("main")).to_contain_text("10:00")
        assert_accessible(phone)
        phone.locator("#offer-answer button[value=accept]").click()
        expect(phone).to_have_url(f"{base}/timer/bestilt/{w.mine.pk}/")
        assert_accessible(phone)
    finally:
        context.close()

    moved = Appointment.objects.get(pk=w.mine.pk)
    assert (moved.slot_id, moved.sequence) == (w.soon.pk, 1)
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (offer.status, entry.status) == ("accepted", "fulfilled")
    assert any("booking_moved" in text for text in sms_files(sms_dir))
