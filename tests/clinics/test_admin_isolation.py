"""The admin site is tenant-scoped: a clinic administrator sees and touches only their clinic.

Clinic A (``clinic``, "Aamodt" data) and clinic B (``other_clinic``, "Bergersen" data) each
have a GP, a patient list and a patient. Every refusal is paired with the same action on the
administrator's own clinic succeeding, so that no test passes merely because the page is broken.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from clinics.models import AuditEvent, Clinic, Patient, PatientList, Practitioner, User
from tests import factories

pytestmark = pytest.mark.django_db

ADMIN_INDEX = "/admin/"


@dataclass
class Tenant:
    clinic: Clinic
    gp: Practitioner
    patient_list: PatientList
    patient: Patient
    tag: str

    def obj(self, model: str) -> Any:
        return {
            "clinic": self.clinic,
            "practitioner": self.gp,
            "eportalservice": self.gp,
            "patientlist": self.patient_list,
            "patient": self.patient,
        }[model]

    def marker(self, model: str) -> str:
        """A string that appears on a page only if that page shows the object."""
        return {
            "clinic": self.clinic.name,
            "practitioner": self.gp.name,
            "eportalservice": self.gp.name,
            "patientlist": self.patient_list.name,
            "patient": self.patient.name,
        }[model]

    def markers(self) -> list[str]:
        return [
            self.clinic.name,
            self.clinic.ep_ident,
            self.gp.name,
            self.patient_list.name,
            self.patient.name,
            self.patient.national_id,
            self.patient.national_id[:6],
        ]


def populate(clinic: Clinic, tag: str) -> Tenant:
    gp = factories.make_practitioner(clinic, name=f"Dr {tag}", role="gp", key=f"gp-{tag}")
    patient_list = factories.make_list(clinic, gp=gp, name=f"Liste {tag}", key=f"l-{tag}")
    patient = factories.make_patient(clinic, name=f"Pasient {tag}", patient_list=patient_list)
    return Tenant(clinic, gp, patient_list, patient, tag)


@pytest.fixture
def a(clinic) -> Tenant:
    return populate(clinic, "Aamodt")


@pytest.fixture
def b(other_clinic) -> Tenant:
    return populate(other_clinic, "Bergersen")


@pytest.fixture
def as_a(admin_client_for, clinic_admin, a, b):
    """The client, logged in as clinic A's administrator (both clinics populated)."""
    return admin_client_for(clinic_admin)


MODELS = ["practitioner", "eportalservice", "patientlist", "patient", "clinic"]
DELETABLE = ["practitioner", "patientlist", "patient"]


def url(model: str, view: str, obj: Any = None) -> str:
    name = f"admin:clinics_{model}_{view}"
    return reverse(name, args=[obj.pk]) if obj is not None else reverse(name)


def change_data(model: str, tenant: Tenant, name: str) -> dict[str, str]:
    """A valid change-form POST for ``tenant``'s object of ``model``, renamed to ``name``."""
    if model in {"practitioner", "eportalservice"}:
        gp = tenant.gp
        return {"key": gp.key, "name": name, "role": gp.role, "hpr": "", "eportal_enabled": "on"}
    if model == "patientlist":
        return {"key": tenant.patient_list.key, "name": name, "gp": str(tenant.gp.pk)}
    if model == "patient":
        p = tenant.patient
        return {
            "national_id": p.national_id,
            "name": name,
            "mobile": p.mobile,
            "journal_active": "on",
            "patient_list": str(tenant.patient_list.pk),
        }
    return {"name": name, "address": "", "phone": "", "website": "", "active": "on"}


def page(response) -> str:
    return response.content.decode()


def assert_refused(response, *markers: str) -> None:
    """Refused as for an object that does not exist (redirect to the index) or forbidden."""
    assert response.status_code in {302, 403}, response.status_code
    if response.status_code == 302:
        assert response["Location"] == ADMIN_INDEX
    for marker in markers:
        assert marker not in page(response)


