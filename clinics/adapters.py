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


def password_login_counts_for_first_setup(
    sender: object, request: HttpRequest, user: object, **kwargs: object
) -> None:
    """A staff member's first login goes on to set up TOTP (eportal.middleware). allauth
    asks for the password again before an authenticator is added ("Bekreft tilgang"),
    although it was typed a moment ago: for a user without any authenticator yet, this
    password login counts as that confirmation, for allauth's usual few minutes
    (``ACCOUNT_REAUTHENTICATION_TIMEOUT``). Later changes still ask."""
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.models import Authenticator

    if request is None or not getattr(user, "is_staff", False):
        return
    if Authenticator.objects.filter(user=user).exists():
        return
    record_authentication(request, user, "password", reauthenticated=True, first_setup=True)
