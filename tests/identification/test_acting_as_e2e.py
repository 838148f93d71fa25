"""Acting for a child in a real browser (docs/acting-for-others.md, "Acting as"): a parent
logs in with password and SMS code, chooses the child, books a time for the child and
cancels it, and the child's access log shows the parent's actions. axe-core (WCAG 2.1 AA)
on the chooser, the pages with the banner and the access log.

Found by structure and data (URLs, values, database state), not by wording.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import Page, expect

from booking.models import Appointment
from clinics.models import AuditEvent, ParentChild
from clinics.national_id import birthday
from clinics.national_id import make as make_national_id
from identification.models import PatientCredential
from tests import factories
from tests.booking.test_e2e import PASSWORD, latest_code
from tests.e2e.conftest import assert_accessible
from tests.factories import OSLO, build_booking_world, make_slot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(clinic):
    w = build_booking_world(clinic)
    today = datetime.datetime.now(OSLO).date()
    w.parent = factories.make_patient(
        clinic,
        name="Mor Hansen",
        national_id=make_national_id(birthday(today, -40), 301, synthetic=True),
        mobile="+4741234500",
        patient_list=w.gp_list,
    )
    w.child = factories.make_patient(
        clinic,
        name="Anna Hansen",
        national_id=make_national_id(birthday(today, -5), 302, synthetic=True),
        patient_list=w.gp_list,
    )
    ParentChild.objects.create(
        parent=w.parent, child=w.child, same_address=True, parental_responsibility=True
    )
    PatientCredential.objects.create(patient=w.parent, password=make_password(PASSWORD))
    day = today + datetime.timedelta(days=7 - today.weekday() + 2)  # next week's Wednesday
    w.slot = make_slot(w.gp, w.ep, datetime.datetime.combine(day, datetime.time(10), tzinfo=OSLO))
    return w


def test_a_parent_books_for_a_child_cancels_and_the_childs_log_shows_it(
    page: Page, live_server, world, sms_dir
):
    w = world
    ep = w.clinic.ep_ident
    base = f"{live_server.url}/c/{ep}"
    page.goto(f"{base}/login/")
    page.locator("input[name=national_id]").fill(w.parent.national_id)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page).to_have_url(f"{base}/login/code/")
    page.locator("input[name=code]").fill(latest_code(sms_dir))
    page.locator("form:has(input[name=code]) [type=submit]").click()

    # The chooser: oneself or the child.
    expect(page).to_have_url(f"{base}/velg/")
    expect(page.locator("button[name=person][value=self]")).to_have_count(1)
    assert_accessible(page)
    page.locator(f"button[name=person][value='{w.child.pk}']").click()
    expect(page).to_have_url(f"{base}/home/")
    banner = page.locator(f"main .acting-banner[data-acting-for='{w.child.pk}']")
    expect(banner).to_contain_text(w.child.name)
    expect(page.locator("header")).to_contain_text(w.parent.name)
    expect(page.locator(f'header a[href="/c/{ep}/velg/"]')).to_have_count(1)
    assert_accessible(page)

    # Book for the child.
    page.locator(f'main a[href="/c/{ep}/timer/"]').click()
    expect(banner).to_have_count(1)
    page.locator(f'a[href^="/c/{ep}/timer/forste-ledige/"]').click()
    expect(page).to_have_url(f"{base}/timer/{w.slot.pk}/")
    page.locator("textarea[name=reason]").fill("Feber")
    page.locator("form:has(textarea[name=reason]) [type=submit]").click()
    appointment = Appointment.objects.get()
    assert appointment.patient == w.child
    expect(page).to_have_url(f"{base}/timer/bestilt/{appointment.pk}/")
    expect(page.locator("main .acting-banner")).to_contain_text(w.child.name)
    assert_accessible(page)

    # Cancel it under "Mine timer" (the child's).
    page.goto(f"{base}/mine-timer/")
    page.locator(f'form[action="/c/{ep}/mine-timer/{appointment.pk}/avbestill/"] button').click()
    page.locator("form:has(input[name=confirm][value=yes]) [type=submit]").click()
    expect(page).to_have_url(f"{base}/mine-timer/")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED

    # The child's access log, opened by the parent acting for the child: every line the
    # parent's (began acting, booked, cancelled, and each look at the child's appointments).
    page.goto(f"{base}/innsyn/")
    rows = page.locator("main table tbody tr")
    logged = AuditEvent.objects.filter(subject=w.child).exclude(patient=w.child)
    expect(rows).to_have_count(logged.count())
    assert set(logged.values_list("patient", flat=True)) == {w.parent.pk}
    assert {"patient.acting_started", "booking.book", "booking.cancel"} <= set(
        logged.values_list("action", flat=True)
    )
    for index in range(logged.count()):
        expect(rows.nth(index)).to_contain_text(w.parent.name)
    expect(page.locator("main .acting-banner")).to_contain_text(w.child.name)
    assert_accessible(page)
    for action in ("booking.book", "booking.cancel"):
        event = AuditEvent.objects.get(action=action)
        assert (event.patient_id, event.subject_id) == (w.parent.pk, w.child.pk)

    # Back to oneself: no banner, and the parent's own log does not list the child's.
    page.locator(f'header a[href="/c/{ep}/velg/"]').click()
    page.locator("button[name=person][value=self]").click()
    expect(page).to_have_url(f"{base}/home/")
    expect(page.locator(".acting-banner")).to_have_count(0)
