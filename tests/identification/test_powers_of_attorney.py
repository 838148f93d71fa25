"""Giving and ending a power of attorney in the portal (docs/acting-for-others.md): BankID
to give, a neutral answer for a number that is not a patient who can get one, either side
ends, someone else's reads as missing, the holder's SMS tells nothing."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinics.models import AuditEvent, PowerOfAttorney
from clinics.national_id import birthday
from clinics.national_id import make as make_national_id
from sms.models import OutboxMessage
from tests.factories import make_clinic, make_patient

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
_serial = itertools.count(101, 11)


def aged(years: int, *, days: int = 30) -> str:
    return make_national_id(birthday(TODAY, -years) - datetime.timedelta(days=days), next(_serial))


@pytest.fixture(autouse=True)
def _english(client, settings):
    """The pages in English, so that the words the tests look for stay when nb/nn come."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def giver(clinic):
    return make_patient(clinic, name="Gunn Giver", national_id=aged(70))


@pytest.fixture
def holder(clinic):
    return make_patient(clinic, name="Hans Holder", national_id=aged(45), mobile="+4741112222")


def url(clinic, name, *args):
    return reverse(f"identification:{name}", args=[clinic.ep_ident, *args])


def give(client, clinic, number, **fields):
    data = {
        "national_id": number,
        "services": ["booking", "renewal"],
        "valid_to": str(TODAY + datetime.timedelta(days=90)),
        **fields,
    }
    return client.post(url(clinic, "attorney_give"), data)


def test_giving_needs_a_bankid_login(patient_client_for, clinic, giver, holder):
    client = patient_client_for(giver, method="sms")
    page = client.get(url(clinic, "attorney_give"))
    assert page.status_code == 200
    assert "you must log in with BankID" in page.content.decode()
    assert "national_id" not in page.content.decode()
    response = give(client, clinic, holder.national_id)
    assert response.status_code == 200
    assert not PowerOfAttorney.objects.exists()


def test_a_bankid_patient_gives_a_power_of_attorney(patient_client_for, clinic, giver, holder):
    client = patient_client_for(giver, method="bankid")
    assert client.get(url(clinic, "attorney_give")).status_code == 200
    response = give(client, clinic, holder.national_id)
    assert response.status_code == 302
    assert response["Location"] == url(clinic, "attorneys")
    attorney = PowerOfAttorney.objects.get()
    assert (attorney.giver, attorney.holder) == (giver, holder)
    assert attorney.services == ("booking", "renewal")
    assert attorney.valid_from == TODAY
    assert attorney.valid_to == TODAY + datetime.timedelta(days=90)
    assert attorney.source == "portal"
    event = AuditEvent.objects.get(action="attorney.given")
    assert event.patient == giver and event.object_id == str(attorney.pk)
    assert holder.national_id not in str(event.details) and "Hans" not in event.object_repr
    # The holder hears of it, without who, what or until when.
    sms = OutboxMessage.objects.get(purpose="power_of_attorney")
    assert sms.recipient == holder.mobile
    assert clinic.name in sms.text
    for detail in ("Gunn", "Giver", "timebestilling", "resept", "Appointment", str(TODAY.year + 1)):
        assert detail not in sms.text
    assert "fullmakt" in sms.text.lower() or "power of attorney" in sms.text.lower()


