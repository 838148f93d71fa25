"""The clinic's side: the inbox, reading (audited), answering, closing, booking, moving."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

import sms
from clinics.models import AuditEvent
from econsult.models import Consultation
from econsult.services import consultation_send
from tests import factories

pytestmark = pytest.mark.django_db

INBOX = "/admin/econsult/inbox/"


def detail(consultation) -> str:
    return reverse("admin:econsult_inbox_detail", kwargs={"consultation_id": consultation.pk})


def send(world, patient=None, subject="Hoste", practitioner=None):
    return consultation_send(
        patient=patient or world.patient,
        practitioner_id=(practitioner or world.gp).pk,
        subject=subject,
        body="Jeg har hostet i tre uker.",
    )


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST as the request does it in production: what waits for the commit runs."""

    def posting(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return posting


@pytest.fixture
def gp_user(world):
    return factories.make_staff(
        world.clinic, email="hansen@bakkehuset.example", practitioner=world.gp
    )


def test_inbox_lists_open_ones_by_answer_by_date_overdue_marked_unread_bold(
    world, gp_user, admin_client_for
):
    late = send(world, subject="Gammel")
    Consultation.objects.filter(pk=late.pk).update(answer_by=datetime.date(2020, 1, 6))
    fresh = send(world, patient=world.neighbour, subject="Ny")
    Consultation.objects.filter(pk=fresh.pk).update(unread_by_staff=False, status="read")
    page = admin_client_for(gp_user).get(INBOX)
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [row.consultation.subject for row in rows] == ["Gammel", "Ny"]
    assert rows[0].overdue and not rows[1].overdue
    html = page.content.decode()
    assert 'class="row1 unread overdue"' in html
    assert "Forfalt" in html


def test_a_practitioner_sees_their_own_by_default_and_may_see_all(world, gp_user, admin_client_for):
    from delegation.services import service_matrix_save

    service_matrix_save(
        clinic=world.clinic,
        service="econsult",
        cells=[(world.gp_list.pk, world.gp.pk), (world.gp_list.pk, world.locum.pk)],
    )
    send(world, subject="Til fastlegen")
    send(world, subject="Til vikaren", practitioner=world.locum)
    client = admin_client_for(gp_user)
    own = [r.consultation.subject for r in client.get(INBOX).context["rows"]]
    assert own == ["Til fastlegen"]
    every = [
        r.consultation.subject for r in client.get(INBOX + "?practitioner=all").context["rows"]
    ]
    assert sorted(every) == ["Til fastlegen", "Til vikaren"]


def test_opening_marks_read_and_every_read_is_audited(world, gp_user, admin_client_for):
    consultation = send(world)
    client = admin_client_for(gp_user)
    assert client.get(detail(consultation)).status_code == 200
    consultation.refresh_from_db()
    assert consultation.status == "read"
    assert not consultation.unread_by_staff
    client.get(detail(consultation))
    reads = AuditEvent.objects.filter(action="econsult.viewed", staff=gp_user)
    assert reads.count() == 2
    assert reads.first().object_id == str(consultation.pk)


def test_answer_sends_the_sms_and_nothing_more(world, gp_user, admin_client_for, post):
    consultation = send(world)
    client = admin_client_for(gp_user)
    response = post(client, detail(consultation), {"action": "answer", "body": "Kom inn til time."})
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == "answered"
    assert consultation.unread_by_patient
    link = "http://testserver" + reverse(  # the request's own scheme (public_url)
        "econsult:thread",
        kwargs={"ep_ident": world.clinic.ep_ident, "consultation_id": consultation.pk},
    )
    assert [m.text for m in sms.outbox] == [
        f"Du har fått svar fra {world.clinic.name}. Logg inn for å lese: {link}"
    ]
    assert sms.outbox[0].recipient == world.patient.mobile


def test_the_answer_sms_speaks_the_patients_language(
    world, gp_user, admin_client_for, settings, post
):
    from django.utils import translation

    settings.EPORTAL_PUBLIC_BASE_URL = "https://portal.example"
    with translation.override("en"):
        consultation = send(world)
    post(admin_client_for(gp_user), detail(consultation), {"action": "answer", "body": "Svar"})
    assert sms.outbox[0].text.startswith(f"You have an answer from {world.clinic.name}.")
    assert "https://portal.example/c/" in sms.outbox[0].text


def test_an_empty_answer_is_refused(world, gp_user, admin_client_for):
    consultation = send(world)
    response = admin_client_for(gp_user).post(
        detail(consultation), {"action": "answer", "body": " "}
    )
    assert response.status_code == 400
    consultation.refresh_from_db()
    assert consultation.status == "read"  # the page showed it again: a read, not an answer
    assert consultation.messages.count() == 1
    assert not sms.outbox


def test_answer_and_close_then_nothing_more(world, gp_user, admin_client_for, post):
    consultation = send(world)
    client = admin_client_for(gp_user)
    post(client, detail(consultation), {"action": "answer_close", "body": "Svar"})
    consultation.refresh_from_db()
    assert consultation.status == "closed" and consultation.closed_at
    again = client.post(detail(consultation), {"action": "answer", "body": "Mer"}, follow=True)
    assert again.status_code == 200
    assert consultation.messages.count() == 2
    assert len(sms.outbox) == 1


def test_close_without_answer(world, gp_user, admin_client_for):
    consultation = send(world)
    admin_client_for(gp_user).post(detail(consultation), {"action": "close"})
    consultation.refresh_from_db()
    assert consultation.status == "closed"
    assert not sms.outbox
    assert AuditEvent.objects.filter(action="econsult.closed").exists()


def test_convert_to_booking(world, gp_user, admin_client_for, post):
    consultation = send(world)
    post(
        admin_client_for(gp_user),
        detail(consultation),
        {"action": "offer_booking", "body": "Dette må vi se på."},
    )
    consultation.refresh_from_db()
    assert consultation.booking_offered and consultation.status == "closed"
    assert len(sms.outbox) == 1


def test_an_administrator_reassigns_audited(world, clinic_admin, admin_client_for):
    consultation = send(world)
    response = admin_client_for(clinic_admin).post(
        detail(consultation), {"action": "reassign", "practitioner": world.locum.pk}
    )
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.practitioner == world.locum
    event = AuditEvent.objects.get(action="econsult.reassigned")
    assert event.details == {"from": world.gp.pk, "to": world.locum.pk}
    assert event.staff == clinic_admin


def test_a_practitioner_without_the_permission_cannot_reassign(world, gp_user, admin_client_for):
    consultation = send(world)
    client = admin_client_for(gp_user)
    assert client.get(detail(consultation)).context["reassign_form"] is None
    client.post(detail(consultation), {"action": "reassign", "practitioner": world.locum.pk})
    consultation.refresh_from_db()
    assert consultation.practitioner == world.gp
    gp_user.user_permissions.add(Permission.objects.get(codename="reassign_consultation"))
    gp_user = type(gp_user).objects.get(pk=gp_user.pk)  # a fresh permission cache
    admin_client_for(gp_user).post(
        detail(consultation), {"action": "reassign", "practitioner": world.locum.pk}
    )
    consultation.refresh_from_db()
    assert consultation.practitioner == world.locum


def test_reassigning_to_another_clinics_practitioner_is_refused(
    world, other_world, clinic_admin, admin_client_for
):
    consultation = send(world)
    response = admin_client_for(clinic_admin).post(
        detail(consultation), {"action": "reassign", "practitioner": other_world.gp.pk}
    )
    assert response.status_code == 400
    consultation.refresh_from_db()
    assert consultation.practitioner == world.gp


def test_staff_user_practitioner_must_be_of_their_clinic(world, other_world):
    from django.core.exceptions import ValidationError

    user = factories.make_staff(world.clinic)
    user.practitioner = other_world.gp
    with pytest.raises(ValidationError):
        user.full_clean()


def test_unknown_action_changes_nothing(world, gp_user, admin_client_for):
    consultation = send(world)
    response = admin_client_for(gp_user).post(detail(consultation), {"action": "explode"})
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == "sent"


def test_superuser_chooses_the_clinic(world, other_world, superuser, admin_client_for):
    send(world, subject="Her")
    send(other_world, subject="Der")
    client = admin_client_for(superuser)
    here = client.get(INBOX + f"?clinic={world.clinic.pk}&practitioner=all")
    assert [r.consultation.subject for r in here.context["rows"]] == ["Her"]


def test_the_inbox_pages_through_many(world, gp_user, admin_client_for):
    from econsult.selectors import INBOX_PAGE_SIZE

    for n in range(INBOX_PAGE_SIZE + 3):
        Consultation.objects.create(
            clinic=world.clinic,
            patient=world.patient,
            practitioner=world.gp,
            subject=f"T{n:03d}",
            intake_day=datetime.date(2026, 12, 1),
            answer_by=datetime.date(2026, 12, 1) + datetime.timedelta(days=n),
            last_patient_message_at="2026-12-01T08:00:00Z",
        )
    client = admin_client_for(gp_user)
    first = client.get(INBOX)
    assert len(first.context["rows"]) == INBOX_PAGE_SIZE
    assert first.context["found"].total == INBOX_PAGE_SIZE + 3
    second = client.get(INBOX + "?page=2")
    assert [r.consultation.subject for r in second.context["rows"]] == [
        f"T{n:03d}" for n in range(INBOX_PAGE_SIZE, INBOX_PAGE_SIZE + 3)
    ]
    assert client.get(INBOX + "?page=999").status_code == 200
    assert client.get(INBOX + "?page=abc").status_code == 200


def test_looking_at_the_inbox_is_audited(world, gp_user, admin_client_for):
    send(world)
    admin_client_for(gp_user).get(INBOX)
    event = AuditEvent.objects.get(action="econsult.inbox_viewed")
    assert event.staff == gp_user and event.clinic == world.clinic
    assert event.details == {"show": "open", "practitioner": world.gp.pk, "rows": 1}
