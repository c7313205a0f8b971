"""The one findings model every source feeds.

A :class:`Finding` is frozen plain data: whatever produced it (a scanner, a
report, a fixture, a fuzzer), the ledger, the gate and the writers only ever
see this shape.  It travels between xdist workers and the controller as a
JSON-able dict (:meth:`Finding.to_dict` / :meth:`Finding.from_dict`).

This module imports nothing from pytest or the rest of the package.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = [
    "CATEGORIES",
    "Finding",
    "Location",
    "Rule",
    "ScannerError",
    "Severity",
]

#: Categories the gate knows; each has its own threshold.
CATEGORIES: tuple[str, ...] = ("sast", "deps", "container", "dast", "fuzz", "lint", "slo")


class Severity(enum.IntEnum):
    """Ordered severities, convertible to and from GitHub's ``security-severity``.

    ``UNKNOWN`` is a source that could not say (an advisory without a severity):
    it ranks above critical, so it fails the gate at any threshold unless the
    policy says what to count it as (``unknown_severity``); "not known" must
    never read as "not severe".
    """

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4
    UNKNOWN = 5

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Read a severity name case-insensitively (``moderate`` and ``warning`` too)."""
        if isinstance(value, Severity):
            return value
        key = str(value).strip().lower()
        try:
            return _SEVERITY_ALIASES[key]
        except KeyError:
            raise ValueError(f"invalid severity {value!r}") from None

    @classmethod
    def from_score(cls, score: float) -> Severity:
        """GitHub's bands: >= 9.0 critical, >= 7.0 high, >= 4.0 medium, > 0 low."""
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.HIGH
        if score >= 4.0:
            return cls.MEDIUM
        if score > 0.0:
            return cls.LOW
        return cls.INFO

    @property
    def score(self) -> float:
        """The default numeric ``security-severity`` for this severity."""
        return _DEFAULT_SCORES[self]

    @property
    def sarif_level(self) -> str:
        """The SARIF ``level`` that matches this severity."""
        if self >= Severity.HIGH:  # UNKNOWN too: it fails the gate
            return "error"
        if self is Severity.MEDIUM:
            return "warning"
        return "note"

    @property
    def label(self) -> str:
        return self.name.lower()


_SEVERITY_ALIASES: dict[str, Severity] = {
    "info": Severity.INFO,
    "informational": Severity.INFO,
    "none": Severity.INFO,
    "note": Severity.LOW,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "high": Severity.HIGH,
    "error": Severity.HIGH,
    "critical": Severity.CRITICAL,
    "unknown": Severity.UNKNOWN,
}

_DEFAULT_SCORES: dict[Severity, float] = {
    Severity.INFO: 0.0,
    Severity.LOW: 2.0,
    Severity.MEDIUM: 5.5,
    Severity.HIGH: 8.0,
    Severity.CRITICAL: 9.5,
    # No number to give: writers leave GitHub's security-severity out for it.
    Severity.UNKNOWN: 0.0,
}


@dataclass(frozen=True)
class Rule:
    """What was checked: the same rule may fire many times."""

    id: str
    name: str = ""
    short_description: str = ""
    full_description: str = ""
    help: str = ""
    help_uri: str = ""
    cwe: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Location:
    """Where a finding is: a source line, a URL, or a package.

    ``path`` is a repository-relative POSIX path when the finding has a source
    file (or, for URLs and packages, the file that declares them, such as a
    requirements file).  ``url``/``method``/``param`` describe HTTP findings,
    ``package``/``version`` dependency findings.
    """

    path: str = ""
    line: int = 0
    column: int = 0
    end_line: int = 0
    url: str = ""
    method: str = ""
    param: str = ""
    package: str = ""
    version: str = ""

    def key(self) -> str:
        """The part of the location that survives a line move (and a new test-server port).

        For URLs only method, path and parameter count: the scheme, host and
        port of a service under test change from run to run (ephemeral ports),
        and a finding must keep its fingerprint across runs.
        """
        if self.url:
            return f"{self.method.upper()} {url_path(self.url)} {self.param}".strip()
        if self.package:
            return f"pkg:{self.package.lower()}@{self.version}"
        return self.path

    def describe(self) -> str:
        """A short human text: ``src/app.py:12``, ``GET http://x/y``, ``pkg 1.0``."""
        if self.url:
            text = f"{self.method.upper()} {self.url}".strip()
            return f"{text} [{self.param}]" if self.param else text
        if self.package:
            where = f" ({self.path}:{self.line})" if self.path and self.line else ""
            return f"{self.package} {self.version}".strip() + where
        if self.path and self.line:
            return f"{self.path}:{self.line}"
        return self.path or "-"


