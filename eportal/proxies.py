"""The client's address behind the reverse proxy.

Production runs behind a TLS-terminating proxy (README, docs/operations.md), so the peer
address Django sees (``REMOTE_ADDR``) is the proxy's, shared by every patient. The proxy
reports the client in ``X-Forwarded-For``; that header is believed only when the peer is one of
``EPORTAL_TRUSTED_PROXIES`` (CIDRs), and then only as far as the chain of trusted proxies
reaches: the client is the rightmost address that is *not* a trusted proxy. Everything a
client writes into the header itself stands to the left of that and is ignored.

Written on the standard library's :mod:`ipaddress` rather than a package: django-ipware
matches trusted proxies by string prefix, not by network, and the rule is a dozen lines.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def trusted_networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    """Parse ``EPORTAL_TRUSTED_PROXIES``; a wrong entry is a configuration error, not a skip."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"EPORTAL_TRUSTED_PROXIES: {cidr!r} is not an IP address or network ({error})."
            ) from None
    return tuple(networks)


def parse_address(value: str) -> Address | None:
    """An address as proxies write it: ``192.0.2.1``, ``2001:db8::1``, ``[2001:db8::1]:443``
    or ``192.0.2.1:443``; anything else is None."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client seen on a dual-stack socket is that IPv4 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(peer: str, forwarded_for: str, networks: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy; then the rightmost
    address of ``forwarded_for`` that is not one, walking right to left."""
    current = parse_address(peer)
    if current is None or not networks or not _trusted(current, networks):
        return peer
    for hop in reversed(forwarded_for.split(",") if forwarded_for else []):
        address = parse_address(hop)
        if address is None:
            # A trusted proxy passed on something that is no address: stop at the last
            # address we can vouch for rather than believe what lies further left.
            break
        current = address
        if not _trusted(address, networks):
            break
    return str(current)
