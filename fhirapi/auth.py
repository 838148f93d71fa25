"""Who calls: the bearer token (django-oauth-toolkit's AccessToken) and the clinic system
(:class:`ApiClient`) it was issued to, in one query; which scope a request needs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.http import HttpRequest
from oauth2_provider.models import AccessToken

from clinics.models import Clinic

from .http import FhirError
from .models import ApiClient


@dataclass(frozen=True)
class Caller:
    client: ApiClient
    token: AccessToken

    @property
    def clinic(self) -> Clinic:
        return self.client.clinic

    @property
    def client_id(self) -> str:
        return self.client.application.client_id


def _unauthorized(description: str) -> FhirError:
    return FhirError(
        401,
        "login",
        description,
        headers={
            "WWW-Authenticate": f'Bearer realm="fhir", error="invalid_token", '
            f'error_description="{description}"'
        },
    )


def authenticate(request: HttpRequest) -> Caller:
    """The caller of ``request``; a 401 OperationOutcome without a valid token."""
    header = request.headers.get("Authorization", "")
    kind, _, raw = header.partition(" ")
    if kind.lower() != "bearer" or not raw.strip():
        raise FhirError(
            401,
            "login",
            "A bearer token is needed.",
            headers={"WWW-Authenticate": 'Bearer realm="fhir"'},
        )
    checksum = hashlib.sha256(raw.strip().encode("utf-8")).hexdigest()
    token = (
        AccessToken.objects.select_related("application__api_client__clinic")
        .filter(token_checksum=checksum)
        .first()
    )
    if token is None or token.is_expired() or token.application is None:
        raise _unauthorized("The token is unknown or has expired.")
    try:
        client = token.application.api_client
    except ApiClient.DoesNotExist:
        raise _unauthorized("The token is not a clinic system's.") from None
    if not client.active:
        raise _unauthorized("The client is no longer active.")
    return Caller(client=client, token=token)


def require_scope(caller: Caller, scope: str) -> None:
    if not caller.token.allow_scopes([scope]):
        raise FhirError(
            403,
            "forbidden",
            f"The token lacks the scope {scope}.",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )
