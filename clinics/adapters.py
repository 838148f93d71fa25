"""django-allauth hooks for staff accounts."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class StaffAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by an administrator, never by signing up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


def record_new_authenticator(
    sender: object, request: HttpRequest, user: object, **kwargs: object
) -> None:
    """Setting up TOTP proves the second factor for this session (allauth does not record it)."""
    from allauth.account.internal.flows.login import record_authentication

    authenticator = kwargs.get("authenticator")
    record_authentication(
        request, user, "mfa", type=getattr(authenticator, "type", "totp"), activated=True
    )
