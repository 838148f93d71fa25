"""The "ePortal delegerer" page in a real browser: axe-clean, usable with the keyboard alone.

Finds things by structure and data (URLs, names, checkbox labels built from list and
practitioner names, database state), never by UI wording, which is still being translated.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from delegation.models import Service
from delegation.selectors import matrix_state
from tests.e2e.conftest import assert_accessible

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

URL = "/admin/delegation/delegation/"


def log_in(page: Page, live_server, user) -> None:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def test_clinic_admin_edits_the_matrix_with_the_keyboard(
    page: Page, live_server, leaflet, clinic_admin
):
    log_in(page, live_server, clinic_admin)

    page.goto(f"{live_server.url}/admin/")
    page.locator(f'a[href="{URL}"]').first.click()
    expect(page).to_have_url(f"{live_server.url}{URL}booking/")
    table = page.locator("table.matrix")
    expect(table.locator("caption")).to_have_count(1)
    expect(table.locator("tbody tr")).to_have_count(3)
    assert_accessible(page)

    # The switched-off nurse cannot be ticked; the locum is ticked for Kari Nordmann's list.
    expect(page.get_by_label("Liste Kari Nordmann – Siv Sykepleier", exact=True)).to_be_disabled()
    expect(page.get_by_label("Liste Kari Nordmann – Vera Vikar", exact=True)).to_be_checked()

    # Keyboard only: tab from the first checkbox to the next one, untick it with Space.
    first = page.get_by_label("Liste Kari Nordmann – Kari Nordmann", exact=True)
    first.focus()
    page.keyboard.press("Tab")  # -> Liste Kari Nordmann – Per Hansen
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # -> Liste Kari Nordmann – Tore Turnus
    page.keyboard.press("Tab")  # -> Liste Kari Nordmann – Vera Vikar (the nurse is skipped)
    page.keyboard.press("Space")
    expect(page.get_by_label("Liste Kari Nordmann – Per Hansen", exact=True)).to_be_checked()
    expect(page.get_by_label("Liste Kari Nordmann – Vera Vikar", exact=True)).not_to_be_checked()
    page.locator("#matrix-form [type=submit]").focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}{URL}booking/")
    expect(page.get_by_label("Liste Kari Nordmann – Per Hansen", exact=True)).to_be_checked()
    assert matrix_state(leaflet.clinic, Service.BOOKING).stored == {
        (leaflet.list_nordmann.pk, leaflet.nordmann.pk),
        (leaflet.list_nordmann.pk, leaflet.hansen.pk),
        (leaflet.list_hansen.pk, leaflet.hansen.pk),
        (leaflet.list_hansen.pk, leaflet.vikar.pk),
        (None, leaflet.turnus.pk),
    }
    assert_accessible(page)

    # Another service, chosen from the tabs.
    page.locator(f'nav a[href="{URL}urgent/"]').click()
    expect(page).to_have_url(f"{live_server.url}{URL}urgent/")
    expect(page.locator(f'nav a[href="{URL}urgent/"]')).to_have_attribute("aria-current", "page")
    assert_accessible(page)


def test_superuser_picks_a_clinic(page: Page, live_server, leaflet, superuser):
    log_in(page, live_server, superuser)
    page.goto(f"{live_server.url}{URL}econsult/")
    assert_accessible(page)
    page.locator("select[name=clinic]").select_option(str(leaflet.clinic.pk))
    page.locator("form:has(select[name=clinic]) [type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}{URL}econsult/?clinic={leaflet.clinic.pk}")
    expect(page.get_by_label("Liste Per Hansen – Per Hansen", exact=True)).to_be_checked()
    assert_accessible(page)


def test_the_standard_package_button_asks_first(page: Page, live_server, leaflet, clinic_admin):
    """Issue #16, item 6: "Use the standard package" removes the clinic's own choices, so it
    asks on a page of its own (no JavaScript), reachable and answerable by keyboard."""
    from delegation.models import ServiceMatrix

    log_in(page, live_server, clinic_admin)
    page.goto(f"{live_server.url}{URL}urgent/")
    page.locator("form.matrix-reset [type=submit]").focus()
    page.keyboard.press("Enter")
    confirm = page.locator("form:has(input[name=confirm][value=yes]) [type=submit]")
    expect(confirm).to_have_count(1)
    assert_accessible(page)
    assert ServiceMatrix.objects.filter(clinic=leaflet.clinic, service="urgent").exists()

    # "No" goes back with the clinic's choices kept.
    page.locator(f'#content-main a[href="{URL}urgent/"]').click()
    expect(page).to_have_url(f"{live_server.url}{URL}urgent/")
    assert ServiceMatrix.objects.filter(clinic=leaflet.clinic, service="urgent").exists()

    page.locator("form.matrix-reset [type=submit]").focus()
    page.keyboard.press("Enter")
    confirm.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}{URL}urgent/")
    assert not ServiceMatrix.objects.filter(clinic=leaflet.clinic, service="urgent").exists()
    assert_accessible(page)
