"""The audit log: append-only, readable and filterable in the admin, own clinic only."""

from __future__ import annotations

import pytest

from clinics import audit
from clinics.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(clinic, other_clinic):
    mine = audit.record("patient.login", clinic=clinic, details={"method": "sms"})
    theirs = audit.record("patient.login", clinic=other_clinic, details={"method": "bankid"})
    return mine, theirs


def test_clinic_admin_reads_only_own_clinics_events(admin_client_for, clinic_admin, events):
    mine, theirs = events
    client = admin_client_for(clinic_admin)
    listing = client.get("/admin/clinics/auditevent/")
    assert listing.status_code == 200
    assert f"/admin/clinics/auditevent/{mine.pk}/" in listing.content.decode()
    assert f"/admin/clinics/auditevent/{theirs.pk}/" not in listing.content.decode()
    assert client.get(f"/admin/clinics/auditevent/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/clinics/auditevent/{theirs.pk}/change/").status_code == 302


def test_audit_log_is_filterable(admin_client_for, clinic_admin, events):
    client = admin_client_for(clinic_admin)
    assert client.get("/admin/clinics/auditevent/?action=patient.login").status_code == 200
    assert client.get("/admin/clinics/auditevent/?actor_type=system").status_code == 200


def test_nothing_can_change_or_delete_an_event_through_the_admin(
    admin_client_for, superuser, events
):
    mine, _ = events
    client = admin_client_for(superuser)
    url = f"/admin/clinics/auditevent/{mine.pk}/"
    page = client.get(url + "change/")
    assert page.status_code == 200
    assert 'name="action"' not in page.content.decode()  # shown read-only
    client.post(url + "change/", {"action": "tampered", "details": "{}"})
    assert client.get(url + "delete/").status_code == 403
    client.post(url + "delete/", {"post": "yes"})
    client.post(
        "/admin/clinics/auditevent/",
        {"action": "delete_selected", "_selected_action": [mine.pk], "post": "yes"},
    )
    assert client.get("/admin/clinics/auditevent/add/").status_code == 403
    mine.refresh_from_db()
    assert mine.action == "patient.login"
    assert AuditEvent.objects.filter(pk=mine.pk).exists()


def test_events_are_append_only_in_code_too(events):
    mine, _ = events
    mine.action = "tampered"
    with pytest.raises(ValueError):
        mine.save()
    with pytest.raises(ValueError):
        mine.delete()


def test_staff_reading_a_patient_is_recorded(admin_client_for, clinic_admin, clinic):
    patient = factories.make_patient(clinic)
    client = admin_client_for(clinic_admin)
    client.get(f"/admin/clinics/patient/{patient.pk}/change/")
    event = AuditEvent.objects.get(action="patient.read")
    assert event.staff == clinic_admin
    assert event.object_id == str(patient.pk)
    assert patient.national_id not in event.object_repr


def test_admin_changes_are_recorded_with_field_names_only(admin_client_for, clinic_admin, clinic):
    gp = factories.make_practitioner(clinic, name="Dr. Hansen")
    client = admin_client_for(clinic_admin)
    client.post(
        f"/admin/clinics/practitioner/{gp.pk}/change/",
        {"name": "Dr. Hansen", "key": gp.key, "role": "gp", "hpr": "", "eportal_enabled": "on"},
    )
    event = AuditEvent.objects.get(action="admin.change")
    assert event.clinic == clinic
    assert "Aktiver ePortal" in str(event.details)
