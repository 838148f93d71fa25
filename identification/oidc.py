"""BankID login over OpenID Connect (ID-porten), built on mozilla-django-oidc.

Patients are not Django users, so mozilla-django-oidc's callback view and authentication
backend, which log a ``User`` in, are not used whole. This module reuses their parts:

- the authorization request of :class:`OIDCAuthenticationRequestView`: it makes ``state``,
  ``nonce`` and the PKCE pair and keeps them in the session under ``oidc_states``; we add the
  clinic to that entry, so the clinic the patient came from is tied to this ``state``;
- the token request and the JWKS lookup of :class:`OIDCAuthenticationBackend`.

Its ID-token check alone is not enough: it checks the algorithm, the signature and the nonce,
but not the issuer or the audience, requires no claim, and an expired token raises an error it
does not catch. :meth:`BankIDBackend.verify_token` checks all of it with PyJWT, makes each
nonce single-use on the server, and :func:`identify_patient` then checks ``acr`` and matches
the identity number to a patient of the clinic. The pages (the button and the callback) are
in :mod:`identification.views`. See docs/bankid.md for the configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify, import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from clinics.models import Clinic, Patient
from clinics.selectors import may_use_portal

from .session import LEVEL_HIGH, LEVEL_SUBSTANTIAL, METHOD_BANKID

logger = logging.getLogger(__name__)

#: The URL name of :func:`identification.views.bankid_callback` (eportal/urls.py): the one
#: redirect URI to register.
CALLBACK_URL_NAME = "oidc_callback"
#: mozilla-django-oidc's session key: ``{state: {"nonce", "code_verifier", "added_on"}}``.
SESSION_STATES = "oidc_states"
STATE_CLINIC = "eportal_clinic_id"
#: Where the patient goes after the login (a page of the same clinic's; see safe_next()).
STATE_NEXT = "eportal_next"
#: Seconds of clock skew accepted on ``exp``, ``iat`` and ``nbf``.
LEEWAY = 60
#: An authorization started longer ago than this is not finished.
STATE_MAX_AGE = 30 * 60
#: Seconds to wait for the token and JWKS endpoints (mozilla-django-oidc waits forever).
DEFAULT_TIMEOUT = 10
NONCE_CACHE_PREFIX = "eportal:oidc-nonce:"
#: Error codes a provider may send back (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6); others are
#: audited as "other", so the audit log never stores text an attacker chose.
PROVIDER_ERRORS = frozenset(
    {
        "access_denied",
        "invalid_request",
        "unauthorized_client",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)

# What ePortal does not leave to configuration: PKCE and a nonce on every login, never an
# unsigned token, and one fixed callback URL.
_FIXED_SETTINGS: dict[str, Any] = {
    "OIDC_USE_PKCE": True,
    "OIDC_USE_NONCE": True,
    "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
}


def oidc_setting(attr: str, *default: Any) -> Any:
    """mozilla-django-oidc's settings as ePortal uses them (see ``_FIXED_SETTINGS``)."""
    if attr in _FIXED_SETTINGS:
        return _FIXED_SETTINGS[attr]
    if attr == "OIDC_TIMEOUT":
        return getattr(settings, attr, None) or DEFAULT_TIMEOUT
    return import_from_settings(attr, *default)


def bankid_configured() -> bool:
    """Whether the OIDC settings are complete enough to start a BankID login."""
    needed = [
        "OIDC_RP_CLIENT_ID",
        "OIDC_RP_SIGN_ALGO",
        "OIDC_OP_ISSUER",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT",
    ]
    if not all(getattr(settings, name, "") for name in needed):
        return False
    algorithm = settings.OIDC_RP_SIGN_ALGO
    if algorithm.lower() == "none":
        return False
    if algorithm.startswith("HS"):
        return bool(getattr(settings, "OIDC_RP_CLIENT_SECRET", ""))
    return bool(
        getattr(settings, "OIDC_OP_JWKS_ENDPOINT", "")
        or getattr(settings, "OIDC_RP_IDP_SIGN_KEY", None)
    )


class LoginRefused(Exception):
    """A BankID login that must not go on.

    ``reason`` goes to the audit log; ``page`` chooses what the patient is told.
    """

    def __init__(
        self,
        reason: str,
        *,
        page: str = "failed",
        status: int = 403,
        patient: Patient | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.page = page
        self.status = status
        self.patient = patient
        self.details = details or {}


class AuthorizationRequestView(OIDCAuthenticationRequestView):
    """mozilla-django-oidc's authorization request, with ePortal's settings and parameters."""

    get_settings = staticmethod(oidc_setting)

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        params = dict(super().get_extra_params(request))
        # Ask for the level we will demand (ID-porten: acr_values=idporten-loa-high), and for
        # the login page in the patient's language.
        if settings.EPORTAL_OIDC_MIN_ACR:
            params.setdefault("acr_values", " ".join(settings.EPORTAL_OIDC_MIN_ACR))
        params.setdefault("ui_locales", getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE))
        # Always authenticate anew: ePortal's logout does not end the single sign-on session
        # at the provider, and the next person at a shared computer must not inherit it.
        params.setdefault("prompt", "login")
        return params


class BankIDBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's token request and JWKS lookup, with a complete ID-token check.

    Used directly by :func:`identify_patient`; never listed in ``AUTHENTICATION_BACKENDS``.
    """

    get_settings = staticmethod(oidc_setting)

    def exchange_code(self, request: HttpRequest, *, code: str, code_verifier: str) -> str:
        """Redeem the authorization code (with the PKCE verifier); return the ID token."""
        payload = {
            "client_id": self.OIDC_RP_CLIENT_ID,
            "client_secret": self.OIDC_RP_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": absolutify(request, reverse(CALLBACK_URL_NAME)),
            "code_verifier": code_verifier,
        }
        try:
            token_info = self.get_token(payload)
        except (requests.RequestException, ValueError) as error:
            # Never log the error itself: mozilla-django-oidc puts the response body in it.
            status = getattr(getattr(error, "response", None), "status_code", None)
            logger.warning("BankID token request failed (HTTP status %s)", status)
            if status == 401:
                logger.error("The provider refused our client credentials: check OIDC_RP_*")
                raise LoginRefused("client_auth", page="unavailable", status=502) from error
            if status is not None and 400 <= status < 500:
                # The provider refused the code: used, expired, or the PKCE verifier is wrong.
                raise LoginRefused("token_rejected", status=400) from error
            raise LoginRefused("token_endpoint", page="unavailable", status=502) from error
        id_token = token_info.get("id_token") if isinstance(token_info, dict) else None
        if not isinstance(id_token, str) or not id_token:
            raise LoginRefused("no_id_token", page="unavailable", status=502)
        return id_token

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The ID token's claims, once everything OIDC Core 3.1.3.7 asks of us is checked.

        Refuses (:class:`LoginRefused`) any algorithm but ``OIDC_RP_SIGN_ALGO`` (so never
        ``none``), a signature that the provider's keys do not verify, another issuer, an
        audience without our client id (or an ``azp`` for another client), a token outside
        its ``nbf``/``iat``-``exp`` window (give or take ``LEEWAY``), a nonce other than the
        one stored for this login, and a nonce seen before.
        """
        expected_nonce = kwargs.get("nonce")
        algorithm = self.OIDC_RP_SIGN_ALGO
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise LoginRefused("malformed_token") from error
        if header.get("alg") != algorithm or algorithm.lower() == "none":
            raise LoginRefused("algorithm")
        try:
            claims = jwt.decode(
                token,
                self._verification_key(token),
                algorithms=[algorithm],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=LEEWAY,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.InvalidSignatureError as error:
            raise LoginRefused("signature") from error
        except jwt.ExpiredSignatureError as error:
            raise LoginRefused("expired") from error
        except jwt.ImmatureSignatureError as error:
            raise LoginRefused("not_yet_valid") from error
        except jwt.InvalidIssuerError as error:
            raise LoginRefused("issuer") from error
        except jwt.InvalidAudienceError as error:
            raise LoginRefused("audience") from error
        except jwt.MissingRequiredClaimError as error:
            raise LoginRefused(f"missing_{error.claim}") from error
        except jwt.PyJWTError as error:
            raise LoginRefused("invalid_token") from error

        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (azp is not None and azp != self.OIDC_RP_CLIENT_ID) or (
            azp is None and len(audiences) > 1
        ):
            raise LoginRefused("audience")

        nonce = claims.get("nonce")
        if not (
            isinstance(expected_nonce, str)
            and expected_nonce
            and isinstance(nonce, str)
            and hmac.compare_digest(nonce.encode(), expected_nonce.encode())
        ):
            raise LoginRefused("nonce")
        # The state entry holding the nonce is gone from the session once used; this record
        # also catches two callbacks racing with one state, or a restored session.
        digest = hashlib.sha256(nonce.encode()).hexdigest()
        lifetime = max(int(claims["exp"]) - int(time.time()) + LEEWAY, 60)
        if not cache.add(NONCE_CACHE_PREFIX + digest, 1, timeout=lifetime):
            raise LoginRefused("nonce_reused")
        return claims

    def _verification_key(self, token: str) -> Any:
        if self.OIDC_RP_SIGN_ALGO.startswith("HS"):
            return self.OIDC_RP_CLIENT_SECRET
        if self.OIDC_RP_IDP_SIGN_KEY is not None:
            return self.OIDC_RP_IDP_SIGN_KEY
        try:
            return self.retrieve_matching_jwk(token).key
        except (requests.RequestException, ValueError) as error:
            logger.warning("BankID JWKS request failed: %s", type(error).__name__)
            raise LoginRefused("jwks_endpoint", page="unavailable", status=502) from error
        except (SuspiciousOperation, KeyError, TypeError, jwt.PyJWTError) as error:
            raise LoginRefused("unknown_key") from error


# The steps of a login, in the order the views take them


def safe_next(request: HttpRequest, clinic: Clinic, value: str | None) -> str | None:
    """``value`` if it is a path of this clinic's patient pages (``/c/<EP_ident>/…``) on this
    host, else None: a login never sends the patient anywhere else."""
    if not value or not url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    path = urlsplit(value)
    if path.scheme or path.netloc or not path.path.startswith(f"/c/{clinic.ep_ident}/"):
        return None
    if any(segment in {".", ".."} for segment in path.path.split("/")):
        return None
    return path.path + (f"?{path.query}" if path.query else "")


def start_authorization(
    request: HttpRequest, clinic: Clinic, next_path: str | None = None
) -> HttpResponse:
    """The redirect to the provider's login, with the clinic (and where to go afterwards)
    tied to this login's ``state``."""
    response = AuthorizationRequestView.as_view()(request)
    # The view keeps state -> {nonce, code_verifier} in the session; it makes the state inside
    # and hands it out only in the redirect, so read it there to tie the clinic to it.
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
    request.session[SESSION_STATES][state][STATE_CLINIC] = clinic.pk
    if next_path:
        request.session[SESSION_STATES][state][STATE_NEXT] = next_path
    request.session.modified = True
    return response


def take_state(request: HttpRequest, state: str) -> dict[str, Any] | None:
    """Remove this state's entry from the session and return it; None for an unknown state."""
    states = request.session.get(SESSION_STATES)
    if not state or not isinstance(states, dict) or state not in states:
        return None
    entry = states.pop(state)
    request.session.modified = True
    # Save now, before the slow calls to the provider: a second callback with this state,
    # even one already in flight, must find it gone.
    request.session.save()
    return entry if isinstance(entry, dict) else None


def state_clinic(entry: dict[str, Any]) -> Clinic | None:
    """The clinic the login of this state entry was started at."""
    clinic_pk = entry.get(STATE_CLINIC)
    if clinic_pk is None:  # filter(pk=None) would match nothing
        return None
    return Clinic.objects.filter(pk=clinic_pk).first()


def state_expired(entry: dict[str, Any]) -> bool:
    return time.time() - float(entry.get("added_on") or 0) > STATE_MAX_AGE


def provider_refusal(error: str) -> LoginRefused:
    """What the provider's ``error`` answer means for the patient and the audit log."""
    details = {"error": error if error in PROVIDER_ERRORS else "other"}
    if error == "access_denied":
        return LoginRefused("cancelled", page="cancelled", status=200, details=details)
    return LoginRefused("provider_error", status=400, details=details)


def identify_patient(
    request: HttpRequest, *, clinic: Clinic, entry: dict[str, Any], code: str
) -> tuple[Patient, str]:
    """Redeem ``code``, check the ID token and its level, and find the clinic's patient.

    Returns the patient and the session's assurance level; raises :class:`LoginRefused`.
    """
    backend = BankIDBackend()
    id_token = backend.exchange_code(request, code=code, code_verifier=entry["code_verifier"])
    claims = backend.verify_token(id_token, nonce=entry.get("nonce"))
    _check_level(claims)
    patient = _patient_for(clinic, claims.get(settings.EPORTAL_OIDC_ID_CLAIM))
    return patient, _session_level(claims)


# acr values that mean eIDAS "high" (BankID through ID-porten); anything else accepted by
# EPORTAL_OIDC_MIN_ACR (e.g. MinID's idporten-loa-substantial) is recorded as "substantial".
HIGH_ACR_VALUES = frozenset({"idporten-loa-high", "Level4", "http://eidas.europa.eu/LoA/high"})


def _session_level(claims: dict) -> str:
    return LEVEL_HIGH if claims.get("acr") in HIGH_ACR_VALUES else LEVEL_SUBSTANTIAL


def _check_level(claims: dict[str, Any]) -> None:
    """The login's assurance level (``acr``) must be one the settings accept."""
    acr = claims.get("acr")
    if acr not in settings.EPORTAL_OIDC_MIN_ACR:
        shown = acr[:64] if isinstance(acr, str) else None
        raise LoginRefused("acr", page="level", details={"acr": shown})


def _patient_for(clinic: Clinic, national_id: Any) -> Patient:
    """The clinic's patient with this identity number who may log in, else LoginRefused."""
    if not isinstance(national_id, str) or not national_id.strip():
        raise LoginRefused("no_identity")
    patient = (
        Patient.objects.select_related("clinic")
        .filter(clinic=clinic, national_id=national_id.strip())
        .first()
    )
    if patient is None:
        raise LoginRefused("not_patient", page="not_patient")
    if not may_use_portal(patient, method=METHOD_BANKID):
        # No active record, or not a full identity number (H-/FH-number). Audited with the
        # patient: the clinic may want to know who was turned away.
        raise LoginRefused("not_eligible", page="not_patient", patient=patient)
    return patient
