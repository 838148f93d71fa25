"""``practitioners_for``: the one rule every service asks."""

from __future__ import annotations

import pytest

from clinics.models import AuditEvent, Practitioner
from delegation.models import Service
from delegation.selectors import may_use, practitioners_for
from delegation.services import service_matrix_reset, service_matrix_save
from tests import factories

pytestmark = pytest.mark.django_db


def names(patient, service) -> list[str]:
    return [p.name for p in practitioners_for(patient, service)]


# The leaflet's example


def test_patients_may_book_both_the_locum_and_their_own_gp(leaflet):
    assert names(leaflet.kari, Service.BOOKING) == ["Kari Nordmann", "Vera Vikar"]
    assert names(leaflet.ingrid, Service.BOOKING) == ["Per Hansen", "Vera Vikar"]


def test_the_junior_doctor_handles_all_urgent_same_day_appointments(leaflet):
    for patient in (leaflet.kari, leaflet.ingrid, leaflet.per):
        assert names(patient, Service.URGENT) == ["Tore Turnus"]


def test_the_junior_doctor_handles_all_requests_from_patients_without_a_gp_here(leaflet):
    # "alle henvendelser": booking, urgent appointments and eConsultations alike.
    for service in (Service.BOOKING, Service.URGENT, Service.ECONSULT):
        assert names(leaflet.per, service) == ["Tore Turnus"]
    # Patients with a GP here write to their own GP.
    assert names(leaflet.kari, Service.ECONSULT) == ["Kari Nordmann"]
    assert names(leaflet.ingrid, Service.ECONSULT) == ["Per Hansen"]


# The standard package


@pytest.mark.parametrize("service", list(Service))
def test_standard_package_offers_each_patient_their_own_gp(unconfigured, service):
    assert names(unconfigured.kari, service) == ["Kari Nordmann"]
    assert names(unconfigured.ingrid, service) == ["Per Hansen"]


@pytest.mark.parametrize("service", list(Service))
def test_standard_package_offers_nobody_to_patients_without_a_gp_here(unconfigured, service):
    assert names(unconfigured.per, service) == []


def test_standard_package_leaves_out_a_gp_without_aktiver_eportal(unconfigured):
    Practitioner.objects.filter(pk=unconfigured.nordmann.pk).update(eportal_enabled=False)
    assert names(unconfigured.kari, Service.BOOKING) == []
    assert names(unconfigured.ingrid, Service.BOOKING) == ["Per Hansen"]


def test_a_configured_service_with_nobody_ticked_is_not_the_standard_package(unconfigured):
    service_matrix_save(clinic=unconfigured.clinic, service=Service.ECONSULT, cells=[])
    assert names(unconfigured.kari, Service.ECONSULT) == []
    # The other services still follow the standard package.
    assert names(unconfigured.kari, Service.BOOKING) == ["Kari Nordmann"]


def test_reset_returns_a_service_to_the_standard_package(leaflet):
    service_matrix_reset(clinic=leaflet.clinic, service=Service.URGENT)
    assert names(leaflet.kari, Service.URGENT) == ["Kari Nordmann"]
    assert names(leaflet.per, Service.URGENT) == []
    assert names(leaflet.kari, Service.BOOKING) == ["Kari Nordmann", "Vera Vikar"]


def test_only_the_given_clinics_configuration_counts(leaflet, other_clinic):
    """Configuring a service at another clinic changes nothing here."""
    other = factories.build_leaflet_clinic(other_clinic, configure=False)
    assert names(other.kari, Service.BOOKING) == ["Kari Nordmann"]
    service_matrix_save(clinic=other_clinic, service=Service.BOOKING, cells=[])
    assert names(other.kari, Service.BOOKING) == []
    assert names(leaflet.kari, Service.BOOKING) == ["Kari Nordmann", "Vera Vikar"]


# Changes around the matrix


