"""ZAP's alerts, whichever way they arrive (API, JSON report, XML report, the passive scan), as findings.

An alert type (one ``alertRef``: a plugin id, or a plugin id and a sub-rule
number such as ``10038-1``) with its instances becomes one finding per
instance: rule id the alert reference, severity ZAP's risk (0 info, 1 low,
2 medium, 3 high), precision ZAP's confidence, location the instance's URL,
method and parameter.  Alerts ZAP's user marked false positive are dropped.
The rule file (:mod:`.rules`) applies here, in one place: IGNOREd rules and
out-of-scope URLs never become findings.  ZAP's "ZAP is Out of Date" alert
(10116) describes the ZAP installation, not the target: it is left out unless
asked for, with a note saying so.  No pytest here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ..core.findings import Finding, Location, Rule, Severity
from .rules import RuleConfig

__all__ = [
    "LEVEL_TAG",
    "OUT_OF_DATE",
    "Converted",
    "ZapAlert",
    "ZapInstance",
    "confidence_code",
    "findings_from_alerts",
    "html_text",
    "risk_code",
]

#: Rule tag prefix carrying the rule file's level: ``baseline-fail``, ``baseline-warn``...
LEVEL_TAG = "baseline-"
#: "ZAP is Out of Date": about ZAP itself, not the target.
OUT_OF_DATE = "10116"
ALERT_DOCS = "https://www.zaproxy.org/docs/alerts/{ref}/"
_RISK_WORDS = {"informational": 0, "info": 0, "low": 1, "medium": 2, "high": 3}
_CONFIDENCE_WORDS = {
    "false positive": 0,
    "falsepositive": 0,
    "low": 1,
    "medium": 2,
    "high": 3,
    "confirmed": 4,
    "user confirmed": 4,
}
#: ZAP's confidence as SARIF's precision.
_PRECISION = {1: "low", 2: "medium", 3: "high", 4: "very-high"}
_TAG = re.compile(r"<[^>]{0,2000}>")
_BLOCK = re.compile(r"</p>|<br\s*/?>|</li>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")


def risk_code(value: object) -> int | None:
    """ZAP's risk as 0-3 from ``"2"``, ``2``, ``"Medium"`` or ``"Medium (High)"``; None if unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 3 else None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            number = int(text)
            return number if 0 <= number <= 3 else None
        return _RISK_WORDS.get(text.split("(", 1)[0].strip().lower())
    return None


