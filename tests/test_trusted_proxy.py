"""Behind the reverse proxy, each client has its own rate limits (docs/configuration.md,
EPORTAL_TRUSTED_PROXIES): a real proxy process in front of a real web server, and clients
speaking from different loopback addresses."""

from __future__ import annotations

import secrets

import pytest

from clinics.models import AuditEvent
from eportal.proxies import client_address, trusted_networks
from tests import factories
from tests.proxy import Browser, running_proxy

TOO_MANY = "Too many attempts"
WRONG = "Wrong identity number or password."
LIMIT = 30  # EPORTAL_ATTEMPTS_PER_IP's default, per 15 minutes


@pytest.fixture
def site(live_server, settings, clinic):
    settings.EPORTAL_TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]
    assert settings.EPORTAL_ATTEMPTS_PER_IP == LIMIT
    upstream = live_server.url.removeprefix("http://")
    with running_proxy(upstream) as port:
        yield {"proxy": port, "direct": int(upstream.rsplit(":", 1)[1])}


def person(port: int, source: str) -> Browser:
    browser = Browser(port, source=source)
    browser.cookies["eportal_language"] = "en"
    return browser


def try_login(browser: Browser, **kw) -> str:
    form = {"national_id": factories.national_id(), "password": secrets.token_urlsafe(8)}
    status, _headers, page = browser.post_form("/c/DEMO1/login/", form, **kw)
    assert status == 200, status
    assert (WRONG in page) != (TOO_MANY in page), page[:500]
    return TOO_MANY if TOO_MANY in page else WRONG


@pytest.mark.django_db(transaction=True)
def test_one_client_locked_out_leaves_another_unaffected(site):
    first = person(site["proxy"], "127.0.0.2")
    second = person(site["proxy"], "127.0.0.3")
    assert [try_login(first) for _ in range(LIMIT)] == [WRONG] * LIMIT
    assert try_login(first) == TOO_MANY
    # The same proxy, another client: the limit is the client's, not the proxy's.
    assert try_login(second) == WRONG
    ips = set(AuditEvent.objects.filter(action="patient.login_failed").values_list("ip", flat=True))
    assert ips == {"127.0.0.2", "127.0.0.3"}


@pytest.mark.django_db(transaction=True)
def test_a_forged_header_through_the_proxy_changes_nothing(site):
    first = person(site["proxy"], "127.0.0.2")
    for i in range(LIMIT):
        assert try_login(first, headers={"X-Forwarded-For": f"198.51.100.{i}"}) == WRONG
    assert try_login(first, headers={"X-Forwarded-For": "198.51.100.200"}) == TOO_MANY


@pytest.mark.django_db(transaction=True)
def test_a_forged_header_from_an_untrusted_peer_changes_nothing(site):
    direct = person(site["direct"], "127.0.0.4")  # not through the proxy: an untrusted peer
    for i in range(LIMIT):
        assert try_login(direct, headers={"X-Forwarded-For": f"203.0.113.{i}"}) == WRONG
    assert try_login(direct, headers={"X-Forwarded-For": "203.0.113.99"}) == TOO_MANY
    ips = set(AuditEvent.objects.filter(action="patient.login_failed").values_list("ip", flat=True))
    assert ips == {"127.0.0.4"}


@pytest.mark.django_db(transaction=True)
def test_staff_login_limits_are_per_client_behind_the_proxy(site, settings, clinic_admin):
    settings.ACCOUNT_RATE_LIMITS = {"login": "5/m/ip"}

    def staff_login(browser: Browser) -> int:
        form = {"login": clinic_admin.email, "password": "not-the-password"}
        status, _headers, _page = browser.post_form("/accounts/login/", form)
        return status

    first = person(site["proxy"], "127.0.0.2")
    second = person(site["proxy"], "127.0.0.3")
    assert [staff_login(first) for _ in range(5)] == [200] * 5
    assert staff_login(first) == 429
    assert staff_login(second) == 200


NETS = trusted_networks(("10.0.0.0/8", "2001:db8::/32"))


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("192.0.2.7", "198.51.100.1", "192.0.2.7"),  # untrusted peer: its header is ignored
        ("10.0.0.2", "", "10.0.0.2"),  # a trusted proxy with no header is itself the client
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the forged part is left
        ("10.0.0.2", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two trusted proxies
        ("10.0.0.2", "garbage, 10.0.0.9", "10.0.0.9"),  # stop at what we can vouch for
        ("10.0.0.2", "[2001:db9::1]:443", "2001:db9::1"),
        ("10.0.0.2", "198.51.100.1:5555", "198.51.100.1"),
        ("2001:db8::5", "198.51.100.1", "198.51.100.1"),
        ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),
    ],
)
def test_client_address_is_the_rightmost_untrusted_hop(peer, header, client):
    assert client_address(peer, header, NETS) == client


def test_no_trusted_proxy_means_the_peer_is_the_client():
    assert client_address("10.0.0.2", "198.51.100.1", ()) == "10.0.0.2"


def test_a_wrong_trusted_proxy_setting_fails_loudly():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        trusted_networks(("10.0.0.0/8", "proxy.example.org"))
