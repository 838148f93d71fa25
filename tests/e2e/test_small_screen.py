"""At a phone's width (390 px, issue #16 item 9): what must stay on one line does, and what
can be pressed does not look disabled. Axe-clean at that width too."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from booking.services import slots_generate
from tests import factories
from tests.e2e.conftest import assert_accessible
from tests.factories import build_booking_world, make_template

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = {"width": 390, "height": 844}


def on_one_line(page: Page, selector: str) -> bool:
    return page.evaluate(f"document.querySelector({selector!r}).getClientRects().length === 1")


def test_the_code_page_keeps_the_phone_number_on_one_line(page: Page, live_server, clinic):
    page.set_viewport_size(PHONE_WIDTH)
    page.goto(f"{live_server.url}/c/{clinic.ep_ident}/password/")
    page.locator("input[name=national_id]").fill(factories.national_id())
    page.locator("form:has(input[name=national_id]) [type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/c/{clinic.ep_ident}/login/code/")
    expect(page.locator("#clinic-phone")).to_have_count(1)
    assert on_one_line(page, "#clinic-phone")
    assert "•" not in page.locator("main").inner_text()
    assert_accessible(page)


def test_next_week_looks_like_a_button_that_works(page: Page, live_server, clinic):
    w = build_booking_world(clinic)
    make_template(w.gp, w.ep)
    slots_generate(practitioner_id=w.gp.pk)
    client = factories.log_in_patient(w.patient)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.set_viewport_size(PHONE_WIDTH)
    page.goto(f"{live_server.url}/c/{clinic.ep_ident}/timer/")
    next_week = page.locator("#next-week")
    expect(next_week).to_be_visible()
    style = next_week.evaluate(
        "el => { const s = getComputedStyle(el); return [s.color, s.borderTopColor]; }"
    )
    primary = page.locator("a.btn-primary").first.evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    # The colour of the page's actions, not the grey of a disabled control.
    assert style == [primary, primary], (style, primary)
    assert_accessible(page)
    next_week.click()
    expect(page).to_have_url(re.compile(rf"/c/{clinic.ep_ident}/timer/\?p={w.gp.pk}&week=\d{{4}}-"))
