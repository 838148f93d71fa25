from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinics.models import Clinic, Patient
from tests import factories

pytestmark = pytest.mark.django_db


def test_identity_number_once_per_clinic(clinic):
    number = factories.national_id()
    factories.make_patient(clinic, national_id=number)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.make_patient(clinic, national_id=number)


def test_same_identity_number_at_two_clinics_is_fine(clinic, other_clinic):
    number = factories.national_id()
    factories.make_patient(clinic, national_id=number)
    factories.make_patient(other_clinic, national_id=number)
    assert Patient.objects.filter(national_id=number).count() == 2


def test_ep_identifier_is_unique_ignoring_case(db):
    factories.make_clinic("demo")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.make_clinic("DEMO")


def test_ep_identifier_clash_is_a_clear_validation_error(db):
    factories.make_clinic("demo")
    clinic = Clinic(ep_ident="Demo", name="Another")
    with pytest.raises(ValidationError) as info:
        clinic.full_clean()
    assert "ep_ident" in info.value.message_dict


@pytest.mark.parametrize("ep_ident", ["has space", "-leading", "a/b", "x" * 33, "æøå"])
def test_ep_identifier_must_be_url_safe(db, ep_ident):
    with pytest.raises(ValidationError) as info:
        Clinic(ep_ident=ep_ident, name="X").full_clean()
    assert "ep_ident" in info.value.message_dict


def test_patient_str_masks_the_identity_number(clinic):
    patient = factories.make_patient(clinic, name="Kari Nordmann")
    assert patient.national_id not in str(patient)
    assert patient.national_id[:6] in str(patient)


def test_patient_list_of_another_clinic_is_refused(clinic, other_clinic):
    foreign_list = factories.make_list(other_clinic)
    patient = Patient(
        clinic=clinic,
        national_id=factories.national_id(),
        name="Ola",
        patient_list=foreign_list,
    )
    with pytest.raises(ValidationError) as info:
        patient.full_clean()
    assert "patient_list" in info.value.message_dict


def test_gp_of_another_clinic_is_refused(clinic, other_clinic):
    foreign_gp = factories.make_practitioner(other_clinic)
    patient_list = factories.make_list(clinic)
    patient_list.gp = foreign_gp
    with pytest.raises(ValidationError) as info:
        patient_list.full_clean()
    assert "gp" in info.value.message_dict


def test_invalid_identity_number_is_refused_by_full_clean(clinic):
    patient = Patient(clinic=clinic, national_id="12345678901", name="Ola")
    with pytest.raises(ValidationError) as info:
        patient.full_clean()
    assert "national_id" in info.value.message_dict


def test_clinic_login_methods_and_entry_path(db):
    clinic = factories.make_clinic("Kontor-1", allow_bankid=False)
    assert clinic.login_methods == ["sms"]
    assert clinic.entry_path() == "/Login.aspx?ClinicId=Kontor-1"
    assert clinic.get_absolute_url() == "/c/Kontor-1/"
