"""Patients see only their own threads and files, staff only their clinic's; nothing of a
consultation's content reaches a log line, an SMS or the audit log; consultations are kept."""

from __future__ import annotations

import logging

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

import sms
from clinics.models import AuditEvent
from econsult.models import Attachment, Consultation
from econsult.services import consultation_answer, consultation_send
from tests import factories

from .conftest import png

pytestmark = pytest.mark.django_db

CANARY = "KANARIFUGL"


def sent_with_file(world, patient=None, subject="Om meg"):
    from econsult.files import check_uploads

    return consultation_send(
        patient=patient or world.patient,
        practitioner_id=world.gp.pk,
        subject=subject,
        body="Privat",
        files=check_uploads([png()]),
    )


def patient_urls(clinic, consultation):
    attachment = Attachment.objects.filter(message__consultation=consultation).first()
    kw = {"ep_ident": clinic.ep_ident}
    return [
        ("get", reverse("econsult:thread", kwargs={**kw, "consultation_id": consultation.pk})),
        ("post", reverse("econsult:thread", kwargs={**kw, "consultation_id": consultation.pk})),
        ("get", reverse("econsult:attachment", kwargs={**kw, "attachment_id": attachment.pk})),
    ]


def test_another_patients_threads_and_files_are_404(world, patient_client_for):
    theirs = sent_with_file(world, patient=world.neighbour)
    client = patient_client_for(world.patient)
    for method, url in patient_urls(world.clinic, theirs):
        response = getattr(client, method)(url, {"body": "Hei"} if method == "post" else None)
        assert response.status_code == 404, (method, url)
    assert theirs.messages.count() == 1
    mine = client.get(reverse("econsult:mine", kwargs={"ep_ident": world.clinic.ep_ident}))
    assert "Om meg" not in mine.content.decode()


def test_another_clinics_ids_are_404_under_the_own_clinic(world, other_world, patient_client_for):
    theirs = sent_with_file(other_world)
    client = patient_client_for(world.patient)
    # The other clinic's ids, asked for under the patient's own clinic.
    for method, url in patient_urls(world.clinic, theirs):
        response = getattr(client, method)(url, {"body": "Hei"} if method == "post" else None)
        assert response.status_code == 404, (method, url)


def test_a_session_of_one_clinic_does_not_open_anothers_pages(
    world, other_world, patient_client_for
):
    theirs = sent_with_file(other_world)
    client = patient_client_for(world.patient)
    for method, url in patient_urls(other_world.clinic, theirs):
        response = getattr(client, method)(url, {"body": "Hei"} if method == "post" else None)
        assert response.status_code in (302, 404)
        assert response.status_code != 200
    assert theirs.messages.count() == 1


def test_staff_of_another_clinic_get_404_for_every_url_and_action(
    world, other_world, admin_client_for
):
    theirs = sent_with_file(other_world)
    attachment = Attachment.objects.get(message__consultation=theirs)
    client = admin_client_for(factories.make_staff(world.clinic, practitioner=world.gp))
    detail = reverse("admin:econsult_inbox_detail", kwargs={"consultation_id": theirs.pk})
    file_url = reverse("admin:econsult_inbox_file", kwargs={"attachment_id": attachment.pk})
    assert client.get(detail).status_code == 404
    assert client.get(file_url).status_code == 404
    for data in (
        {"action": "answer", "body": "x"},
        {"action": "answer_close", "body": "x"},
        {"action": "offer_booking", "body": "x"},
        {"action": "close"},
        {"action": "reassign", "practitioner": world.gp.pk},
        {"action": "reassign", "practitioner": other_world.locum.pk},
    ):
        assert client.post(detail, data).status_code == 404, data
    theirs.refresh_from_db()
    assert theirs.status == "sent" and theirs.practitioner == other_world.gp
    assert theirs.messages.count() == 1
    inbox = client.get("/admin/econsult/inbox/?practitioner=all")
    assert "Om meg" not in inbox.content.decode()
    assert client.get(f"/admin/econsult/inbox/?practitioner={other_world.gp.pk}").status_code == 404


def test_outsiders_get_nothing(world, client):
    consultation = sent_with_file(world)
    detail = reverse("admin:econsult_inbox_detail", kwargs={"consultation_id": consultation.pk})
    assert client.get(detail).status_code == 302  # to the admin login
    for method, url in patient_urls(world.clinic, consultation):
        assert getattr(client, method)(url).status_code == 302  # to the patient login


def test_staff_reading_a_file_is_audited(world, admin_client_for):
    consultation = sent_with_file(world)
    attachment = Attachment.objects.get()
    staff = factories.make_staff(world.clinic, practitioner=world.gp)
    url = reverse("admin:econsult_inbox_file", kwargs={"attachment_id": attachment.pk})
    response = admin_client_for(staff).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    event = AuditEvent.objects.get(action="econsult.attachment_viewed")
    assert event.staff == staff and event.object_id == str(consultation.pk)


def test_no_content_in_logs_sms_or_audit(
    world, caplog, patient_client_for, admin_client_for, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    client = patient_client_for(world.patient, method="bankid")
    new = reverse("econsult:new", kwargs={"ep_ident": world.clinic.ep_ident})
    key = client.get(new).context["key"]
    from .conftest import upload
    from .samples import PNG

    client.post(
        new,
        {
            "practitioner": world.gp.pk,
            "subject": f"{CANARY} emne",
            "body": f"{CANARY} melding",
            "key": key,
            "attachments": [upload(f"{CANARY}.png", PNG)],
        },
    )
    consultation = Consultation.objects.get()
    staff = factories.make_staff(world.clinic, practitioner=world.gp)
    staff_client = admin_client_for(staff)
    detail = reverse("admin:econsult_inbox_detail", kwargs={"consultation_id": consultation.pk})
    assert CANARY in staff_client.get(detail).content.decode()  # shown to staff, of course
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(detail, {"action": "answer", "body": f"{CANARY} svar"})
    thread = reverse(
        "econsult:thread",
        kwargs={"ep_ident": world.clinic.ep_ident, "consultation_id": consultation.pk},
    )
    client.post(thread, {"body": f"{CANARY} oppfølging"})
    assert len(sms.outbox) == 1
    assert all(CANARY not in message.text for message in sms.outbox)
    for record in caplog.records:
        assert CANARY not in record.getMessage(), record.getMessage()
        assert CANARY not in str(record.args or "")
    for event in AuditEvent.objects.all():
        assert CANARY not in f"{event.details} {event.object_repr} {event.action}"
    assert CANARY not in str(consultation)


def test_the_sms_names_no_practitioner_and_no_subject(world, django_capture_on_commit_callbacks):
    consultation = consultation_send(
        patient=world.patient, practitioner_id=world.gp.pk, subject="Hemorroider", body="b"
    )
    staff = factories.make_staff(world.clinic, practitioner=world.gp)
    with django_capture_on_commit_callbacks(execute=True):
        consultation_answer(staff=staff, consultation_id=consultation.pk, body="Svar")
    text = sms.outbox[0].text
    assert "Hemorroider" not in text
    assert world.gp.name not in text
    assert "Hansen" not in text


def test_consultations_are_kept_when_a_patient_would_be_deleted(world):
    consultation = consultation_send(
        patient=world.patient, practitioner_id=world.gp.pk, subject="s", body="b"
    )
    with pytest.raises(ProtectedError):
        world.patient.delete()
    assert Consultation.objects.filter(pk=consultation.pk).exists()