def test_a_practitioner_switched_off_disappears_from_every_service_at_once(leaflet):
    cells_before = list(leaflet.vikar.matrix_cells.values_list("pk", flat=True))
    Practitioner.objects.filter(pk=leaflet.turnus.pk).update(eportal_enabled=False)
    Practitioner.objects.filter(pk=leaflet.vikar.pk).update(eportal_enabled=False)

    assert names(leaflet.kari, Service.BOOKING) == ["Kari Nordmann"]
    assert names(leaflet.per, Service.URGENT) == []
    assert names(leaflet.per, Service.ECONSULT) == []
    # The matrix is untouched: switching the locum on again brings them back.
    assert list(leaflet.vikar.matrix_cells.values_list("pk", flat=True)) == cells_before
    Practitioner.objects.filter(pk=leaflet.vikar.pk).update(eportal_enabled=True)
    assert names(leaflet.kari, Service.BOOKING) == ["Kari Nordmann", "Vera Vikar"]


def test_a_patient_moved_to_another_list_gets_that_lists_row(leaflet):
    leaflet.kari.patient_list = leaflet.list_hansen
    leaflet.kari.save()
    assert names(leaflet.kari, Service.BOOKING) == ["Per Hansen", "Vera Vikar"]
    assert names(leaflet.kari, Service.ECONSULT) == ["Per Hansen"]

    leaflet.kari.patient_list = None
    leaflet.kari.save()
    assert names(leaflet.kari, Service.BOOKING) == ["Tore Turnus"]
    assert names(leaflet.kari, Service.ECONSULT) == ["Tore Turnus"]


def test_a_patient_whose_gp_left_the_clinic_keeps_their_lists_row(leaflet, unconfigured_other):
    """The GP is deleted: the list's ``gp`` becomes NULL, the list's row still applies, and
    the standard package has nobody to offer."""
    leaflet.nordmann.delete()
    leaflet.kari.refresh_from_db()
    assert leaflet.kari.patient_list == leaflet.list_nordmann
    assert names(leaflet.kari, Service.BOOKING) == ["Vera Vikar"]
    assert names(leaflet.kari, Service.ECONSULT) == []
    assert names(leaflet.kari, Service.URGENT) == ["Tore Turnus"]

    unconfigured_other.nordmann.delete()
    unconfigured_other.kari.refresh_from_db()
    assert names(unconfigured_other.kari, Service.BOOKING) == []


def test_a_patient_whose_gp_is_switched_off_gets_only_the_others_ticked(leaflet):
    Practitioner.objects.filter(pk=leaflet.nordmann.pk).update(eportal_enabled=False)
    assert names(leaflet.kari, Service.BOOKING) == ["Vera Vikar"]
    assert names(leaflet.kari, Service.ECONSULT) == []


def test_a_clinic_with_no_patient_lists(clinic):
    junior = factories.make_practitioner(clinic, "Tore Turnus", eportal_enabled=True)
    patient = factories.make_patient(clinic)
    for service in Service:
        assert practitioners_for(patient, service) == []
    service_matrix_save(clinic=clinic, service=Service.URGENT, cells=[(None, junior.pk)])
    assert practitioners_for(patient, Service.URGENT) == [junior]
    assert practitioners_for(patient, Service.BOOKING) == []


# Who gets nothing


@pytest.mark.parametrize("service", list(Service))
def test_a_patient_without_an_active_record_gets_nobody(leaflet, service):
    leaflet.kari.journal_active = False
    assert practitioners_for(leaflet.kari, service) == []


def test_a_patient_without_a_full_identity_number_gets_nobody(leaflet):
    leaflet.kari.national_id = factories.national_id(kind="fhnr")
    assert practitioners_for(leaflet.kari, Service.BOOKING) == []


def test_a_clinic_with_the_portal_switched_off_offers_nobody(leaflet):
    type(leaflet.clinic).objects.filter(pk=leaflet.clinic.pk).update(active=False)
    assert practitioners_for(leaflet.kari, Service.BOOKING) == []


