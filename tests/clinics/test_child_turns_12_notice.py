"""The notice 30 days before a child turns 12 (docs/acting-for-others.md): to each parent who
may act for the child today, once, only on that day, without the child's name."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.conf import settings

from clinics.models import ParentChild
from clinics.national_id import birthday
from clinics.national_id import make as make_national_id
from clinics.services import child_turning_12_notices_send
from clinics.tasks import send_child_turning_12_notices
from sms.models import OutboxMessage
from tests.factories import make_patient

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
TURNS_12 = TODAY + datetime.timedelta(days=30)
_serial = itertools.count(103, 13)


def number(born: datetime.date, kind: str = "fnr") -> str:
    return make_national_id(born, next(_serial), kind=kind)


def child_turning_12_on(day: datetime.date) -> datetime.date:
    return birthday(day, -12)


def link(parent, child, **flags):
    flags.setdefault("same_address", True)
    flags.setdefault("parental_responsibility", True)
    return ParentChild.objects.create(parent=parent, child=child, **flags)


@pytest.fixture
def parents(clinic):
    mother = make_patient(clinic, name="Mor", national_id=number(datetime.date(1985, 1, 5)))
    father = make_patient(clinic, name="Far", national_id=number(datetime.date(1984, 2, 6)))
    return mother, father


def test_each_parent_hears_once_thirty_days_before(clinic, parents):
    mother, father = parents
    child = make_patient(
        clinic, name="Lille Barnesen", national_id=number(child_turning_12_on(TURNS_12))
    )
    link(mother, child)
    link(father, child)
    assert child_turning_12_notices_send(today=TODAY) == 2
    child_turning_12_notices_send(today=TODAY)  # a second run, or two workers
    messages = OutboxMessage.objects.filter(purpose="child_turns_12").order_by("recipient")
    assert sorted(m.recipient for m in messages) == sorted([mother.mobile, father.mobile])
    for message in messages:
        assert "Lille" not in message.text and "Barnesen" not in message.text
        assert clinic.name in message.text
        assert str(TURNS_12.day) in message.text
    assert messages[0].idempotency_key.startswith(f"child-turns-12:{child.pk}:")
    assert messages[0].idempotency_key.endswith(f":{TURNS_12.year}")


@pytest.mark.parametrize("days", [29, 31, 0])
def test_only_on_the_thirtieth_day(clinic, parents, days):
    mother, _ = parents
    child = make_patient(
        clinic, national_id=number(child_turning_12_on(TODAY + datetime.timedelta(days=days)))
    )
    link(mother, child)
    assert child_turning_12_notices_send(today=TODAY) == 0
    assert not OutboxMessage.objects.exists()


def test_d_numbers_are_found_too(clinic, parents):
    mother, _ = parents
    child = make_patient(clinic, national_id=number(child_turning_12_on(TURNS_12), kind="dnr"))
    link(mother, child)
    assert child_turning_12_notices_send(today=TODAY) == 1


@pytest.mark.parametrize(
    "case", ["no_responsibility", "other_address", "confidential", "no_mobile", "inactive"]
)
def test_only_parents_who_may_act_for_the_child_hear_of_it(clinic, parents, case):
    mother, _ = parents
    child = make_patient(clinic, national_id=number(child_turning_12_on(TURNS_12)))
    flags = {}
    if case == "no_responsibility":
        flags["parental_responsibility"] = False
    elif case == "other_address":
        flags["same_address"] = False
    elif case == "confidential":
        child.confidential_address = True
        child.save()
    elif case == "no_mobile":
        mother.mobile = ""
        mother.save()
    elif case == "inactive":
        mother.journal_active = False
        mother.save()
    link(mother, child, **flags)
    assert child_turning_12_notices_send(today=TODAY) == 0
    assert not OutboxMessage.objects.exists()


def test_the_task_calls_the_service(clinic, parents):
    mother, _ = parents
    link(mother, make_patient(clinic, national_id=number(child_turning_12_on(TURNS_12))))
    send_child_turning_12_notices.apply()
    assert OutboxMessage.objects.filter(purpose="child_turns_12").count() == 1


def test_the_task_runs_daily_on_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["clinics-child-turning-12"]
    assert entry["task"] == "clinics.tasks.send_child_turning_12_notices"
    assert entry["schedule"].hour == {10} and entry["schedule"].minute == {0}