def assert_absent(body: str, tenant: Tenant) -> None:
    for marker in tenant.markers():
        assert marker not in body, marker


def still_there(obj: Any) -> Any:
    return type(obj)._base_manager.get(pk=obj.pk)


# Listing


@pytest.mark.parametrize("model", MODELS)
def test_list_shows_own_clinic_only(as_a, a, b, model):
    response = as_a.get(url(model, "changelist"))
    assert response.status_code == 200
    assert a.marker(model) in page(response)
    assert_absent(page(response), b)


@pytest.mark.parametrize("model", MODELS)
def test_list_counts_only_own_clinic(as_a, model):
    response = as_a.get(url(model, "changelist"))
    assert response.context["cl"].result_count == 1


def test_search_for_other_clinics_identity_number_finds_nothing(as_a, b):
    response = as_a.get(url("patient", "changelist"), {"q": b.patient.national_id})
    assert response.status_code == 200
    assert b.patient.name not in page(response)
    assert list(response.context["cl"].result_list) == []


def test_filtering_by_other_clinics_patient_list_shows_nothing(as_a, b):
    response = as_a.get(
        url("patient", "changelist"), {"patient_list__id__exact": b.patient_list.pk}
    )
    assert b.patient.name not in page(response)


def test_patient_list_filter_offers_own_lists_only(as_a, a, b):
    body = page(as_a.get(url("patient", "changelist")))
    assert f"patient_list__id__exact={a.patient_list.pk}" in body
    assert f"patient_list__id__exact={b.patient_list.pk}" not in body


def test_admin_index_shows_nothing_of_the_other_clinic(as_a, b):
    response = as_a.get(ADMIN_INDEX)
    assert response.status_code == 200
    assert_absent(page(response), b)


# Opening, changing and deleting by URL


@pytest.mark.parametrize("model", MODELS)
def test_other_clinics_object_cannot_be_opened(as_a, b, model):
    response = as_a.get(url(model, "change", b.obj(model)))
    assert_refused(response, b.marker(model))
    followed = as_a.get(url(model, "change", b.obj(model)), follow=True)
    assert_absent(page(followed), b)


@pytest.mark.parametrize("model", MODELS)
def test_own_object_can_be_opened(as_a, a, model):
    response = as_a.get(url(model, "change", a.obj(model)))
    assert response.status_code == 200
    assert a.marker(model) in page(response)


@pytest.mark.parametrize("model", MODELS)
def test_other_clinics_object_history_cannot_be_opened(as_a, b, model):
    assert_refused(as_a.get(url(model, "history", b.obj(model))), b.marker(model))


@pytest.mark.parametrize("model", MODELS)
def test_other_clinics_object_cannot_be_changed(as_a, b, model):
    obj = b.obj(model)
    response = as_a.post(url(model, "change", obj), change_data(model, b, "Hacked"))
    assert_refused(response)
    assert still_there(obj).name == b.marker(model)


@pytest.mark.parametrize("model", MODELS)
def test_own_object_can_be_changed(as_a, a, model):
    obj = a.obj(model)
    response = as_a.post(url(model, "change", obj), change_data(model, a, "Endret navn"))
    assert response.status_code == 302, response.context and response.context.get("errors")
    assert still_there(obj).name == "Endret navn"


def test_own_clinics_ep_identifier_cannot_be_changed_by_its_admin(as_a, a):
    data = {**change_data("clinic", a, a.clinic.name), "ep_ident": "STOLEN"}
    as_a.post(url("clinic", "change", a.clinic), data)
    assert still_there(a.clinic).ep_ident == a.clinic.ep_ident


def test_own_object_cannot_be_moved_to_the_other_clinic(as_a, a, b):
    data = {**change_data("patient", a, "Flyttet"), "clinic": str(b.clinic.pk)}
    as_a.post(url("patient", "change", a.patient), data)
    assert still_there(a.patient).clinic_id == a.clinic.pk


