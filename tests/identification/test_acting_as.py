"""Acting as another person in the patient session (docs/acting-for-others.md, "Acting as"):
the chooser, the choice re-checked on every request, the services the relation covers,
every action recorded with both persons, and nobody else's objects (the IDOR matrix)."""

from __future__ import annotations

import datetime
import itertools

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from booking.models import Appointment
from clinics.models import AuditEvent, Medication, ParentChild, PowerOfAttorney
from clinics.national_id import birthday
from clinics.national_id import make as make_national_id
from clinics.selectors import access_log
from econsult.models import Consultation, RenewalRequest
from econsult.services import (
    Decision,
    consultation_answer,
    consultation_send,
    renewal_handle,
    renewal_request,
)
from identification.session import SESSION_ACTING_FOR
from sms.models import OutboxMessage
from tests import factories
from tests.factories import OSLO, build_booking_world, make_slot

pytestmark = pytest.mark.django_db

_individual = itertools.count(200, 7)


def number(born: datetime.date) -> str:
    return make_national_id(born, next(_individual) % 480, kind="fnr", synthetic=True)


def years_ago(years: int, *, days: int = 0) -> datetime.date:
    return birthday(timezone.localdate(), -years) + datetime.timedelta(days=days)


def person(w, name: str, born: datetime.date, **fields):
    fields.setdefault("patient_list", w.gp_list)
    return factories.make_patient(w.clinic, name=name, national_id=number(born), **fields)


def family(w, parent, child):
    ParentChild.objects.create(
        parent=parent, child=child, same_address=True, parental_responsibility=True
    )


def power_of_attorney(giver, holder, *services: str) -> PowerOfAttorney:
    return PowerOfAttorney.objects.create(
        giver=giver,
        holder=holder,
        valid_from=timezone.localdate() - datetime.timedelta(days=1),
        source=PowerOfAttorney.Source.IMPORT,
        **{f"covers_{s}": s in services for s in PowerOfAttorney.Service.values},
    )


def build(clinic, *, child_born: datetime.date | None = None):
    """A parent with a child A under 12, a neighbour's child B, a giver of a power of
    attorney for eConsultation only and its holder; free slots next week."""
    w = build_booking_world(clinic)
    w.parent = person(w, "Mor Hansen", years_ago(40))
    w.child = person(w, "Anna Hansen", child_born or years_ago(5))
    family(w, w.parent, w.child)
    w.neighbour = person(w, "Per Nabo", years_ago(38))
    w.other_child = person(w, "Bo Nabo", years_ago(6))
    family(w, w.neighbour, w.other_child)
    w.giver = person(w, "Gunn Giver", years_ago(70))
    w.holder = person(w, "Hans Holder", years_ago(45))
    w.attorney = power_of_attorney(w.giver, w.holder, "econsult")
    day = timezone.localdate() + datetime.timedelta(days=7)
    w.slots = [
        make_slot(w.gp, w.ep, datetime.datetime.combine(day, datetime.time(h, 0), tzinfo=OSLO))
        for h in (9, 10, 11, 12, 13, 14)
    ]
    return w


@pytest.fixture
def world(clinic):
    return build(clinic)


def path(w, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"ep_ident": w.clinic.ep_ident, **kwargs})


def choose(client: Client, w, who) -> object:
    return client.post(path(w, "identification:choose"), {"person": who.pk})


def acting_as(actor, subject, w) -> Client:
    client = factories.log_in_patient(actor)
    response = choose(client, w, subject)
    assert response.status_code == 302, response
    return client


def appointment(w, patient, slot) -> Appointment:
    return Appointment.objects.create(
        slot=slot,
        patient=patient,
        practitioner=w.gp,
        start=slot.start,
        end=slot.end,
        reason="Kontroll",
    )


# The chooser


def test_the_chooser_offers_oneself_and_only_whom_one_may_act_for(world):
    w = world
    client = factories.log_in_patient(w.parent)
    page = client.get(path(w, "identification:choose"))
    assert page.status_code == 200
    assert [r.patient for r in page.context["people"]] == [w.child]
    html = page.content.decode()
    assert 'value="self"' in html and f'value="{w.child.pk}"' in html
    assert f'value="{w.other_child.pk}"' not in html


