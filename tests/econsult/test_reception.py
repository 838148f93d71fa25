""" "Kontakt ekspedisjonen": administrative messages to the reception, not for medical
questions; reception staff answer them from the inbox; staff may route one to a practitioner."""

from __future__ import annotations

import pytest
from django.urls import reverse

import sms
from clinics.models import AuditEvent
from econsult.models import Consultation, EconsultSettings
from econsult.selectors import looks_clinical
from econsult.services import consultation_answer, reception_send
from tests import factories

from .conftest import png

pytestmark = pytest.mark.django_db


def url(world, name="reception", **kwargs):
    return reverse(f"econsult:{name}", kwargs={"ep_ident": world.clinic.ep_ident, **kwargs})


def post(client, world, **data):
    key = client.get(url(world)).context["key"]
    return client.post(
        url(world), {"subject": "Ny adresse", "body": "Jeg har flyttet.", "key": key, **data}
    )


def test_home_offers_the_reception_and_the_page_sends(world, patient_client_for):
    client = patient_client_for(world.no_gp)  # no GP here: the reception still serves them
    home = client.get(reverse("identification:home", kwargs={"ep_ident": world.clinic.ep_ident}))
    assert url(world) in home.content.decode()
    response = post(client, world, attachments=[png("adresse.png")])
    consultation = Consultation.objects.get()
    assert response.status_code == 302
    assert (consultation.kind, consultation.practitioner, consultation.fee_nok) == (
        "reception",
        None,
        0,
    )
    assert consultation.messages.get().attachments.count() == 1
    assert AuditEvent.objects.filter(action="reception.sent").exists()
    thread = client.get(response["Location"])
    assert "Ekspedisjonen" in thread.content.decode()


def test_a_clinic_may_turn_it_off(world, patient_client_for):
    EconsultSettings.objects.create(clinic=world.clinic, reception_enabled=False)
    client = patient_client_for(world.patient)
    home = client.get(reverse("identification:home", kwargs={"ep_ident": world.clinic.ep_ident}))
    assert url(world) not in home.content.decode()
    assert client.get(url(world)).context["offered"] is False
    client.post(url(world), {"subject": "s", "body": "b"})
    assert not Consultation.objects.exists()


@pytest.mark.parametrize(
    ("text", "language", "clinical"),
    [
        ("Jeg har vondt i magen", "nb", True),
        ("Eg har hovudverk", "nn", True),
        ("I have a fever", "en", True),
        ("Kan jeg få kopi av sykmeldingen?", "nb", False),
        ("Ny adresse: Storgata 1", "nb", False),
        ("Spørsmål om regningen", "nb", False),
    ],
)
def test_clinical_looking_text(text, language, clinical):
    assert looks_clinical(text, language) is clinical


def test_a_clinical_message_is_offered_as_an_econsultation(world, patient_client_for):
    client = patient_client_for(world.patient)
    offered = post(client, world, subject="Utslett", body="Jeg har fått utslett og feber")
    assert offered.status_code == 200
    assert offered.context["looks_clinical"] is True
    assert not Consultation.objects.exists()
    key = offered.context["key"]
    moved = client.post(
        url(world),
        {
            "subject": "Utslett",
            "body": "Jeg har fått utslett og feber",
            "key": key,
            "as": "econsult",
        },
    )
    assert moved["Location"] == url(world, "new")
    page = client.get(moved["Location"])
    assert page.context["form"]["body"].value() == "Jeg har fått utslett og feber"
    anyway = client.post(
        url(world),
        {
            "subject": "Utslett",
            "body": "Jeg har fått utslett og feber",
            "key": key,
            "as": "reception",
        },
    )
    assert anyway.status_code == 302
    assert Consultation.objects.get().kind == "reception"


def test_reception_staff_answer_from_the_inbox(
    world, admin_client_for, django_capture_on_commit_callbacks
):
    message = reception_send(patient=world.patient, subject="Regning", body="Feil beløp?")
    reception = factories.make_staff(world.clinic, is_reception=True)
    client = admin_client_for(reception)
    inbox = client.get("/admin/econsult/inbox/")
    assert [r.consultation.pk for r in inbox.context["rows"]] == [message.pk]
    assert inbox.context["reception"] is True
    detail = reverse("admin:econsult_inbox_detail", kwargs={"consultation_id": message.pk})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(detail, {"action": "answer", "body": "Vi sender ny regning."})
    message.refresh_from_db()
    assert message.status == "answered"
    assert sms.outbox[0].text.startswith(f"Du har fått svar fra {world.clinic.name}.")


def test_staff_convert_a_reception_message_to_an_econsultation(world, admin_client_for):
    message = reception_send(patient=world.patient, subject="Vondt", body="Jeg har vondt")
    client = admin_client_for(factories.make_staff(world.clinic, is_reception=True))
    detail = reverse("admin:econsult_inbox_detail", kwargs={"consultation_id": message.pk})
    assert client.get(detail).context["reassign_form"] is not None
    client.post(detail, {"action": "convert", "practitioner": world.gp.pk})
    message.refresh_from_db()
    assert (message.kind, message.practitioner) == ("econsult", world.gp)
    event = AuditEvent.objects.get(action="reception.converted")
    assert event.details == {"to": world.gp.pk}


def test_the_practitioner_inbox_does_not_show_reception_messages(world, admin_client_for):
    reception_send(patient=world.patient, subject="Adresse", body="Ny adresse")
    gp = factories.make_staff(world.clinic, practitioner=world.gp)
    assert admin_client_for(gp).get("/admin/econsult/inbox/").context["rows"] == []


def test_the_open_limit_counts_reception_messages_apart(world):
    EconsultSettings.objects.create(clinic=world.clinic, max_open_per_patient=1)
    reception_send(patient=world.patient, subject="a", body="b")
    from econsult.services import OpenLimitReached, consultation_send

    consultation_send(patient=world.patient, practitioner_id=world.gp.pk, subject="s", body="b")
    with pytest.raises(OpenLimitReached):
        reception_send(patient=world.patient, subject="c", body="d")


def test_another_patients_reception_thread_is_404(world, patient_client_for):
    theirs = reception_send(patient=world.neighbour, subject="a", body="b")
    client = patient_client_for(world.patient)
    thread = url(world, "thread", consultation_id=theirs.pk)
    assert client.get(thread).status_code == 404
    assert client.post(thread, {"body": "x"}).status_code == 404
    staff = factories.make_staff(world.clinic, practitioner=world.gp)
    consultation_answer(staff=staff, consultation_id=theirs.pk, body="svar")