@pytest.mark.parametrize("model", MODELS)
def test_other_clinics_object_delete_page_cannot_be_opened(as_a, b, model):
    assert_refused(as_a.get(url(model, "delete", b.obj(model))), b.marker(model))


@pytest.mark.parametrize("model", MODELS)
def test_other_clinics_object_cannot_be_deleted(as_a, b, model):
    obj = b.obj(model)
    assert_refused(as_a.post(url(model, "delete", obj), {"post": "yes"}))
    assert still_there(obj)


@pytest.mark.parametrize("model", DELETABLE)
def test_own_object_can_be_deleted(as_a, a, model):
    obj = a.obj(model)
    assert as_a.get(url(model, "delete", obj)).status_code == 200
    response = as_a.post(url(model, "delete", obj), {"post": "yes"})
    assert response.status_code == 302
    assert not type(obj)._base_manager.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", ["clinic", "eportalservice"])
def test_clinic_admin_cannot_delete_own_clinic_or_services(as_a, a, model):
    obj = a.obj(model)
    assert as_a.post(url(model, "delete", obj), {"post": "yes"}).status_code == 403
    assert still_there(obj)


@pytest.mark.parametrize("model", MODELS)
def test_bulk_delete_action_skips_other_clinics_objects(as_a, b, model):
    obj = b.obj(model)
    data = {"action": "delete_selected", "_selected_action": [str(obj.pk)], "post": "yes"}
    response = as_a.post(url(model, "changelist"), data)
    assert response.status_code in {200, 302, 403}
    assert still_there(obj)


@pytest.mark.parametrize("model", DELETABLE)
def test_bulk_delete_action_deletes_own_objects(as_a, a, b, model):
    mine, theirs = a.obj(model), b.obj(model)
    data = {
        "action": "delete_selected",
        "_selected_action": [str(mine.pk), str(theirs.pk)],
        "post": "yes",
    }
    response = as_a.post(url(model, "changelist"), data)
    assert response.status_code == 302
    assert not type(mine)._base_manager.filter(pk=mine.pk).exists()
    assert still_there(theirs)


# Foreign-key choices


def test_patient_add_form_offers_own_patient_lists_only(as_a, a, b):
    body = page(as_a.get(url("patient", "add")))
    assert a.patient_list.name in body
    assert_absent(body, b)


def test_patient_change_form_offers_own_patient_lists_only(as_a, a, b):
    body = page(as_a.get(url("patient", "change", a.patient)))
    assert a.patient_list.name in body
    assert_absent(body, b)


def test_patient_list_add_form_offers_own_gps_only(as_a, a, b):
    body = page(as_a.get(url("patientlist", "add")))
    assert a.gp.name in body
    assert_absent(body, b)


def test_practitioner_add_form_does_not_offer_a_clinic(as_a, b):
    response = as_a.get(url("practitioner", "add"))
    assert "clinic" not in response.context["adminform"].form.fields
    assert_absent(page(response), b)


def test_patient_cannot_be_put_on_other_clinics_list(as_a, a, b):
    data = {**change_data("patient", a, a.patient.name), "patient_list": str(b.patient_list.pk)}
    response = as_a.post(url("patient", "change", a.patient), data)
    assert response.status_code == 200
    assert "patient_list" in response.context["adminform"].form.errors
    assert still_there(a.patient).patient_list_id == a.patient_list.pk


def test_patient_list_cannot_get_other_clinics_gp(as_a, b):
    data = {"key": "ny-liste", "name": "Ny liste", "gp": str(b.gp.pk)}
    response = as_a.post(url("patientlist", "add"), data)
    assert response.status_code == 200
    assert "gp" in response.context["adminform"].form.errors
    assert not PatientList.objects.filter(key="ny-liste").exists()


# Adding


