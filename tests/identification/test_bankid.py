"""BankID login over OpenID Connect, end to end against a real provider process.

The provider (tests/oidc_provider/provider.py) runs on 127.0.0.1 and speaks the protocol over
HTTP; the test plays the browser: it follows ePortal's redirect to the provider's authorization
endpoint with ``requests``, "logs in" there as a chosen person at a chosen level, and brings
the provider's redirect back to ePortal's callback in the Django test client. ePortal redeems
the code at the provider's token endpoint and fetches its JWKS, for real.
"""

from __future__ import annotations

import datetime
import json
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine
from django.test import Client

from clinics.models import AuditEvent, Patient
from identification.session import (
    SESSION_CLINIC,
    SESSION_LEVEL,
    SESSION_METHOD,
    SESSION_PATIENT,
)
from tests import factories
from tests.oidc_provider import HIGH, SUBSTANTIAL, TestProvider, running_provider

pytestmark = pytest.mark.django_db

CLIENT_ID = "eportal-test-client"
CLIENT_SECRET = "test-client-secret-" + "k" * 32
CALLBACK = "http://testserver/oidc/callback/"


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[TestProvider]:
    with running_provider(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[CALLBACK]
    ) as provider:
        yield provider


@pytest.fixture
def provider(settings, oidc_provider: TestProvider) -> TestProvider:
    """The provider, with ePortal's OIDC settings pointing at it."""
    for name, value in oidc_provider.settings().items():
        setattr(settings, name, value)
    return oidc_provider


@pytest.fixture
def client() -> Client:
    """A browser that chose English, so the assertions survive the Norwegian translation."""
    browser = Client()
    browser.cookies["eportal_language"] = "en"
    return browser


@pytest.fixture
def patient(clinic) -> Patient:
    return factories.make_patient(clinic)


# Playing the browser


def start(client: Client, ep_ident: str = "DEMO1") -> str:
    """Press "Log in with BankID"; return the provider's authorization URL."""
    response = client.get(f"/c/{ep_ident}/bankid/")
    assert response.status_code == 302
    return response["Location"]


def come_back(client: Client, redirect: str):
    """Follow the provider's redirect back to ePortal's callback."""
    parts = urlsplit(redirect)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return client.get(f"{parts.path}?{parts.query}")


def bankid_login(client: Client, provider: TestProvider, ep_ident: str = "DEMO1", **login):
    return come_back(client, provider.log_in(start(client, ep_ident), **login))


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def assert_no_patient_session(client: Client) -> None:
    assert SESSION_PATIENT not in client.session


def last_refusal() -> AuditEvent:
    event = AuditEvent.objects.filter(action="patient.login_failed").order_by("-pk").first()
    assert event is not None, "the refusal was not audited"
    assert event.details["method"] == "bankid"
    return event


def assert_nothing_secret_audited(*secrets: str) -> None:
    for event in AuditEvent.objects.all():
        text = json.dumps(event.details) + event.object_repr
        for secret in secrets:
            assert secret not in text


# Logging in


def test_patient_logs_in_with_bankid(client, provider, clinic, patient):
    response = bankid_login(client, provider, pid=patient.national_id)

    assert response.status_code == 302
    assert response["Location"] == f"/c/{clinic.ep_ident}/home/"
    session = client.session
    assert session[SESSION_PATIENT] == patient.pk
    assert session[SESSION_CLINIC] == clinic.pk
    assert session[SESSION_METHOD] == "bankid"
    assert session[SESSION_LEVEL] == "high"
    login = AuditEvent.objects.get(action="patient.login")
    assert (login.patient, login.clinic) == (patient, clinic)
    assert login.details == {"method": "bankid", "level": "high"}
    assert_nothing_secret_audited(patient.national_id)


def test_patient_with_a_d_number_logs_in(client, provider, clinic):
    patient = factories.make_patient(clinic, national_id=factories.national_id(kind="dnr"))
    response = bankid_login(client, provider, pid=patient.national_id)
    assert response.status_code == 302
    assert client.session[SESSION_PATIENT] == patient.pk


def test_authorization_request_uses_pkce_nonce_state_and_asks_for_the_level(
    client, provider, clinic
):
    url = start(client)
    params = query(url)

    assert url.startswith(f"{provider.issuer}/authorize?")
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == CALLBACK
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32
    assert len(params["nonce"]) >= 32
    assert params["acr_values"] == HIGH
    assert params["ui_locales"] == "en"
    assert params["prompt"] == "login"  # no silent single sign-on into someone else's login
    assert "openid" in params["scope"].split()
    stored = client.session["oidc_states"][params["state"]]
    assert stored["nonce"] == params["nonce"]
    assert stored["eportal_clinic_id"] == clinic.pk
    assert "code_verifier" not in params  # only the challenge travels through the browser
    assert stored["code_verifier"] not in url


