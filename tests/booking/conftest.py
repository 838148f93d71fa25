"""Booking fixtures: a clinic with an ePortal appointment type, a GP with a weekday
template, and a patient on the GP's list (tests/factories.py builds it). Time is frozen by
the tests that need it."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def world(clinic):
    return factories.build_booking_world(clinic)
