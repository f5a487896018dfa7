"""Story: the network security settings on their own: an admin's CORS allowlist is stored as
browsers send an Origin header, a line that is no origin is refused with its number and
text, the enforcement toggle starts off (every origin allowed), and the extra CSP sources
only ever add hosts (no keywords, no whole schemes where code could run)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.shop.network import (
    CSP_SETTING,
    ENFORCED_SETTING,
    MAX_ORIGINS,
    ORIGINS_SETTING,
    NetworkSecurity,
    csp_sources,
    origin_lines,
    parse_origin,
)
from domain.shop.settings import SPECS, ShopSettings


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://shop.example.com", "https://shop.example.com"),
        ("HTTPS://Shop.Example.COM/", "https://shop.example.com"),  # as the address bar copies
        ("http://localhost:5173", "http://localhost:5173"),
        ("https://shop.example.com:443", "https://shop.example.com"),  # the default port
        ("http://shop.example.com:80", "http://shop.example.com"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("http://192.168.1.20:3000", "http://192.168.1.20:3000"),
        ("http://[0:0::1]:8080", "http://[::1]:8080"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),  # as browsers send it
    ],
)
def test_an_origin_is_stored_as_browsers_send_it(typed: str, stored: str) -> None:
    assert parse_origin(typed) == stored


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("ftp://files.example.com", "only http:// and https://"),
        ("shop.example.com", "only http:// and https://"),
        ("null", "only http:// and https://"),
        ("https://*.example.com", "wildcards"),
        ("*", "only http:// and https://"),
        ("https://user:pw@shop.example.com", "no user name"),
        ("https://shop.example.com/store", "no path"),
        ("https://shop.example.com?x=1", "no query"),
        ("https://shop.example.com#top", "no fragment"),
        ("https://shop.example.com:0", "port"),
        ("https://shop.example.com:70000", "port"),
        ("https://shop.example.com:", "port"),
        ("https://shop..example.com", "host"),
        ("https://-shop.example.com", "host"),
        ("http://300.1.1.1", "host"),
        ("https://", "host"),
        ("http://[::1", "brackets"),
        ("https://shop example.com", "spaces"),
    ],
)
def test_what_is_not_an_origin_is_refused_saying_why(typed: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        parse_origin(typed)


def test_the_allowlist_is_one_origin_per_line_without_blanks_or_repeats() -> None:
    text = " https://shop.example.com \r\n\nhttp://localhost:5173\nHTTPS://SHOP.example.com/\n"
    assert origin_lines(ORIGINS_SETTING, text) == (
        "https://shop.example.com\nhttp://localhost:5173"
    )
    assert origin_lines(ORIGINS_SETTING, "") == ""


def test_an_invalid_line_is_refused_with_its_number_and_its_text() -> None:
    text = "https://shop.example.com\n\nhttps://shop.example.com/store\nftp://x"
    with pytest.raises(InvalidInput) as refused:
        origin_lines(ORIGINS_SETTING, text)
    assert refused.value.message == (
        'cors_allowed_origins: line 3 ("https://shop.example.com/store") is not an origin:'
        " an origin has no path: scheme://host[:port] only"
    )
    with pytest.raises(InvalidInput, match=r'line 1 \("' + "x" * 79 + '…"\\)'):
        origin_lines(ORIGINS_SETTING, "x" * 500)


@pytest.mark.parametrize("value", [None, ["https://shop.example.com"], 1, True])
def test_the_allowlist_is_text(value: Any) -> None:
    with pytest.raises(InvalidInput, match="cors_allowed_origins: must be text"):
        origin_lines(ORIGINS_SETTING, value)


def test_the_allowlist_is_bounded() -> None:
    many = "\n".join(f"https://shop{n}.example.com" for n in range(MAX_ORIGINS + 1))
    with pytest.raises(InvalidInput, match=f"at most {MAX_ORIGINS} origins"):
        origin_lines(ORIGINS_SETTING, many)


def test_extra_csp_sources_are_hosts_or_safe_schemes_stored_in_policy_order() -> None:
    value = {
        "img-src": ["data:", "https://CDN.example.com/Images/", "data:"],
        "script-src": ["https://js.example.com", "*.widgets.example.com"],
        "connect-src": ["wss://live.example.com:*"],
        "frame-src": [],
    }
    assert csp_sources(CSP_SETTING, value) == {
        "script-src": ["https://js.example.com", "*.widgets.example.com"],
        "img-src": ["data:", "https://cdn.example.com/Images/"],  # paths keep their case
        "connect-src": ["wss://live.example.com:*"],
    }
    assert csp_sources(CSP_SETTING, None) == {}


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ({"default-src": ["https://x.example"]}, "is not one of script-src"),
        ({"script-src": "https://x.example"}, "must be a list"),
        ({"script-src": ["'unsafe-inline'"]}, "keywords, nonces and hashes"),
        ({"script-src": ["'sha256-abc='"]}, "keywords, nonces and hashes"),
        ({"script-src": ["*"]}, "bare \\*"),
        ({"script-src": ["data:"]}, "whole scheme is not accepted in script-src"),
        ({"style-src": ["https:"]}, "whole scheme"),
        ({"img-src": ["ftp://x.example"]}, "not a host source"),
        ({"img-src": ["x.example/a;script-src *"]}, "not a host source"),
        ({"img-src": ["*.com"]}, "not a host source"),
        ({"img-src": ["x.example:99999"]}, "not a host source"),
        ({"img-src": ["https://x.example"] * 21}, "at most 20"),
        ([], "must be a JSON object"),
    ],
)
def test_extra_csp_sources_never_weaken_the_policy(value: Any, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        csp_sources(CSP_SETTING, value)


def test_enforcement_starts_off_and_then_only_listed_origins_are_allowed() -> None:
    assert SPECS[ENFORCED_SETTING].default is False
    assert SPECS[ORIGINS_SETTING].default == ""
    settings = ShopSettings.create()
    assert NetworkSecurity.from_settings(settings.value).allows("https://anyone.example")

    settings.change(ORIGINS_SETTING, "https://shop.example.com/", actor="admin:1")
    settings.change(ENFORCED_SETTING, True, actor="admin:1")
    network = NetworkSecurity.from_settings(settings.value)
    assert network.origins == ("https://shop.example.com",)
    assert network.allows("https://shop.example.com")
    assert not network.allows("https://anyone.example")
    assert not network.allows("null")
    assert not network.allows("https://shop.example.com:443")  # browsers never send this


def test_each_change_is_an_event_with_its_actor_and_previous_value() -> None:
    settings = ShopSettings.create()
    settings.change(ORIGINS_SETTING, "https://a.example", actor="admin:1")
    settings.change(ORIGINS_SETTING, "https://a.example\nhttps://b.example", actor="admin:2")
    assert not settings.change(ORIGINS_SETTING, "https://A.example/\nhttps://b.example", actor="x")
    changes = [e for e in settings.collect_events() if type(e).__name__ == "Changed"]
    assert [(e.previous, e.value, e.actor) for e in changes] == [  # type: ignore[attr-defined]
        ("", "https://a.example", "admin:1"),
        ("https://a.example", "https://a.example\nhttps://b.example", "admin:2"),
    ]
