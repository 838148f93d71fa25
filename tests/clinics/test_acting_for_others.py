"""The rules of acting for others (docs/acting-for-others.md), in clinics.selectors: a parent
for a child under 12, a holder of a power of attorney, nobody with a confidential address."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.utils import timezone

from clinics.models import ParentChild, PowerOfAttorney
from clinics.national_id import age_on, birth_date, birthday
from clinics.national_id import make as make_national_id
from clinics.selectors import (
    Refusal,
    may_act_for,
    may_act_for_list,
    represented_by,
)
from delegation.models import Service
from tests.factories import make_clinic, make_patient

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
_individual = itertools.count(100, 7)


def number(born: datetime.date, *, kind: str = "fnr", synthetic: bool = True) -> str:
    return make_national_id(born, next(_individual) % 480, kind=kind, synthetic=synthetic)


def born_years_ago(years: int, *, days: int = 0) -> datetime.date:
    """Born ``years`` years before today, ``days`` later."""
    return birthday(TODAY, -years) + datetime.timedelta(days=days)


@pytest.fixture
def clinic():
    return make_clinic()


def person(clinic, born: datetime.date, **fields):
    fields.setdefault("national_id", number(born))
    return make_patient(clinic, **fields)


def family(clinic, child_born, *, same_address=True, responsibility=True, **child_fields):
    parent = person(clinic, born_years_ago(40), name="Forelder")
    child = person(clinic, child_born, name="Barn", **child_fields)
    ParentChild.objects.create(
        parent=parent,
        child=child,
        same_address=same_address,
        parental_responsibility=responsibility,
    )
    return parent, child


def attorney(giver, holder, *, valid_from=None, valid_to=None, services=("booking",), **fields):
    return PowerOfAttorney.objects.create(
        giver=giver,
        holder=holder,
        valid_from=valid_from or TODAY - datetime.timedelta(days=10),
        valid_to=valid_to,
        source=PowerOfAttorney.Source.IMPORT,
        **{f"covers_{s}": s in services for s in PowerOfAttorney.Service.values},
        **fields,
    )


# Dates of birth in identity numbers


@pytest.mark.parametrize(
    ("kind", "synthetic"),
    [("fnr", False), ("fnr", True), ("dnr", False), ("dnr", True), ("hnr", False)],
)
def test_the_date_of_birth_is_read_from_every_kind_of_number(kind, synthetic):
    born = datetime.date(2014, 7, 9)
    assert birth_date(number(born, kind=kind, synthetic=synthetic)) == born


def test_a_d_number_adds_four_to_the_first_digit():
    value = number(datetime.date(2014, 7, 9), kind="dnr", synthetic=False)
    assert value.startswith("49")
    assert age_on(value, datetime.date(2026, 7, 9)) == 12


def test_synthetic_numbers_are_read_where_new_ones_are_refused(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS = False
    value = number(datetime.date(2014, 7, 9), synthetic=True)
    assert value[2:4] == "87"  # month + 80
    assert birth_date(value) == datetime.date(2014, 7, 9)


def test_no_date_of_birth_in_an_fh_number_or_a_broken_one():
    assert birth_date(number(datetime.date(2014, 7, 9), kind="fhnr", synthetic=False)) is None
    assert birth_date("12345678901") is None
    assert age_on("12345678901", TODAY) is None


def test_ages_count_from_the_birthday_itself():
    born = datetime.date(2014, 7, 9)
    value = number(born)
    assert age_on(value, datetime.date(2026, 7, 8)) == 11
    assert age_on(value, datetime.date(2026, 7, 9)) == 12


def test_born_on_29_february_turns_a_year_older_on_1_march():
    value = number(datetime.date(2012, 2, 29))
    assert age_on(value, datetime.date(2025, 2, 28)) == 12
    assert age_on(value, datetime.date(2023, 2, 28)) == 10
    assert age_on(value, datetime.date(2023, 3, 1)) == 11
    assert birthday(datetime.date(2012, 2, 29), 11) == datetime.date(2023, 3, 1)


# A parent and a child under 12


def test_a_parent_acts_for_a_child_the_day_before_the_12th_birthday(clinic):
    parent, child = family(clinic, born_years_ago(12, days=1))
    answer = may_act_for(parent, child, "booking", TODAY)
    assert answer and answer.via == "parent"
    # For every service, also those a power of attorney cannot cover.
    assert may_act_for(parent, child, "urgent", TODAY)
    assert may_act_for(parent, child, None, TODAY)


def test_a_parent_loses_the_child_on_the_12th_birthday(clinic):
    parent, child = family(clinic, born_years_ago(12))
    answer = may_act_for(parent, child, "booking", TODAY)
    assert not answer and answer.reason == Refusal.CHILD_TOO_OLD
    # Computed from the date: the day before, the same link allowed it.
    assert may_act_for(parent, child, "booking", TODAY - datetime.timedelta(days=1))


@pytest.mark.parametrize("kind", ["dnr", "hnr"])
def test_the_age_limit_reads_d_and_h_numbers(clinic, kind):
    synthetic = kind == "dnr"
    young = number(born_years_ago(12, days=1), kind=kind, synthetic=synthetic)
    old = number(born_years_ago(12), kind=kind, synthetic=synthetic)
    parent, child = family(clinic, born_years_ago(5), national_id=young)
    _, older = family(clinic, born_years_ago(5), national_id=old)
    ParentChild.objects.filter(child=older).update(parent=parent)
    if kind == "dnr":
        assert may_act_for(parent, child, "booking", TODAY)
    else:  # an H-number's child is under 12 but can never use the portal
        assert may_act_for(parent, child, "booking", TODAY).reason == Refusal.NOT_IN_PORTAL
    assert not may_act_for(parent, older, "booking", TODAY)


def test_a_synthetic_number_is_read_as_the_date_it_stands_for(clinic):
    parent, child = family(clinic, born_years_ago(3))
    assert int(child.national_id[2:4]) > 80
    assert may_act_for(parent, child, "econsult", TODAY)


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        ({"same_address": False}, Refusal.NOT_SAME_ADDRESS),
        ({"responsibility": False}, Refusal.NO_PARENTAL_RESPONSIBILITY),
    ],
)
def test_a_parent_needs_responsibility_and_the_same_address(clinic, flags, reason):
    parent, child = family(clinic, born_years_ago(5), **flags)
    assert may_act_for(parent, child, "booking", TODAY).reason == reason


@pytest.mark.parametrize("side", ["parent", "child"])
def test_a_confidential_address_on_either_side_stops_a_parent(clinic, side):
    parent, child = family(clinic, born_years_ago(5))
    who = parent if side == "parent" else child
    who.confidential_address = True
    who.save()
    assert may_act_for(parent, child, "booking", TODAY).reason == Refusal.CONFIDENTIAL_ADDRESS


def test_the_child_does_not_act_for_the_parent_and_nobody_for_themselves(clinic):
    parent, child = family(clinic, born_years_ago(5))
    assert may_act_for(child, parent, "booking", TODAY).reason == Refusal.NO_RELATION
    assert may_act_for(parent, parent, "booking", TODAY).reason == Refusal.SELF


def test_nobody_acts_across_clinics(clinic):
    parent, _child = family(clinic, born_years_ago(5))
    elsewhere = person(make_clinic(), born_years_ago(5))
    ParentChild.objects.create(
        parent=parent, child=elsewhere, same_address=True, parental_responsibility=True
    )
    assert may_act_for(parent, elsewhere, "booking", TODAY).reason == Refusal.OTHER_CLINIC


# Powers of attorney


@pytest.fixture
def pair(clinic):
    return person(clinic, born_years_ago(80), name="Giver"), person(
        clinic, born_years_ago(50), name="Holder"
    )


def test_a_power_of_attorney_valid_today_covers_its_services(pair):
    giver, holder = pair
    attorney(giver, holder, services=("booking", "renewal"), valid_to=TODAY)
    answer = may_act_for(holder, giver, "booking", TODAY)
    assert answer and answer.via == "attorney"
    assert may_act_for(holder, giver, "urgent", TODAY)  # an urgent appointment is a booking
    assert may_act_for(holder, giver, "renewal", TODAY)
    assert may_act_for(holder, giver, None, TODAY)
    refused = may_act_for(holder, giver, "econsult", TODAY)
    assert not refused and refused.reason == Refusal.SERVICE_NOT_COVERED
    # One way only: the giver does not act for the holder.
    assert may_act_for(giver, holder, "booking", TODAY).reason == Refusal.NO_RELATION


@pytest.mark.parametrize(
    "dates",
    [
        {"valid_to": TODAY - datetime.timedelta(days=1)},  # expired yesterday
        {"valid_from": TODAY + datetime.timedelta(days=1)},  # not yet valid
    ],
)
def test_a_power_of_attorney_outside_its_dates_does_not_count(pair, dates):
    giver, holder = pair
    attorney(giver, holder, **dates)
    assert may_act_for(holder, giver, "booking", TODAY).reason == Refusal.ATTORNEY_NOT_VALID


def test_an_ended_power_of_attorney_does_not_count(pair):
    giver, holder = pair
    attorney(giver, holder, ended_at=timezone.now(), ended_by=giver)
    assert may_act_for(holder, giver, "booking", TODAY).reason == Refusal.NO_RELATION


@pytest.mark.parametrize(
    ("giver_age", "holder_age", "allowed"),
    [(16, 18, True), (15, 30, False), (40, 17, False)],
)
def test_a_power_of_attorney_needs_a_giver_of_16_and_a_holder_of_18(
    clinic, giver_age, holder_age, allowed
):
    giver = person(clinic, born_years_ago(giver_age))
    holder = person(clinic, born_years_ago(holder_age))
    attorney(giver, holder)
    answer = may_act_for(holder, giver, "booking", TODAY)
    assert bool(answer) is allowed
    if not allowed:
        assert answer.reason == Refusal.AGE


@pytest.mark.parametrize("side", ["giver", "holder"])
def test_a_confidential_address_on_either_side_stops_a_power_of_attorney(pair, side):
    giver, holder = pair
    attorney(giver, holder)
    who = giver if side == "giver" else holder
    who.confidential_address = True
    who.save()
    assert may_act_for(holder, giver, "booking", TODAY).reason == Refusal.CONFIDENTIAL_ADDRESS


def test_nobody_acts_for_a_patient_who_may_not_use_the_portal(pair):
    giver, holder = pair
    attorney(giver, holder)
    giver.journal_active = False
    giver.save()
    assert may_act_for(holder, giver, "booking", TODAY).reason == Refusal.NOT_IN_PORTAL


def test_a_holder_who_may_not_use_the_portal_acts_for_nobody(pair):
    giver, holder = pair
    attorney(giver, holder)
    holder.journal_active = False
    holder.save()
    assert may_act_for(holder, giver, "booking", TODAY).reason == Refusal.NOT_IN_PORTAL
    assert represented_by(giver, TODAY) == []
    assert may_act_for_list(holder, TODAY) == []


def test_the_services_are_delegations_services():
    assert set(PowerOfAttorney.Service.values) <= set(Service.values)
    for service in PowerOfAttorney.Service:
        assert str(service.label) == str(Service(service.value).label)


# The lists, in constant queries


def test_whom_a_patient_may_act_for_and_who_may_act_for_them(clinic, pair):
    giver, holder = pair
    attorney(giver, holder, services=("econsult",), valid_to=TODAY + datetime.timedelta(days=9))
    young = born_years_ago(4)
    parent, child = family(clinic, young)
    _, grown = family(clinic, born_years_ago(14))
    ParentChild.objects.filter(child=grown).update(parent=parent)
    ParentChild.objects.create(
        parent=holder, child=child, same_address=True, parental_responsibility=True
    )

    for_holder = may_act_for_list(holder, TODAY)
    assert [(r.patient, r.via) for r in for_holder] == [(child, "parent"), (giver, "attorney")]
    assert for_holder[1].services == ("econsult",)
    assert for_holder[1].until == TODAY + datetime.timedelta(days=9)
    assert for_holder[0].until == birthday(young, 12) - datetime.timedelta(days=1)
    assert [r.patient for r in may_act_for_list(parent, TODAY)] == [child]
    assert [(r.patient, r.via) for r in represented_by(child, TODAY)] == [
        (parent, "parent"),  # "Forelder"
        (holder, "parent"),  # "Holder"
    ]
    assert [(r.patient, r.via) for r in represented_by(giver, TODAY)] == [(holder, "attorney")]
    assert represented_by(grown, TODAY) == []


def test_the_lists_take_two_queries_whatever_their_length(clinic, pair, django_assert_num_queries):
    giver, holder = pair
    attorney(giver, holder)
    with django_assert_num_queries(2):
        assert len(may_act_for_list(holder, TODAY)) == 1
    with django_assert_num_queries(2):
        assert len(represented_by(giver, TODAY)) == 1
    for _ in range(3):
        _, child = family(clinic, born_years_ago(5))
        ParentChild.objects.filter(child=child).update(parent=holder)
        attorney(person(clinic, born_years_ago(70)), holder)
        attorney(giver, person(clinic, born_years_ago(30)))
    with django_assert_num_queries(2):
        assert len(may_act_for_list(holder, TODAY)) == 7
    with django_assert_num_queries(2):
        assert len(represented_by(giver, TODAY)) == 4
    with django_assert_num_queries(2):
        assert may_act_for(holder, giver, "booking", TODAY)


def test_a_confidential_address_leaves_the_lists_empty(clinic, pair):
    giver, holder = pair
    attorney(giver, holder)
    holder.confidential_address = True
    holder.save()
    assert may_act_for_list(holder, TODAY) == []
    assert represented_by(giver, TODAY) == []