@pytest.mark.parametrize("junk", ["other_child", "parent", "holder", "abc", "", "99999999"])
def test_choosing_anyone_else_changes_nothing(world, junk):
    w = world
    client = factories.log_in_patient(w.parent)
    target = getattr(w, junk, None)
    response = client.post(
        path(w, "identification:choose"), {"person": target.pk if target else junk}
    )
    assert response.status_code == 404
    assert SESSION_ACTING_FOR not in client.session
    home = client.get(path(w, "identification:home"))
    assert home.wsgi_request.patient == w.parent
    assert b"acting-banner" not in home.content


def test_acting_for_the_child_shows_whom_on_every_page_and_back_to_oneself(world):
    w = world
    client = acting_as(w.parent, w.child, w)
    for name in ("identification:home", "booking:book", "booking:mine", "econsult:mine"):
        page = client.get(path(w, name))
        assert page.status_code == 200, name
        request = page.wsgi_request
        assert request.patient == w.child and request.patient_actor == w.parent
        html = page.content.decode()
        assert f'data-acting-for="{w.child.pk}"' in html  # the banner
        assert "Anna Hansen" in html and "Mor Hansen" in html  # whom, and who is logged in
        assert path(w, "identification:choose") in html  # "Switch person"
    response = client.post(path(w, "identification:choose"), {"person": "self"})
    assert response.status_code == 302
    home = client.get(path(w, "identification:home"))
    assert home.wsgi_request.patient == w.parent
    assert b"acting-banner" not in home.content
    assert AuditEvent.objects.filter(
        action="patient.acting_started", patient=w.parent, subject=w.child
    ).exists()
    assert AuditEvent.objects.filter(action="patient.acting_stopped", patient=w.parent).exists()


def test_logout_ends_acting(world):
    w = world
    client = acting_as(w.parent, w.child, w)
    client.post(path(w, "identification:logout"))
    assert SESSION_ACTING_FOR not in client.session
    assert AuditEvent.objects.get(action="patient.logout").patient == w.parent
    again = factories.log_in_patient(w.parent, client=client)
    assert again.get(path(w, "identification:home")).wsgi_request.patient == w.parent


# After login


def _sms_login(client: Client, w, patient, capture) -> object:
    import re

    from django.contrib.auth.hashers import make_password

    import sms
    from identification.models import PatientCredential

    PatientCredential.objects.create(patient=patient, password=make_password("fjelltur-2026!"))
    with capture(execute=True):  # the code's SMS goes after the commit
        client.post(
            path(w, "identification:login"),
            {"national_id": patient.national_id, "password": "fjelltur-2026!"},
        )
    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1)
    return client.post(path(w, "identification:login_code"), {"code": code})


def test_login_goes_to_the_chooser_only_for_who_may_act_for_someone(
    world, client, django_capture_on_commit_callbacks
):
    w, capture = world, django_capture_on_commit_callbacks
    assert _sms_login(client, w, w.parent, capture)["Location"] == path(w, "identification:choose")
    alone = _sms_login(Client(), w, w.patient, capture)
    assert alone["Location"] == path(w, "identification:home")


def test_the_page_asked_for_before_login_comes_after_the_choice(
    world, client, django_capture_on_commit_callbacks
):
    w, capture = world, django_capture_on_commit_callbacks
    client.get(path(w, "booking:mine"))  # logged out: remembered, off to the login
    assert _sms_login(client, w, w.parent, capture)["Location"] == path(w, "identification:choose")
    assert choose(client, w, w.child)["Location"] == path(w, "booking:mine")


# Re-checked on every request