def confidence_code(value: object) -> int | None:
    """ZAP's confidence as 0-4 (0 false positive, 4 user confirmed); None if unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 4 else None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            number = int(text)
            return number if 0 <= number <= 4 else None
        return _CONFIDENCE_WORDS.get(text.lower())
    return None


def html_text(value: str) -> str:
    """ZAP's HTML fragments (``<p>..</p><p>..</p>``) as plain text, one paragraph a line."""
    if "<" not in value and "&" not in value:
        return value.strip()
    text = _BLOCK.sub("\n", value)
    text = html.unescape(_TAG.sub("", text))
    lines = [line.strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


@dataclass(frozen=True)
class ZapInstance:
    """One place an alert was raised."""

    uri: str
    method: str = "GET"
    param: str = ""
    attack: str = ""
    evidence: str = ""
    other_info: str = ""


@dataclass(frozen=True)
class ZapAlert:
    """One alert type of one site, with every instance, as ZAP's reports group them."""

    plugin_id: str
    name: str
    risk: int
    confidence: int = 2
    alert_ref: str = ""
    description: str = ""
    solution: str = ""
    reference: str = ""
    other_info: str = ""
    cwe: int = 0
    wasc: int = 0
    instances: tuple[ZapInstance, ...] = ()

    @property
    def ref(self) -> str:
        """The alert reference: ``alertRef``, or the plugin id when ZAP wrote none (before 2.10)."""
        return self.alert_ref or self.plugin_id


@dataclass(frozen=True)
class Converted:
    """Findings, and what the user should know about what was left out."""

    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    #: Alert references left out by IGNORE in the rule file, with their instance counts.
    ignored: dict[str, int] = field(default_factory=dict)


def findings_from_alerts(
    alerts: Iterable[ZapAlert],
    *,
    tool: str = "zap",
    version: str = "",
    rules: RuleConfig | None = None,
    include_out_of_date: bool = False,
    site: str = "",
) -> Converted:
    """Every instance of every alert as a finding, the rule file applied (see the module docstring)."""
    config = rules or RuleConfig()
    findings: list[Finding] = []
    notes: list[str] = []
    ignored: dict[str, int] = {}
    occurrences: dict[str, int] = {}
    for alert in alerts:
        if alert.plugin_id == OUT_OF_DATE and not include_out_of_date:
            notes.append(
                f"left out ZAP's alert {alert.ref} '{alert.name}': it says the ZAP installation is out of date, "
                "which is not a finding about the target; update the ZAP image (or set "
                "zap.include_out_of_date = true to keep it)"
            )
            continue
        if alert.confidence == 0:
            continue  # marked false positive in ZAP
        if config.ignored(alert.plugin_id, alert.ref):
            ignored[alert.ref] = ignored.get(alert.ref, 0) + max(len(alert.instances), 1)
            continue
        instances = alert.instances or (ZapInstance(uri=site),)
        shared = _Shared.of(alert, config)
        for instance in instances:
            if not config.in_scope(alert.plugin_id, instance.uri, alert.ref):
                continue
            finding = _finding(alert, instance, tool, version, shared)
            count = occurrences.get(finding.fingerprint, 0)
            occurrences[finding.fingerprint] = count + 1
            if count:
                finding = replace(finding, occurrence=count, fingerprint="")
            findings.append(finding)
    if ignored:
        listed = ", ".join(f"{ref} ({n})" for ref, n in sorted(ignored.items()))
        notes.append(f"left out alerts of rules set to IGNORE in {config.source or 'the rule file'}: {listed}")
    return Converted(tuple(findings), tuple(notes), ignored)


@dataclass(frozen=True)
class _Shared:
    """What every instance of one alert shares: its rule, fix and the team's message, built once."""

    rule: Rule
    fix: str
    team: str
    other: str

    @classmethod
    def of(cls, alert: ZapAlert, config: RuleConfig) -> _Shared:
        solution = html_text(alert.solution)
        references = html_text(alert.reference)
        help_text = solution + (f"\n\nReferences:\n{references}" if references else "")
        # The level the rule file gives this alert type travels with it: the item decides pass, warn or fail by it.
        level = config.level(alert.plugin_id, alert.ref).lower()
        tags = ["security", "dast", f"zap-plugin-{alert.plugin_id}", f"{LEVEL_TAG}{level}"]
        if alert.wasc > 0:
            tags.append(f"WASC-{alert.wasc}")
        rule = Rule(
            id=alert.ref,
            name=alert.name,
            short_description=alert.name,
            full_description=html_text(alert.description),
            help=help_text.strip(),
            help_uri=ALERT_DOCS.format(ref=alert.ref),
            cwe=(alert.cwe,) if alert.cwe > 0 else (),
            tags=tuple(tags),
        )
        return cls(rule, solution, config.message(alert.plugin_id, alert.ref), html_text(alert.other_info))


def _finding(alert: ZapAlert, instance: ZapInstance, tool: str, version: str, shared: _Shared) -> Finding:
    other = html_text(instance.other_info) if instance.other_info else shared.other
    message = alert.name
    if other:
        message += f": {_first_line(other)}"
    if shared.team:
        message += f" ({shared.team})"
    return Finding(
        tool=tool,
        rule=shared.rule,
        category="dast",
        severity=Severity(alert.risk),
        message=message,
        location=Location(url=instance.uri, method=(instance.method or "GET").upper(), param=instance.param),
        evidence=instance.evidence or instance.attack,
        fix=shared.fix,
        confidence=_PRECISION.get(alert.confidence, ""),
        tool_version=version,
    )


def _first_line(text: str, limit: int = 300) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."