def test_clinic_admin_adds_a_practitioner_to_own_clinic(as_a, a, b):
    data = {
        "key": "ny-lege",
        "name": "Ny Lege",
        "role": "locum",
        "hpr": "1234567",
        "eportal_enabled": "on",
        "clinic": str(b.clinic.pk),  # ignored: the field is not on the form
    }
    response = as_a.post(url("practitioner", "add"), data)
    assert response.status_code == 302
    assert Practitioner.objects.get(key="ny-lege").clinic == a.clinic


def test_duplicate_practitioner_key_is_a_form_error(as_a, a):
    data = {"key": a.gp.key, "name": "Dobbel", "role": "gp", "hpr": ""}
    response = as_a.post(url("practitioner", "add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Practitioner.objects.filter(name="Dobbel").exists()


def test_clinic_admin_adds_a_patient_to_own_clinic(as_a, a):
    number = factories.national_id()
    data = {
        "national_id": number,
        "name": "Ny Pasient",
        "mobile": "412 34 567",
        "journal_active": "on",
        "patient_list": str(a.patient_list.pk),
    }
    response = as_a.post(url("patient", "add"), data)
    assert response.status_code == 302
    patient = Patient.objects.get(national_id=number)
    assert patient.clinic == a.clinic
    assert patient.mobile == "+4741234567"


def test_identity_number_used_at_own_clinic_is_a_form_error(as_a, a):
    data = {
        "national_id": a.patient.national_id,
        "name": "Tvilling",
        "mobile": "",
        "journal_active": "on",
        "patient_list": "",
    }
    response = as_a.post(url("patient", "add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Patient.objects.filter(national_id=a.patient.national_id).count() == 1


def test_identity_number_used_at_other_clinic_is_fine(as_a, a, b):
    data = {
        "national_id": b.patient.national_id,
        "name": "Flytter",
        "mobile": "",
        "journal_active": "on",
        "patient_list": "",
    }
    assert as_a.post(url("patient", "add"), data).status_code == 302
    assert Patient.objects.get(clinic=a.clinic, national_id=b.patient.national_id)


def test_invalid_identity_number_is_a_form_error(as_a):
    data = {"national_id": "12345678901", "name": "Feil", "journal_active": "on"}
    response = as_a.post(url("patient", "add"), data)
    assert response.status_code == 200
    assert "national_id" in response.context["adminform"].form.errors


def test_landline_is_a_form_error(as_a):
    data = {
        "national_id": factories.national_id(),
        "name": "Fast",
        "mobile": "22 12 34 56",
        "journal_active": "on",
    }
    response = as_a.post(url("patient", "add"), data)
    assert response.status_code == 200
    assert "mobile" in response.context["adminform"].form.errors


def test_clinic_admin_cannot_add_a_clinic(as_a):
    assert as_a.get(url("clinic", "add")).status_code == 403


# "ePortal tjenester"


def _switch_data(*rows: tuple[Practitioner, bool]) -> dict[str, str]:
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, (practitioner, enabled) in enumerate(rows):
        data[f"form-{i}-id"] = str(practitioner.pk)
        if enabled:
            data[f"form-{i}-eportal_enabled"] = "on"
    return data


def test_services_list_switches_aktiver_eportal_for_own_practitioner(as_a, a):
    assert not a.gp.eportal_enabled
    response = as_a.post(url("eportalservice", "changelist"), _switch_data((a.gp, True)))
    assert response.status_code == 302
    assert still_there(a.gp).eportal_enabled
    as_a.post(url("eportalservice", "changelist"), _switch_data((a.gp, False)))
    assert not still_there(a.gp).eportal_enabled


def test_services_list_cannot_switch_other_clinics_practitioner(as_a, b):
    as_a.post(url("eportalservice", "changelist"), _switch_data((b.gp, True)))
    assert not still_there(b.gp).eportal_enabled


def test_services_list_shows_the_switch_for_own_practitioners(as_a, a, b):
    body = page(as_a.get(url("eportalservice", "changelist")))
    assert 'name="form-0-eportal_enabled"' in body
    assert a.gp.name in body
    assert_absent(body, b)


# "Aktiver ePortal"


def test_activation_page_shows_link_and_snippet_for_own_clinic(as_a, a, b, settings):
    settings.EPORTAL_PUBLIC_BASE_URL = ""
    response = as_a.get("/admin/clinics/clinicactivation/")
    assert response.status_code == 200
    body = page(response)
    # On the scheme and host the admin came in on (issue #16, item 10: make run is http).
    link = f"http://testserver/Login.aspx?ClinicId={a.clinic.ep_ident}"
    assert a.clinic.ep_ident in body
    assert f'href="{link}"' in body
    assert f"&lt;a href=&quot;{link}&quot;" in body or f'&lt;a href="{link}"' in body
    assert_absent(body, b)


def test_activation_link_keeps_https_of_a_secure_request(as_a, a, settings):
    settings.EPORTAL_PUBLIC_BASE_URL = ""
    body = page(as_a.get("/admin/clinics/clinicactivation/", secure=True))
    assert f'href="https://testserver/Login.aspx?ClinicId={a.clinic.ep_ident}"' in body


def test_activation_link_uses_the_public_base_url_when_set(as_a, a, settings):
    settings.EPORTAL_PUBLIC_BASE_URL = "https://portal.example.org/"
    body = page(as_a.get("/admin/clinics/clinicactivation/"))
    assert f"https://portal.example.org/Login.aspx?ClinicId={a.clinic.ep_ident}" in body


def test_superuser_activation_page_lists_every_clinic(admin_client_for, superuser, a, b):
    body = page(admin_client_for(superuser).get("/admin/clinics/clinicactivation/"))
    assert f"ClinicId={a.clinic.ep_ident}" in body
    assert f"ClinicId={b.clinic.ep_ident}" in body


# Superuser


@pytest.mark.parametrize("model", MODELS)
def test_superuser_sees_every_clinic(admin_client_for, superuser, a, b, model):
    body = page(admin_client_for(superuser).get(url(model, "changelist")))
    assert a.marker(model) in body
    assert b.marker(model) in body


@pytest.mark.parametrize("model", MODELS)
def test_superuser_opens_every_clinics_object(admin_client_for, superuser, b, model):
    response = admin_client_for(superuser).get(url(model, "change", b.obj(model)))
    assert response.status_code == 200


def test_superuser_can_delete_a_clinic(admin_client_for, superuser, db):
    doomed = factories.make_clinic("DOOMED", name="Nedlagt legekontor")
    response = admin_client_for(superuser).post(url("clinic", "delete", doomed), {"post": "yes"})
    assert response.status_code == 302
    assert not Clinic.objects.filter(pk=doomed.pk).exists()
    event = AuditEvent.objects.get(action="admin.delete", object_type="clinics.clinic")
    assert event.object_id == str(doomed.pk)


# Users without a clinic


@pytest.fixture
def non_staff(clinic) -> User:
    return User.objects.create_user(
        "not-staff@example.org", "correct-horse-battery", clinic=clinic, is_staff=False
    )


@pytest.fixture
def clinicless_staff(db) -> User:
    return factories.make_staff(None, email="nobody@example.org")


@pytest.mark.parametrize("model", MODELS)
def test_non_staff_user_sees_no_clinic_data(admin_client_for, non_staff, a, model):
    client = admin_client_for(non_staff)
    for target in (url(model, "changelist"), url(model, "change", a.obj(model))):
        response = client.get(target)
        assert response.status_code == 302
        assert "login" in response["Location"]
        assert a.marker(model) not in page(response)
    assert client.get("/admin/clinics/clinicactivation/").status_code == 302


@pytest.mark.parametrize("model", MODELS)
def test_staff_without_clinic_sees_no_clinic_data(admin_client_for, clinicless_staff, a, model):
    client = admin_client_for(clinicless_staff)
    assert client.get(url(model, "changelist")).status_code == 403
    response = client.get(url(model, "change", a.obj(model)))
    assert response.status_code in {302, 403}
    assert a.marker(model) not in page(response)
    response = client.post(url(model, "change", a.obj(model)), change_data(model, a, "Hacked"))
    assert response.status_code in {302, 403}
    assert still_there(a.obj(model)).name == a.marker(model)


def test_staff_without_clinic_sees_nothing_on_index_or_activation(
    admin_client_for, clinicless_staff, a
):
    client = admin_client_for(clinicless_staff)
    assert_absent(page(client.get(ADMIN_INDEX)), a)
    assert client.get("/admin/clinics/clinicactivation/").status_code == 403


def test_clinic_admin_cannot_list_staff_accounts(as_a, other_admin):
    response = as_a.get(url("user", "changelist"))
    assert response.status_code == 403
    assert other_admin.email not in page(response)


# Masked identity numbers


def test_patient_list_masks_identity_numbers(as_a, a):
    body = page(as_a.get(url("patient", "changelist")))
    assert a.patient.national_id[:6] in body
    assert a.patient.national_id not in body
    assert a.patient.national_id[6:] not in body


def test_delete_confirmation_masks_identity_number(as_a, a):
    body = page(as_a.get(url("patient", "delete", a.patient)))
    assert a.patient.national_id not in body


# Audit


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def _assert_no_identity_number(event: AuditEvent, number: str) -> None:
    assert number not in event.object_repr
    assert number not in json.dumps(event.details)


def test_admin_addition_is_audited(as_a, a, clinic_admin):
    number = factories.national_id()
    data = {"national_id": number, "name": "Revidert", "journal_active": "on"}
    assert as_a.post(url("patient", "add"), data).status_code == 302
    [event] = _events("admin.add")
    patient = Patient.objects.get(national_id=number)
    assert event.clinic == a.clinic
    assert event.staff == clinic_admin
    assert event.actor_type == AuditEvent.ActorType.STAFF
    assert event.object_type == "clinics.patient"
    assert event.object_id == str(patient.pk)
    assert event.ip == "127.0.0.1"
    _assert_no_identity_number(event, number)


def test_admin_change_is_audited_with_field_names(as_a, a, clinic_admin):
    as_a.post(url("patient", "change", a.patient), change_data("patient", a, "Nytt Navn"))
    [event] = _events("admin.change")
    assert event.clinic == a.clinic
    assert event.staff == clinic_admin
    assert "Nytt Navn" not in json.dumps(event.details)  # field names, never values
    _assert_no_identity_number(event, a.patient.national_id)


def test_admin_deletion_is_audited(as_a, a):
    pk = a.patient.pk
    as_a.post(url("patient", "delete", a.patient), {"post": "yes"})
    [event] = _events("admin.delete")
    assert event.object_id == str(pk)
    assert event.clinic == a.clinic
    _assert_no_identity_number(event, a.patient.national_id)


def test_bulk_deletion_is_audited_per_object(as_a, a):
    second = factories.make_patient(a.clinic)
    data = {
        "action": "delete_selected",
        "_selected_action": [str(a.patient.pk), str(second.pk)],
        "post": "yes",
    }
    as_a.post(url("patient", "changelist"), data)
    assert {e.object_id for e in _events("admin.delete")} == {str(a.patient.pk), str(second.pk)}


def test_opening_a_patient_is_audited(as_a, a):
    as_a.get(url("patient", "change", a.patient))
    [event] = _events("patient.read")
    assert event.object_id == str(a.patient.pk)
    _assert_no_identity_number(event, a.patient.national_id)


def test_refused_access_leaves_no_read_event_for_the_other_clinic(as_a, b):
    as_a.get(url("patient", "change", b.patient))
    assert not AuditEvent.objects.filter(clinic=b.clinic).exists()


def test_admin_index_keeps_the_lowercase_e_of_eportal(admin_client_for, clinic_admin):
    body = admin_client_for(clinic_admin).get("/admin/").content.decode()
    assert "ePortal tjenester" in body
    assert "EPortal" not in body
