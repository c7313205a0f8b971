"""Passive rules on response bodies: error disclosure (90022, 10023), private IPs (2), timestamps (10096).

Conditions follow ZAP's rules of the same ids at their default threshold:
application errors on HTTP 500 (low) or a known error message in a non-404
body (medium); debug messages case-insensitively in text responses that are
not JavaScript; private IPv4 addresses other than the requested host; Unix
timestamps within ten years of now in the body and the headers ZAP does not
skip.  The message lists are stillme's own selection of the common
signatures; cheap prefilters (a few substrings, a byte translation) keep the
regular expressions off pages that cannot match.  No pytest here.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator

from ..page import Exchange
from .base import LOW, MEDIUM, Hit, PassiveRule, alert_type

__all__ = ["RULES"]

# -- 90022 Application Error Disclosure, 10023 Debug Error Messages -------------------------------

_APP_ERRORS = (
    "Microsoft OLE DB Provider for ODBC Drivers",
    "Microsoft OLE DB Provider for SQL Server",
    "ODBC Microsoft Access Driver",
    "ODBC SQL Server Driver",
    "supplied argument is not a valid MySQL result",
    "You have an error in your SQL syntax",
    "Unclosed quotation mark before the character string",
    "java.lang.NumberFormatException: For input string:",
    "ERROR: parser: parse error at or near",
    "SQL command not properly ended",
    "unexpected end of SQL command",
    "Supplied argument is not a valid PostgreSQL result",
    "Error Occurred While Processing Request",
    "internal error",
    "ASP.NET is configured to show verbose error messages",
    "Active Server Pages error",
    "Error Diagnostic Information",
    "Internal Server Error",
    "Microsoft VBScript runtime error",
    "PHP Parse error",
    "PHP Warning",
    "PHP Error",
    "Warning: mysql_query()",
    "Warning: Cannot modify header information - headers already sent",
    "Traceback (most recent call last)",
    "SyntaxError: Unexpected token",
    "JDBC Driver",
    "ORA-00933",
    "Servlet Error</title>",
)
#: Every message above contains one of these.
_APP_TRIGGERS = ("rror", "SQL", "ODBC", "JDBC", "Warning", "Traceback", "ORA-", "quotation", "NumberFormat", "argument")
_ORACLE = re.compile(r"ORA-\d{4,5}:\s")
_DEBUG_MESSAGES = (
    "Error Occurred While Processing Request",
    "Internal Server Error",
    "test page for apache",
    "failed to open stream: HTTP request failed!",
    "Parse error: parse error, unexpected T_VARIABLE",
    "PHP Parse error",
    "PHP Warning",
    "PHP Error",
    "Warning: Cannot modify header information - headers already sent",
    "mysql error is",
    "servlet error:",
    "Under construction",
    "Warning: Division by zero in",
    "Fatal error: Call to undefined function",
    "access denied for user",
    "incorrect syntax near",
    "Unclosed quotation mark before the character string",
    "There seems to have been a problem with the",
    "This error page might contain sensitive information because ASP.NET",
)
_DEBUG_LOWER = tuple(message.lower() for message in _DEBUG_MESSAGES)


def _first(text: str, needles: tuple[str, ...]) -> tuple[int, int]:
    """(position, length) of the earliest needle in ``text``, or (-1, 0): ``str.find`` beats a regex alternation."""
    best, length = -1, 0
    for needle in needles:
        at = text.find(needle)
        if at >= 0 and (best < 0 or at < best):
            best, length = at, len(needle)
    return best, length


def _application_error(ex: Exchange) -> Iterator[Hit]:
    if ex.status == 500:
        yield Hit("90022", evidence=ex.status_line(), risk=LOW)
        return
    if ex.status == 404 or "application/wasm" in ex.content_type or not ex.body:
        return
    text = ex.text
    if not any(trigger in text for trigger in _APP_TRIGGERS):
        return  # no message can be there: one short search per trigger instead of one per message
    at, length = _first(text, _APP_ERRORS)
    if at >= 0:
        yield Hit("90022", evidence=text[at : at + length])
    elif "ORA-" in text:
        found = _ORACLE.search(text)
        if found:
            yield Hit("90022", evidence=found.group(0))


def _debug_errors(ex: Exchange) -> Iterator[Hit]:
    if ex.is_javascript or not ex.body or not ex.is_text:
        return
    text = ex.text
    lowered = text.lower()
    at, length = _first(lowered, _DEBUG_LOWER)
    if at >= 0:
        # The text as written, when lowering kept every offset (it does for all but a few scripts).
        same = len(lowered) == len(text)
        yield Hit("10023", evidence=text[at : at + length] if same else lowered[at : at + length])


# -- 2 Private IP Disclosure -------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})"
_PRIVATE_IP = re.compile(
    rf"(\b10\.(?:{_OCTET}\.){{2}}{_OCTET}\b|\b172\.(?:3[01]|2[0-9]|1[6-9])\.{_OCTET}\.{_OCTET}\b"
    rf"|\b192\.168\.{_OCTET}\.{_OCTET}\b|\bip-10-(?:{_OCTET}-){{2}}{_OCTET}\b"
    rf"|\bip-172-(?:3[01]|2[0-9]|1[6-9])-{_OCTET}-{_OCTET}\b|\bip-192-168-{_OCTET}-{_OCTET}\b)"
    r"(:(?:0|[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65(?:[0-4]\d{2}|5[0-2]\d|53[0-5]))\b)?"
)


def _private_ip(ex: Exchange) -> Iterator[Hit]:
    if not ex.body:
        return
    text = ex.text
    if "10." not in text and "172." not in text and "192.168." not in text and "ip-" not in text:
        return  # none of the patterns can match: skip the regular expression
    found = [m.group(0) for m in _PRIVATE_IP.finditer(text) if m.group(1).lower() != ex.host]
    if found:
        yield Hit("2", evidence=found[0], other="\n".join(dict.fromkeys(found)))


# -- 10096 Timestamp Disclosure ------------------------------------------------------------------

_TIMESTAMP = re.compile(r"\b(?:1\d|2[0-2])\d{8}\b(?!%)")
#: Every ASCII digit to NUL: ten NULs in a row mark ten digits in a row, found by bytes.find, not a regex.
_DIGITS_TO_NUL = bytes.maketrans(b"0123456789", b"\0" * 10)
_TEN_NULS = b"\0" * 10


def _ten_digits(data: bytes) -> bool:
    return data.translate(_DIGITS_TO_NUL).find(_TEN_NULS) >= 0


_SKIPPED_HEADERS = frozenset(
    {
        "keep-alive",
        "cache-control",
        "etag",
        "age",
        "strict-transport-security",
        "report-to",
        "nel",
        "expect-ct",
        "ratelimit-reset",
        "x-ratelimit-reset",
        "x-rate-limit-reset",
    }
)
_Y2038 = 2147483647
_TEN_YEARS = 3653 * 86400


def _timestamps(ex: Exchange) -> Iterator[Hit]:
    if ex.is_font:
        return
    now = time.time()
    low, high = now - _TEN_YEARS, min(_Y2038, now + _TEN_YEARS)
    headers = "\n".join(f"{n}: {v}" for n, v in ex.headers if n.lower() not in _SKIPPED_HEADERS)
    seen: set[str] = set()
    for haystack, raw in ((headers, headers.encode("latin-1", "replace")), (ex.text if ex.body else "", ex.body)):
        if not _ten_digits(raw):
            continue
        for match in _TIMESTAMP.finditer(haystack):
            value = match.group(0)
            if value in seen or not low <= int(value) <= high:
                continue
            seen.add(value)
            when = dt.datetime.fromtimestamp(int(value), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            yield Hit("10096", evidence=value, other=f"{value}, which evaluates to: {when} (UTC)")


RULES: tuple[PassiveRule, ...] = (
    PassiveRule(
        "2",
        "Private IP Disclosure",
        (
            alert_type(
                "2",
                "Private IP Disclosure",
                LOW,
                MEDIUM,
                497,
                13,
                "The response shows a private (RFC 1918) IP address or an EC2 private host name: a map of the "
                "internal network for an attacker.",
                "Remove private addresses from responses.",
                "https://tools.ietf.org/html/rfc1918",
            ),
        ),
        _private_ip,
    ),
    PassiveRule(
        "10023",
        "Information Disclosure - Debug Error Messages",
        (
            alert_type(
                "10023",
                "Information Disclosure - Debug Error Messages",
                LOW,
                MEDIUM,
                1295,
                13,
                "The response holds an error or debug message of the server or framework.",
                "Switch debug output off in production and answer errors with a generic page.",
            ),
        ),
        _debug_errors,
    ),
    PassiveRule(
        "10096",
        "Timestamp Disclosure",
        (
            alert_type(
                "10096",
                "Timestamp Disclosure - Unix",
                LOW,
                LOW,
                497,
                13,
                "The response holds a Unix timestamp; check that it discloses nothing sensitive.",
                "Make sure the timestamp is not sensitive and cannot be combined into exploitable patterns.",
                "https://cwe.mitre.org/data/definitions/200.html",
            ),
        ),
        _timestamps,
    ),
    PassiveRule(
        "90022",
        "Application Error Disclosure",
        (
            alert_type(
                "90022",
                "Application Error Disclosure",
                MEDIUM,
                MEDIUM,
                550,
                13,
                "The response holds an application error message (or is an HTTP 500), which may disclose "
                "stack traces, queries or paths.",
                "Answer errors with a generic message and log the details on the server.",
            ),
        ),
        _application_error,
    ),
)
