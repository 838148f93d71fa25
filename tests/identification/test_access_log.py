"""The patient's access log ("Hvem har sett mine opplysninger", docs/architecture.md):
staff reads of the patient's data where they happen, what a representative did for them,
only the patient's own, newest first, in constant queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking.models import Appointment
from clinics import audit
from clinics.models import AuditEvent, Practitioner
from econsult.models import Consultation
from econsult.services import consultation_send
from tests import factories
from tests.factories import make_slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(clinic):
    w = factories.build_booking_world(clinic)
    w.nurse = factories.make_practitioner(clinic, "Siv Sykepleier", role=Practitioner.Role.NURSE)
    w.gp_user = factories.make_staff(
        clinic,
        email="lege@bakkehuset.example",
        practitioner=w.gp,
        first_name="Kari",
        last_name="Nordmann",
    )
    w.admin = factories.make_staff(clinic, email="admin@bakkehuset.example")
    w.reception = factories.make_staff(
        clinic, email="skranke@bakkehuset.example", is_reception=True
    )
    w.other = factories.make_patient(clinic, name="Ola Nabo", patient_list=w.gp_list)
    return w


def log_url(clinic) -> str:
    return reverse("identification:access_log", kwargs={"ep_ident": clinic.ep_ident})


def rows(client: Client, clinic) -> list[list[str]]:
    """The log's lines (in English: the words are the catalogue's)."""
    client.cookies["eportal_language"] = "en"
    response = client.get(log_url(clinic))
    assert response.status_code == 200
    return [[e.who, e.role, e.what] for e in response.context["entries"]]


def consultation(w, patient) -> Consultation:
    return consultation_send(
        patient=patient, practitioner_id=w.gp.pk, subject="Utslett", body="Det klør"
    )


def test_staff_reads_of_consultation_record_and_appointment_are_listed(world, admin_client_for):
    w = world
    mine = consultation(w, w.patient)
    theirs = consultation(w, w.other)
    staff = admin_client_for(w.gp_user)
    assert staff.get(f"/admin/econsult/inbox/{mine.pk}/").status_code == 200
    assert staff.get(f"/admin/econsult/inbox/{theirs.pk}/").status_code == 200
    slot = make_slot(w.gp, w.ep, datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3))
    appointment = Appointment.objects.create(
        slot=slot,
        patient=w.patient,
        practitioner=w.gp,
        start=slot.start,
        end=slot.end,
        reason="Kontroll",
    )
    admin = admin_client_for(w.admin)
    assert admin.get(f"/admin/booking/appointment/{appointment.pk}/change/").status_code == 200
    assert admin.get(f"/admin/clinics/patient/{w.patient.pk}/change/").status_code == 200

    listed = rows(factories.log_in_patient(w.patient), w.clinic)
    assert listed == [
        ["A member of staff", "Clinic administrator", "Patient record opened"],
        ["A member of staff", "Clinic administrator", "Appointment opened"],
        ["Kari Nordmann", "GP", "eConsultation read"],
    ]
    # The neighbour sees the read of their own consultation only.
    assert rows(factories.log_in_patient(w.other), w.clinic) == [
        ["Kari Nordmann", "GP", "eConsultation read"]
    ]


def test_the_patients_own_actions_and_system_events_are_not_listed(world):
    w = world
    audit.record("patient.login", patient=w.patient)
    audit.record("booking.list_viewed", patient=w.patient)
    audit.record("sms.sent", clinic=w.clinic, obj=w.patient)  # a system event
    assert rows(factories.log_in_patient(w.patient), w.clinic) == []


def test_a_representatives_actions_are_listed_with_their_name(world):
    w = world
    parent = factories.make_patient(w.clinic, name="Mor Testesen")
    audit.record("booking.book", patient=parent, subject=w.patient)
    assert rows(factories.log_in_patient(w.patient), w.clinic) == [
        ["Mor Testesen", "Acting for you", "Appointment booked"]
    ]
    # In the representative's own log it is their own action: not listed.
    assert rows(factories.log_in_patient(parent), w.clinic) == []


def test_roles_in_words(world):
    w = world
    nurse_user = factories.make_staff(w.clinic, practitioner=w.nurse)
    for user in (nurse_user, w.reception):
        audit.record("patient.read", staff=user, obj=w.patient)
    assert rows(factories.log_in_patient(w.patient), w.clinic) == [
        ["A member of staff", "Reception", "Patient record opened"],
        ["Siv Sykepleier", "Nurse", "Patient record opened"],
    ]


def test_the_page_is_in_constant_queries_and_pages_by_fifty(world):
    w = world
    client = factories.log_in_patient(w.patient)
    client.get(log_url(w.clinic))  # the session read once

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(log_url(w.clinic)).status_code == 200
        return len(queries)

    for _ in range(3):
        audit.record("patient.read", staff=w.gp_user, obj=w.patient)
    few = count()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                action="econsult.viewed",
                actor_type=AuditEvent.ActorType.STAFF,
                staff=user,
                clinic=w.clinic,
                subject=w.patient,
            )
            for user in [w.gp_user, w.admin, w.reception] * 40
        ]
    )
    assert count() == few
    first = client.get(log_url(w.clinic))
    assert len(first.context["entries"]) == 50 and first.context["older"] == 2
    third = client.get(log_url(w.clinic) + "?page=3")
    assert len(third.context["entries"]) == 23 and third.context["older"] is None
    assert client.get(log_url(w.clinic) + "?page=abc").status_code == 200


def test_the_page_needs_a_login_and_is_linked_from_home(world, client):
    w = world
    response = client.get(log_url(w.clinic))
    assert response.status_code == 302
    home = factories.log_in_patient(w.patient).get(
        reverse("identification:home", kwargs={"ep_ident": w.clinic.ep_ident})
    )
    assert log_url(w.clinic) in home.content.decode()
