"""The deployment check for synthetic identity numbers (``manage.py check --deploy``)."""

from __future__ import annotations

from django.core import checks

from clinics.checks import check_synthetic_identity_numbers


def test_synthetic_ids_in_production_are_warned_about(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS, settings.DEBUG = True, False
    [warning] = check_synthetic_identity_numbers()
    assert warning.id == "clinics.W001"
    assert warning.level == checks.WARNING
    assert "EPORTAL_ALLOW_SYNTHETIC_IDS" in warning.msg
    assert warning.hint


def test_synthetic_ids_on_a_development_machine_are_fine(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS, settings.DEBUG = True, True
    assert check_synthetic_identity_numbers() == []


def test_real_ids_only_in_production_are_fine(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS, settings.DEBUG = False, False
    assert check_synthetic_identity_numbers() == []


def test_the_check_runs_only_with_deploy(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS, settings.DEBUG = True, False
    ids = {message.id for message in checks.run_checks(include_deployment_checks=True)}
    assert "clinics.W001" in ids
    assert "clinics.W001" not in {message.id for message in checks.run_checks()}
