"""One redaction for everything a writer shows: reports are uploaded, pasted and shared.

Every writer (terminal, JUnit, Markdown, SARIF) and every reproducer (a fuzz
finding's curl command) passes its text through here, so a secret that
reached a finding (``http://admin:TOKEN@host/p?access_token=TOKEN``, an
``Authorization`` header in evidence) never leaves the machine.  Masked are:
the user information of URLs, and query parameters, headers, cookies and
``name=value`` pairs whose *name* means a secret (token, key, secret,
password, signature, session, authorization, cookie and the like).  Values
are replaced by ``***``; names, hosts and paths stay, so the finding still
says where.

Pure functions, no imports beyond the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from .findings import Finding

__all__ = ["MASK", "is_secret_name", "redact_finding", "redact_headers", "redact_text", "redact_url"]

MASK = "***"

#: A name means a secret when one of its words is one of these (``X-Api-Key``, ``access_token``,
#: ``sessionid``, ``PHPSESSID``, ``client_secret``, ``sig``, ``passwd``).
_SECRET_WORDS = re.compile(
    r"token|secret|passw|passwd|pwd|signature|session|sessid|auth|cookie|credential|apikey|api_key|"
    r"private|jwt|bearer|csrf|xsrf|otp|^sig$|^key$|_key$|-key$|\.key$|^code$|^pass$",
    re.IGNORECASE,
)
# Words that contain a secret word but name no secret (``author``, ``keyboard`` never matched above).
_NOT_SECRET = re.compile(r"^(author|authors|authority|key(board|word|words|s)|sort_key|primary_key)$", re.IGNORECASE)

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>`]+")
_USERINFO = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<info>[^/?#@\s]*)@")
_PAIR = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-\[\]]*)(?P<sep>=)(?P<value>[^&;\s\"'<>,]*)")
_HEADER_LINE = re.compile(r"(?im)^(?P<name>[A-Za-z][A-Za-z0-9\-]*)(?P<sep>:[ \t]*)(?P<value>[^\r\n]+)$")
_HEADER_ARG = re.compile(r"(?P<q>['\"])(?P<name>[A-Za-z][A-Za-z0-9\-]*)(?P<sep>:[ \t]*)(?P<value>[^'\"\r\n]*)(?P=q)")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=\-]{8,}")


def is_secret_name(name: str) -> bool:
    """Whether a parameter, header or cookie called ``name`` holds a secret."""
    text = unquote(name).strip().strip("[]").lower()
    if not text or _NOT_SECRET.match(text):
        return False
    return bool(_SECRET_WORDS.search(text))


def redact_url(url: str) -> str:
    """The URL with its user information and secret query parameters masked."""
    match = _USERINFO.match(url)
    if match:
        info = match.group("info")
        user, colon, _password = info.partition(":")
        masked = f"{user}:{MASK}" if colon and user else MASK
        url = f"{match.group('scheme')}{masked}@{url[match.end() :]}"
    head, sep, query = url.partition("?")
    if not sep:
        return url
    query, hash_sep, fragment = query.partition("#")
    return head + sep + _redact_pairs(query) + hash_sep + _redact_pairs(fragment)


def _redact_pairs(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        if match.group("value") and is_secret_name(match.group("name")):
            return f"{match.group('name')}{match.group('sep')}{quote(MASK, safe='*')}"
        return match.group(0)

    return _PAIR.sub(mask, text)


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header pairs with secret values masked (``Authorization``, ``Cookie``, ``X-Api-Key``, ...)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    result = []
    for name, value in pairs:
        if is_secret_name(name):
            result.append((name, MASK))
        else:
            result.append((name, redact_text(value)))
    return result


def redact_text(text: str) -> str:
    """Free text (a message, evidence, a curl command): URLs, header lines and ``name=value`` pairs."""
    if not text:
        return text

    def header(match: re.Match[str]) -> str:
        if is_secret_name(match.group("name")):
            quote_char = match.groupdict().get("q") or ""
            return f"{quote_char}{match.group('name')}{match.group('sep')}{MASK}{quote_char}"
        return match.group(0)

    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _HEADER_ARG.sub(header, text)
    text = _HEADER_LINE.sub(header, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _redact_pairs(text)


def redact_finding(finding: Finding) -> Finding:
    """The finding as a writer may show it: message, evidence, fix and URL redacted.

    The fingerprint is kept as it was computed from the real content, so a
    redacted finding is still the same finding for suppressions and GitHub.
    """
    location = finding.location
    new_url = redact_url(location.url) if location.url else ""
    changes = {
        "message": redact_text(finding.message),
        "evidence": redact_text(finding.evidence),
        "fix": redact_text(finding.fix),
    }
    if new_url != location.url:
        changes["location"] = replace(location, url=new_url)  # type: ignore[assignment]
    if all(getattr(finding, k) == v for k, v in changes.items()):
        return finding
    return replace(finding, **changes)  # type: ignore[arg-type]