def test_each_login_gets_a_new_state_and_nonce(client, provider, clinic):
    first, second = query(start(client)), query(start(client))
    assert first["state"] != second["state"]
    assert first["nonce"] != second["nonce"]
    assert first["code_challenge"] != second["code_challenge"]


def test_the_clinic_travels_with_the_state(client, provider, clinic, other_clinic):
    """Two logins in flight in one browser: each comes back to the clinic it started at."""
    national_id = factories.national_id()
    here = factories.make_patient(clinic, national_id=national_id)
    factories.make_patient(other_clinic, national_id=national_id)
    to_here = start(client, "DEMO1")
    to_there = start(client, "OTHER")

    there = come_back(client, provider.log_in(to_there, pid=national_id))
    assert there["Location"] == "/c/OTHER/home/"
    assert client.session[SESSION_CLINIC] == other_clinic.pk

    response = come_back(client, provider.log_in(to_here, pid=national_id))
    assert response["Location"] == "/c/DEMO1/home/"
    assert client.session[SESSION_PATIENT] == here.pk


def test_login_rotates_the_session_key(client, provider, clinic, patient):
    url = start(client)
    key_before = client.session.session_key
    come_back(client, provider.log_in(url, pid=patient.national_id))
    assert client.session.session_key != key_before


# Who may log in


def test_unknown_person_is_told_they_are_not_registered(client, provider, clinic):
    stranger = factories.national_id()
    response = bankid_login(client, provider, pid=stranger)

    assert response.status_code == 403
    assert "identification/bankid_not_patient.html" in [t.name for t in response.templates]
    body = response.content.decode()
    assert (
        "You are not registered as a patient with an active record at Bakkehuset legekontor" in body
    )
    assert_no_patient_session(client)
    refusal = last_refusal()
    assert refusal.details == {"method": "bankid", "reason": "not_patient"}
    assert refusal.clinic == clinic
    assert refusal.patient is None
    assert_nothing_secret_audited(stranger)


def test_patient_of_another_clinic_is_refused(client, provider, clinic, other_clinic):
    elsewhere = factories.make_patient(other_clinic)
    response = bankid_login(client, provider, "DEMO1", pid=elsewhere.national_id)

    assert response.status_code == 403
    assert "not registered as a patient with an active record" in response.content.decode()
    assert_no_patient_session(client)
    refusal = last_refusal()
    assert refusal.details["reason"] == "not_patient"
    assert refusal.clinic == clinic
    assert refusal.patient is None  # the other clinic's record is not linked here
    assert_nothing_secret_audited(elsewhere.national_id)


def test_patient_with_an_inactive_record_is_refused(client, provider, clinic):
    patient = factories.make_patient(clinic, journal_active=False)
    response = bankid_login(client, provider, pid=patient.national_id)

    assert response.status_code == 403
    assert "not registered as a patient with an active record" in response.content.decode()
    assert_no_patient_session(client)
    refusal = last_refusal()
    assert refusal.details["reason"] == "not_eligible"
    assert (refusal.clinic, refusal.patient) == (clinic, patient)
    assert_nothing_secret_audited(patient.national_id)


def test_identity_claim_is_a_setting(client, provider, settings, clinic, patient):
    """With the claim set to one the provider does not send, nobody is identified."""
    settings.EPORTAL_OIDC_ID_CLAIM = "norwegian_id"
    response = bankid_login(client, provider, pid=patient.national_id)
    assert response.status_code == 403
    assert last_refusal().details["reason"] == "no_identity"
    assert_no_patient_session(client)


# The assurance level


def test_login_below_the_required_level_is_refused(client, provider, clinic, patient):
    response = bankid_login(client, provider, pid=patient.national_id, acr=SUBSTANTIAL)

    assert response.status_code == 403
    assert "identification/bankid_level.html" in [t.name for t in response.templates]
    assert "Your login did not have a high enough security level" in response.content.decode()
    assert_no_patient_session(client)
    refusal = last_refusal()
    assert refusal.details == {"method": "bankid", "reason": "acr", "acr": SUBSTANTIAL}
    assert refusal.clinic == clinic


