"""Request middleware that belongs to the project rather than to one app."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from .proxies import client_address, trusted_networks


class TrustedProxyMiddleware:
    """Put the client's address in ``REMOTE_ADDR`` when the request came through a trusted
    proxy (``EPORTAL_TRUSTED_PROXIES``, see :mod:`eportal.proxies`).

    Runs first, so that everything after it (the patients' rate limits, allauth's limits for
    staff, the audit log) reads one address: the client's. The peer's own address is kept in
    ``request.META["EPORTAL_PEER_ADDR"]``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        trusted_networks(tuple(settings.EPORTAL_TRUSTED_PROXIES))  # fail at start if wrong

    def __call__(self, request: HttpRequest) -> HttpResponse:
        networks = trusted_networks(tuple(settings.EPORTAL_TRUSTED_PROXIES))
        if networks:
            peer = request.META.get("REMOTE_ADDR", "")
            request.META["EPORTAL_PEER_ADDR"] = peer
            request.META["REMOTE_ADDR"] = client_address(
                peer, request.META.get("HTTP_X_FORWARDED_FOR", ""), networks
            )
        return self.get_response(request)


class LanguageMiddleware:
    """Activate the language the user chose, else Norwegian bokmål.

    Unlike Django's LocaleMiddleware this ignores the browser's Accept-Language: the portal
    speaks bokmål by default, and nynorsk or English only when the user asks for it with the
    language switch (which sets the language cookie).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Cookie",))
        return response


class StaffTwoFactorMiddleware:
    """Staff reach the admin site only after two-factor authentication (TOTP, allauth MFA).

    A staff member without an authenticator is sent to set one up; one whose session was not
    confirmed with a second factor is logged out and asked to log in again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            settings.EPORTAL_STAFF_MFA_REQUIRED
            and request.path.startswith("/admin/")
            and user is not None
            and user.is_authenticated
            and user.is_staff
        ):
            from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
            from allauth.mfa.models import Authenticator
            from django.contrib.auth import logout
            from django.shortcuts import redirect
            from django.utils.http import urlencode

            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('mfa_activate_totp')}?{query}")
            methods = request.session.get(AUTHENTICATION_METHODS_SESSION_KEY, [])
            if not any(m.get("method") == "mfa" for m in methods):
                logout(request)
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('account_login')}?{query}")
        return self.get_response(request)
