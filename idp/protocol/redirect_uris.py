"""Which URIs a client may register to receive the person's browser or a logout token, and how a
redirect URI in a request matches a registered one.

RFC 6749 section 3.1.2: an absolute URI without a fragment. RFC 8252 sections 7.1 and 7.3 (native
apps): a private-use scheme in reverse-domain form, or ``http`` on a loopback address with any
port; every other app uses ``https`` (RFC 9700 section 4.1.1 on exact matching, 2.6 on TLS).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit


class RedirectUriError(ValueError):
    """A URI that cannot be registered; the message names the rule it breaks."""


def _loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_loopback(host: str) -> bool:
    # "localhost" is NOT RECOMMENDED by RFC 8252 section 8.3 but still loopback in development.
    return _loopback_ip(host) or host == "localhost"


def _private_use_scheme(scheme: str) -> bool:
    """RFC 8252 section 7.1: a reverse domain name (``com.example.app``), which also keeps
    ``javascript:``, ``data:`` and ``file:`` out."""
    return "." in scheme


def _split(uri: str) -> SplitResult | None:
    """The URI's parts, or None when it cannot be parsed (bad IPv6 literal, port out of range)."""
    try:
        parts = urlsplit(uri)
        return parts if parts.port is None or parts.port >= 0 else None
    except ValueError:
        return None


def _parse(uri: str, what: str) -> SplitResult:
    if not isinstance(uri, str) or not uri or any(ch.isspace() or ord(ch) < 0x20 for ch in uri):
        raise RedirectUriError(f"{what} {uri!r} must be a URI without spaces or control characters")
    parts = _split(uri)
    if parts is None:
        raise RedirectUriError(f"{what} {uri!r} is not a valid URI")
    if not parts.scheme:
        raise RedirectUriError(f"{what} {uri!r} must be an absolute URI (https://…)")
    if parts.fragment or uri.endswith("#"):
        raise RedirectUriError(f"{what} {uri!r} must not have a fragment (#…)")
    return parts


def check_browser_uri(uri: str, *, native: bool, what: str = "redirect URI") -> None:
    """A redirect or post-logout redirect URI: https; http on loopback (any port); and for a
    native (public) app, a private-use scheme."""
    parts = _parse(uri, what)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and _is_loopback(host):
        return
    if native and parts.scheme not in ("http", "https") and _private_use_scheme(parts.scheme):
        return
    allowed = "https, or http on a loopback address (127.0.0.1, [::1], localhost)"
    if native:
        allowed += ", or a private-use scheme in reverse-domain form (com.example.app:/callback)"
    raise RedirectUriError(f"{what} {uri!r} must use {allowed}")


def check_server_uri(uri: str, what: str) -> None:
    """A URI the provider itself calls (back-channel logout): https, or http on loopback."""
    parts = _parse(uri, what)
    host = parts.hostname or ""
    if not host or not (parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host))):
        raise RedirectUriError(
            f"{what} {uri!r} must use https, or http on a loopback address (127.0.0.1, [::1], localhost)")


def matches_registered(requested: str, registered: str) -> bool:
    """Exact string match (RFC 9700 section 4.1.3), except that a loopback IP redirect URI
    matches on any port (RFC 8252 section 7.3: the app picks a free port when it starts)."""
    if requested == registered:
        return True
    asked, known = _split(requested), _split(registered)
    if asked is None or known is None:
        return False
    if not (known.scheme == asked.scheme == "http" and _loopback_ip(known.hostname or "")):
        return False
    return (asked.hostname, asked.path, asked.query, asked.fragment, asked.username, asked.password) == (
        known.hostname, known.path, known.query, known.fragment, known.username, known.password)
