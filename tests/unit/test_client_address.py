"""Story: whom a per-IP limit counts: the peer, or the client a trusted proxy names."""

from __future__ import annotations

from typing import Any

import pytest

from api.client_address import client_key, trusted_networks


def test_the_client_is_the_rightmost_address_no_trusted_proxy_wrote() -> None:
    trusted = trusted_networks("10.0.0.0/8, fd00::/8")

    def key(peer: str, forwarded: str | None = None, proxies: Any = trusted) -> str:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return client_key({"client": (peer, 1), "headers": headers}, proxies)

    assert key("10.1.1.1", "1.1.1.1, 2.2.2.2, 10.2.2.2") == "2.2.2.2"
    assert key("10.1.1.1", "10.3.3.3, 10.2.2.2") == "10.3.3.3"  # all ours: the farthest
    assert key("10.1.1.1", "nonsense, 10.2.2.2") == "10.2.2.2"  # a hop we trust, no further
    assert key("10.1.1.1", "[2001:db8::1]:443") == "2001:db8::/64"
    assert key("10.1.1.1", "5.5.5.5:8080") == "5.5.5.5"
    assert key("10.1.1.1") == "10.1.1.1"  # a proxy sent no header: the proxy it is
    assert key("8.8.8.8", "1.1.1.1") == "8.8.8.8"
    assert key("2001:db8:1:2:3::9", proxies=()) == "2001:db8:1:2::/64"  # a host holds a /64
    assert key("::ffff:192.0.2.1", proxies=()) == "192.0.2.1"
    assert key("fd00::1", "1.2.3.4") == "1.2.3.4"
    with pytest.raises(ValueError, match="trusted_proxies"):
        trusted_networks("10.0.0.0/8, not-a-network")
