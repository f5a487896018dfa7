"""Network security settings: the storefront API's CORS allowlist, its enforcement toggle,
and the extra sources an admin adds to the Content-Security-Policy of HTML answers. Pure:
no framework, no I/O.

Settings (shop settings, each change an event):

- `cors_allowed_origins`: text, one origin per line (scheme://host[:port], http or https,
  nothing after the host). Stored normalised as browsers send an Origin header: scheme and
  host in lower case, a default port (80, 443) left out, a bare trailing "/" dropped,
  blank lines and repeats removed. An invalid line is refused naming its number and text.
- `cors_enforced`: false (the seed's default: every origin is allowed) or true (only the
  listed origins get CORS headers; other origins' preflights are refused).
- `csp_extra_sources`: {directive: [source, ...]} for the fetch directives below. A source
  is a host (`https://cdn.example.com`, `*.example.com`, `cdn.example.com:8443/path/`) or,
  where it is safe, a scheme (`data:` for images, fonts and media; `https:` and `blob:` for
  images and media). Keywords, nonces and hashes are not accepted: the policy's own
  keywords are fixed by the pages that need them, and a setting only ever adds hosts.
  The sources reach a page's policy only where that page already loads something of that
  kind: a setting never opens what a page closes (api/csp.py).

The CORS allowlist is who may *call* the API from a browser; the CSP sources are where the
shop's *pages* may load from. The two are separate on purpose: a storefront on another
origin is not thereby a trusted script host.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from domain.errors import InvalidInput
from domain.shop.settings import SettingSpec, boolean, register_setting

ORIGINS_SETTING = "cors_allowed_origins"
ENFORCED_SETTING = "cors_enforced"
CSP_SETTING = "csp_extra_sources"

MAX_ORIGINS = 100
MAX_ORIGINS_CHARS = 20_000
MAX_SHOWN = 80  # of a refused line or source, in the error message
DEFAULT_PORTS = {"http": 80, "https": 443}

# The fetch directives a setting may add to, in the order a policy lists them.
CSP_DIRECTIVES = (
    "script-src",
    "style-src",
    "img-src",
    "font-src",
    "connect-src",
    "media-src",
    "frame-src",
)
MAX_SOURCES = 20  # per directive
MAX_SOURCE_CHARS = 200
# Whole schemes, where allowing them cannot run code: data: or blob: scripts, styles and
# frames are script injection by another name; https: anywhere else would allow any host.
SCHEME_SOURCES: dict[str, frozenset[str]] = {
    "img-src": frozenset({"data:", "blob:", "https:"}),
    "media-src": frozenset({"data:", "blob:", "https:"}),
    "font-src": frozenset({"data:"}),
}
HOST_SCHEMES = ("http", "https", "ws", "wss")

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_IPV4 = re.compile(
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
)
# A CSP host-source (CSP3 2.3.1): [scheme://](*.)host-or-*[:port or *][path]; the path never
# holds ';' or ',' (they end a directive or a policy in the header) nor quotes or spaces.
_HOST_SOURCE = re.compile(
    r"(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?"
    r"(?P<host>(?:\*\.)?[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)"
    r"(?::(?P<port>\d{1,5}|\*))?"
    r"(?P<path>/[a-z0-9._~%!$&()*+=:@/-]*)?",
    re.IGNORECASE,
)


# --- the CORS allowlist ---------------------------------------------------------------------


def _shown(text: str) -> str:
    """A refused input as the error message quotes it: JSON-escaped, cut at MAX_SHOWN."""
    cut = text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"
    return json.dumps(cut, ensure_ascii=False)


def _host(host: str) -> str | None:
    """A host as an origin names it (lower case, IDNA for non-ASCII names); None if invalid."""
    if host.startswith("[") and host.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    if _IPV4.fullmatch(host):
        return host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit():  # 300.1.1.1 or 10.1: neither a name nor an IPv4 address
        return None
    return host


def parse_origin(line: str) -> str:
    """One origin as browsers serialise it (scheme://host[:port]); InvalidInput says why not."""
    scheme, separator, rest = line.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in DEFAULT_PORTS:
        raise InvalidInput("only http:// and https:// origins are accepted")
    if any(char.isspace() for char in rest) or not rest.isprintable():
        raise InvalidInput("an origin holds no spaces or control characters")
    if rest.endswith("/"):  # "https://shop.example/" as copied from the address bar
        rest = rest[:-1]
    if "*" in rest:
        raise InvalidInput("wildcards are not allowed: list each origin")
    for char, what in (("@", "user name"), ("/", "path"), ("?", "query"), ("#", "fragment")):
        if char in rest:
            raise InvalidInput(f"an origin has no {what}: scheme://host[:port] only")
    host, port_text = rest, ""
    if rest.startswith("["):  # an IPv6 address: its colons are not the port's
        end = rest.find("]")
        host, port_text = rest[: end + 1], rest[end + 1 :]
        if end < 0 or (port_text and not port_text.startswith(":")):
            raise InvalidInput("an IPv6 host is written in brackets: http://[::1]:8080")
        port_text = port_text[1:]
    elif ":" in rest:
        host, _, port_text = rest.partition(":")
    name = _host(host.lower())
    if not host or name is None:
        raise InvalidInput("the host is not a valid name or IP address")
    if port_text or rest.endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
            raise InvalidInput("the port is a number from 1 to 65535")
        port = int(port_text)
        if port != DEFAULT_PORTS[scheme]:
            return f"{scheme}://{name}:{port}"
    return f"{scheme}://{name}"


def origin_lines(key: str, value: Any) -> str:
    """The allowlist text, one normalised origin per line; the first invalid line refused
    with its number (counting blank lines, as the admin's text area does) and its text."""
    if not isinstance(value, str):
        raise InvalidInput(f"{key}: must be text, one origin per line")
    if len(value) > MAX_ORIGINS_CHARS:
        raise InvalidInput(f"{key}: at most {MAX_ORIGINS_CHARS} characters")
    origins: list[str] = []
    for number, line in enumerate(value.replace("\r\n", "\n").split("\n"), start=1):
        text = line.strip()
        if not text:
            continue
        try:
            origin = parse_origin(text)
        except InvalidInput as error:
            raise InvalidInput(
                f"{key}: line {number} ({_shown(text)}) is not an origin: {error.message}"
            ) from None
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise InvalidInput(f"{key}: at most {MAX_ORIGINS} origins")
    return "\n".join(origins)


# --- CSP sources ----------------------------------------------------------------------------


def parse_source(directive: str, text: str) -> str:
    """One source expression a setting may add to `directive`; InvalidInput says why not."""
    source = text.strip()
    lowered = source.lower()
    if not source or len(source) > MAX_SOURCE_CHARS:
        raise InvalidInput(f"a source is 1 to {MAX_SOURCE_CHARS} characters")
    if source.startswith("'"):
        raise InvalidInput(
            "keywords, nonces and hashes are not accepted (the policy's keywords are fixed);"
            " list hosts, e.g. https://cdn.example.com"
        )
    if source == "*":
        raise InvalidInput("a bare * allows every host: list the hosts")
    if lowered.endswith(":") and "/" not in lowered:  # a scheme-source: data:, https:
        allowed = SCHEME_SOURCES.get(directive, frozenset())
        if lowered not in allowed:
            also = f" (here: {', '.join(sorted(allowed))})" if allowed else ""
            raise InvalidInput(f"a whole scheme is not accepted in {directive}{also}")
        return lowered
    match = _HOST_SOURCE.fullmatch(source)
    if match is None or not _host_source_ok(match):
        raise InvalidInput(
            "not a host source: [scheme://]host[:port][/path], e.g. https://cdn.example.com"
        )
    scheme, host, port, path = match.group("scheme", "host", "port", "path")
    return "".join(
        (
            f"{scheme.lower()}://" if scheme else "",
            host.lower(),
            f":{port}" if port else "",
            path or "",  # paths are case-sensitive
        )
    )


def _host_source_ok(match: re.Match[str]) -> bool:
    scheme, host, port = match.group("scheme"), match.group("host"), match.group("port")
    if scheme is not None and scheme.lower() not in HOST_SCHEMES:
        return False
    if port is not None and port != "*" and not 0 < int(port) <= 65535:
        return False
    if host.startswith("*."):  # a wildcard covers one site's subdomains, not a whole TLD
        host = host[2:]
        if "." not in host:
            return False
    return _host(host.lower()) is not None


def csp_sources(key: str, value: Any) -> dict[str, list[str]]:
    """{directive: [source, ...]} for the fetch directives, each source checked; stored in
    the policy's directive order, without repeats or empty lists. {} (or null): none."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{key}: must be a JSON object {{directive: [source, ...]}}")
    stored: dict[str, list[str]] = {}
    for directive in value:
        if directive not in CSP_DIRECTIVES:
            raise InvalidInput(
                f"{key}: {_shown(str(directive))} is not one of {', '.join(CSP_DIRECTIVES)}"
            )
    for directive in CSP_DIRECTIVES:
        sources = value.get(directive)
        if sources is None:
            continue
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise InvalidInput(f"{key}: {directive} must be a list of sources (text)")
        if len(sources) > MAX_SOURCES:
            raise InvalidInput(f"{key}: at most {MAX_SOURCES} sources in {directive}")
        kept: list[str] = []
        for text in sources:
            try:
                source = parse_source(directive, text)
            except InvalidInput as error:
                raise InvalidInput(
                    f"{key}: {directive} source {_shown(text)}: {error.message}"
                ) from None
            if source not in kept:
                kept.append(source)
        if kept:
            stored[directive] = kept
    return stored


for _key, _spec in {
    ORIGINS_SETTING: SettingSpec(
        "",
        "CORS allowlist of the storefront API (/api/*, not /api/v1/*): one origin per line."
        " Only http:// and https:// are accepted. Applied while cors_enforced is true.",
        origin_lines,
    ),
    ENFORCED_SETTING: SettingSpec(
        False,
        "CORS enforcement. Off: all origins are allowed. On: only the origins in"
        " cors_allowed_origins may call the storefront API from a browser.",
        boolean,
    ),
    CSP_SETTING: SettingSpec(
        {},
        "Extra Content-Security-Policy sources of the shop's HTML pages, by directive"
        f" ({', '.join(CSP_DIRECTIVES)}): hosts, or data:/blob:/https: where safe."
        " Added only where a page already loads that kind of resource.",
        csp_sources,
    ),
}.items():
    register_setting(_key, _spec)


# --- the value every API process applies ----------------------------------------------------


@dataclass(frozen=True)
class NetworkSecurity:
    """The CORS allowlist and toggle, and the extra CSP sources, as one process applies them."""

    enforced: bool = False
    origins: tuple[str, ...] = ()
    extra_sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def _allowed(self) -> frozenset[str]:
        return frozenset(self.origins)

    @classmethod
    def from_settings(cls, value: Callable[[str], Any]) -> NetworkSecurity:
        """Built from the stored settings (value(key) -> the key's current value)."""
        text: str = value(ORIGINS_SETTING)
        sources: dict[str, list[str]] = value(CSP_SETTING)
        return cls(
            enforced=bool(value(ENFORCED_SETTING)),
            origins=tuple(line for line in text.split("\n") if line),
            extra_sources={k: tuple(v) for k, v in sources.items()},
        )

    def allows(self, origin: str) -> bool:
        """Whether a browser on this origin may call the storefront API (the Origin header
        as sent: browsers serialise it as the allowlist is stored)."""
        return not self.enforced or origin in self._allowed
