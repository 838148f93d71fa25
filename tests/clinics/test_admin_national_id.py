"""Identity numbers in the admin: masked, shown whole only on an audited POST.

With a patient's whole identity number, staff could start the patient's "new password" flow
(the code goes by SMS, see tests/sms/test_admin.py) and log in as them; so the number is
shown masked everywhere in the admin, and in full only on the audited "show" page.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Appointment
from clinics import audit
from clinics.models import AuditEvent, Patient
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(clinic):
    gp = factories.make_practitioner(clinic, name="Dr Aamodt")
    return factories.make_patient(
        clinic, name="Pasient Aamodt", patient_list=factories.make_list(clinic, gp=gp)
    )


@pytest.fixture
def theirs(other_clinic):
    return factories.make_patient(other_clinic, name="Pasient Bergersen")


def change_url(patient):
    return reverse("admin:clinics_patient_change", args=[patient.pk])


def show_url(patient):
    return reverse("admin:clinics_patient_national_id", args=[patient.pk])


def shown_events():
    return AuditEvent.objects.filter(action="patient.national_id_shown")


def change_data(patient, **changes):
    data = {
        "name": patient.name,
        "mobile": patient.mobile,
        "journal_active": "on",
        "patient_list": str(patient.patient_list_id or ""),
        "new_national_id": "",
    }
    return {**data, **changes}


# The change form


def test_change_form_shows_the_number_masked_and_not_as_an_input(
    admin_client_for, clinic_admin, patient
):
    response = admin_client_for(clinic_admin).get(change_url(patient))
    assert response.status_code == 200
    body = response.content.decode()
    assert patient.national_id not in body
    assert patient.masked_national_id in body
    assert 'name="national_id"' not in body
    assert re.search(r'<input[^>]*name="new_national_id"(?![^>]*value=)[^>]*>', body)
    assert f'action="{show_url(patient)}"' in body


def test_add_form_has_the_number_as_an_input(admin_client_for, clinic_admin):
    body = admin_client_for(clinic_admin).get(reverse("admin:clinics_patient_add")).content
    assert b'name="national_id"' in body
    assert b'name="new_national_id"' not in body


def test_posting_the_old_field_changes_nothing(admin_client_for, clinic_admin, patient):
    other_number = factories.national_id()
    data = change_data(patient, name="Nytt Navn", national_id=other_number)
    response = admin_client_for(clinic_admin).post(change_url(patient), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.name, patient.national_id) != ("Nytt Navn", other_number)
    assert patient.name == "Nytt Navn"


def test_staff_correct_a_number_with_the_new_number_field(admin_client_for, clinic_admin, patient):
    old, new = patient.national_id, factories.national_id()
    spaced = f"{new[:6]} {new[6:]}"
    response = admin_client_for(clinic_admin).post(
        change_url(patient), change_data(patient, new_national_id=spaced)
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.national_id == new
    event = AuditEvent.objects.get(action="patient.national_id_changed")
    assert (event.staff, event.object_id) == (clinic_admin, str(patient.pk))
    everything = str(event.details) + event.object_repr
    assert old not in everything and new not in everything
    assert AuditEvent.objects.filter(action="admin.change", object_id=str(patient.pk)).exists()


def test_empty_new_number_keeps_the_number(admin_client_for, clinic_admin, patient):
    number = patient.national_id
    admin_client_for(clinic_admin).post(change_url(patient), change_data(patient, name="Ny"))
    patient.refresh_from_db()
    assert (patient.name, patient.national_id) == ("Ny", number)
    assert not AuditEvent.objects.filter(action="patient.national_id_changed").exists()


def test_invalid_new_number_is_a_form_error(admin_client_for, clinic_admin, patient):
    number = patient.national_id
    response = admin_client_for(clinic_admin).post(
        change_url(patient), change_data(patient, new_national_id="12345678901")
    )
    assert response.status_code == 200
    assert "new_national_id" in response.context["adminform"].form.errors
    assert number not in response.content.decode()
    patient.refresh_from_db()
    assert patient.national_id == number


def test_new_number_of_another_patient_here_is_a_form_error(
    admin_client_for, clinic_admin, clinic, patient
):
    twin = factories.make_patient(clinic)
    response = admin_client_for(clinic_admin).post(
        change_url(patient), change_data(patient, new_national_id=twin.national_id)
    )
    assert response.status_code == 200
    assert "new_national_id" in response.context["adminform"].form.errors
    assert patient.national_id not in response.content.decode()
    assert Patient.objects.filter(national_id=twin.national_id).count() == 1


def test_new_number_used_at_another_clinic_is_fine(admin_client_for, clinic_admin, patient, theirs):
    response = admin_client_for(clinic_admin).post(
        change_url(patient), change_data(patient, new_national_id=theirs.national_id)
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.national_id == theirs.national_id


def test_superuser_moving_a_patient_onto_a_used_number_gets_a_form_error(
    admin_client_for, superuser, patient, other_clinic
):
    factories.make_patient(other_clinic, national_id=patient.national_id)
    data = change_data(patient, clinic=str(other_clinic.pk), patient_list="")
    response = admin_client_for(superuser).post(change_url(patient), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Patient.objects.get(pk=patient.pk).clinic_id == patient.clinic_id


# The "show" page


def test_showing_the_number_needs_a_post(admin_client_for, clinic_admin, patient):
    response = admin_client_for(clinic_admin).get(show_url(patient))
    assert response.status_code == 405
    assert patient.national_id not in response.content.decode()
    assert not shown_events().exists()


def test_showing_the_number_is_audited_and_not_cached(
    admin_client_for, clinic_admin, clinic, patient
):
    response = admin_client_for(clinic_admin).post(show_url(patient))
    assert response.status_code == 200
    assert patient.national_id in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = shown_events().get()
    assert (event.staff, event.clinic, event.actor_type) == (clinic_admin, clinic, "staff")
    assert (event.object_type, event.object_id) == ("clinics.patient", str(patient.pk))
    assert patient.national_id not in str(event.details) + event.object_repr


def test_show_button_is_csrf_protected(clinic_admin, patient):
    client = Client(enforce_csrf_checks=True)
    client.force_login(clinic_admin, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post(show_url(patient)).status_code == 403
    assert not shown_events().exists()
    page = client.get(change_url(patient)).content.decode()
    form = re.search(r'<form id="national-id-form".*?</form>', page, re.S).group(0)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    response = client.post(show_url(patient), {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert patient.national_id in response.content.decode()
    assert shown_events().count() == 1


def test_other_clinics_admin_gets_404(admin_client_for, other_admin, patient):
    response = admin_client_for(other_admin).post(show_url(patient))
    assert response.status_code == 404
    assert patient.national_id not in response.content.decode()
    assert not shown_events().exists()


def test_own_patient_is_shown_to_own_admin_only(admin_client_for, clinic_admin, theirs):
    assert admin_client_for(clinic_admin).post(show_url(theirs)).status_code == 404


@pytest.mark.parametrize("object_id", ["999999", "abc", "1%2F2"])
def test_unknown_patient_gets_404(admin_client_for, clinic_admin, object_id):
    url = f"/admin/clinics/patient/{object_id}/national-id/"
    assert admin_client_for(clinic_admin).post(url).status_code == 404


def test_staff_without_a_clinic_gets_404(admin_client_for, patient):
    client = admin_client_for(factories.make_staff(None))
    assert client.post(show_url(patient)).status_code == 404


def test_logged_out_visitor_is_sent_to_the_login(client, patient):
    response = client.post(show_url(patient))
    assert response.status_code == 302
    assert patient.national_id not in response.content.decode()
    assert not shown_events().exists()


def test_superuser_sees_any_clinics_number(admin_client_for, superuser, theirs):
    response = admin_client_for(superuser).post(show_url(theirs))
    assert response.status_code == 200
    assert theirs.national_id in response.content.decode()
    assert shown_events().get().staff == superuser


# Everywhere else in the admin


def test_list_and_search_show_masked_numbers(admin_client_for, clinic_admin, patient):
    client = admin_client_for(clinic_admin)
    changelist = reverse("admin:clinics_patient_changelist")
    for params in ({}, {"q": patient.national_id}, {"q": patient.name}):
        response = client.get(changelist, params)
        assert list(response.context["cl"].result_list) == [patient]
        body = response.content.decode()
        assert patient.masked_national_id in body
        # The search box and the links keep what staff typed; nothing else has the number.
        number = patient.national_id
        for echo in (f'value="{number}"', f"q={number}", f"q%3D{number}"):
            body = body.replace(echo, "")
        assert number not in body


def test_number_cannot_be_probed_through_list_filters(admin_client_for, clinic_admin, patient):
    client = admin_client_for(clinic_admin)
    changelist = reverse("admin:clinics_patient_changelist")
    prefix = patient.national_id[:7]
    for lookup in ("national_id__startswith", "national_id__contains", "national_id__gte"):
        assert client.get(changelist, {lookup: prefix}).status_code == 400, lookup
    for url, lookup in (
        ("admin:clinics_auditevent_changelist", "patient__national_id__startswith"),
        ("admin:booking_appointment_changelist", "patient__national_id__startswith"),
        ("admin:clinics_patientlist_changelist", "patients__national_id__startswith"),
    ):
        assert client.get(reverse(url), {lookup: prefix}).status_code == 400, url


def test_other_admin_pages_show_only_masked_numbers(admin_client_for, clinic_admin, patient):
    client = admin_client_for(clinic_admin)
    now = timezone.now()
    appointment = Appointment.objects.create(
        patient=patient,
        practitioner=patient.patient_list.gp,
        start=now,
        end=now + datetime.timedelta(minutes=20),
        reason="Kontroll",
    )
    audit.record("patient.login", patient=patient, obj=patient)
    client.get(change_url(patient))  # patient.read
    client.post(show_url(patient))  # patient.national_id_shown
    event = AuditEvent.objects.filter(patient=patient).first()
    pages = [
        reverse("admin:index"),
        reverse("admin:clinics_patient_history", args=[patient.pk]),
        reverse("admin:clinics_patient_delete", args=[patient.pk]),
        reverse("admin:clinics_auditevent_changelist"),
        reverse("admin:clinics_auditevent_change", args=[event.pk]),
        reverse("admin:booking_appointment_changelist"),
        reverse("admin:booking_appointment_change", args=[appointment.pk]),
        reverse("admin:clinics_patientlist_change", args=[patient.patient_list_id]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert patient.national_id not in response.content.decode(), url
