"""zap-baseline's rule configuration file, so teams reuse the file they already have.

One rule a line, tab-separated, as ``zap-baseline.py -c FILE`` reads it::

    # comment
    10038	FAIL	(Content Security Policy (CSP) Header Not Set)
    10096	IGNORE	(Timestamp Disclosure)
    10055-7	INFO	(a sub-rule: one alert type of rule 10055)
    10020	WARN	(Anti-clickjacking Header)	a message shown with the rule
    10027,10096	OUTOFSCOPE	http://127.0.0.1:8000/static/.*
    *	OUTOFSCOPE	.*/vendor/.*

Levels are IGNORE (the alerts are left out of findings and reports), INFO
(reported, never fails), WARN (reported, warns) and FAIL (fails); PASS is
accepted, as zap-baseline accepts it, and reported like INFO.  Rules not in
the file are WARN, as in zap-baseline (INFO with ``default="INFO"``, its
``-i``).  A sub-rule id (``10055-7``, an alert reference) wins over its
rule's id.  ``OUTOFSCOPE`` lines drop the alerts of the listed rules (``*``
for every rule) whose URL matches the regular expression from its start.

A line that zap-baseline would reject is a :class:`RuleFileError` naming the
file and line.  No pytest here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

__all__ = ["LEVELS", "RuleConfig", "RuleFileError", "find_rule_file", "load_rule_config", "parse_rule_config"]

#: The levels zap-baseline knows, as it lists them.
LEVELS = ("PASS", "IGNORE", "INFO", "WARN", "FAIL")
OUT_OF_SCOPE = "OUTOFSCOPE"
#: Where zaproxy/action-baseline examples keep the file; looked for when no file is configured.
CONVENTIONAL_PATH = ".zap/rules.tsv"
_RULE_ID = re.compile(r"^(?:\d+(?:-\d+)?|\*)$")
_EMPTY: Mapping[str, str] = MappingProxyType({})


class RuleFileError(ValueError):
    """A rule file that cannot be used: ``str(exc)`` is ``"<file>:<line>: <problem>"``."""

    def __init__(self, source: str, line: int, problem: str) -> None:
        super().__init__(source, line, problem)
        self.source = source
        self.line = line
        self.problem = problem

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class RuleConfig:
    """The levels, messages and out-of-scope patterns of one rule file (empty: everything WARN)."""

    levels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    messages: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    out_of_scope: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: The level of rules the file does not list (zap-baseline: WARN; with its ``-i``: INFO).
    default: str = "WARN"
    #: The file it came from ("" for none), for messages.
    source: str = ""

    def key(self, plugin_id: str, alert_ref: str = "") -> str:
        """The id the file configures this alert by: its sub-rule id when listed, else its rule id."""
        if alert_ref and alert_ref != plugin_id and (alert_ref in self.levels or alert_ref in self.out_of_scope):
            return alert_ref
        return plugin_id

    def level(self, plugin_id: str, alert_ref: str = "") -> str:
        """IGNORE, INFO, WARN, FAIL or PASS for an alert of ``plugin_id`` (and sub-rule ``alert_ref``)."""
        if alert_ref and alert_ref in self.levels:
            return self.levels[alert_ref]
        return self.levels.get(plugin_id, self.default)

    def ignored(self, plugin_id: str, alert_ref: str = "") -> bool:
        return self.level(plugin_id, alert_ref) == "IGNORE"

    def message(self, plugin_id: str, alert_ref: str = "") -> str:
        """The team's own text for the rule (the optional fourth field), or ""."""
        if alert_ref and alert_ref in self.messages:
            return self.messages[alert_ref]
        return self.messages.get(plugin_id, "")

    def in_scope(self, plugin_id: str, url: str, alert_ref: str = "") -> bool:
        """False when an OUTOFSCOPE line for ``*``, the rule or the sub-rule matches ``url`` from its start."""
        for key in ("*", plugin_id, alert_ref):
            for pattern in self.out_of_scope.get(key, ()) if key else ():
                if pattern.match(url):
                    return False
        return True

    def describe(self) -> str:
        """One line for a status item: where the rules came from and how many set each level."""
        if not self.source:
            return f"no rule file (every rule {self.default})"
        counts = {level: sum(1 for v in self.levels.values() if v == level) for level in LEVELS}
        shown = ", ".join(f"{n} {level}" for level, n in counts.items() if n)
        scope = sum(len(v) for v in self.out_of_scope.values())
        extra = f", {scope} OUTOFSCOPE" if scope else ""
        return f"rules from {self.source} ({shown or 'none listed'}{extra}; others {self.default})"


