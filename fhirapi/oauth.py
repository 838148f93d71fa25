"""django-oauth-toolkit wired to :class:`ApiClient`: client credentials only, and a client
gets at most the scopes of its registration (by default all of them)."""

from __future__ import annotations

from typing import Any

from oauth2_provider.models import Application
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes

from .models import ApiClient
from .scopes import ALL_SCOPES


def _client_of(application: Application | None) -> ApiClient | None:
    if application is None:
        return None
    try:
        return application.api_client
    except ApiClient.DoesNotExist:
        return None


class ScopesBackend(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return ALL_SCOPES

    def get_available_scopes(
        self, application: Application | None = None, request: Any = None, *args: Any, **kw: Any
    ) -> list[str]:
        client = _client_of(application)
        if client is None or not client.active:
            return []
        return client.scope_list

    def get_default_scopes(
        self, application: Application | None = None, request: Any = None, *args: Any, **kw: Any
    ) -> list[str]:
        return self.get_available_scopes(application, request)


class ClientValidator(OAuth2Validator):
    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kw: Any
    ) -> bool:
        if grant_type != "client_credentials":
            return False
        return bool(super().validate_grant_type(client_id, grant_type, client, request))

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        client = _client_of(request.client)
        return client is not None and client.active
