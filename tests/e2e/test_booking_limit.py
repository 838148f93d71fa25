"""At the booking limit the week and urgent pages say so before any time is listed (issue
#16, item 4), axe-clean, with the urgent page's title and heading agreeing."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from booking.models import Appointment, BookingSettings
from clinics.models import Practitioner
from delegation.models import Service
from delegation.services import service_matrix_save
from tests import factories
from tests.e2e.conftest import assert_accessible
from tests.factories import OSLO, build_booking_world, make_slot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, live_server, patient) -> None:
    client = factories.log_in_patient(patient)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def hold(w, slot, *, urgent: bool) -> None:
    Appointment.objects.create(
        slot=slot,
        patient=w.patient,
        practitioner=slot.practitioner,
        start=slot.start,
        end=slot.end,
        reason="x",
        urgent=urgent,
    )


def test_week_and_urgent_pages_at_the_limit(page: Page, live_server, clinic):
    w = build_booking_world(clinic)
    BookingSettings.objects.update_or_create(clinic=clinic, defaults={"max_future_online": 1})
    junior = factories.make_practitioner(
        clinic, "Tore Turnus", role=Practitioner.Role.JUNIOR, eportal_enabled=True
    )
    service_matrix_save(clinic=clinic, service=Service.URGENT, cells=[(w.gp_list.pk, junior.pk)])
    now = datetime.datetime.now(OSLO)
    next_week = (now + datetime.timedelta(days=7)).replace(hour=10, minute=0, second=0)
    in_a_while = now + datetime.timedelta(minutes=30)
    held = make_slot(w.gp, w.ep, next_week)
    make_slot(w.gp, w.ep, next_week + datetime.timedelta(minutes=20))  # free, not listed
    urgent_held = make_slot(junior, w.ep, in_a_while)
    make_slot(junior, w.ep, in_a_while + datetime.timedelta(minutes=20))
    hold(w, held, urgent=False)
    hold(w, urgent_held, urgent=True)
    log_in(page, live_server, w.patient)

    page.goto(f"{live_server.url}/c/{clinic.ep_ident}/timer/")
    notice = page.locator("#at-limit")
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("role", "status")
    expect(page.locator('a[id^="slot-"], [id^="slot-"]')).to_have_count(0)
    expect(page.locator(f'main a[href="/c/{clinic.ep_ident}/mine-timer/"]')).to_have_count(1)
    assert_accessible(page)

    page.goto(f"{live_server.url}/c/{clinic.ep_ident}/hastetime/")
    expect(page.locator("#at-limit")).to_be_visible()
    expect(page.locator(f'a[href^="/c/{clinic.ep_ident}/hastetime/"]')).to_have_count(0)
    heading = page.locator("h1").inner_text().strip()
    assert page.title().startswith(heading)
    assert_accessible(page)