def test_the_child_is_lost_on_the_12th_birthday_itself():
    born = datetime.date(2014, 6, 15)
    evening = datetime.datetime(2026, 6, 14, 23, 50, tzinfo=OSLO)
    with time_machine.travel(evening, tick=False) as clock:
        w = build(factories.make_clinic("DEMO1"), child_born=born)
        booked = appointment(w, w.child, w.slots[0])
        client = acting_as(w.parent, w.child, w)
        client.cookies["eportal_language"] = "en"  # the message's words are the catalogue's
        page = client.get(path(w, "booking:mine"))
        assert page.status_code == 200 and page.wsgi_request.patient == w.child
        assert f"/mine-timer/{booked.pk}/" in page.content.decode()

        clock.move_to(datetime.datetime(2026, 6, 15, 0, 0, 5, tzinfo=OSLO))
        response = client.post(
            path(w, "booking:cancel", appointment_id=booked.pk), {"confirm": "yes"}
        )
        assert response.status_code == 302
        assert response["Location"] == path(w, "identification:home")
        booked.refresh_from_db()
        assert booked.status == Appointment.Status.BOOKED  # nothing done for anyone
        home = client.get(response["Location"])
        assert home.status_code == 200 and home.wsgi_request.patient == w.parent
        assert b"acting-banner" not in home.content
        assert "You can no longer act on behalf" in _messages(home)
        assert SESSION_ACTING_FOR not in client.session
        event = AuditEvent.objects.get(action="patient.acting_dropped")
        assert (event.patient, event.subject) == (w.parent, w.child)
        assert event.details["reason"] == "child_too_old"
        # And choosing the child again is refused.
        assert choose(client, w, w.child).status_code == 404


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_a_power_of_attorney_ended_mid_session_is_dropped_at_the_next_request(world):
    w = world
    client = acting_as(w.holder, w.giver, w)
    assert client.get(path(w, "econsult:mine")).wsgi_request.patient == w.giver
    PowerOfAttorney.objects.filter(pk=w.attorney.pk).update(ended_at=timezone.now())
    response = client.post(path(w, "econsult:new"), {"practitioner": w.gp.pk, "subject": "x"})
    assert response.status_code == 302
    assert response["Location"] == path(w, "identification:home")
    assert not Consultation.objects.exists()
    assert client.get(response["Location"]).wsgi_request.patient == w.holder


def test_a_confidential_address_set_mid_session_drops_the_choice(world):
    w = world
    client = acting_as(w.parent, w.child, w)
    type(w.child).objects.filter(pk=w.child.pk).update(confidential_address=True)
    response = client.get(path(w, "booking:mine"))
    assert response["Location"] == path(w, "identification:home")
    assert client.get(response["Location"]).wsgi_request.patient == w.parent


# The services the relation covers