def parse_rule_config(text: str, *, source: str = "rules", default: str = "WARN") -> RuleConfig:
    """Read a rule file's text; a line zap-baseline would reject is a :class:`RuleFileError`."""
    if default not in LEVELS:
        raise ValueError(f"invalid default level {default!r}: use one of {', '.join(LEVELS)}")
    levels: dict[str, str] = {}
    messages: dict[str, str] = {}
    scope: dict[str, list[re.Pattern[str]]] = {}
    for number, raw in enumerate(text.lstrip("\ufeff").split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.rstrip().split("\t")
        if len(fields) < 2:
            hint = "; the fields are separated by spaces, but zap-baseline needs tabs" if len(line.split()) >= 2 else ""
            raise RuleFileError(
                source, number, f"expected tab-separated fields: rule id, level and a description{hint}"
            )
        key, level = fields[0].strip(), fields[1].strip()
        rest = fields[2:]
        if level == OUT_OF_SCOPE:
            _out_of_scope(key, rest, scope, source, number)
            continue
        if level.upper() in LEVELS and level not in LEVELS:
            raise RuleFileError(source, number, f"level {level!r} must be upper case ({level.upper()})")
        if level not in LEVELS:
            raise RuleFileError(
                source, number, f"unknown level {level!r}: use {', '.join(LEVELS[1:])} or {OUT_OF_SCOPE}"
            )
        if not _RULE_ID.match(key) or key == "*":
            raise RuleFileError(
                source, number, f"invalid rule id {key!r}: expected a plugin id such as 10038, or a sub-rule 10055-7"
            )
        levels[key] = level
        # zap-baseline: the third field names the rule, an optional fourth is the team's message.
        messages[key] = rest[1].strip() if len(rest) > 1 else ""
    return RuleConfig(
        levels=MappingProxyType(levels),
        messages=MappingProxyType({k: v for k, v in messages.items() if v}),
        out_of_scope=MappingProxyType({k: tuple(v) for k, v in scope.items()}),
        default=default,
        source=source,
    )


def _out_of_scope(key: str, rest: list[str], scope: dict[str, list[re.Pattern[str]]], source: str, number: int) -> None:
    pattern_text = rest[0].strip() if rest else ""
    if not pattern_text:
        raise RuleFileError(source, number, "OUTOFSCOPE needs a URL regular expression in the third field")
    try:
        pattern = re.compile(pattern_text)
    except re.error as exc:
        raise RuleFileError(source, number, f"invalid OUTOFSCOPE regular expression {pattern_text!r}: {exc}") from None
    ids = [part.strip() for part in key.split(",") if part.strip()]
    if not ids or not all(_RULE_ID.match(part) for part in ids):
        raise RuleFileError(
            source, number, f"invalid rule ids {key!r} for OUTOFSCOPE: comma-separated plugin ids, or *"
        )
    for part in ids:
        scope.setdefault(part, []).append(pattern)


def load_rule_config(path: str | Path, *, default: str = "WARN", shown: str = "") -> RuleConfig:
    """Read a rule file; an unreadable file is a :class:`RuleFileError` too (never "no rules")."""
    name = shown or str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise RuleFileError(name, 0, "rule file not found") from None
    except OSError as exc:
        raise RuleFileError(name, 0, f"cannot read the rule file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleFileError(name, 0, f"not UTF-8 text (byte {exc.start})") from None
    return parse_rule_config(text, source=name, default=default)


def find_rule_file(root: Path, configured: str, candidates: Iterable[str] = (CONVENTIONAL_PATH,)) -> Path | None:
    """The configured file (relative to ``root``), else the first conventional one that exists, else None."""
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else root / path
    for candidate in candidates:
        path = root / candidate
        if path.is_file():
            return path
    return None
