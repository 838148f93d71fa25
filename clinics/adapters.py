"""django-allauth hooks for staff accounts."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class StaffAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by an administrator, never by signing up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