def test_a_power_of_attorney_for_econsultation_covers_nothing_else(world):
    w = world
    theirs = appointment(w, w.giver, w.slots[1])
    Medication.objects.create(patient=w.giver, key="m1", name="Albyl-E", group="C")
    client = acting_as(w.holder, w.giver, w)
    home = client.get(path(w, "identification:home"))
    services = [s["service"] for s in home.context["patient_services"]]
    assert "econsult" in services
    assert not {"booking", "urgent", "renewal"} & set(services)
    assert client.get(path(w, "booking:book")).context["practitioners"] == []
    response = client.post(
        path(w, "booking:confirm", slot_id=w.slots[0].pk), {"reason": "Vondt i ryggen"}
    )
    assert response.status_code != 500
    assert not Appointment.objects.filter(slot=w.slots[0]).exists()
    mine = client.get(path(w, "booking:mine"))
    assert f"/mine-timer/{theirs.pk}/" not in mine.content.decode()
    cancel = path(w, "booking:cancel", appointment_id=theirs.pk)
    assert client.post(cancel, {"confirm": "yes"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Appointment.Status.BOOKED
    renewal = client.get(path(w, "econsult:renewal"))
    assert renewal.status_code != 500 and not renewal.context.get("practitioners")
    # What it covers works: the giver's eConsultation page offers their GP.
    page = client.get(path(w, "econsult:new"))
    assert page.status_code == 200 and w.gp.name in page.content.decode()


def test_the_powers_of_attorney_pages_are_only_for_oneself(world):
    w = world
    client = acting_as(w.parent, w.child, w)
    own = power_of_attorney(w.neighbour, w.parent, "booking")
    for url in (
        path(w, "identification:attorneys"),
        path(w, "identification:attorney_give"),
        path(w, "identification:attorney_end", attorney_id=own.pk),
    ):
        for method in (client.get, client.post):
            response = method(url, {"confirm": "yes", "national_id": w.neighbour.national_id})
            assert response.status_code == 403, url
    own.refresh_from_db()
    assert own.ended_at is None
    assert PowerOfAttorney.objects.count() == 2


def test_the_access_log_while_acting_is_the_childs_not_the_givers(world):
    w = world
    parent = acting_as(w.parent, w.child, w)
    page = parent.get(path(w, "identification:access_log"))
    assert page.status_code == 200
    assert [e.who for e in page.context["entries"]] == ["Mor Hansen"]  # began acting
    holder = acting_as(w.holder, w.giver, w)
    assert holder.get(path(w, "identification:access_log")).status_code == 403


# Everything done for another is recorded with both


def test_booking_cancel_econsult_and_renewal_for_a_child_record_both(world):
    w = world
    medicine = Medication.objects.create(patient=w.child, key="m1", name="Albyl-E", group="C")
    client = acting_as(w.parent, w.child, w)
    client.cookies["eportal_language"] = "en"

    response = client.post(path(w, "booking:confirm", slot_id=w.slots[0].pk), {"reason": "Feber"})
    booked = Appointment.objects.get()
    assert response.status_code == 302 and booked.patient == w.child
    client.post(path(w, "booking:cancel", appointment_id=booked.pk), {"confirm": "yes"})
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED

    key = client.get(path(w, "econsult:new")).context["key"]
    client.post(
        path(w, "econsult:new"),
        {"practitioner": w.gp.pk, "subject": "Utslett", "body": "Det klør", "key": key},
    )
    assert Consultation.objects.get().patient == w.child

    key = client.get(path(w, "econsult:renewal")).context["key"]
    client.post(
        path(w, "econsult:renewal"),
        {"practitioner": w.gp.pk, "medications": [medicine.pk], "key": key},
    )
    assert RenewalRequest.objects.get().patient == w.child

    for action in ("booking.book", "booking.cancel", "econsult.sent", "renewal.requested"):
        event = AuditEvent.objects.get(action=action)
        assert (event.patient, event.subject) == (w.parent, w.child), action
        assert event.actor_type == AuditEvent.ActorType.PATIENT

    entries, _ = access_log(w.child)
    assert {e.who for e in entries} == {"Mor Hansen"}
    assert {
        "Appointment booked",
        "Appointment cancelled",
        "eConsultation sent",
        "Prescription renewal requested",
    } <= {e.what for e in entries}
    page = client.get(path(w, "identification:access_log"))
    html = page.content.decode()
    assert "Mor Hansen" in html and "Appointment booked" in html
    # Not the parent's own log: their own actions are not listed there.
    assert access_log(w.parent)[0] == []


# Nobody else's objects: every patient URL with an object id, by GET and POST


def _objects(w, patient, slot):
    """One appointment, consultation (with a file) and renewal request of ``patient``."""
    booked = appointment(w, patient, slot)
    consultation = consultation_send(
        patient=patient, practitioner_id=w.gp.pk, subject="Utslett", body="Det klør"
    )
    medicine = Medication.objects.create(patient=patient, key="m1", name="Albyl-E", group="C")
    renewal = renewal_request(
        patient=patient, practitioner_id=w.gp.pk, medication_ids=[medicine.pk]
    )
    return booked, consultation, renewal


def _object_urls(w, objects, free_slot):
    booked, consultation, renewal = objects
    return [
        path(w, "booking:booked", appointment_id=booked.pk),
        path(w, "booking:cancel", appointment_id=booked.pk),
        path(w, "booking:ics", appointment_id=booked.pk),
        path(w, "booking:move", appointment_id=booked.pk),
        path(w, "booking:move_confirm", appointment_id=booked.pk, slot_id=free_slot.pk),
        path(w, "econsult:thread", consultation_id=consultation.pk),
        path(w, "econsult:renewal_detail", request_id=renewal.pk),
    ]


POST = {"confirm": "yes", "body": "Mer", "reason": "x", "key": ""}


def _state():
    return (
        sorted(Appointment.objects.values_list("pk", "status", "slot_id")),
        Consultation.objects.count(),
        sorted(Consultation.objects.values_list("pk", "status")),
        RenewalRequest.objects.count(),
    )


def test_idor_while_acting_for_a_only_as_objects_are_reached(world):
    w = world
    mine = _objects(w, w.child, w.slots[0])
    others = {
        "other child": _objects(w, w.other_child, w.slots[1]),
        "the parent's own": _objects(w, w.parent, w.slots[2]),
    }
    client = acting_as(w.parent, w.child, w)
    for url in _object_urls(w, mine, w.slots[5]):
        if "avbestill" not in url:
            assert client.get(url).status_code == 200, url
    before = _state()
    for whose, objects in others.items():
        for url in _object_urls(w, objects, w.slots[5]):
            for method in ("get", "post"):
                response = getattr(client, method)(url, POST)
                expected = 405 if (method == "get" and "avbestill" in url) else 404
                assert response.status_code == expected, (whose, url, method)
    assert _state() == before


def test_after_the_12th_birthday_nothing_of_the_childs_is_reached():
    born = datetime.date(2014, 6, 15)
    with time_machine.travel(datetime.datetime(2026, 6, 14, 23, 50, tzinfo=OSLO), tick=False) as t:
        w = build(factories.make_clinic("DEMO1"), child_born=born)
        mine = _objects(w, w.child, w.slots[0])
        client = acting_as(w.parent, w.child, w)
        urls = _object_urls(w, mine, w.slots[5])
        assert client.get(urls[0]).status_code == 200
        t.move_to(datetime.datetime(2026, 6, 15, 0, 0, 5, tzinfo=OSLO))
        before = _state()
        first = client.post(urls[1], POST)  # cancel: the choice is dropped, nothing done
        assert first["Location"] == path(w, "identification:home")
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url, POST)
                expected = 405 if (method == "get" and "avbestill" in url) else 404
                assert response.status_code == expected, (url, method)
        assert _state() == before
        assert choose(client, w, w.child).status_code == 404


# Queries: acting adds a fixed few


def _queries(client: Client, url: str) -> int:
    client.get(url)  # the session and the catalogues warm
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["identification:home", "booking:mine", "econsult:mine"])
def test_acting_adds_three_queries_to_a_page_whatever_the_data(world, name):
    w = world
    url = path(w, name)
    themselves = _queries(factories.log_in_patient(w.child), url)
    acting = _queries(acting_as(w.parent, w.child, w), url)
    assert acting == themselves + 3  # the person's row, and may_act_for's two
    # More children, powers of attorney and appointments: the same.
    for n in range(3):
        extra = person(w, f"Barn {n}", years_ago(3 + n))
        family(w, w.parent, extra)
        power_of_attorney(person(w, f"Giver {n}", years_ago(60)), w.parent, "booking")
        appointment(w, w.child, w.slots[n])
    assert _queries(acting_as(w.parent, w.child, w), url) == acting


