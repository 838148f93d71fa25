"""The patient's side: "Ny eKonsultasjon", "Mine meldinger", a thread, reading answers."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from clinics.models import AuditEvent
from delegation.models import Service
from delegation.services import service_matrix_save
from econsult.models import Attachment, CapacityPeriod, Consultation, EconsultSettings, Message
from econsult.services import consultation_answer, consultation_send
from tests import factories

from .conftest import png, upload
from .samples import EXE, PDF

pytestmark = pytest.mark.django_db


def url(name, world, **kwargs):
    return reverse(f"econsult:{name}", kwargs={"ep_ident": world.clinic.ep_ident, **kwargs})


def send_form(world, client, **data):
    page = client.get(url("new", world))
    assert page.status_code == 200, page.content
    key = page.context["key"]
    payload = {
        "practitioner": world.gp.pk,
        "subject": "Utslett",
        "body": "Jeg har fått utslett på armen.",
        "key": key,
        **data,
    }
    return client.post(url("new", world), payload)


def test_home_links_to_new_econsultation(world, patient_client_for):
    client = patient_client_for(world.patient)
    home = client.get(reverse("identification:home", kwargs={"ep_ident": world.clinic.ep_ident}))
    assert url("new", world) in home.content.decode()
    assert url("mine", world) in home.content.decode()  # "Mine meldinger" in the header


def test_new_offers_the_matrix_practitioners_own_gp_first(world, patient_client_for):
    service_matrix_save(
        clinic=world.clinic,
        service=Service.ECONSULT,
        cells=[(world.gp_list.pk, world.gp.pk), (world.gp_list.pk, world.locum.pk)],
    )
    world.gp.name = "Åse Hansen"  # sorts after the locum by name; the own GP still comes first
    world.gp.save()
    page = patient_client_for(world.patient).get(url("new", world))
    names = [recipient.name for recipient, _label in page.context["recipients"]]
    assert names == ["Åse Hansen", "Dr. Vikar"]
    html = page.content.decode()
    assert "113" in html and "116117" in html
    assert "svar innen" in html.lower() or "answer by" in html.lower()


def test_a_practitioner_the_matrix_does_not_offer_is_refused(world, patient_client_for):
    client = patient_client_for(world.patient)
    response = send_form(world, client, practitioner=world.locum.pk)
    assert response.status_code == 400
    assert not Consultation.objects.exists()


def test_nobody_offered_says_so(world, patient_client_for):
    page = patient_client_for(world.no_gp).get(url("new", world))
    assert page.status_code == 200
    assert page.context["offered"] is False
    assert "form" not in page.context


def test_send_with_an_attachment(world, patient_client_for, settings):
    client = patient_client_for(world.patient)
    response = send_form(world, client, attachments=[png("arm.png")])
    consultation = Consultation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("thread", world, consultation_id=consultation.pk)
    assert consultation.practitioner == world.gp
    assert consultation.status == "sent"
    assert consultation.language == "nb"
    message = consultation.messages.get()
    assert message.body == "Jeg har fått utslett på armen."
    attachment = message.attachments.get()
    assert attachment.name == "arm.png"
    assert attachment.content_type == "image/png"
    # Stored under the configured root with a random name, never the patient's.
    assert "arm" not in attachment.file.name
    path = settings.ECONSULT_FILES_ROOT / attachment.file.name
    assert path.read_bytes().startswith(b"\x89PNG")
    assert AuditEvent.objects.filter(action="econsult.sent", patient=world.patient).exists()
    page = client.get(response["Location"])
    assert "svar innen" in page.content.decode().lower()


def test_a_double_submit_sends_once(world, patient_client_for):
    client = patient_client_for(world.patient)
    page = client.get(url("new", world))
    data = {
        "practitioner": world.gp.pk,
        "subject": "Hei",
        "body": "Spørsmål",
        "key": page.context["key"],
    }
    first = client.post(url("new", world), data)
    second = client.post(url("new", world), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Consultation.objects.count() == 1


@pytest.mark.parametrize(
    "files",
    [
        [upload("virus.jpg", EXE, "image/jpeg")],
        [png(f"{n}.png") for n in range(4)],
    ],
    ids=["renamed-exe", "fourth-file"],
)
def test_bad_files_store_nothing(world, patient_client_for, settings, files):
    before = set(settings.ECONSULT_FILES_ROOT.rglob("*"))
    response = send_form(world, patient_client_for(world.patient), attachments=files)
    assert response.status_code == 400
    assert response.context["form"].errors["attachments"]
    assert not Consultation.objects.exists()
    assert not Attachment.objects.exists()
    assert set(settings.ECONSULT_FILES_ROOT.rglob("*")) == before


def test_message_length_is_the_clinics_setting(world, patient_client_for):
    EconsultSettings.objects.create(clinic=world.clinic, message_max_length=100)
    response = send_form(world, patient_client_for(world.patient), body="x" * 101)
    assert response.status_code == 400
    assert "body" in response.context["form"].errors
    assert not Consultation.objects.exists()


def test_empty_subject_and_message_are_refused(world, patient_client_for):
    response = send_form(world, patient_client_for(world.patient), subject="  ", body="\x00 ")
    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"subject", "body"}


def test_the_fee_must_be_accepted(world, patient_client_for):
    EconsultSettings.objects.create(clinic=world.clinic, fee_nok=167)
    client = patient_client_for(world.patient)
    page = client.get(url("new", world))
    assert "167" in page.content.decode()
    refused = send_form(world, client)
    assert refused.status_code == 400
    assert "accept_fee" in refused.context["form"].errors
    assert not Consultation.objects.exists()
    accepted = send_form(world, client, accept_fee="on")
    assert accepted.status_code == 302
    assert Consultation.objects.get().fee_nok == 167


def test_open_limit(world, patient_client_for):
    EconsultSettings.objects.create(clinic=world.clinic, max_open_per_patient=1)
    client = patient_client_for(world.patient)
    assert send_form(world, client).status_code == 302
    page = client.get(url("new", world))
    assert page.context["open_limit"] == 1
    assert "form" not in page.context
    assert Consultation.objects.count() == 1


def test_full_says_when_it_opens_and_offers_booking(world, patient_client_for):
    CapacityPeriod.objects.create(
        practitioner=world.gp, first_day=datetime.date(2000, 1, 1), daily_cap=0
    )
    page = patient_client_for(world.patient).get(url("new", world))
    assert page.context["any_available"] is False
    assert reverse("booking:book", kwargs={"ep_ident": world.clinic.ep_ident}) in (
        page.content.decode()
    )


def test_full_between_page_and_post_is_said_not_dropped(world, patient_client_for):
    client = patient_client_for(world.patient)
    page = client.get(url("new", world))
    EconsultSettings.objects.create(clinic=world.clinic, daily_cap=0)
    response = client.post(
        url("new", world),
        {"practitioner": world.gp.pk, "subject": "s", "body": "b", "key": page.context["key"]},
    )
    assert response.status_code in (400, 409)
    assert not Consultation.objects.exists()


def test_clinic_requiring_bankid_to_send(world, patient_client_for):
    world.clinic.econsult_requires_bankid = True
    world.clinic.save()
    page = patient_client_for(world.patient).get(url("new", world))
    assert "bankid_url" in page.context
    assert "form" not in page.context


def sent(world, patient=None, subject="Utslett"):
    return consultation_send(
        patient=patient or world.patient,
        practitioner_id=world.gp.pk,
        subject=subject,
        body="Spørsmål",
    )


def test_mine_lists_threads_with_status(world, patient_client_for):
    first = sent(world, subject="Første")
    sent(world, subject="Andre")
    sent(world, patient=world.neighbour, subject="Naboens")
    staff = factories.make_staff(world.clinic, practitioner=world.gp)
    consultation_answer(staff=staff, consultation_id=first.pk, body="Svar")
    page = patient_client_for(world.patient).get(url("mine", world))
    html = page.content.decode()
    assert "Første" in html and "Andre" in html
    assert "Naboens" not in html
    assert "Besvart" in html or "Answered" in html


def answered(world):
    consultation = sent(world)
    staff = factories.make_staff(world.clinic, practitioner=world.gp)
    consultation_answer(staff=staff, consultation_id=consultation.pk, body="HEMMELIG SVAR")
    return consultation


def test_reading_an_answer_needs_bankid_by_default(world, patient_client_for):
    consultation = answered(world)
    client = patient_client_for(world.patient, method="sms")
    page = client.get(url("thread", world, consultation_id=consultation.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert "HEMMELIG SVAR" not in html
    bankid = reverse("identification:bankid_start", kwargs={"ep_ident": world.clinic.ep_ident})
    assert bankid + "?next=" in html
    consultation.refresh_from_db()
    assert consultation.unread_by_patient is True


def test_a_bankid_session_reads_the_answer(world, patient_client_for):
    consultation = answered(world)
    client = patient_client_for(world.patient, method="bankid")
    page = client.get(url("thread", world, consultation_id=consultation.pk))
    assert "HEMMELIG SVAR" in page.content.decode()
    consultation.refresh_from_db()
    assert consultation.unread_by_patient is False


def test_a_clinic_may_let_password_sessions_read_answers(world, patient_client_for):
    EconsultSettings.objects.create(clinic=world.clinic, answer_requires_bankid=False)
    consultation = answered(world)
    page = patient_client_for(world.patient).get(
        url("thread", world, consultation_id=consultation.pk)
    )
    assert "HEMMELIG SVAR" in page.content.decode()


def test_reply_while_open_and_not_after_close(world, patient_client_for):
    consultation = answered(world)
    client = patient_client_for(world.patient, method="bankid")
    thread = url("thread", world, consultation_id=consultation.pk)
    reply = client.post(thread, {"body": "Takk, men en ting til"})
    assert reply.status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == "sent" and consultation.unread_by_staff
    assert consultation.messages.count() == 3
    Consultation.objects.filter(pk=consultation.pk).update(status="closed")
    page = client.get(thread)
    assert page.context["form"] is None
    refused = client.post(thread, {"body": "Hallo?"})
    assert refused.status_code == 409
    assert consultation.messages.count() == 3


def test_attachment_download_headers(world, patient_client_for):
    client = patient_client_for(world.patient)
    send_form(world, client, attachments=[upload("brev.pdf", PDF, "text/html")])
    attachment = Attachment.objects.get()
    response = client.get(url("attachment", world, attachment_id=attachment.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="brev.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_booking_offer_shows_a_link_to_book_with_the_practitioner(world, patient_client_for):
    consultation = sent(world)
    staff = factories.make_staff(world.clinic, practitioner=world.gp)
    consultation_answer(
        staff=staff, consultation_id=consultation.pk, body="Bestill time", offer_booking=True
    )
    page = patient_client_for(world.patient, method="bankid").get(
        url("thread", world, consultation_id=consultation.pk)
    )
    book = reverse("booking:book", kwargs={"ep_ident": world.clinic.ep_ident})
    assert f"{book}?p={world.gp.pk}" in page.content.decode()
    assert Message.objects.filter(consultation=consultation).count() == 2
