"""The outbox in the admin site: read-only, and each clinic administrator sees only their own."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

import sms
from clinics.models import AuditEvent
from sms.backends.base import TemporaryError
from sms.models import OutboxMessage
from tests import factories
from tests.sms import backends

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:sms_outboxmessage_changelist"


def make(clinic, recipient, text):
    return OutboxMessage.objects.create(
        clinic=clinic, recipient=recipient, text=text, purpose="booking_confirmation"
    )


@pytest.fixture
def ours(clinic):
    return make(clinic, "+4791111222", "Timen din hos Bakkehuset er bekreftet")


@pytest.fixture
def theirs(other_clinic):
    return make(other_clinic, "+4798888999", "Timen din hos Fjellet er bekreftet")


def change_url(message):
    return reverse("admin:sms_outboxmessage_change", args=[message.pk])


def test_clinic_admin_lists_own_clinics_sms_with_masked_numbers(
    admin_client_for, clinic_admin, ours, theirs
):
    response = admin_client_for(clinic_admin).get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [ours]
    body = response.content.decode()
    assert "••• •• 222" in body
    assert "91111222" not in body
    assert "98888999" not in body and "••• •• 999" not in body


def test_clinic_admin_opens_own_sms_read_only(admin_client_for, clinic_admin, ours):
    response = admin_client_for(clinic_admin).get(change_url(ours))
    assert response.status_code == 200
    body = response.content.decode()
    assert ours.text in body
    assert "91111222" not in body
    assert 'name="_save"' not in body


def test_other_clinics_sms_cannot_be_opened(admin_client_for, clinic_admin, theirs):
    client = admin_client_for(clinic_admin)
    response = client.get(change_url(theirs))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert theirs.text not in client.get(response["Location"]).content.decode()


def test_search_by_other_clinics_number_finds_nothing(admin_client_for, clinic_admin, theirs):
    response = admin_client_for(clinic_admin).get(reverse(CHANGELIST), {"q": theirs.recipient})
    assert list(response.context["cl"].result_list) == []


def test_search_by_exact_number_finds_own_sms(admin_client_for, clinic_admin, ours):
    response = admin_client_for(clinic_admin).get(reverse(CHANGELIST), {"q": ours.recipient})
    assert list(response.context["cl"].result_list) == [ours]


def test_nobody_can_add_change_or_delete(admin_client_for, clinic_admin, superuser, ours):
    for user in (clinic_admin, superuser):
        client = admin_client_for(user)
        assert client.get(reverse("admin:sms_outboxmessage_add")).status_code == 403
        response = client.post(change_url(ours), {"text": "changed", "status": "delivered"})
        assert response.status_code == 403
        delete = reverse("admin:sms_outboxmessage_delete", args=[ours.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
    ours.refresh_from_db()
    assert (ours.text, ours.status) == ("Timen din hos Bakkehuset er bekreftet", "queued")


def test_other_clinics_admin_sees_only_theirs(admin_client_for, other_admin, ours, theirs):
    response = admin_client_for(other_admin).get(reverse(CHANGELIST))
    assert list(response.context["cl"].result_list) == [theirs]


def test_superuser_sees_every_clinics_sms(admin_client_for, superuser, ours, theirs):
    response = admin_client_for(superuser).get(reverse(CHANGELIST))
    assert set(response.context["cl"].result_list) == {ours, theirs}
    assert admin_client_for(superuser).get(change_url(theirs)).status_code == 200


def test_staff_without_a_clinic_sees_nothing(admin_client_for, ours):
    response = admin_client_for(factories.make_staff(None)).get(reverse(CHANGELIST))
    assert response.status_code == 403


# Login codes: staff see the redacted text only, and every look is audited.


@pytest.fixture
def new_user(clinic):
    """A patient who can use 'Ny bruker' (first password by SMS code)."""
    gp = factories.make_practitioner(clinic, eportal_enabled=True)
    return factories.make_patient(
        clinic, mobile="+4741234567", patient_list=factories.make_list(clinic, gp=gp)
    )


def ask_for_code(client, patient, capture, *, send=True):
    """'Ny bruker': the identity number, then a login code SMS; returns its outbox row."""
    with capture(execute=send):
        response = client.post("/c/DEMO1/password/", {"national_id": patient.national_id})
    assert response["Location"] == "/c/DEMO1/login/code/"
    if not send:
        # The worker makes the code and queues the SMS; here it stops before sending.
        from identification.models import LoginChallenge
        from identification.services import deliver_code

        challenge = LoginChallenge.objects.get(patient=patient)
        with capture(execute=False):
            deliver_code(challenge_id=challenge.pk, serial=challenge.code_serial)
    return OutboxMessage.objects.get(purpose="login_code")


def code_in(text):
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_sent_login_code_is_never_shown_and_gone_from_the_database(
    client, admin_client_for, clinic_admin, new_user, django_capture_on_commit_callbacks
):
    row = ask_for_code(client, new_user, django_capture_on_commit_callbacks)
    [sent] = sms.outbox
    code = code_in(sent.text)
    row.refresh_from_db()
    assert row.status == "sent"
    assert code not in row.text and code not in row.redacted_text
    assert "••••••" in row.text

    admin = admin_client_for(clinic_admin)
    listing = admin.get(reverse(CHANGELIST)).content.decode()
    page = admin.get(change_url(row)).content.decode()
    assert code not in listing and code not in page
    assert "••••••" in page


def test_queued_login_code_is_shown_redacted(
    client, admin_client_for, clinic_admin, new_user, django_capture_on_commit_callbacks
):
    row = ask_for_code(client, new_user, django_capture_on_commit_callbacks, send=False)
    assert row.status == "queued"
    code = code_in(row.text)  # still stored: it has yet to be sent

    admin = admin_client_for(clinic_admin)
    page = admin.get(change_url(row)).content.decode()
    listing = admin.get(reverse(CHANGELIST)).content.decode()
    assert code not in page and code not in listing
    assert "••••••" in page


def test_login_code_is_resent_after_a_temporary_error_and_works(
    client, new_user, scripted_backend, django_capture_on_commit_callbacks
):
    scripted_backend.append(TemporaryError("Twilio HTTP 503"))
    row = ask_for_code(client, new_user, django_capture_on_commit_callbacks)
    first, second = backends.texts
    assert first == second
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert code_in(second) not in row.text
    response = client.post("/c/DEMO1/login/code/", {"code": code_in(second)})
    assert response["Location"] == "/c/DEMO1/password/new/"


def test_text_cannot_be_probed_through_list_filters(admin_client_for, clinic_admin, ours):
    client = admin_client_for(clinic_admin)
    for lookup in ("text__contains", "text__startswith", "redacted_text", "recipient__startswith"):
        response = client.get(reverse(CHANGELIST), {lookup: "1"})
        assert response.status_code == 400, lookup
    assert client.get(reverse(CHANGELIST), {"status": "queued"}).status_code == 200


def test_opening_an_sms_is_audited(admin_client_for, clinic_admin, clinic, ours):
    admin_client_for(clinic_admin).get(change_url(ours))
    event = AuditEvent.objects.get(action="sms.outbox_viewed")
    assert (event.staff, event.clinic, event.actor_type) == (clinic_admin, clinic, "staff")
    assert (event.object_type, event.object_id) == ("sms.outboxmessage", str(ours.pk))
    assert ours.text not in str(event.details) + event.object_repr


def test_listing_the_outbox_is_audited(admin_client_for, clinic_admin, clinic, ours):
    admin_client_for(clinic_admin).get(reverse(CHANGELIST), {"q": ours.recipient})
    event = AuditEvent.objects.get(action="sms.outbox_list_viewed")
    assert (event.staff, event.clinic) == (clinic_admin, clinic)
    assert "91111222" not in str(event.details)


def test_other_clinics_sms_refused_is_not_audited_as_viewed(admin_client_for, clinic_admin, theirs):
    admin_client_for(clinic_admin).get(change_url(theirs))
    assert not AuditEvent.objects.filter(action="sms.outbox_viewed").exists()


def test_audit_log_shows_outbox_views(
    client, admin_client_for, clinic_admin, new_user, django_capture_on_commit_callbacks
):
    row = ask_for_code(client, new_user, django_capture_on_commit_callbacks)
    code = code_in(sms.outbox[0].text)
    admin = admin_client_for(clinic_admin)
    admin.get(reverse(CHANGELIST))
    admin.get(change_url(row))
    log = admin.get("/admin/clinics/auditevent/")
    assert log.status_code == 200
    body = log.content.decode()
    assert "sms.outbox_viewed" in body and "sms.outbox_list_viewed" in body
    event = AuditEvent.objects.get(action="sms.outbox_viewed")
    detail = admin.get(f"/admin/clinics/auditevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert code not in body and code not in detail.content.decode()
    filtered = admin.get("/admin/clinics/auditevent/", {"action": "sms.outbox_viewed"})
    assert list(filtered.context["cl"].result_list) == [event]
