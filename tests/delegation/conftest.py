"""The leaflet's clinic (tests/factories.py builds it), configured or not."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def leaflet(clinic):
    return factories.build_leaflet_clinic(clinic)


@pytest.fixture
def unconfigured(clinic):
    return factories.build_leaflet_clinic(clinic, configure=False)


@pytest.fixture
def unconfigured_other(other_clinic):
    return factories.build_leaflet_clinic(other_clinic, configure=False)
