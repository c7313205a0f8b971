"""Passive rules on ``Set-Cookie``: HttpOnly (10010), Secure (10011) and SameSite (10054), as ZAP checks them.

Cookies being deleted (an ``Expires`` in the past, or ``Max-Age`` of 0 or
less) are skipped, as ZAP skips them; Secure is only expected over HTTPS.
The evidence is ``Set-Cookie: NAME``, never the cookie's value.  No pytest here.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator

from ..page import Exchange
from .base import LOW, MEDIUM, Hit, PassiveRule, alert_type

__all__ = ["RULES", "parse_set_cookie"]


def parse_set_cookie(header: str) -> tuple[str, dict[str, str]]:
    """The cookie's name and its attributes (lower-case names; flags map to "")."""
    parts = header.split(";")
    name = parts[0].split("=", 1)[0].strip()
    attributes: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key.strip():
            attributes.setdefault(key.strip().lower(), value.strip())
    return name, attributes


def _expired(attributes: dict[str, str]) -> bool:
    max_age = attributes.get("max-age")
    if max_age is not None:
        try:
            return int(max_age) <= 0
        except ValueError:
            pass
    expires = attributes.get("expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires)
        except (TypeError, ValueError, IndexError):
            return False
        return when.timestamp() < time.time()
    return False


def _cookies(ex: Exchange) -> Iterator[tuple[str, dict[str, str]]]:
    for header in ("set-cookie", "set-cookie2"):
        for value in ex.values(header):
            name, attributes = parse_set_cookie(value)
            if name and not _expired(attributes):
                yield name, attributes


def _http_only(ex: Exchange) -> Iterator[Hit]:
    for name, attributes in _cookies(ex):
        if "httponly" not in attributes:
            yield Hit("10010", param=name, evidence=f"Set-Cookie: {name}")


def _secure(ex: Exchange) -> Iterator[Hit]:
    if not ex.secure:
        return
    for name, attributes in _cookies(ex):
        if "secure" not in attributes:
            yield Hit("10011", param=name, evidence=f"Set-Cookie: {name}")


def _same_site(ex: Exchange) -> Iterator[Hit]:
    for name, attributes in _cookies(ex):
        value = attributes.get("samesite")
        if value is None:
            yield Hit("10054-1", param=name, evidence=f"Set-Cookie: {name}")
        elif value.lower() == "none":
            yield Hit("10054-2", param=name, evidence=f"Set-Cookie: {name}")
        elif value.lower() not in ("strict", "lax"):
            yield Hit("10054-3", param=name, evidence=f"Set-Cookie: {name}")


_COOKIE_REF = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Set-Cookie"
_SAME_SITE_FIX = "Set SameSite=Lax, or better Strict, on every cookie."

RULES: tuple[PassiveRule, ...] = (
    PassiveRule(
        "10010",
        "Cookie No HttpOnly Flag",
        (
            alert_type(
                "10010",
                "Cookie No HttpOnly Flag",
                LOW,
                MEDIUM,
                1004,
                13,
                "A cookie is set without HttpOnly, so scripts on the page (an XSS payload too) can read it; "
                "a session cookie read that way means a hijacked session.",
                "Set the HttpOnly flag on every cookie scripts do not need.",
                "https://owasp.org/www-community/HttpOnly",
            ),
        ),
        _http_only,
    ),
    PassiveRule(
        "10011",
        "Cookie Without Secure Flag",
        (
            alert_type(
                "10011",
                "Cookie Without Secure Flag",
                LOW,
                MEDIUM,
                614,
                13,
                "A cookie set over HTTPS lacks the Secure flag, so the browser also sends it over plain HTTP.",
                "Set the Secure flag on every cookie set over HTTPS.",
                _COOKIE_REF,
            ),
        ),
        _secure,
    ),
    PassiveRule(
        "10054",
        "Cookie without SameSite Attribute",
        (
            alert_type(
                "10054-1",
                "Cookie without SameSite Attribute",
                LOW,
                MEDIUM,
                1275,
                13,
                "A cookie is set without SameSite, so it is sent with cross-site requests: the ground of "
                "cross-site request forgery.",
                _SAME_SITE_FIX,
                "https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-cookie-same-site",
            ),
            alert_type(
                "10054-2",
                "Cookie with SameSite Attribute None",
                LOW,
                MEDIUM,
                1275,
                13,
                "A cookie is set with SameSite=None, so it is sent with every cross-site request.",
                _SAME_SITE_FIX,
                "https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-cookie-same-site",
            ),
            alert_type(
                "10054-3",
                "Cookie with Invalid SameSite Attribute",
                LOW,
                MEDIUM,
                1275,
                13,
                "A cookie's SameSite attribute is neither Strict, Lax nor None.",
                _SAME_SITE_FIX,
                "https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-cookie-same-site",
            ),
        ),
        _same_site,
    ),
)
