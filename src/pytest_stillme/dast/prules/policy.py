"""Passive rules on the browser-policy headers: CSP (10038, 10055), anti-clickjacking (10020),
Permissions-Policy (10063) and site isolation (90004), with ZAP's ids, names, risks, CWEs and conditions.

Each check applies where ZAP's rule of the same id applies at its default
(Medium) threshold (anti-clickjacking only on HTML pages that are neither
errors nor redirects, site isolation only on 2xx responses, ...), so a site
gives the same rule ids here as in ZAP's baseline.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..page import Exchange
from .base import HIGH, INFO, LOW, MEDIUM, Hit, PassiveRule, alert_type

__all__ = ["MDN", "RULES", "has_meta"]

MDN = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/"


def has_meta(ex: Exchange, name: str) -> str:
    """The META element that sets header ``name``, as evidence, or ""."""
    for meta in ex.page.metas:
        if meta.get("http-equiv", "").lower() == name.lower():
            return f'<meta http-equiv="{meta.get("http-equiv", "")}" content="{meta.get("content", "")}">'
    return ""


# -- 10038 Content Security Policy (CSP) Header Not Set ----------------------------------------


def _csp_missing(ex: Exchange) -> Iterator[Hit]:
    if not ex.is_html or ex.is_redirect:
        return
    if not ex.has("content-security-policy") and not has_meta(ex, "content-security-policy"):
        yield Hit("10038-1")
    for name in ("X-Content-Security-Policy", "X-WebKit-CSP"):
        if ex.has(name):
            yield Hit("10038-2", param=name, evidence=ex.values(name)[0])
    if ex.has("content-security-policy-report-only"):
        yield Hit("10038-3", param="Content-Security-Policy-Report-Only")


CSP_MISSING = PassiveRule(
    "10038",
    "Content Security Policy (CSP) Header Not Set",
    (
        alert_type(
            "10038-1",
            "Content Security Policy (CSP) Header Not Set",
            MEDIUM,
            HIGH,
            693,
            15,
            "The HTML response sets no Content-Security-Policy, which would tell the browser where scripts, "
            "styles, frames and other content may come from: a strong second line against XSS and injected content.",
            "Send a Content-Security-Policy header on every HTML response (e.g. default-src 'self'; "
            "frame-ancestors 'none'; form-action 'self').",
            MDN + "Content-Security-Policy",
            "https://www.w3.org/TR/CSP/",
        ),
        alert_type(
            "10038-2",
            "Obsolete Content Security Policy (CSP) Header Found",
            INFO,
            HIGH,
            693,
            15,
            "The response uses an obsolete, vendor-prefixed CSP header that current browsers ignore.",
            "Use the standard Content-Security-Policy header instead.",
            MDN + "Content-Security-Policy",
        ),
        alert_type(
            "10038-3",
            "Content Security Policy (CSP) Report-Only Header Found",
            INFO,
            HIGH,
            693,
            15,
            "The response sets a report-only policy, which reports violations but blocks nothing.",
            "Enforce the policy with Content-Security-Policy once the reports are clean.",
            MDN + "Content-Security-Policy-Report-Only",
        ),
    ),
    _csp_missing,
)

# -- 10055 CSP (a subset: wildcards, no-fallback directives, unsafe sources) ---------------------

_FETCH = ("script-src", "style-src", "img-src", "connect-src", "frame-src", "font-src", "media-src", "object-src")
_NO_FALLBACK = ("frame-ancestors", "form-action")
_BROAD = {"*", "http:", "https:", "data:", "blob:", "http://*", "https://*"}


def _directives(policy: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            table.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    return table


def _csp_policy(ex: Exchange) -> Iterator[Hit]:
    if not ex.is_html:
        return
    for policy in ex.values("content-security-policy"):
        table = _directives(policy)
        default = table.get("default-src")
        broad = [d for d in _FETCH if _BROAD & set(table.get(d, default if default is not None else ["*"]))]
        broad += [d for d in _NO_FALLBACK if d in table and _BROAD & set(table[d])]
        if broad:
            yield Hit("10055-4", param="Content-Security-Policy", evidence=policy, other=", ".join(broad))
        missing = [d for d in _NO_FALLBACK if d not in table]
        if missing:
            yield Hit("10055-13", param="Content-Security-Policy", evidence=policy, other=", ".join(missing))
        script = table.get("script-src", default or [])
        style = table.get("style-src", default or [])
        if "'unsafe-inline'" in script:
            yield Hit("10055-5", param="Content-Security-Policy", evidence=policy)
        if "'unsafe-inline'" in style:
            yield Hit("10055-6", param="Content-Security-Policy", evidence=policy)
        if "'unsafe-eval'" in script:
            yield Hit("10055-12", param="Content-Security-Policy", evidence=policy)


_CSP_REFS = (MDN + "Content-Security-Policy", "https://www.w3.org/TR/CSP/")
_CSP_FIX = "Tighten the Content-Security-Policy: name each directive, without wildcards or 'unsafe-' sources."
CSP_POLICY = PassiveRule(
    "10055",
    "CSP",
    (
        alert_type(
            "10055-4",
            "CSP: Wildcard Directive",
            MEDIUM,
            HIGH,
            693,
            15,
            "The policy allows any source (a wildcard, a bare scheme, or a directive left to no default) "
            "for some kinds of content.",
            _CSP_FIX,
            *_CSP_REFS,
        ),
        alert_type(
            "10055-5",
            "CSP: script-src unsafe-inline",
            MEDIUM,
            HIGH,
            693,
            15,
            "The policy allows inline scripts, which is what XSS injects.",
            _CSP_FIX,
            *_CSP_REFS,
        ),
        alert_type(
            "10055-6",
            "CSP: style-src unsafe-inline",
            MEDIUM,
            HIGH,
            693,
            15,
            "The policy allows inline styles, which injected markup can abuse.",
            _CSP_FIX,
            *_CSP_REFS,
        ),
        alert_type(
            "10055-12",
            "CSP: script-src unsafe-eval",
            MEDIUM,
            HIGH,
            693,
            15,
            "The policy allows eval() and similar, which turns injected strings into code.",
            _CSP_FIX,
            *_CSP_REFS,
        ),
        alert_type(
            "10055-13",
            "CSP: Failure to Define Directive with No Fallback",
            MEDIUM,
            HIGH,
            693,
            15,
            "frame-ancestors and form-action do not fall back to default-src: left out, they allow anything.",
            _CSP_FIX,
            *_CSP_REFS,
        ),
    ),
    _csp_policy,
)

# -- 10020 Anti-clickjacking ---------------------------------------------------------------------


def _anti_clickjacking(ex: Exchange) -> Iterator[Hit]:
    if not ex.is_html or not ex.body or not ex.is_text:
        return
    if ex.is_server_error or ex.is_client_error or ex.is_redirect:
        return
    if any("frame-ancestors" in v for v in ex.values("content-security-policy")):
        return  # CSP's frame-ancestors takes precedence
    values = ex.values("x-frame-options")
    if not values:
        yield Hit("10020-1", param="x-frame-options")
    for value in values:
        if "deny" not in value.lower() and "sameorigin" not in value.lower():
            yield Hit("10020-4", param="x-frame-options", evidence=value)
    if len(values) > 1:
        yield Hit("10020-2", param="x-frame-options")
    meta = has_meta(ex, "x-frame-options")
    if meta:
        yield Hit("10020-3", param="x-frame-options", evidence=meta)


_XFO_FIX = (
    "Send X-Frame-Options: DENY (or SAMEORIGIN) on every page, or a Content-Security-Policy with "
    "frame-ancestors 'none' (or 'self')."
)
ANTI_CLICKJACKING = PassiveRule(
    "10020",
    "Anti-clickjacking Header",
    (
        alert_type(
            "10020-1",
            "Missing Anti-clickjacking Header",
            MEDIUM,
            MEDIUM,
            1021,
            15,
            "The page sets neither X-Frame-Options nor CSP frame-ancestors, so another site can frame it "
            "and trick users into clicking ('ClickJacking').",
            _XFO_FIX,
            MDN + "X-Frame-Options",
        ),
        alert_type(
            "10020-2",
            "Multiple X-Frame-Options Header Entries",
            MEDIUM,
            MEDIUM,
            1021,
            15,
            "More than one X-Frame-Options header: browsers may not treat that predictably.",
            "Send exactly one X-Frame-Options header.",
            "https://tools.ietf.org/html/rfc7034",
        ),
        alert_type(
            "10020-3",
            "X-Frame-Options Defined via META (Non-compliant with Spec)",
            MEDIUM,
            MEDIUM,
            1021,
            15,
            "X-Frame-Options set by a META element, which browsers ignore.",
            "Send X-Frame-Options as a response header.",
            "https://tools.ietf.org/html/rfc7034#section-4",
        ),
        alert_type(
            "10020-4",
            "X-Frame-Options Setting Malformed",
            MEDIUM,
            MEDIUM,
            1021,
            15,
            "X-Frame-Options is set, but neither to DENY nor to SAMEORIGIN.",
            _XFO_FIX,
            "https://tools.ietf.org/html/rfc7034#section-2.1",
        ),
    ),
    _anti_clickjacking,
)

# -- 10063 Permissions Policy --------------------------------------------------------------------


def _permissions_policy(ex: Exchange) -> Iterator[Hit]:
    if not (ex.is_html or ex.is_javascript) or ex.is_redirect:
        return
    if not ex.has("permissions-policy"):
        yield Hit("10063-2" if ex.has("feature-policy") else "10063-1")


PERMISSIONS_POLICY = PassiveRule(
    "10063",
    "Permissions Policy Header Not Set",
    (
        alert_type(
            "10063-1",
            "Permissions Policy Header Not Set",
            LOW,
            MEDIUM,
            693,
            15,
            "No Permissions-Policy limits which browser features (camera, geolocation, payment...) the page "
            "and what it embeds may use.",
            "Send a Permissions-Policy header that allows only the features the page needs "
            "(e.g. camera=(), geolocation=(), microphone=()).",
            MDN + "Permissions-Policy",
        ),
        alert_type(
            "10063-2",
            "Deprecated Feature Policy Header Set",
            LOW,
            MEDIUM,
            16,
            15,
            "Feature-Policy is deprecated and replaced by Permissions-Policy.",
            "Send Permissions-Policy instead of Feature-Policy.",
            MDN + "Permissions-Policy",
        ),
    ),
    _permissions_policy,
)

# -- 90004 Site isolation (Spectre) ---------------------------------------------------------------


def _document(ex: Exchange) -> bool:
    return any(v.lower().startswith(("text/html", "application/xml")) for v in ex.values("content-type"))


def _policy_values(values: list[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(";") if p.strip() and not p.strip().startswith("report-to")]


def _site_isolation(ex: Exchange) -> Iterator[Hit]:
    if not ex.is_success:
        return
    if not any(name.lower().startswith("access-control-allow-") for name, _ in ex.headers):
        corp = ex.values("cross-origin-resource-policy")
        if not corp:
            yield Hit("90004-1", param="Cross-Origin-Resource-Policy")
        for value in _policy_values(corp):
            if value.lower() not in ("same-origin", "cross-origin"):
                yield Hit("90004-1", param="Cross-Origin-Resource-Policy", evidence=value)
    if _document(ex):
        for ref, header, good in (
            ("90004-2", "Cross-Origin-Embedder-Policy", "require-corp"),
            ("90004-3", "Cross-Origin-Opener-Policy", "same-origin"),
        ):
            values = ex.values(header)
            if not values:
                yield Hit(ref, param=header)
            for value in _policy_values(values):
                if value.lower() != good:
                    yield Hit(ref, param=header, evidence=value)


_SPECTRE = "Insufficient Site Isolation Against Spectre Vulnerability"
_SPECTRE_FIX = (
    "Send Cross-Origin-Resource-Policy: same-origin on every response, and on HTML documents "
    "Cross-Origin-Embedder-Policy: require-corp and Cross-Origin-Opener-Policy: same-origin."
)
SITE_ISOLATION = PassiveRule(
    "90004",
    _SPECTRE,
    tuple(
        alert_type(
            ref,
            _SPECTRE,
            LOW,
            MEDIUM,
            693,
            14,
            f"Without {header}, other sites can load this resource into their process, where Spectre-like "
            "attacks can read it.",
            _SPECTRE_FIX,
            MDN + header,
        )
        for ref, header in (
            ("90004-1", "Cross-Origin-Resource-Policy"),
            ("90004-2", "Cross-Origin-Embedder-Policy"),
            ("90004-3", "Cross-Origin-Opener-Policy"),
        )
    ),
    _site_isolation,
)

RULES: tuple[PassiveRule, ...] = (CSP_MISSING, CSP_POLICY, ANTI_CLICKJACKING, PERMISSIONS_POLICY, SITE_ISOLATION)
