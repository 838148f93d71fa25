"""The services the admin calls for absences and booking settings: the slots follow."""

from __future__ import annotations

import datetime

import pytest
import time_machine

from booking.models import Absence, Slot
from booking.services import (
    absence_delete,
    absence_save,
    absences_delete,
    booking_settings_save,
    slots_generate,
)
from tests import factories
from tests.factories import OSLO, make_template, oslo

pytestmark = pytest.mark.django_db

NOW = oslo(2026, 2, 2, 6, 0)
WED, THU, FRI = datetime.date(2026, 2, 4), datetime.date(2026, 2, 5), datetime.date(2026, 2, 6)


def blocked_days(practitioner) -> list[datetime.date]:
    days = {
        s.start.astimezone(OSLO).date()
        for s in Slot.objects.filter(practitioner=practitioner, blocked=True)
    }
    return sorted(days)


@pytest.fixture
def timebook(world):
    world.locum = factories.make_practitioner(world.clinic, "Vera Vikar", eportal_enabled=True)
    with time_machine.travel(NOW, tick=False):
        for practitioner in (world.gp, world.locum):
            make_template(practitioner, world.ep)
            slots_generate(practitioner_id=practitioner.pk)
        yield world


def test_a_shortened_absence_opens_the_days_it_no_longer_covers(timebook):
    absence = Absence(practitioner=timebook.gp, first_day=WED, last_day=FRI)
    absence_save(absence=absence)
    assert blocked_days(timebook.gp) == [WED, THU, FRI]
    absence.last_day = WED
    absence_save(absence=absence)
    assert blocked_days(timebook.gp) == [WED]


def test_an_absence_given_to_another_practitioner_moves_the_blocked_days(timebook):
    absence = Absence(practitioner=timebook.gp, first_day=WED, last_day=THU)
    absence_save(absence=absence)
    absence.practitioner = timebook.locum
    absence_save(absence=absence)
    assert blocked_days(timebook.gp) == []
    assert blocked_days(timebook.locum) == [WED, THU]


def test_deleting_an_absence_keeps_the_days_another_one_covers(timebook):
    long = Absence(practitioner=timebook.gp, first_day=WED, last_day=FRI)
    short = Absence(practitioner=timebook.gp, first_day=THU, last_day=THU)
    absence_save(absence=long)
    absence_save(absence=short)
    absence_delete(absence=long)
    assert blocked_days(timebook.gp) == [THU]
    absences_delete(absences=Absence.objects.filter(pk=short.pk))
    assert blocked_days(timebook.gp) == []
    assert not Absence.objects.exists()


def test_the_slots_follow_a_new_horizon_only(timebook, django_capture_on_commit_callbacks):
    settings = timebook.settings
    with django_capture_on_commit_callbacks() as unchanged:
        settings.max_future_online = 5
        booking_settings_save(booking_settings=settings)
    assert unchanged == []
    with django_capture_on_commit_callbacks() as changed:
        settings.horizon_weeks = 10
        booking_settings_save(booking_settings=settings)
    assert len(changed) == 2  # both practitioners with a template
