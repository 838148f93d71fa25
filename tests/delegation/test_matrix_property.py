"""A property over random matrices: ``practitioners_for`` returns exactly the ticked, enabled
practitioners of the patient's row (or the standard package), never one of another clinic."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinics.models import Practitioner
from delegation.models import MatrixCell, Service, ServiceMatrix
from delegation.selectors import practitioners_for, practitioners_for_queryset
from tests import factories

pytestmark = pytest.mark.django_db

N_PRACTITIONERS = 4
N_LISTS = 3
ROWS = [*range(N_LISTS), None]  # list indexes, then the row for patients without a GP here


@st.composite
def worlds(draw):
    """Two clinics of the same shape; indexes stand for the objects built from them."""

    def clinic_shape():
        return {
            "enabled": draw(
                st.lists(st.booleans(), min_size=N_PRACTITIONERS, max_size=N_PRACTITIONERS)
            ),
            "gps": draw(
                st.lists(
                    st.one_of(st.none(), st.integers(0, N_PRACTITIONERS - 1)),
                    min_size=N_LISTS,
                    max_size=N_LISTS,
                )
            ),
            # service -> set of (row, practitioner index); absent: not configured.
            "matrix": draw(
                st.dictionaries(
                    st.sampled_from(list(Service)),
                    st.sets(st.tuples(st.sampled_from(ROWS), st.integers(0, N_PRACTITIONERS - 1))),
                )
            ),
        }

    return {
        "here": clinic_shape(),
        "there": clinic_shape(),
        # Corrupt cells in this clinic's matrices naming the other clinic's practitioners.
        "foreign": draw(
            st.sets(st.tuples(st.sampled_from(ROWS), st.integers(0, N_PRACTITIONERS - 1)))
        ),
        "row": draw(st.sampled_from(ROWS)),
    }


def build(shape: dict, clinic) -> tuple[list[Practitioner], list]:
    practitioners = Practitioner.objects.bulk_create(
        Practitioner(clinic=clinic, name=f"Lege {i}", key=f"p{i}", eportal_enabled=on)
        for i, on in enumerate(shape["enabled"])
    )
    lists = [
        factories.make_list(clinic, practitioners[gp] if gp is not None else None, key=f"l{i}")
        for i, gp in enumerate(shape["gps"])
    ]
    for service, cells in shape["matrix"].items():
        matrix = ServiceMatrix.objects.create(clinic=clinic, service=service)
        MatrixCell.objects.bulk_create(
            MatrixCell(
                matrix=matrix,
                patient_list=lists[row] if row is not None else None,
                practitioner=practitioners[p],
            )
            for row, p in cells
        )
    return practitioners, lists


def expected(shape: dict, practitioners, lists, row, service) -> list[Practitioner]:
    """The rule, written out plainly."""
    if service in shape["matrix"]:
        ticked = {practitioners[p] for r, p in shape["matrix"][service] if r == row}
    elif row is not None and shape["gps"][row] is not None:
        ticked = {practitioners[shape["gps"][row]]}
    else:
        ticked = set()
    offered = [p for p in ticked if p.eportal_enabled]
    own_gp = shape["gps"][row] if row is not None else None
    own = practitioners[own_gp] if own_gp is not None else None
    return sorted(offered, key=lambda p: (p != own, p.name, p.pk))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_returns_exactly_the_ticked_enabled_practitioners_of_the_patients_row(db, world):
    with transaction.atomic():
        here = factories.make_clinic()
        there = factories.make_clinic()
        practitioners, lists = build(world["here"], here)
        strangers, _ = build(world["there"], there)
        shape = {**world["here"], "matrix": dict(world["here"]["matrix"])}
        if world["foreign"]:
            for service in Service:
                matrix, _ = ServiceMatrix.objects.get_or_create(clinic=here, service=service)
                MatrixCell.objects.bulk_create(
                    MatrixCell(
                        matrix=matrix,
                        patient_list=lists[row] if row is not None else None,
                        practitioner=strangers[p],
                    )
                    for row, p in world["foreign"]
                )
                # The corrupt cells configure the service (with no cell of its own here).
                shape["matrix"].setdefault(service, set())
        row = world["row"]
        patient = factories.make_patient(here, patient_list=lists[row] if row is not None else None)

        for service in Service:
            result = practitioners_for(patient, service)
            assert result == expected(shape, practitioners, lists, row, service)
            # The compiled query and the queryset are one rule.
            assert result == list(practitioners_for_queryset(patient, service))
            assert all(p.clinic_id == here.pk for p in result)
        transaction.set_rollback(True)