def test_accepted_levels_are_a_setting(client, provider, settings, clinic, patient):
    settings.EPORTAL_OIDC_MIN_ACR = ["some-even-higher-level"]
    response = bankid_login(client, provider, pid=patient.national_id, acr=HIGH)
    assert response.status_code == 403
    assert last_refusal().details["reason"] == "acr"
    assert_no_patient_session(client)


def test_a_substantial_login_accepted_by_setting_is_recorded_as_substantial(
    client, provider, settings, clinic, patient
):
    settings.EPORTAL_OIDC_MIN_ACR = [HIGH, SUBSTANTIAL]
    response = bankid_login(client, provider, pid=patient.national_id, acr=SUBSTANTIAL)
    assert response.status_code == 302
    assert client.session["patient_auth_level"] == "substantial"
    assert client.session["patient_auth_method"] == "bankid"


# Bad ID tokens


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("bad_signature", "signature"),
        ("alg_none", "algorithm"),
        ("alg_hs256", "algorithm"),
        ("wrong_issuer", "issuer"),
        ("wrong_audience", "audience"),
        ("foreign_azp", "audience"),
        ("expired", "expired"),
        ("not_yet_valid", "not_yet_valid"),
    ],
)
def test_bad_id_token_is_refused(client, provider, clinic, patient, tamper, reason):
    response = bankid_login(client, provider, pid=patient.national_id, tamper=tamper)

    assert response.status_code == 403
    assert "The BankID login could not be completed" in response.content.decode()
    assert f'href="/c/{clinic.ep_ident}/"' in response.content.decode()
    assert_no_patient_session(client)
    refusal = last_refusal()
    assert refusal.details == {"method": "bankid", "reason": reason}
    assert refusal.clinic == clinic
    assert not AuditEvent.objects.filter(action="patient.login").exists()


def test_signing_algorithm_is_the_configured_one(client, provider, settings, clinic, patient):
    """A correct RS256 token is refused when the settings say the provider signs with ES256."""
    settings.OIDC_RP_SIGN_ALGO = "ES256"
    response = bankid_login(client, provider, pid=patient.national_id)
    assert response.status_code == 403
    assert last_refusal().details["reason"] == "algorithm"
    assert_no_patient_session(client)


def test_token_with_a_nonce_from_an_earlier_login_is_refused(client, provider, clinic, patient):
    """The provider (or someone in between) replays the nonce of the previous login."""
    assert bankid_login(Client(), provider, pid=patient.national_id).status_code == 302

    response = bankid_login(client, provider, pid=patient.national_id, tamper="replay_nonce")

    assert response.status_code == 403
    assert last_refusal().details["reason"] == "nonce"
    assert_no_patient_session(client)


def test_a_nonce_is_used_once_even_if_its_state_comes_back(client, provider, clinic, patient):
    """Two callbacks racing with one state (or a restored session) cannot both log in."""
    url = start(client)
    state = query(url)["state"]
    entry = client.session["oidc_states"][state]
    assert come_back(client, provider.log_in(url, pid=patient.national_id)).status_code == 302

    # Put the used state back, and get a second code for the same authorization request.
    session = client.session
    session["oidc_states"] = {state: entry}
    session.save()
    response = come_back(client, provider.log_in(url, pid=patient.national_id))

    assert response.status_code == 403
    assert last_refusal().details["reason"] == "nonce_reused"


def test_code_redeemed_with_another_pkce_verifier_is_refused(client, provider, clinic, patient):
    """The provider checks PKCE: a stolen code is worthless without this login's verifier."""
    url = start(client)
    state = query(url)["state"]
    session = client.session
    session["oidc_states"][state]["code_verifier"] = "x" * 64
    session.save()

    response = come_back(client, provider.log_in(url, pid=patient.national_id))

    assert response.status_code == 400
    assert "The BankID login could not be completed" in response.content.decode()
    assert last_refusal().details["reason"] == "token_rejected"
    assert_no_patient_session(client)


# The clock


def test_clock_skew_within_the_leeway_is_accepted(client, provider, clinic, patient):
    url = start(client)
    redirect = provider.log_in(url, pid=patient.national_id)
    # The ID token lives 120 s; our clock is 150 s ahead, within the 60 s leeway.
    ahead = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=150)
    with time_machine.travel(ahead, tick=True):
        response = come_back(client, redirect)
    assert response.status_code == 302
    assert client.session[SESSION_PATIENT] == patient.pk


