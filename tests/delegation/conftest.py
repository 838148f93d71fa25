from __future__ import annotations

from types import SimpleNamespace

import pytest

from clinics.models import Practitioner
from delegation.models import Service
from delegation.services import service_matrix_save
from tests import factories

Role = Practitioner.Role


def build_leaflet_clinic(clinic, *, configure: bool = True) -> SimpleNamespace:
    """The leaflet's clinic: two GPs with a list each, a locum, a junior doctor and a nurse
    without "Aktiver ePortal"; configured as in the leaflet's example when ``configure``."""
    w = SimpleNamespace(clinic=clinic)
    w.nordmann = factories.make_practitioner(
        clinic, "Kari Nordmann", key="p-nordmann", eportal_enabled=True
    )
    w.hansen = factories.make_practitioner(
        clinic, "Per Hansen", key="p-hansen", eportal_enabled=True
    )
    w.vikar = factories.make_practitioner(
        clinic, "Vera Vikar", key="p-vikar", role=Role.LOCUM, eportal_enabled=True
    )
    w.turnus = factories.make_practitioner(
        clinic, "Tore Turnus", key="p-turnus", role=Role.JUNIOR, eportal_enabled=True
    )
    w.nurse = factories.make_practitioner(
        clinic, "Siv Sykepleier", key="p-sykepleier", role=Role.NURSE
    )
    w.list_nordmann = factories.make_list(
        clinic, w.nordmann, key="list-nordmann", name="Liste Kari Nordmann"
    )
    w.list_hansen = factories.make_list(
        clinic, w.hansen, key="list-hansen", name="Liste Per Hansen"
    )
    w.kari = factories.make_patient(clinic, name="Kari Testesen", patient_list=w.list_nordmann)
    w.ingrid = factories.make_patient(clinic, name="Ingrid Eksempel", patient_list=w.list_hansen)
    w.per = factories.make_patient(clinic, name="Per Uten Fastlege", patient_list=None)
    if configure:
        lists = (w.list_nordmann, w.list_hansen)
        service_matrix_save(
            clinic=clinic,
            service=Service.BOOKING,
            cells=[(pl.pk, pl.gp_id) for pl in lists]
            + [(pl.pk, w.vikar.pk) for pl in lists]
            + [(None, w.turnus.pk)],
        )
        service_matrix_save(
            clinic=clinic,
            service=Service.URGENT,
            cells=[(row, w.turnus.pk) for row in (w.list_nordmann.pk, w.list_hansen.pk, None)],
        )
        service_matrix_save(
            clinic=clinic,
            service=Service.ECONSULT,
            cells=[(pl.pk, pl.gp_id) for pl in lists] + [(None, w.turnus.pk)],
        )
    return w


@pytest.fixture
def leaflet(clinic):
    return build_leaflet_clinic(clinic)


@pytest.fixture
def unconfigured(clinic):
    return build_leaflet_clinic(clinic, configure=False)


@pytest.fixture
def unconfigured_other(other_clinic):
    return build_leaflet_clinic(other_clinic, configure=False)
