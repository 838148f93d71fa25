"""Item 7 of issue #16: each language writes dates its own way, in pages, SMS and files."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from clinics.dates import day_and_month, long_date

DAY = datetime.date(2026, 12, 2)  # a Wednesday


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nb", "onsdag 2. desember 2026"),
        ("nn", "onsdag 2. desember 2026"),
        ("en", "Wednesday 2 December 2026"),
    ],
)
def test_long_date_in_each_language(language, expected):
    with translation.override(language):
        assert long_date(DAY) == expected


@pytest.mark.parametrize(
    ("language", "plain", "with_weekday"),
    [
        ("nb", "2. desember", "onsdag 2. desember"),
        ("en", "2 December", "Wednesday 2 December"),
    ],
)
def test_day_and_month_in_each_language(language, plain, with_weekday):
    with translation.override(language):
        assert day_and_month(DAY) == plain
        assert day_and_month(DAY, weekday=True) == with_weekday
        assert long_date(DAY, weekday=False) == plain + " 2026"


def test_no_hardcoded_norwegian_date_format_left():
    """One place: the format modules and clinics.dates; no "j. F" written anywhere else."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for folder in ("booking", "econsult", "identification", "clinics", "delegation", "sms"):
        for path in (root / folder).rglob("*.py"):
            if path.name != "dates.py" and "j. F" in path.read_text():
                offenders.append(str(path))
    for path in (root / "templates").rglob("*"):
        if path.is_file() and "j. F" in path.read_text():
            offenders.append(str(path))
    assert not offenders


@pytest.mark.django_db(transaction=True)
def test_english_sms_and_week_page_use_the_english_format(clinic, patient_client_for):
    import time_machine

    from booking.services import slots_generate
    from sms.models import OutboxMessage
    from tests.factories import build_booking_world, make_template, oslo

    with time_machine.travel(oslo(2026, 2, 2, 9, 0), tick=False):
        w = build_booking_world(clinic)
        make_template(w.gp, w.ep)
        slots_generate(practitioner_id=w.gp.pk)
        client = patient_client_for(w.patient)
        client.cookies["eportal_language"] = "en"
        page = client.get("/c/DEMO1/timer/").content.decode()
        assert "Tuesday 3 February" in page
        assert "3. February" not in page
        from booking.models import Slot

        slot = Slot.objects.get(practitioner=w.gp, start=oslo(2026, 2, 3, 8, 20))
        client.post(f"/c/DEMO1/timer/{slot.pk}/", {"reason": "x"})
        text = OutboxMessage.objects.get().text
        assert "Tuesday 3 February 2026" in text