def test_token_expired_by_our_clock_is_refused(client, provider, clinic, patient):
    url = start(client)
    redirect = provider.log_in(url, pid=patient.national_id)
    ahead = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=200)
    with time_machine.travel(ahead, tick=True):
        response = come_back(client, redirect)
    assert response.status_code == 403
    assert last_refusal().details["reason"] == "expired"
    assert_no_patient_session(client)


def test_login_left_for_too_long_is_refused(client, provider, clinic, patient):
    url = start(client)
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(minutes=31)
    with time_machine.travel(later, tick=True):
        response = come_back(client, provider.log_in(url, pid=patient.national_id))
    assert response.status_code == 400
    assert "This login attempt has expired" in response.content.decode()
    assert last_refusal().details["reason"] == "state_expired"
    assert_no_patient_session(client)


# The state


def test_callback_with_a_wrong_state_is_refused(client, provider, clinic, patient):
    url = start(client)
    redirect = provider.log_in(url, pid=patient.national_id)
    params = query(redirect)

    response = client.get("/oidc/callback/?" + urlencode({**params, "state": "forged-state"}))

    assert response.status_code == 400
    assert "This login attempt has expired" in response.content.decode()
    assert_no_patient_session(client)
    refusal = last_refusal()
    assert refusal.details["reason"] == "state"
    assert refusal.clinic is None
    # Nothing was redeemed or used up: the real callback still works.
    assert come_back(client, redirect).status_code == 302


def test_callback_in_another_browser_is_refused(client, provider, clinic, patient):
    """A code and state from someone else's login (login CSRF) do not log this browser in."""
    attacker = Client()
    redirect = provider.log_in(start(attacker), pid=patient.national_id)

    response = come_back(client, redirect)

    assert response.status_code == 400
    assert_no_patient_session(client)
    assert last_refusal().details["reason"] == "state"


def test_replayed_callback_is_refused(client, provider, clinic, patient):
    redirect = provider.log_in(start(client), pid=patient.national_id)
    assert come_back(client, redirect).status_code == 302
    client.cookies.pop("sessionid")  # a new visitor replays the same callback URL

    response = come_back(client, redirect)

    assert response.status_code == 400
    assert_no_patient_session(client)
    assert last_refusal().details["reason"] == "state"


def test_replayed_callback_in_the_same_session_is_refused(client, provider, clinic, patient):
    redirect = provider.log_in(start(client), pid=patient.national_id)
    assert come_back(client, redirect).status_code == 302
    assert come_back(client, redirect).status_code == 400
    assert last_refusal().details["reason"] == "state"


# The provider says no, and junk


def test_patient_cancels_at_the_provider(client, provider, clinic):
    response = come_back(client, provider.log_in(start(client), cancel=True))

    assert response.status_code == 200
    body = response.content.decode()
    assert "The BankID login was cancelled" in body
    assert 'href="/c/DEMO1/"' in body
    assert_no_patient_session(client)
    refusal = last_refusal()
    assert refusal.details == {"method": "bankid", "reason": "cancelled", "error": "access_denied"}
    assert refusal.clinic == clinic


def test_provider_error_gets_a_friendly_page(client, provider, clinic):
    state = query(start(client))["state"]
    response = client.get(
        "/oidc/callback/?"
        + urlencode(
            {"error": "<script>alert(1)</script>", "state": state, "error_description": "x"}
        )
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The BankID login could not be completed" in body
    assert "<script>alert" not in body
    assert 'href="/c/DEMO1/"' in body
    assert last_refusal().details == {
        "method": "bankid",
        "reason": "provider_error",
        "error": "other",
    }


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "?code=abc",
        "?state=abc",
        "?error=access_denied",
        "?error=access_denied&error_description=User+cancelled",
        "?code=&state=",
        "?state=%00%27%22",
        "?code=a&code=b&state=c&state=d",
        "?code=" + "A" * 5000 + "&state=" + "B" * 5000,
        "?state=STATE",
        "?state=STATE&code=",
        "?state=STATE&code=not-a-code-the-provider-knows",
        "?state=STATE&error=",
        "?state=STATE&error=server_error",
    ],
)
def test_junk_at_the_callback_never_fails_with_500(client, provider, clinic, junk):
    if "STATE" in junk:
        junk = junk.replace("STATE", query(start(client))["state"])
    response = client.get("/oidc/callback/" + junk)
    assert response.status_code < 500
    assert_no_patient_session(client)


def test_callback_refuses_post(client, provider, clinic):
    assert client.post("/oidc/callback/", {"code": "a", "state": "b"}).status_code == 405


