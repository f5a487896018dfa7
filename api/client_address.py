"""The client's address, for per-IP limits: the peer, or what a trusted proxy says it saw.

Behind a reverse proxy every request comes from the proxy; the proxy appends the address
it saw to X-Forwarded-For. Only the part our own proxies wrote is believed (setting
`trusted_proxies`, comma-separated CIDRs, empty by default): walking the header from the
right, the first address that is not one of our proxies is the client, and whatever
stands left of it is whatever the client chose to send.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """The `trusted_proxies` setting (comma-separated CIDRs) parsed; ValueError names it."""
    networks = []
    for part in setting.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as error:
                raise ValueError(f"trusted_proxies: {part.strip()!r} is not a CIDR") from error
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("["):  # [v6]:port
        text = text[1 : text.find("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # One host usually holds a whole IPv6 /64: counting single addresses would let it
    # rotate through 2^64 of them.
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_key(scope: Scope, trusted: Sequence[Network]) -> str:
    """Whom to count: the peer, or behind a trusted proxy the rightmost untrusted address of
    X-Forwarded-For (everything left of it is whatever the client chose to send)."""
    client = scope.get("client")
    host = str(client[0]) if client else "unknown"
    if not trusted:
        if ":" not in host:  # IPv4 (or a test client's name): the common case, unparsed
            return host
        peer = _address(host)
        return _key(peer) if peer else host
    peer = _address(host)
    if peer is None or not any(peer in network for network in trusted):
        return _key(peer) if peer else host
    forwarded = b",".join(v for k, v in scope.get("headers", ()) if k == b"x-forwarded-for")
    nearest = peer
    for entry in reversed(forwarded.decode("latin-1").split(",")):
        address = _address(entry)
        if address is None:  # not written by a proxy: stop at the last hop we trust
            break
        nearest = address
        if not any(address in network for network in trusted):
            break
    return _key(nearest)
