"""Passive rules on markup: suspicious comments (10027), forms without anti-CSRF tokens (10202), scripts and
stylesheets from other hosts without integrity (10017, 90003), as ZAP checks them.

Suspicious words are matched, as ZAP matches them, in HTML comments, in
whole script elements and line by line in JavaScript responses; a form
whose start tag has no enclosing element is not reported (it is likely not
HTML at all).  No pytest here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

from ..page import Exchange
from .base import HIGH, INFO, LOW, MEDIUM, Hit, PassiveRule, alert_type

__all__ = ["CSRF_TOKEN_NAMES", "RULES"]

# -- 10027 Suspicious Comments -------------------------------------------------------------------

_WORDS = (
    "TODO",
    "FIXME",
    "BUG",
    "BUGS",
    "XXX",
    "QUERY",
    "DB",
    "ADMIN",
    "ADMINISTRATOR",
    "USER",
    "USERNAME",
    "SELECT",
    "WHERE",
    "FROM",
    "LATER",
)
_SUSPICIOUS = [(word, re.compile(rf"\b{word}\b", re.IGNORECASE)) for word in _WORDS]


def _suspicious_comments(ex: Exchange) -> Iterator[Hit]:
    if not ex.body or not ex.is_text:
        return
    pieces: list[tuple[str, int]]
    if ex.is_javascript:
        pieces = [(line, LOW) for line in ex.text.split("\n")]
    elif ex.is_html:
        page = ex.page
        pieces = [(c, MEDIUM) for c in page.comments] + [(s, LOW) for s in page.scripts]
    else:
        return
    found: dict[str, tuple[str, str, int, int]] = {}
    for text, confidence in pieces:
        for word, pattern in _SUSPICIOUS:
            match = pattern.search(text)
            if match:
                first = found.get(word)
                count = first[3] + 1 if first else 1
                found[word] = (match.group(0), first[1] if first else text, first[2] if first else confidence, count)
                break  # one word per comment, as ZAP counts them
    for word, (evidence, detail, confidence, count) in found.items():
        shown = detail[:128]
        other = f"The word {word!r} was found in {count} place(s); the first: {shown}"
        yield Hit("10027", evidence=evidence, other=other, confidence=confidence)


# -- 10202 Absence of Anti-CSRF Tokens -----------------------------------------------------------

CSRF_TOKEN_NAMES = (
    "anticsrf",
    "CSRFToken",
    "__RequestVerificationToken",
    "csrfmiddlewaretoken",
    "authenticity_token",
    "OWASP_CSRFTOKEN",
    "anoncsrf",
    "csrf_token",
    "_csrf",
    "_csrfSecret",
    "__csrf_magic",
    "CSRF",
    "_token",
    "_csrf_token",
    "_csrfToken",
)
_TOKENS = frozenset(name.lower() for name in CSRF_TOKEN_NAMES)


def _anti_csrf(ex: Exchange) -> Iterator[Hit]:
    if not ex.is_html or not ex.body:
        return
    for number, form in enumerate(ex.page.forms, start=1):
        if not form.has_parent:
            continue  # no enclosing element: likely not HTML at all (a script building markup)
        names = [name for name, _, _ in form.fields]
        if any(n.lower() in _TOKENS for n in names + form.ids):
            continue
        listed = '" "'.join(sorted(set(form.ids + names), key=str.lower))
        other = (
            f"No known Anti-CSRF token [{', '.join(CSRF_TOKEN_NAMES)}] was found in the following HTML form: "
            f'[Form {number}: "{listed}" ].'
        )
        yield Hit("10202", evidence=form.start_tag, other=other)


# -- 10017 Cross-Domain JavaScript Source File Inclusion, 90003 Sub Resource Integrity --------------


def _foreign(ex: Exchange, url: str) -> str:
    """The absolute URL when it is on another host than the page, else ""."""
    absolute = urljoin(ex.url, url)
    host = (urlsplit(absolute).hostname or "").lower()
    return absolute if host and host != ex.host else ""


def _cross_domain_script(ex: Exchange) -> Iterator[Hit]:
    if not ex.is_html or not ex.body:
        return
    for kind, src, integrity in ex.page.resources:
        if kind == "script" and not integrity.strip() and _foreign(ex, src):
            yield Hit("10017", param=src, evidence=f'<script src="{src}">')


def _subresource_integrity(ex: Exchange) -> Iterator[Hit]:
    if not ex.is_html or not ex.body:
        return
    for kind, src, integrity in ex.page.resources:
        if not integrity.strip() and _foreign(ex, src):
            tag = f'<script src="{src}">' if kind == "script" else f'<link rel="stylesheet" href="{src}">'
            yield Hit("90003", evidence=tag)


RULES: tuple[PassiveRule, ...] = (
    PassiveRule(
        "10017",
        "Cross-Domain JavaScript Source File Inclusion",
        (
            alert_type(
                "10017",
                "Cross-Domain JavaScript Source File Inclusion",
                LOW,
                MEDIUM,
                829,
                15,
                "The page runs scripts from another host: whoever controls that host controls the page.",
                "Serve scripts from your own origin, or pin them with an integrity attribute.",
            ),
        ),
        _cross_domain_script,
    ),
    PassiveRule(
        "10027",
        "Information Disclosure - Suspicious Comments",
        (
            alert_type(
                "10027",
                "Information Disclosure - Suspicious Comments",
                INFO,
                MEDIUM,
                615,
                13,
                "A comment or script holds words (TODO, FIXME, SELECT, ADMIN...) that may help an attacker; "
                "in scripts the whole content is matched, not only comments.",
                "Remove comments that say how the application works from what the browser receives.",
            ),
        ),
        _suspicious_comments,
    ),
    PassiveRule(
        "10202",
        "Absence of Anti-CSRF Tokens",
        (
            alert_type(
                "10202",
                "Absence of Anti-CSRF Tokens",
                MEDIUM,
                LOW,
                352,
                9,
                "An HTML form carries no anti-CSRF token, so another site may submit it in a logged-in user's name.",
                "Add a per-session or per-request token to every state-changing form and check it on the server "
                "(most frameworks have this built in).",
                "https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html",
            ),
        ),
        _anti_csrf,
    ),
    PassiveRule(
        "90003",
        "Sub Resource Integrity Attribute Missing",
        (
            alert_type(
                "90003",
                "Sub Resource Integrity Attribute Missing",
                MEDIUM,
                HIGH,
                345,
                15,
                "A script or stylesheet from another host is loaded without an integrity attribute, so a change "
                "there changes this page.",
                "Add integrity (and crossorigin) attributes to resources served by other hosts.",
                "https://developer.mozilla.org/en-US/docs/Web/Security/Subresource_Integrity",
            ),
        ),
        _subresource_integrity,
    ),
)