def test_a_power_of_attorney_for_booking_covers_no_messages_renewals_or_reception(world):
    w = world
    from econsult.selectors import econsult_settings

    assert econsult_settings(w.clinic).reception_enabled
    PowerOfAttorney.objects.filter(pk=w.attorney.pk).update(
        covers_econsult=False, covers_booking=True
    )
    thread = consultation_send(
        patient=w.giver, practitioner_id=w.gp.pk, subject="Utslett", body="Det klør"
    )
    client = acting_as(w.holder, w.giver, w)
    home = client.get(path(w, "identification:home"))
    services = {s["service"] for s in home.context["patient_services"]}
    assert services == {"booking", "urgent"}
    thread_url = path(w, "econsult:thread", consultation_id=thread.pk)
    assert thread_url not in client.get(path(w, "econsult:mine")).content.decode()
    themself = factories.log_in_patient(w.giver)  # the giver sees it
    assert thread_url in themself.get(path(w, "econsult:mine")).content.decode()
    assert client.get(path(w, "econsult:thread", consultation_id=thread.pk)).status_code == 404
    before = Consultation.objects.count()
    client.post(path(w, "econsult:reception"), {"subject": "Adresse", "body": "Ny", "key": ""})
    assert Consultation.objects.count() == before
    # And booking works for the giver.
    client.post(path(w, "booking:confirm", slot_id=w.slots[0].pk), {"reason": "Kontroll"})
    assert Appointment.objects.get().patient == w.giver