@pytest.mark.parametrize("case", ["unknown", "other_clinic", "confidential", "inactive"])
def test_a_number_that_cannot_get_one_gets_the_same_neutral_answer(
    patient_client_for, clinic, giver, case
):
    number = aged(40)
    if case == "other_clinic":
        make_patient(make_clinic(), national_id=number)
    elif case == "confidential":
        make_patient(clinic, national_id=number, confidential_address=True)
    elif case == "inactive":
        make_patient(clinic, national_id=number, journal_active=False)
    client = patient_client_for(giver, method="bankid")
    response = give(client, clinic, number)
    assert response.status_code == 200
    errors = response.context["form"].errors["national_id"]
    assert errors == [
        "A power of attorney cannot be given to this identity number here. Check the number: "
        "the person must be a patient at this clinic who can use the portal."
    ]
    assert not PowerOfAttorney.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"national_id": "12345678901"}, "national_id", "check digits"),
        ({"national_id": "abc"}, "national_id", "digits only"),
        ({"services": []}, "services", "at least one service"),
        ({"services": ["urgent"]}, "services", "Choose among"),
        ({"valid_to": str(TODAY - datetime.timedelta(days=1))}, "valid_to", "past"),
        ({"valid_to": "31.12.2026x"}, "valid_to", "Enter a date"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_given(
    patient_client_for, clinic, giver, holder, fields, field, words
):
    client = patient_client_for(giver, method="bankid")
    response = give(client, clinic, holder.national_id, **fields)
    assert response.status_code == 200
    assert words in " ".join(response.context["form"].errors[field])
    assert not PowerOfAttorney.objects.exists()


def test_the_age_rules_are_told_from_the_number_typed(patient_client_for, clinic, giver):
    client = patient_client_for(giver, method="bankid")
    minor = make_patient(clinic, national_id=aged(17))
    response = give(client, clinic, minor.national_id)
    assert "18 or older" in " ".join(response.context["form"].errors["national_id"])
    teen = make_patient(clinic, national_id=aged(15))
    response = give(patient_client_for(teen, method="bankid"), clinic, giver.national_id)
    assert "16 or older" in " ".join(response.context["form"].non_field_errors())
    assert not PowerOfAttorney.objects.exists()


def test_not_to_oneself_and_not_twice(patient_client_for, clinic, giver, holder):
    client = patient_client_for(giver, method="bankid")
    response = give(client, clinic, giver.national_id)
    assert "yourself" in " ".join(response.context["form"].errors["national_id"])
    assert give(client, clinic, holder.national_id).status_code == 302
    response = give(client, clinic, holder.national_id)
    assert "already given" in " ".join(response.context["form"].errors["national_id"])
    assert PowerOfAttorney.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_a_giver_with_a_confidential_address_cannot_give(patient_client_for, clinic, holder):
    hidden = make_patient(clinic, national_id=aged(50), confidential_address=True)
    response = give(patient_client_for(hidden, method="bankid"), clinic, holder.national_id)
    assert "call the clinic" in " ".join(response.context["form"].non_field_errors())
    assert not PowerOfAttorney.objects.exists()


def _attorney(giver, holder, **fields):
    return PowerOfAttorney.objects.create(
        giver=giver,
        holder=holder,
        valid_from=fields.pop("valid_from", TODAY),
        valid_to=fields.pop("valid_to", TODAY + datetime.timedelta(days=30)),
        covers_booking=True,
        source="portal",
        **fields,
    )


@pytest.mark.parametrize("side", ["giver", "holder"])
def test_either_side_ends_it_after_confirming(patient_client_for, clinic, giver, holder, side):
    attorney = _attorney(giver, holder)
    me = giver if side == "giver" else holder
    client = patient_client_for(me)  # ending needs no BankID: it only takes access away
    page = client.get(url(clinic, "attorneys"))
    assert url(clinic, "attorney_end", attorney.pk) in page.content.decode()
    confirm = client.get(url(clinic, "attorney_end", attorney.pk))
    assert confirm.status_code == 200 and 'name="confirm"' in confirm.content.decode()
    # Without the confirmation nothing happens.
    assert client.post(url(clinic, "attorney_end", attorney.pk)).status_code == 200
    attorney.refresh_from_db()
    assert attorney.ended_at is None
    response = client.post(url(clinic, "attorney_end", attorney.pk), {"confirm": "yes"})
    assert response.status_code == 302
    attorney.refresh_from_db()
    assert attorney.ended_at is not None and attorney.ended_by == me
    event = AuditEvent.objects.get(action="attorney.ended")
    assert event.patient == me and event.details == {"side": side}
    # Gone from the list; a second end is a 404.
    assert (
        url(clinic, "attorney_end", attorney.pk)
        not in client.get(url(clinic, "attorneys")).content.decode()
    )
    assert (
        client.post(url(clinic, "attorney_end", attorney.pk), {"confirm": "yes"}).status_code == 404
    )


def test_ending_someone_elses_power_of_attorney_is_not_found(
    patient_client_for, clinic, giver, holder
):
    attorney = _attorney(giver, holder)
    stranger = make_patient(clinic, national_id=aged(30))
    client = patient_client_for(stranger)
    assert client.get(url(clinic, "attorney_end", attorney.pk)).status_code == 404
    response = client.post(url(clinic, "attorney_end", attorney.pk), {"confirm": "yes"})
    assert response.status_code == 404
    attorney.refresh_from_db()
    assert attorney.ended_at is None
    assert not AuditEvent.objects.filter(action="attorney.ended").exists()
    assert client.get(url(clinic, "attorney_end", 10**17)).status_code == 404


def test_the_page_lists_given_and_held_ones_but_not_expired_or_ended(
    patient_client_for, clinic, giver, holder
):
    other = make_patient(clinic, name="Olga Annen", national_id=aged(60))
    _attorney(giver, holder)
    _attorney(other, giver)
    _attorney(
        giver,
        other,
        valid_from=TODAY - datetime.timedelta(days=9),
        valid_to=TODAY - datetime.timedelta(days=1),
    )
    page = patient_client_for(giver).get(url(clinic, "attorneys"))
    assert [a.holder for a in page.context["given"]] == [holder]
    assert [a.giver for a in page.context["received"]] == [other]
    text = page.content.decode()
    assert "Hans Holder" in text and "Olga Annen" in text


def test_the_page_takes_the_same_queries_for_one_or_many(patient_client_for, clinic, giver):
    client = patient_client_for(giver)
    _attorney(giver, make_patient(clinic, national_id=aged(40)))
    client.get(url(clinic, "attorneys"))  # the session's first read fills the cache
    with CaptureQueriesContext(connection) as one:
        assert client.get(url(clinic, "attorneys")).status_code == 200
    for _ in range(4):
        _attorney(giver, make_patient(clinic, national_id=aged(40)))
        _attorney(make_patient(clinic, national_id=aged(40)), giver)
    with CaptureQueriesContext(connection) as many:
        page = client.get(url(clinic, "attorneys"))
    assert len(page.context["given"]) == 5 and len(page.context["received"]) == 4
    assert len(many) == len(one)


def test_the_pages_need_a_login(client, clinic):
    for name, args in (("attorneys", ()), ("attorney_give", ()), ("attorney_end", (1,))):
        response = client.get(url(clinic, name, *args))
        assert response.status_code == 302
        assert response["Location"] == url(clinic, "login")


def test_the_home_page_links_to_the_powers_of_attorney(patient_client_for, clinic, giver):
    page = patient_client_for(giver).get(url(clinic, "home"))
    assert url(clinic, "attorneys") in page.content.decode()
