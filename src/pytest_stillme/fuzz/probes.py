"""Differential checks: what answers 200 and is still a defect.

A :class:`Probe` is one parameter of one endpoint with every other parameter
at its example value; a probe check sends the variants it needs and compares
the answers:

* ``sql-boolean``: a true and a false SQL condition (``x' OR '1'='1`` /
  ``x' OR '1'='2``) give different pages, and a second pair with other
  literals gives the same two pages again, so the difference is the
  condition's value and not noise.  A parameterised query treats both as
  plain text: the same page twice.
* ``sql-union``: ``x' UNION SELECT 'stil'||'lme9q', ...`` for 1 to 5
  columns; the page shows ``stillme9q`` only if the database evaluated it.
* ``xss-structure``: a value that closes an attribute or opens an element
  adds an element or attribute the neutral value's page does not have.

Before comparing, every echo of the sent value (raw, HTML-, JSON- or
URL-escaped) is cut out of the page, so a page that only echoes its input
never differs.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from ..core.findings import Severity
from .checks import Check
from .htmlscan import structure
from .model import Endpoint, Exchange, Failure, Param
from .payloads import UNION_MARKER, XSS_TAG

__all__ = ["Probe", "probe_checks", "signature"]

_PROBED_KINDS = ("string", "integer", "number", "any", "uuid", "path")


@dataclass
class Probe:
    """One parameter to probe: ``send(value)`` sends the base request with that value in it."""

    endpoint: Endpoint
    param: Param
    #: The parameter's base value as text (its example, or a plain value of its kind).
    base: str
    _send: Callable[[Param, object], Exchange]
    #: The exchange that shows the last failure (the request a reproducer should send).
    shown: Exchange | None = None

    def send(self, value: object) -> Exchange:
        return self._send(self.param, value)

    @property
    def numeric_base(self) -> str:
        return self.base if self.base.lstrip("-").isdigit() else "1"

    def fail(self, message: str, *, exchange: Exchange | None = None, evidence: str = "", key: str = "") -> Failure:
        """A failure of this parameter; ``exchange`` is the request that shows it."""
        self.shown = exchange
        return Failure("", message, param=self.param.label, evidence=evidence, key=key)


def _echoes(sent: str) -> list[str]:
    forms = {
        sent,
        html.escape(sent),
        html.escape(sent, quote=False),
        sent.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;"),
        json.dumps(sent)[1:-1],
        json.dumps(sent, ensure_ascii=False)[1:-1],
        quote(sent, safe=""),
        quote_plus(sent),
    }
    return sorted((f for f in forms if f), key=len, reverse=True)


def signature(exchange: Exchange, sent: str) -> tuple[object, ...]:
    """The answer with every echo of ``sent`` cut out: status and body, or the error."""
    reply = exchange.reply
    if reply.error or reply.exception is not None:
        return (reply.error or "exception", reply.exception.type if reply.exception else "")
    text = reply.text
    for echo in _echoes(sent):
        text = text.replace(echo, "")
    return (reply.status, text)


def _boolean_pairs(probe: Probe) -> list[tuple[str, tuple[str, str], tuple[str, str]]]:
    b, n = probe.base, probe.numeric_base
    pairs = [
        ("numeric", (f"{n} OR 1=1", f"{n} OR 1=2"), (f"{n} OR 2=2", f"{n} OR 2=3")),
        ("numeric AND", (f"{n} AND 1=1", f"{n} AND 1=2"), (f"{n} AND 2=2", f"{n} AND 2=3")),
        ("quoted", (f"{b}' OR '1'='1", f"{b}' OR '1'='2"), (f"{b}' OR 'a'='a", f"{b}' OR 'a'='b")),
        ("quoted, comment", (f"{b}' OR 1=1-- ", f"{b}' OR 1=2-- "), (f"{b}' OR 2=2-- ", f"{b}' OR 2=3-- ")),
        ("quoted AND", (f"{b}' AND '1'='1", f"{b}' AND '1'='2"), (f"{b}' AND 'a'='a", f"{b}' AND 'a'='b")),
        ("double-quoted", (f'{b}" OR "1"="1', f'{b}" OR "1"="2'), (f'{b}" OR "a"="a', f'{b}" OR "a"="b')),
    ]
    return pairs if probe.param.kind in ("integer", "number") else pairs[2:] + pairs[:2]


def sql_boolean(probe: Probe) -> Failure | None:
    """Boolean-based SQL injection: a true and a false condition answer differently, reproducibly."""
    if probe.param.kind not in _PROBED_KINDS:
        return None
    for context, (true1, false1), (true2, false2) in _boolean_pairs(probe):
        t1, f1 = probe.send(true1), probe.send(false1)
        if t1.reply.error == "timeout" or f1.reply.error == "timeout":
            return None
        s_true, s_false = signature(t1, true1), signature(f1, false1)
        if s_true == s_false:
            continue
        t2, f2 = probe.send(true2), probe.send(false2)
        if signature(t2, true2) == s_true and signature(f2, false2) == s_false:
            return probe.fail(
                f"boolean-based SQL injection ({context}): {true1!r} and {false1!r} answer differently "
                f"({t1.reply.describe()} / {f1.reply.describe()}), and so do {true2!r} and {false2!r}",
                exchange=t1,
                evidence=f"true: {t1.reply.excerpt(200)}\nfalse: {f1.reply.excerpt(200)}",
                key="boolean",
            )
    return None


def sql_union(probe: Probe) -> Failure | None:
    """UNION-based SQL injection: an evaluated concatenation shows up in the page."""
    if probe.param.kind not in _PROBED_KINDS:
        return None
    concat = "'stil'||'lme9q'"
    prefixes = (
        (f"{probe.base}'", probe.numeric_base)
        if probe.param.kind not in ("integer", "number")
        else (probe.numeric_base, f"{probe.base}'")
    )
    for prefix in prefixes:
        for columns in range(1, 6):
            value = f"{prefix} UNION SELECT {', '.join([concat] * columns)}-- "
            exchange = probe.send(value)
            if exchange.reply.error == "timeout":
                return None
            text = exchange.reply.text
            at = text.find(UNION_MARKER)
            if at >= 0:
                return probe.fail(
                    f"UNION-based SQL injection: {value!r} made the page show {UNION_MARKER!r} "
                    f"({columns} column{'s' if columns > 1 else ''})",
                    exchange=exchange,
                    evidence=text[max(0, at - 150) : at + 150],
                    key="union",
                )
    return None


def _additions(page: str, neutral: str) -> set[tuple[str, tuple[str, ...]]]:
    return set(structure(page)) - set(structure(neutral))


def xss_structure(probe: Probe) -> Failure | None:
    """Reflected input that changes the page's structure: a new element or attribute (XSS)."""
    if probe.param.kind not in _PROBED_KINDS:
        return None
    neutral = probe.send(f"{probe.base}stillmeneutral")
    if not neutral.reply.is_html:
        return None
    for value in (
        f"{probe.base}\"'><{XSS_TAG} data-stillme=1>",
        f'{probe.base}" data-stillme="1',
        f"{probe.base}' data-stillme='1",
    ):
        exchange = probe.send(value)
        if not exchange.reply.is_html:
            continue
        added = _additions(exchange.reply.text, neutral.reply.text)
        marked = sorted(tag for tag, attrs in added if tag == XSS_TAG or "data-stillme" in attrs)
        if marked:
            at = max(exchange.reply.text.find("data-stillme"), 0)
            return probe.fail(
                f"input {value!r} changes the page's structure: it adds <{marked[0]} ...> (XSS)",
                exchange=exchange,
                evidence=exchange.reply.text[max(0, at - 150) : at + 150],
            )
    return None


def probe_checks() -> list[Check]:
    critical, high = Severity.CRITICAL, Severity.HIGH
    return [
        Check(
            "sql-boolean",
            critical,
            sql_boolean,
            "Boolean-based SQL injection",
            "use parameterised queries",
            (89,),
            kind="probe",
        ),
        Check(
            "sql-union",
            critical,
            sql_union,
            "UNION-based SQL injection",
            "use parameterised queries",
            (89,),
            kind="probe",
        ),
        Check(
            "xss-structure",
            high,
            xss_structure,
            "Reflected input changes the page's structure",
            "escape every value put into HTML, attributes included",
            (79,),
            kind="probe",
            group="xss",
        ),
    ]
