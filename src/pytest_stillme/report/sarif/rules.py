"""The run-level objects: the tool, its rules and the invocation, as plain SARIF 2.1.0 dicts.

One rule per rule id, described by its most severe finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ...core.findings import Finding, ScannerError, Severity
from ...core.redact import redact_text
from .plan import _Context, _Paths, _RunPlan, _score

#: GitHub rejects a file with a rule of more than 20 tags.
MAX_RULE_TAGS = 20


_PRECISIONS = {
    "very-high": "very-high",
    "veryhigh": "very-high",
    "certain": "very-high",
    "confirmed": "very-high",
    "high": "high",
    "firm": "high",
    "medium": "medium",
    "tentative": "medium",
    "low": "low",
}


#: GitHub cuts rule descriptions at this many characters; the full text goes to ``help``.
MAX_DESCRIPTION = 1024


def _some(**props: Any) -> dict[str, Any]:
    """A SARIF object from its properties, in the order given, leaving out the unset (None) ones."""
    return {key: value for key, value in props.items() if value is not None}


@dataclass
class _RuleAcc:
    """A rule as its findings describe it: the first (most severe) finding's text, the highest score."""

    finding: Finding
    rule_id: str
    score: float
    severity: Severity
    tags: list[str]
    precision: str


def _rule_id(finding: Finding, merged: bool) -> str:
    rule_id = _first_text(finding.rule.id, finding.rule.name, "unknown-rule")
    return f"{finding.tool}/{rule_id}" if merged else rule_id


def _tags_for(finding: Finding) -> list[str]:
    tags = [] if finding.category == "lint" else ["security"]
    tags.extend(f"external/cwe/cwe-{cwe}" for cwe in finding.rule.cwe)
    tags.append(finding.category)
    tags.extend(tag for tag in finding.rule.tags if tag)
    return tags


def _precision(confidence: str) -> str:
    return _PRECISIONS.get(confidence.strip().lower().replace(" ", "-").replace("_", "-"), "")


def _collect_rules(findings: Sequence[Finding], merged: bool) -> dict[str, _RuleAcc]:
    rules: dict[str, _RuleAcc] = {}
    seen: set[tuple[int, str]] = set()
    for finding in findings:
        rule_id = _rule_id(finding, merged)
        acc = rules.get(rule_id)
        if acc is None:
            rules[rule_id] = acc = _RuleAcc(
                finding, rule_id, _score(finding), finding.severity, _tags_for(finding), _precision(finding.confidence)
            )
            seen.add((id(finding.rule), finding.category))
            continue
        score = _score(finding)
        if score > acc.score:
            acc.score = score
        if finding.severity > acc.severity:
            acc.severity = finding.severity
        if not acc.precision and finding.confidence:
            acc.precision = _precision(finding.confidence)
        key = (id(finding.rule), finding.category)
        if key not in seen:
            seen.add(key)
            acc.tags.extend(_tags_for(finding))
    return rules


def _first_text(*candidates: str) -> str:
    """The first candidate with something readable in it: GitHub shows these texts, blank ones are useless."""
    for candidate in candidates:
        text = candidate.strip()
        if text:
            return text
    return ""


def _score_text(score: float) -> str:
    return f"{score:.1f}"


def _http_uri(uri: str) -> str:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return ""
    return uri if parts.scheme in ("http", "https") and parts.netloc else ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _rule_dict(acc: _RuleAcc) -> dict[str, Any]:
    rule = acc.finding.rule
    name = _first_text(rule.name, rule.id, acc.rule_id)
    short = _first_text(rule.short_description, rule.name, acc.rule_id, "(no description)")
    full = _first_text(rule.full_description, short)
    help_text = _first_text(rule.help, full)
    if len(full) > MAX_DESCRIPTION and full not in help_text:
        help_text = f"{help_text}\n\n{full}" if rule.help else full
    short, full = _cut(short, MAX_DESCRIPTION), _cut(full, MAX_DESCRIPTION)
    properties: dict[str, Any] = {"tags": list(dict.fromkeys(acc.tags))[:MAX_RULE_TAGS]}
    if acc.score > 0 or acc.severity is not Severity.UNKNOWN:
        # An unknown severity has no number: GitHub then ranks the alert by its level (error).
        properties["security-severity"] = _score_text(acc.score)
    if acc.precision:
        properties["precision"] = acc.precision
    return _some(
        id=acc.rule_id,
        defaultConfiguration={"level": acc.severity.sarif_level},
        fullDescription={"text": full},
        help={"text": help_text},
        helpUri=_http_uri(rule.help_uri) or None,
        name=name,
        properties=properties,
        shortDescription={"text": short},
    )


#: Notification property holding a ScannerError's fields (read back by scanners/ingest.py).
ERROR_PROPERTY = "stillme/error"


def _notice(text: str, level: str) -> dict[str, Any]:
    return {"message": {"text": text}, "level": level}


def _run_head(plan: _RunPlan, paths: _Paths) -> tuple[dict[str, Any], _Context]:
    """The run without its results, and the rule index its results refer to."""
    merged = bool(plan.merged_tools)
    rules = _collect_rules(plan.findings, merged)
    ordered = sorted(rules)
    # The error's own fields ride along in the notification's properties, so that
    # reading the SARIF back (stillme merge / gate) restores the very same error.
    notifications = [
        {
            "message": {"text": paths.portable(redact_text(e.describe()))},
            "level": "error",
            "properties": {ERROR_PROPERTY: _portable_error(e, paths)},
        }
        for e in plan.errors
    ]
    if plan.dropped_run_limit:
        notifications.append(
            _notice(
                (
                    f"{plan.dropped_run_limit} of {plan.total} results were left out: GitHub accepts at most "
                    f"{plan.run_limit} results per run; the most severe were kept."
                ),
                "warning",
            )
        )
    if plan.dropped_gzip:
        notifications.append(
            _notice(
                (
                    f"{plan.dropped_gzip} more results were left out to keep the file under "
                    f"{_size_text(plan.gzip_limit)} gzip-compressed (GitHub's upload limit); the most severe were kept."
                ),
                "warning",
            )
        )
    if merged:
        notifications.append(
            _notice(
                (
                    f"GitHub accepts at most {plan.max_runs} runs per file, so this run holds the results of "
                    f"{len(plan.merged_tools)} tools: {', '.join(plan.merged_tools)} (each result's tool is in its "
                    "properties)."
                ),
                "note",
            )
        )
    driver = _some(
        name=plan.name,
        properties={"tools": list(plan.merged_tools)} if merged else None,
        rules=[_rule_dict(rules[rule_id]) for rule_id in ordered] or None,
        version=plan.version or None,
    )
    invocation = _some(executionSuccessful=not plan.errors, toolExecutionNotifications=notifications or None)
    head = {"tool": {"driver": driver}, "automationDetails": {"id": plan.automation_id}, "invocations": [invocation]}
    index = {rule_id: i for i, rule_id in enumerate(ordered)}
    return head, _Context(index, merged, paths)


def _portable_error(error: ScannerError, paths: _Paths) -> dict[str, str]:
    return {k: paths.portable(redact_text(v)) for k, v in error.to_dict().items()}


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"
