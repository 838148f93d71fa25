"""The outbox in the admin site: read-only, and each clinic administrator sees only their own."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sms.models import OutboxMessage

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
    from tests import factories

    response = admin_client_for(factories.make_staff(None)).get(reverse(CHANGELIST))
    assert response.status_code == 403