def test_another_clinics_practitioner_is_never_offered_even_if_ticked(leaflet, other_clinic):
    """A corrupt cell (written past the services) naming another clinic's practitioner."""
    from delegation.models import MatrixCell, ServiceMatrix

    stranger = factories.make_practitioner(other_clinic, "Per Utenfor", eportal_enabled=True)
    matrix = ServiceMatrix.objects.get(clinic=leaflet.clinic, service=Service.BOOKING)
    MatrixCell.objects.create(
        matrix=matrix, patient_list=leaflet.list_nordmann, practitioner=stranger
    )
    MatrixCell.objects.create(matrix=matrix, patient_list=None, practitioner=stranger)
    assert names(leaflet.kari, Service.BOOKING) == ["Kari Nordmann", "Vera Vikar"]
    assert names(leaflet.per, Service.BOOKING) == ["Tore Turnus"]


def test_services_refuse_cells_of_another_clinic(leaflet, other_clinic):
    from django.core.exceptions import ValidationError

    stranger = factories.make_practitioner(other_clinic, eportal_enabled=True)
    foreign_list = factories.make_list(other_clinic, stranger)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        service_matrix_save(clinic=leaflet.clinic, service="booking", cells=[(None, stranger.pk)])
    with pytest.raises(ValidationError):
        service_matrix_save(
            clinic=leaflet.clinic, service="booking", cells=[(foreign_list.pk, leaflet.vikar.pk)]
        )
    assert names(leaflet.kari, Service.BOOKING) == ["Kari Nordmann", "Vera Vikar"]
    assert AuditEvent.objects.count() == events


# Order and shape


def test_own_gp_comes_first_then_by_name(clinic):
    gp = factories.make_practitioner(clinic, "Åse Østby", eportal_enabled=True)
    others = [
        factories.make_practitioner(clinic, name, eportal_enabled=True)
        for name in ("Bjørn Berg", "Anne Aas", "Anne Aas")
    ]
    plist = factories.make_list(clinic, gp)
    patient = factories.make_patient(clinic, patient_list=plist)
    service_matrix_save(
        clinic=clinic,
        service=Service.BOOKING,
        cells=[(plist.pk, p.pk) for p in [*others, gp]],
    )
    result = practitioners_for(patient, Service.BOOKING)
    assert result == [gp, others[1], others[2], others[0]]


def test_the_service_may_be_given_by_value(leaflet):
    assert practitioners_for(leaflet.kari, "booking") == practitioners_for(
        leaflet.kari, Service.BOOKING
    )
    with pytest.raises(ValueError, match="Unknown service"):
        practitioners_for(leaflet.kari, "dentist")


def test_may_use_answers_for_one_practitioner(leaflet):
    assert may_use(leaflet.kari, Service.BOOKING, leaflet.vikar.pk)
    assert not may_use(leaflet.kari, Service.BOOKING, leaflet.hansen.pk)
    assert not may_use(leaflet.per, Service.BOOKING, leaflet.vikar.pk)
    assert may_use(leaflet.per, Service.BOOKING, leaflet.turnus.pk)
    assert may_use(leaflet.per, Service.ECONSULT, leaflet.turnus.pk)


# Query count


@pytest.mark.parametrize("size", [1, 5, 25])
def test_one_query_whatever_the_size_of_the_matrix(clinic, django_assert_num_queries, size):
    practitioners = [factories.make_practitioner(clinic, eportal_enabled=True) for _ in range(size)]
    lists = [factories.make_list(clinic, practitioners[i % size]) for i in range(size)]
    cells = [(pl.pk, p.pk) for pl in lists for p in practitioners] + [
        (None, p.pk) for p in practitioners
    ]
    for service in (Service.BOOKING, Service.URGENT):
        service_matrix_save(clinic=clinic, service=service, cells=cells)
    with_gp = factories.make_patient(clinic, patient_list=lists[0])
    without_gp = factories.make_patient(clinic)

    for patient in (with_gp, without_gp):
        for service in Service:  # configured and standard package alike
            with django_assert_num_queries(1):
                practitioners_for(patient, service)
    with django_assert_num_queries(1):
        assert len(practitioners_for(with_gp, Service.BOOKING)) == size
