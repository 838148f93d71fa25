"""Capacity and the answer-by date: working days, Norwegian holidays, caps and closures."""

from __future__ import annotations

import datetime

import pytest

from econsult.models import CapacityPeriod, Consultation, EconsultSettings
from econsult.selectors import capacities, econsult_settings, is_working_day
from econsult.services import CapacityFull, consultation_send
from tests.factories import oslo

pytestmark = pytest.mark.django_db

D = datetime.date


def capacity(world, now, **rules):
    settings = EconsultSettings(clinic=world.clinic, **rules)
    return capacities([world.gp.pk], settings, now=now)[world.gp.pk]


def fill(world, day: datetime.date, count: int) -> None:
    for n in range(count):
        Consultation.objects.create(
            clinic=world.clinic,
            patient=world.neighbour,
            practitioner=world.gp,
            subject=f"s{n}",
            intake_day=day,
            answer_by=day,
            last_patient_message_at=oslo(day.year, day.month, day.day, 8),
        )


def test_working_days_skip_weekends_holidays_and_closed_days():
    assert is_working_day(D(2027, 3, 24), 5)  # Wednesday before Easter
    assert not is_working_day(D(2027, 3, 25), 5)  # Skjærtorsdag
    assert not is_working_day(D(2027, 3, 26), 5)  # Langfredag
    assert not is_working_day(D(2027, 3, 27), 5)  # Saturday
    assert not is_working_day(D(2027, 3, 29), 5)  # 2. påskedag
    assert not is_working_day(D(2027, 5, 17), 5)  # Grunnlovsdag
    assert not is_working_day(D(2027, 3, 30), 0)  # cap 0: closed


def test_answer_by_across_easter(world):
    # Sent on the Wednesday before Easter 2027 with three working days to answer: Thursday,
    # Friday and Monday are holidays, so Tue 30, Wed 31, Thu 1 April.
    found = capacity(world, oslo(2027, 3, 24, 10), answer_days=3)
    assert found.available
    assert found.intake_day == D(2027, 3, 24)
    assert found.answer_by == D(2027, 4, 1)


def test_answer_by_across_a_weekend(world):
    found = capacity(world, oslo(2026, 12, 4, 15), answer_days=2)  # a Friday
    assert found.intake_day == D(2026, 12, 4)
    assert found.answer_by == D(2026, 12, 8)  # Monday, Tuesday


def test_sent_on_a_saturday_counts_on_monday(world):
    found = capacity(world, oslo(2026, 12, 5, 11), answer_days=1)
    assert found.intake_day == D(2026, 12, 7)
    assert found.answer_by == D(2026, 12, 8)


def test_full_today_opens_tomorrow(world):
    fill(world, D(2026, 12, 2), 3)
    found = capacity(world, oslo(2026, 12, 2, 9), daily_cap=3)
    assert not found.available
    assert found.opens_on == D(2026, 12, 3)


def test_full_on_friday_opens_monday(world):
    fill(world, D(2026, 12, 4), 2)
    found = capacity(world, oslo(2026, 12, 4, 9), daily_cap=2)
    assert not found.available
    # Saturday's consultations would count on Monday, which has room: sending opens Saturday.
    assert found.opens_on == D(2026, 12, 5)


def test_weekend_sends_fill_monday_and_it_opens_tuesday(world):
    fill(world, D(2026, 12, 7), 2)
    found = capacity(world, oslo(2026, 12, 5, 9), daily_cap=2)
    assert not found.available
    assert found.opens_on == D(2026, 12, 8)


def test_cap_zero_closes_until_a_holiday_period_ends(world):
    CapacityPeriod.objects.create(
        practitioner=world.gp, first_day=D(2026, 12, 21), last_day=D(2027, 1, 3), daily_cap=0
    )
    found = capacity(world, oslo(2026, 12, 22, 9), answer_days=1)
    assert not found.available
    assert found.opens_on == D(2027, 1, 4)
    during = capacity(world, oslo(2027, 1, 4, 9), answer_days=1)
    assert during.available and during.answer_by == D(2027, 1, 5)


def test_a_closure_ahead_pushes_the_answer_by_date(world):
    CapacityPeriod.objects.create(
        practitioner=world.gp, first_day=D(2026, 12, 3), last_day=D(2026, 12, 4), daily_cap=0
    )
    found = capacity(world, oslo(2026, 12, 2, 9), answer_days=2)
    assert found.answer_by == D(2026, 12, 8)  # Thu and Fri closed: Mon 7, Tue 8


def test_clinic_cap_zero_is_closed_with_no_known_opening(world):
    found = capacity(world, oslo(2026, 12, 2, 9), daily_cap=0)
    assert not found.available
    assert found.opens_on is None


def test_period_raises_one_practitioners_cap(world):
    CapacityPeriod.objects.create(practitioner=world.gp, first_day=D(2026, 1, 1), daily_cap=5)
    fill(world, D(2026, 12, 2), 3)
    assert capacity(world, oslo(2026, 12, 2, 9), daily_cap=3).available


def test_sending_when_full_raises_and_writes_nothing(world):
    EconsultSettings.objects.create(clinic=world.clinic, daily_cap=1)
    fill(world, D(2026, 12, 2), 1)
    before = Consultation.objects.count()
    with pytest.raises(CapacityFull) as raised:
        consultation_send(
            patient=world.patient,
            practitioner_id=world.gp.pk,
            subject="Hei",
            body="Spørsmål",
            now=oslo(2026, 12, 2, 9),
        )
    assert raised.value.capacity.opens_on == D(2026, 12, 3)
    assert Consultation.objects.count() == before


def test_settings_default_when_the_clinic_has_none(world):
    rules = econsult_settings(world.clinic)
    assert rules.pk is None
    assert rules.answer_requires_bankid is True
    assert rules.daily_cap > 0
