"""``offered_services``: the services on the patient's home page, and eConsultation's BankID."""

from __future__ import annotations

import pytest

from delegation.models import Service
from delegation.selectors import offered_services
from delegation.services import service_matrix_save

pytestmark = pytest.mark.django_db


def test_services_come_in_the_order_patients_see_them_with_who_offers_them(leaflet):
    offered = offered_services(leaflet.kari, high_assurance=False)
    assert [(o.service, o.practitioners) for o in offered] == [
        (Service.BOOKING, ("Kari Nordmann", "Vera Vikar")),
        (Service.URGENT, ("Tore Turnus",)),
        (Service.ECONSULT, ("Kari Nordmann",)),
        (Service.RENEWAL, ("Kari Nordmann",)),  # the standard package: the own GP
    ]
    assert [str(o.label) for o in offered] == [
        "Book an appointment",
        "Urgent appointment today",
        "eConsultation: write to a practitioner",
        "Renew a prescription",
    ]


def test_a_service_nobody_offers_is_left_out(leaflet):
    service_matrix_save(clinic=leaflet.clinic, service=Service.URGENT, cells=[])
    offered = offered_services(leaflet.kari, high_assurance=False)
    assert [o.service for o in offered] == [Service.BOOKING, Service.ECONSULT, Service.RENEWAL]


def test_econsultation_needs_bankid_only_where_the_clinic_demands_it(leaflet):
    assert not any(o.needs_bankid for o in offered_services(leaflet.kari, high_assurance=False))


@pytest.mark.parametrize(("high_assurance", "needs_bankid"), [(False, True), (True, False)])
def test_econsultation_needs_a_login_at_the_high_level_when_demanded(
    leaflet, high_assurance, needs_bankid
):
    leaflet.clinic.econsult_requires_bankid = True
    leaflet.clinic.save()
    offered = {o.service: o for o in offered_services(leaflet.kari, high_assurance=high_assurance)}
    assert offered[Service.ECONSULT].needs_bankid is needs_bankid
    assert not offered[Service.BOOKING].needs_bankid
    assert not offered[Service.URGENT].needs_bankid


def test_a_patient_who_may_not_use_the_portal_is_offered_nothing(leaflet):
    leaflet.kari.journal_active = False
    assert offered_services(leaflet.kari, high_assurance=True) == []
