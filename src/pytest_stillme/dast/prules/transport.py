"""Passive rules on transport and content headers: X-Content-Type-Options (10021), HSTS (10035), CORS
(10098), cache control (10015), Content-Type (10019) and weak authentication (10105), as ZAP checks them.

X-Content-Type-Options is expected on every non-empty response that is not
an error or redirect; HSTS and cache control only over HTTPS, as in ZAP.  No pytest here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..page import Exchange
from .base import HIGH, INFO, LOW, MEDIUM, Hit, PassiveRule, alert_type
from .policy import MDN, has_meta

__all__ = ["RULES"]

# -- 10021 X-Content-Type-Options ----------------------------------------------------------------


def _nosniff(ex: Exchange) -> Iterator[Hit]:
    if not ex.body or ex.is_server_error or ex.is_client_error or ex.is_redirect:
        return
    values = ex.values("x-content-type-options")
    if not values:
        yield Hit("10021", param="x-content-type-options", other=_NOSNIFF_OTHER)
    for value in values:
        if "nosniff" not in value.lower():
            yield Hit("10021", param="x-content-type-options", evidence=value, other=_NOSNIFF_OTHER)


_NOSNIFF_OTHER = (
    "Error pages (401, 403, 500...) are affected too when they can carry injected content; at ZAP's default "
    "threshold, as here, only responses that are neither errors nor redirects are reported."
)
X_CONTENT_TYPE_OPTIONS = PassiveRule(
    "10021",
    "X-Content-Type-Options Header Missing",
    (
        alert_type(
            "10021",
            "X-Content-Type-Options Header Missing",
            LOW,
            MEDIUM,
            693,
            15,
            "Without X-Content-Type-Options: nosniff, browsers may sniff a response's type and run content "
            "as something other than what the server declared.",
            "Send X-Content-Type-Options: nosniff on every response.",
            MDN + "X-Content-Type-Options",
        ),
    ),
    _nosniff,
)

# -- 10035 Strict-Transport-Security -------------------------------------------------------------

_MAX_AGE_ZERO = re.compile(r"\bmax-age\s*=\s*'*\"*\s*0\s*\"*'*\s*", re.IGNORECASE)
_MAX_AGE = re.compile(r"\bmax-age\s*=\s*'*\"*\s*\d+\s*\"*'*\s*", re.IGNORECASE)
_MAX_AGE_QUOTED = re.compile(r"['\"]\s*max", re.IGNORECASE)


def _hsts(ex: Exchange) -> Iterator[Hit]:
    values = ex.values("strict-transport-security")
    if ex.secure:
        if not values:
            if not (ex.is_redirect and _https_same_host_redirect(ex)):
                yield Hit("10035-1")
        elif len(values) > 1:
            yield Hit("10035-3")
        else:
            value = values[0]
            if not value.isprintable() or not value.isascii():
                yield Hit("10035-8", evidence="Strict-Transport-Security")
            elif _MAX_AGE_ZERO.search(value):
                yield Hit("10035-2", evidence=value)
            elif not _MAX_AGE.search(value):
                yield Hit("10035-5", evidence=value)
            elif _MAX_AGE_QUOTED.search(value):
                yield Hit("10035-7", evidence=value)
    if ex.is_html and has_meta(ex, "strict-transport-security"):
        yield Hit("10035-6", evidence="Strict-Transport-Security")


def _https_same_host_redirect(ex: Exchange) -> bool:
    from urllib.parse import urljoin, urlsplit

    location = ex.first("location") or ""
    if not location:
        return False
    target = urlsplit(urljoin(ex.url, location))
    here = urlsplit(ex.url)
    return target.scheme == "https" and target.hostname == here.hostname and target.port == here.port


_HSTS_FIX = "Send Strict-Transport-Security: max-age=31536000; includeSubDomains on every HTTPS response."
_HSTS_REF = "https://datatracker.ietf.org/doc/html/rfc6797"
HSTS = PassiveRule(
    "10035",
    "Strict-Transport-Security Header",
    (
        alert_type(
            "10035-1",
            "Strict-Transport-Security Header Not Set",
            LOW,
            HIGH,
            319,
            15,
            "The HTTPS response does not tell browsers to use HTTPS only (HSTS), so a first plain-HTTP request "
            "can be intercepted.",
            _HSTS_FIX,
            _HSTS_REF,
        ),
        alert_type(
            "10035-2",
            "Strict-Transport-Security Disabled",
            LOW,
            HIGH,
            319,
            15,
            "max-age=0 switches HSTS off.",
            _HSTS_FIX,
            _HSTS_REF,
        ),
        alert_type(
            "10035-3",
            "Strict-Transport-Security Multiple Header Entries (Non-compliant with Spec)",
            LOW,
            HIGH,
            319,
            15,
            "More than one HSTS header: browsers ignore them.",
            _HSTS_FIX,
            _HSTS_REF,
        ),
        alert_type(
            "10035-5",
            "Strict-Transport-Security Missing Max-Age (Non-compliant with Spec)",
            LOW,
            HIGH,
            319,
            15,
            "The HSTS header has no max-age, so browsers ignore it.",
            _HSTS_FIX,
            _HSTS_REF,
        ),
        alert_type(
            "10035-6",
            "Strict-Transport-Security Defined via META (Non-compliant with Spec)",
            LOW,
            HIGH,
            319,
            15,
            "HSTS set by a META element, which browsers ignore.",
            _HSTS_FIX,
            _HSTS_REF,
        ),
        alert_type(
            "10035-7",
            "Strict-Transport-Security Max-Age Malformed (Non-compliant with Spec)",
            LOW,
            HIGH,
            319,
            15,
            "The max-age of the HSTS header is quoted or malformed.",
            _HSTS_FIX,
            _HSTS_REF,
        ),
        alert_type(
            "10035-8",
            "Strict-Transport-Security Malformed Content (Non-compliant with Spec)",
            LOW,
            HIGH,
            319,
            15,
            "The HSTS header holds characters that are not printable ASCII.",
            _HSTS_FIX,
            _HSTS_REF,
        ),
    ),
    _hsts,
)

# -- 10098 CORS, 10015 cache control, 10019 content type, 10105 weak authentication --------------


def _cors(ex: Exchange) -> Iterator[Hit]:
    value = ex.first("access-control-allow-origin")
    if value is not None and value.strip() == "*":
        yield Hit("10098", evidence="Access-Control-Allow-Origin: *")


CORS = PassiveRule(
    "10098",
    "Cross-Domain Misconfiguration",
    (
        alert_type(
            "10098",
            "Cross-Domain Misconfiguration",
            MEDIUM,
            MEDIUM,
            264,
            14,
            "Access-Control-Allow-Origin: * lets any web site read these responses from its users' browsers.",
            "Allow only the origins that need the data, or send no CORS headers at all.",
            "https://fetch.spec.whatwg.org/#http-cors-protocol",
        ),
    ),
    _cors,
)


def _cache_control(ex: Exchange) -> Iterator[Hit]:
    if not ex.secure or not ex.body or ex.method == "POST" or ex.is_image:
        return
    if ex.is_redirect or ex.is_client_error or ex.is_server_error or not ex.is_text:
        return
    if ex.is_javascript or ex.is_css:
        return
    values = ", ".join(ex.values("cache-control")).lower()
    if not values or any(d not in values for d in ("no-store", "no-cache", "must-revalidate")):
        yield Hit("10015", param="Cache-Control", evidence=values)


CACHE_CONTROL = PassiveRule(
    "10015",
    "Re-examine Cache-control Directives",
    (
        alert_type(
            "10015",
            "Re-examine Cache-control Directives",
            INFO,
            LOW,
            525,
            13,
            "The Cache-Control header lets browsers and proxies keep this HTTPS content; sensitive pages should "
            "not be stored.",
            "For sensitive content send Cache-Control: no-cache, no-store, must-revalidate.",
            "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#web-content-caching",
        ),
    ),
    _cache_control,
)


def _content_type(ex: Exchange) -> Iterator[Hit]:
    if ex.body and not (ex.first("content-type") or "").strip():
        yield Hit("10019", evidence="")


CONTENT_TYPE = PassiveRule(
    "10019",
    "Content-Type Header Missing",
    (
        alert_type(
            "10019",
            "Content-Type Header Missing",
            INFO,
            MEDIUM,
            345,
            12,
            "The response has a body but no Content-Type, so browsers guess its type.",
            "Send an accurate Content-Type on every response with a body.",
            MDN + "Content-Type",
        ),
    ),
    _content_type,
)


def _weak_auth(ex: Exchange) -> Iterator[Hit]:
    if ex.secure:
        return
    for value in ex.values("www-authenticate"):
        scheme = value.split(" ", 1)[0].lower()
        if scheme in ("basic", "digest"):
            yield Hit("10105", param="WWW-Authenticate", evidence=value)


WEAK_AUTH = PassiveRule(
    "10105",
    "Weak Authentication Method",
    (
        alert_type(
            "10105",
            "Weak Authentication Method",
            MEDIUM,
            MEDIUM,
            326,
            4,
            "HTTP Basic or Digest authentication over plain HTTP: credentials can be read or replayed.",
            "Protect the connection with HTTPS, or use a stronger authentication mechanism.",
            "https://owasp.org/www-community/controls/Authentication",
        ),
    ),
    _weak_auth,
)

RULES: tuple[PassiveRule, ...] = (X_CONTENT_TYPE_OPTIONS, HSTS, CORS, CACHE_CONTROL, CONTENT_TYPE, WEAK_AUTH)