# The SMS of an appointment booked for another go to the one who booked it


def test_a_parents_booking_for_a_child_sends_its_sms_to_the_parent(world):
    w = world
    w.child.mobile = ""  # a child's record often has no number
    w.child.save(update_fields=["mobile"])
    client = acting_as(w.parent, w.child, w)
    client.cookies["eportal_language"] = "en"
    slot = w.slots[0]
    response = client.post(path(w, "booking:confirm", slot_id=slot.pk), {"reason": "Vaksine"})
    assert response.status_code == 302, response
    booked = Appointment.objects.get(patient=w.child)
    assert booked.booked_by == w.parent
    sent = list(OutboxMessage.objects.order_by("pk").values_list("recipient", "purpose", "text"))
    assert [(to, purpose) for to, purpose, _text in sent] == [
        (w.parent.mobile, "booking_confirmation")
    ]
    assert "Vaksine" not in sent[0][2]  # never the reason
    # The cancellation too (and a move, and the reminder, read the same field).
    client.post(path(w, "booking:cancel", appointment_id=booked.pk), {"confirm": "yes"})
    assert OutboxMessage.objects.order_by("pk").last().recipient == w.parent.mobile
    # Booked by the patient themself: to the patient.
    own = factories.log_in_patient(w.parent)
    own.post(path(w, "booking:confirm", slot_id=w.slots[1].pk), {"reason": "Kontroll"})
    mine = Appointment.objects.get(patient=w.parent)
    assert mine.booked_by is None
    assert OutboxMessage.objects.order_by("pk").last().recipient == w.parent.mobile


def test_answers_to_what_a_parent_sent_for_a_child_are_told_to_the_parent(world):
    w = world
    w.child.mobile = ""
    w.child.save(update_fields=["mobile"])
    medicine = Medication.objects.create(patient=w.child, key="m1", name="Albyl-E", group="C")
    client = acting_as(w.parent, w.child, w)
    key = client.get(path(w, "econsult:new")).context["key"]
    client.post(
        path(w, "econsult:new"),
        {"practitioner": w.gp.pk, "subject": "Utslett", "body": "Det klør", "key": key},
    )
    key = client.get(path(w, "econsult:renewal")).context["key"]
    client.post(
        path(w, "econsult:renewal"),
        {"practitioner": w.gp.pk, "medications": [medicine.pk], "key": key},
    )
    consultation, renewal = Consultation.objects.get(), RenewalRequest.objects.get()
    assert consultation.sent_by == w.parent and renewal.sent_by == w.parent
    staff = factories.make_staff(w.clinic, practitioner=w.gp)
    consultation_answer(staff=staff, consultation_id=consultation.pk, body="Smør med krem.")
    item = renewal.items.get()
    renewal_handle(staff=staff, request_id=renewal.pk, decisions={item.pk: Decision("approved")})
    sent = list(OutboxMessage.objects.order_by("pk").values_list("recipient", "purpose", "text"))
    assert [(to, purpose) for to, purpose, _ in sent] == [
        (w.parent.mobile, "econsult_answer"),
        (w.parent.mobile, "renewal_handled"),
    ]
    assert not any("Albyl" in text or "krem" in text for _, _, text in sent)
