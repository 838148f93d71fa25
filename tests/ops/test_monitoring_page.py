"""'Overvåkning' in the admin: who sees it, what it shows, and a constant number of queries."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ops import services
from ops.models import Heartbeat
from sms.models import OutboxMessage
from tests import factories
from tests.ops.conftest import oslo

URL = "/admin/ops/healthcycle/"
NOW = oslo(2026, 5, 20, 12, 0)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def sms(clinic, day: int, status: str, n: int = 1) -> None:
    for _ in range(n):
        m = OutboxMessage.objects.create(
            clinic=clinic, recipient="+4791234567", text="Hei", purpose="other", status=status
        )
        OutboxMessage.objects.filter(pk=m.pk).update(created=oslo(2026, 5, day, 9, 0))


def test_superuser_and_clinic_admin_find_it_in_the_admin_index(
    admin_client_for, superuser, clinic_admin
):
    for user in (superuser, clinic_admin):
        page = admin_client_for(user).get("/admin/").content.decode()
        assert URL in page


def test_staff_without_a_clinic_and_anonymous_users_are_kept_out(client, admin_client_for, clinic):
    assert client.get(URL).status_code == 302
    helper = factories.make_staff(None, email="helper@example.org")
    assert admin_client_for(helper).get(URL).status_code in {302, 403}


def test_clinic_admin_sees_only_their_clinics_sms(
    admin_client_for, clinic_admin, other_clinic, superuser, settings
):
    settings.LANGUAGE_CODE = "en"
    sms(clinic_admin.clinic, 3, "delivered", 2)
    sms(other_clinic, 3, "failed", 5)
    page = admin_client_for(clinic_admin).get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This month: 2 delivered, 0 sent without a delivery report yet, 0 failed." in page
    page = admin_client_for(superuser).get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This month: 2 delivered, 0 sent without a delivery report yet, 5 failed." in page


def test_page_shows_uptime_cycles_and_gaps(admin_client_for, superuser, settings):
    settings.LANGUAGE_CODE = "en"
    Heartbeat.objects.bulk_create(
        Heartbeat(minute=oslo(2026, 5, 20, 11, 0) + datetime.timedelta(minutes=i))
        for i in range(60)
        if i not in (10, 11)
    )
    with time_machine.travel(oslo(2026, 5, 20, 5, 0), tick=True):
        services.health_cycle_run()
    response = admin_client_for(superuser).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    # 58 of the 60 minutes since the first heartbeat, cut (not rounded) to two decimals: a
    # month with a minute missing never shows as 100 %.
    assert "96.66 %" in page
    assert "<svg" in page and "<table" in page
    assert "Slot horizon" in page and "skipped: tasks run in-process" in page
    assert "<td>2</td>" in page  # the gap of two minutes


def test_the_page_has_no_inline_script_or_style(admin_client_for, superuser):
    page = admin_client_for(superuser).get(URL).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert " style=" not in page and "<style" not in page


def test_query_count_does_not_grow_with_days_and_rows(admin_client_for, superuser, clinic):
    client = admin_client_for(superuser)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    with time_machine.travel(oslo(2026, 2, 1, 5, 0), tick=True):
        services.health_cycle_run()
    small = count(URL + "?month=2026-02")  # one cycle, no other data, 28 days
    for day in range(1, 20):
        sms(clinic, day, "delivered", 2)
        sms(clinic, day, "failed")
    Heartbeat.objects.bulk_create(
        Heartbeat(minute=oslo(2026, 5, 1) + datetime.timedelta(minutes=3 * i)) for i in range(3000)
    )
    for day in range(1, 15):
        with time_machine.travel(oslo(2026, 5, day, 5, 0), tick=True):
            services.health_cycle_run()
    large = count(URL)  # 31 days, thousands of rows, 14 cycles
    assert large == small