def url_path(url: str) -> str:
    """The path of a URL without scheme, host, port, query or fragment ("/" at least)."""
    rest = url.split("#", 1)[0].split("?", 1)[0]
    if "://" in rest:
        rest = rest.split("://", 1)[1]
        rest = rest[rest.find("/") :] if "/" in rest else "/"
    return rest or "/"


_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Finding:
    """One problem found by one tool at one place."""

    tool: str
    rule: Rule
    category: str
    severity: Severity
    message: str
    location: Location = field(default_factory=Location)
    evidence: str = ""
    fix: str = ""
    #: How sure the tool is, as SARIF ``precision``: very-high, high, medium, low.
    confidence: str = ""
    #: The tool's own numeric score (CVSS, security-severity), if it gave one.
    score: float | None = None
    #: Distinguishes identical findings at several places of one file.
    occurrence: int = 0
    #: A fingerprint given by the source; computed when empty.
    fingerprint: str = ""
    tool_version: str = ""
    #: Set by the gate when a suppression covers this finding.
    suppressed_by: str = ""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}; expected one of {', '.join(CATEGORIES)}")
        if not isinstance(self.severity, Severity):
            object.__setattr__(self, "severity", Severity.parse(self.severity))
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", self._fingerprint_from_content())

    def _fingerprint_from_content(self) -> str:
        """Hash of what identifies the finding, never of its line number.

        The evidence (the offending code) is preferred over the message, and
        both are whitespace-folded; when there is neither, digits in the
        message are folded too so that a changed line number inside a message
        does not change the fingerprint.
        """
        what = self.evidence or _DIGITS.sub("#", self.message)
        parts = (
            self.tool.lower(),
            self.rule.id,
            self.location.key(),
            _SPACE.sub(" ", what).strip(),
            str(self.occurrence),
        )
        return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]

    @property
    def rank(self) -> tuple[int, float]:
        """Most severe first when sorted descending: the severity, then the tool's own score."""
        return (int(self.severity), self.security_severity)

    @property
    def security_severity(self) -> float:
        """The numeric score GitHub sorts by: the tool's own, else the default."""
        return self.score if self.score is not None else self.severity.score

    def with_suppression(self, reason: str) -> Finding:
        return replace(self, suppressed_by=reason)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for xdist, caches and stored ledgers)."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "rule":
                value = {k.name: _plain(getattr(value, k.name)) for k in fields(Rule)}
            elif f.name == "location":
                value = {k.name: getattr(value, k.name) for k in fields(Location) if getattr(value, k.name)}
            elif f.name == "severity":
                value = value.label
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        rule = dict(data["rule"])
        rule["cwe"] = tuple(rule.get("cwe", ()))
        rule["tags"] = tuple(rule.get("tags", ()))
        kwargs = dict(data)
        kwargs["rule"] = Rule(**rule)
        kwargs["location"] = Location(**data.get("location", {}))
        kwargs["severity"] = Severity.parse(data["severity"])
        return cls(**kwargs)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class ScannerError:
    """A source that could not do its job: never an empty result, always a gate error."""

    tool: str
    message: str
    #: What the user should do about it.
    hint: str = ""
    #: The file or service concerned, if any.
    target: str = ""

    def describe(self) -> str:
        where = f" ({self.target})" if self.target else ""
        hint = f" - {self.hint}" if self.hint else ""
        return f"{self.tool}{where}: {self.message}{hint}"

    def to_dict(self) -> dict[str, str]:
        return {"tool": self.tool, "message": self.message, "hint": self.hint, "target": self.target}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScannerError:
        return cls(**{k: str(data.get(k, "")) for k in ("tool", "message", "hint", "target")})
