"""What the database itself enforces about the matrix."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from delegation.models import MatrixCell, ServiceMatrix
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def matrix(clinic):
    return ServiceMatrix.objects.create(clinic=clinic, service="booking")


def test_one_matrix_per_clinic_and_service(clinic, other_clinic, matrix):
    ServiceMatrix.objects.create(clinic=clinic, service="urgent")
    ServiceMatrix.objects.create(clinic=other_clinic, service="booking")
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceMatrix.objects.create(clinic=clinic, service="booking")


def test_only_known_services(clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceMatrix.objects.create(clinic=clinic, service="dentist")


def test_a_cell_is_stored_once(clinic, matrix):
    doctor = factories.make_practitioner(clinic)
    plist = factories.make_list(clinic, doctor)
    MatrixCell.objects.create(matrix=matrix, patient_list=plist, practitioner=doctor)
    with pytest.raises(IntegrityError), transaction.atomic():
        MatrixCell.objects.create(matrix=matrix, patient_list=plist, practitioner=doctor)


def test_a_cell_of_the_row_without_a_gp_is_stored_once(clinic, matrix):
    """NULLs are distinct in plain unique indexes; the partial index catches the NULL row."""
    doctor = factories.make_practitioner(clinic)
    MatrixCell.objects.create(matrix=matrix, patient_list=None, practitioner=doctor)
    with pytest.raises(IntegrityError), transaction.atomic():
        MatrixCell.objects.create(matrix=matrix, patient_list=None, practitioner=doctor)


def test_the_same_practitioner_in_other_rows_and_services(clinic, matrix):
    doctor = factories.make_practitioner(clinic)
    plist = factories.make_list(clinic, doctor)
    urgent = ServiceMatrix.objects.create(clinic=clinic, service="urgent")
    MatrixCell.objects.create(matrix=matrix, patient_list=None, practitioner=doctor)
    MatrixCell.objects.create(matrix=matrix, patient_list=plist, practitioner=doctor)
    MatrixCell.objects.create(matrix=urgent, patient_list=None, practitioner=doctor)
    assert MatrixCell.objects.count() == 3


def test_cells_go_with_their_list_and_practitioner(clinic, matrix):
    doctor = factories.make_practitioner(clinic)
    locum = factories.make_practitioner(clinic)
    plist = factories.make_list(clinic, doctor)
    MatrixCell.objects.create(matrix=matrix, patient_list=plist, practitioner=locum)
    MatrixCell.objects.create(matrix=matrix, patient_list=None, practitioner=doctor)
    plist.delete()
    doctor.delete()
    assert not MatrixCell.objects.exists()
    assert ServiceMatrix.objects.filter(pk=matrix.pk).exists()  # still configured


def test_clean_refuses_another_clinics_list_or_practitioner(clinic, other_clinic, matrix):
    stranger = factories.make_practitioner(other_clinic)
    foreign_list = factories.make_list(other_clinic)
    doctor = factories.make_practitioner(clinic)
    with pytest.raises(ValidationError, match="practitioner"):
        MatrixCell(matrix=matrix, practitioner=stranger).full_clean()
    with pytest.raises(ValidationError, match="patient_list"):
        MatrixCell(matrix=matrix, patient_list=foreign_list, practitioner=doctor).full_clean()
    MatrixCell(matrix=matrix, patient_list=None, practitioner=doctor).full_clean()
