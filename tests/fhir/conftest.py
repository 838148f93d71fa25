"""Two clinics, each with a record system's API client, and helpers to call the API."""

from __future__ import annotations

import datetime
import json
import secrets
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from fhirapi.models import ApiClient
from fhirapi.scopes import ALL_SCOPES
from fhirapi.validation import valid
from tests import factories

BASE = "/fhir/r4/"


def register_client(clinic, scopes=None, name="EPJ") -> ApiClient:
    app = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret="s3cret-" + secrets.token_hex(8),
    )
    return ApiClient.objects.create(
        clinic=clinic, application=app, name=name, scopes=" ".join(scopes or ALL_SCOPES)
    )


def token_for(client: ApiClient, scopes=None, minutes: int = 10) -> str:
    raw = secrets.token_urlsafe(24)
    AccessToken.objects.create(
        token=raw,
        application=client.application,
        expires=timezone.now() + datetime.timedelta(minutes=minutes),
        scope=" ".join(scopes or client.scope_list),
    )
    return raw


class Api:
    """A test client that sends the bearer token and checks every resource it gets back
    against the FHIR R4 models."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def call(self, method: str, path: str, body=None, **headers):
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs = {"headers": headers}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = headers.pop("content_type", "application/fhir+json")
        url = path if path.startswith("/") else BASE + path
        response = getattr(self.client, method.lower())(url, **kwargs)
        if response.get("Content-Type", "").startswith("application/fhir+json"):
            data = response.json()
            response.fhir = data
            assert valid(data)
            for entry in data.get("entry", []):
                assert valid(entry["resource"])
        return response

    def get(self, path, **headers):
        return self.call("GET", path, **headers)

    def post(self, path, body=None, **headers):
        return self.call("POST", path, body, **headers)

    def put(self, path, body=None, **headers):
        return self.call("PUT", path, body, **headers)

    def patch(self, path, body=None, **headers):
        return self.call("PATCH", path, body, **headers)


def build(clinic) -> SimpleNamespace:
    w = factories.build_booking_world(clinic)
    soon = timezone.now() + datetime.timedelta(days=3)
    start = soon.replace(minute=0, second=0, microsecond=0)
    w.slot = factories.make_slot(w.gp, w.ep, start)
    w.later = factories.make_slot(w.gp, w.ep, start + datetime.timedelta(hours=1))
    w.api_client = register_client(clinic)
    w.api = Api(token_for(w.api_client))
    return w


@pytest.fixture
def world(clinic):
    return build(clinic)


@pytest.fixture
def other(other_clinic):
    return build(other_clinic)
