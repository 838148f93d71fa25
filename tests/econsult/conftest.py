from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import factories
from tests.oidc_provider import TestProvider, running_provider

from .samples import PNG


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def build_world(clinic):
    """A clinic with a GP (own list, eConsultation under the standard package), a second
    practitioner, two patients on the GP's list and one without a GP here."""
    gp = factories.make_practitioner(clinic, "Dr. Hansen", eportal_enabled=True)
    locum = factories.make_practitioner(clinic, "Dr. Vikar", eportal_enabled=True, role="locum")
    gp_list = factories.make_list(clinic, gp=gp, name="Hansen")
    patient = factories.make_patient(clinic, name="Kari Nordmann", patient_list=gp_list)
    neighbour = factories.make_patient(clinic, name="Ola Nabo", patient_list=gp_list)
    no_gp = factories.make_patient(clinic, name="Uten Fastlege")
    return SimpleNamespace(
        clinic=clinic,
        gp=gp,
        locum=locum,
        gp_list=gp_list,
        patient=patient,
        neighbour=neighbour,
        no_gp=no_gp,
    )


@pytest.fixture
def world(clinic):
    return build_world(clinic)


@pytest.fixture
def other_world(other_clinic):
    return build_world(other_clinic)


def png(name: str = "bilde.png") -> SimpleUploadedFile:
    return upload(name, PNG)


# The local OpenID Connect provider for the browser journeys (BankID), one per module.


@pytest.fixture(scope="module")
def browser_provider(live_server) -> Iterator[TestProvider]:
    with running_provider(
        client_id="eportal-econsult-e2e",
        client_secret="e2e-client-secret-" + "e" * 32,
        redirect_uris=[f"{live_server.url}/oidc/callback/"],
    ) as provider:
        yield provider


@pytest.fixture
def provider(settings, browser_provider: TestProvider) -> TestProvider:
    for name, value in browser_provider.settings().items():
        setattr(settings, name, value)
    return browser_provider
