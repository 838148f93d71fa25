"""Who may use the portal (rules 3 and 5 of docs/domain.md): ``may_use_portal``."""

from __future__ import annotations

import datetime

import pytest

from clinics import national_id
from clinics.models import Patient
from clinics.selectors import may_use_portal
from tests import factories

pytestmark = pytest.mark.django_db


def test_ordinary_patient_with_active_record_can_log_in(clinic):
    assert may_use_portal(factories.make_patient(clinic))


def test_d_number_patient_can_log_in(clinic):
    assert may_use_portal(factories.make_patient(clinic, national_id=factories.national_id("dnr")))


def test_h_number_patient_cannot_log_in(clinic):
    # H-numbers have no synthetic form; a help number identifies nobody outside the clinic
    number = national_id.make(datetime.date(1985, 3, 14), kind="hnr", synthetic=False)
    patient = factories.make_patient(clinic, national_id=number)
    assert patient.id_kind == national_id.IdKind.HNR
    assert not may_use_portal(patient)


def test_fh_number_patient_cannot_log_in(clinic):
    patient = factories.make_patient(clinic, national_id=factories.national_id("fhnr"))
    assert patient.id_kind == national_id.IdKind.FHNR
    assert not may_use_portal(patient)


def test_patient_with_inactive_record_cannot_log_in(clinic):
    assert not may_use_portal(factories.make_patient(clinic, journal_active=False))


def test_nobody_is_not_a_patient():
    assert not may_use_portal(None)
    assert not may_use_portal(None, method="sms")


def test_patient_of_a_clinic_with_the_portal_off_cannot_log_in(clinic):
    patient = factories.make_patient(clinic)
    clinic.active = False
    clinic.save()
    assert not may_use_portal(Patient.objects.select_related("clinic").get(pk=patient.pk))


def test_sms_login_needs_a_mobile_in_the_record(clinic):
    patient = factories.make_patient(clinic, mobile="")
    assert not may_use_portal(patient, method="sms")
    assert may_use_portal(patient, method="bankid")  # rule 3: BankID needs no mobile
    assert may_use_portal(patient)  # identified already: the session and the services


@pytest.mark.parametrize(
    ("allow_bankid", "allow_sms", "bankid", "sms"),
    [(True, True, True, True), (True, False, True, False), (False, True, False, True)],
)
def test_login_needs_a_method_the_clinic_offers(db, allow_bankid, allow_sms, bankid, sms):
    clinic = factories.make_clinic(allow_bankid=allow_bankid, allow_sms=allow_sms)
    patient = factories.make_patient(clinic)
    assert may_use_portal(patient, method="bankid") is bankid
    assert may_use_portal(patient, method="sms") is sms
    assert may_use_portal(patient)
