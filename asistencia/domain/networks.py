"""Allowed networks of a class session: is the client's address inside one of them?"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> Network:
    """A CIDR or a bare address (a /32 or /128); host bits are dropped. ValueError otherwise."""
    return ipaddress.ip_network(text.strip(), strict=False)


def is_allowed(address: str | None, networks: Iterable[str]) -> bool:
    """True when no networks are set, or the address lies in one of them.

    An unknown or unparseable address is never inside a restricted session.
    IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) count as their IPv4 form.
    """
    allowed = [parse_network(item) for item in networks]
    if not allowed:
        return True
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in allowed)


def address_or_none(text: str | None) -> str | None:
    """The client address if it is an IP address (what PostgreSQL's inet accepts), else None."""
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