def test_unreachable_token_endpoint_gets_a_friendly_page(
    client, provider, settings, clinic, patient
):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.OIDC_OP_TOKEN_ENDPOINT = f"http://127.0.0.1:{port}/token"

    response = bankid_login(client, provider, pid=patient.national_id)

    assert response.status_code == 502
    assert "BankID login is not available right now" in response.content.decode()
    assert last_refusal().details["reason"] == "token_endpoint"
    assert_no_patient_session(client)


def test_wrong_client_secret_gets_a_friendly_page(client, provider, settings, clinic, patient):
    settings.OIDC_RP_CLIENT_SECRET = "not-the-secret"
    response = bankid_login(client, provider, pid=patient.national_id)
    assert response.status_code == 502
    assert "BankID login is not available right now" in response.content.decode()
    assert last_refusal().details["reason"] == "client_auth"
    assert_no_patient_session(client)


def test_client_secret_may_go_in_the_basic_auth_header(client, provider, settings, clinic, patient):
    settings.OIDC_TOKEN_USE_BASIC_AUTH = True
    assert bankid_login(client, provider, pid=patient.national_id).status_code == 302
    assert client.session[SESSION_PATIENT] == patient.pk


# The start


def test_clinic_that_does_not_allow_bankid_is_not_found(client, provider):
    factories.make_clinic("SMSONLY", allow_bankid=False)
    response = client.get("/c/SMSONLY/bankid/")
    assert response.status_code == 404
    assert "clinics/unknown_clinic.html" in [t.name for t in response.templates]
    assert "oidc_states" not in client.session


@pytest.mark.parametrize("ep_ident", ["NOPE", "SLEEPY"])
def test_unknown_or_inactive_clinic_is_not_found(client, provider, ep_ident):
    factories.make_clinic("SLEEPY", active=False)
    response = client.get(f"/c/{ep_ident}/bankid/")
    assert response.status_code == 404
    assert "clinics/unknown_clinic.html" in [t.name for t in response.templates]


def test_clinic_that_stops_allowing_bankid_mid_login_is_not_found(
    client, provider, clinic, patient
):
    url = start(client)
    clinic.allow_bankid = False
    clinic.save()

    response = come_back(client, provider.log_in(url, pid=patient.national_id))

    assert response.status_code == 404
    assert_no_patient_session(client)
    refusal = last_refusal()
    assert (refusal.details["reason"], refusal.clinic) == ("clinic_unavailable", clinic)


def test_unconfigured_bankid_gets_a_friendly_page(client, settings, clinic):
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = ""
    response = client.get("/c/DEMO1/bankid/")
    assert response.status_code == 503
    assert "BankID login is not available right now" in response.content.decode()


def test_unconfigured_bankid_says_the_clinic_does_not_offer_it(client, settings, clinic):
    # Issue #16, item 12: not "we could not complete the login", which nobody started.
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = ""
    body = client.get("/c/DEMO1/bankid/").content.decode()
    assert "does not offer login with BankID right now" in body
    assert "could not complete the login" not in body
    assert "log in with your password and a code by SMS instead" in body


# Back to the page the patient came for (an SMS link, "log in with BankID to read the answer")


def test_bankid_step_up_returns_to_the_page_it_was_asked_from(client, provider, clinic, patient):
    authorize = client.get("/c/DEMO1/bankid/?next=/c/DEMO1/meldinger/7/").headers["Location"]
    response = come_back(client, provider.log_in(authorize, pid=patient.national_id))
    assert response["Location"] == "/c/DEMO1/meldinger/7/"


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/c/DEMO1/",
        "//evil.example/c/DEMO1/",
        "/c/OTHER/meldinger/7/",
        "/admin/",
        "/c/DEMO1/../admin/",
    ],
)
def test_bankid_next_never_leaves_the_clinics_pages(client, provider, clinic, patient, next_path):
    from django.utils.http import urlencode

    authorize = client.get(f"/c/DEMO1/bankid/?{urlencode({'next': next_path})}")["Location"]
    response = come_back(client, provider.log_in(authorize, pid=patient.national_id))
    assert response["Location"] == "/c/DEMO1/home/"


def test_a_logged_out_visitor_comes_back_to_the_page_after_bankid(
    client, provider, clinic, patient
):
    assert client.get("/c/DEMO1/meldinger/").status_code == 302
    response = bankid_login(client, provider, pid=patient.national_id)
    assert response["Location"] == "/c/DEMO1/meldinger/"
