"""SARIF 2.1.0 for GitHub code scanning, written fast and within GitHub's limits.

The run-level objects (tool, rules, invocation, automation details) are built
with sarif-om's classes, so their property names come from the SARIF object
model, and turned into plain dicts by a small attrs converter.  Results are
different: there may be 100,000 of them, and sarif-om serialised through
jschema_to_python needs minutes and gigabytes for that, so each result is a
plain dict with the same SARIF property names, encoded on its own by the C
JSON encoder and streamed to the file.

GitHub refuses files with more than 20 runs, more than 25,000 results in a
run, or more than 10 MB once gzip-compressed; each limit is enforced here by
keeping the most severe results, and said in the run's invocation and in
:attr:`SarifStats.notes`.  The file is written atomically and is the same
bytes for the same findings whatever order they came in (xdist).
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, cast
from urllib.parse import quote, urlsplit

from ..core.findings import Finding, ScannerError, Severity
from ..core.redact import redact_finding, redact_text, redact_url
from ..readers.paths import is_inside, repo_path, root_spellings
from .atomic import atomic_writer

__all__ = ["SCHEMA_URI", "SarifStats", "build_runs", "write_sarif"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
#: The driver name of the run that takes in the tools beyond ``max_runs``.
MERGED_RUN_NAME = "pytest-stillme (other tools)"
#: The driver name for findings whose tool has no name (SARIF and GitHub need one).
UNNAMED_TOOL = "unnamed-tool"
#: zlib level GitHub's uploader (Node's zlib.gzipSync) and the gzip CLI use.
GZIP_LEVEL = 6
#: Room for what a gzip header may add (``gzip -c`` stores the file name) on top of our measure.
GZIP_SLACK = 256
#: GitHub rejects a file with a rule of more than 20 tags.
MAX_RULE_TAGS = 20

_NO_TOOLS: Mapping[str, str] = MappingProxyType({})
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
_SPACES = re.compile(r"\s+")
#: Characters left as they are in a uri; everything else (':' included, so no
#: first segment can read as a scheme) is percent-encoded.
_URI_SAFE = "/!$&'()*+,;=@~"
#: Results encoded per write; a few hundred keep call overhead low and chunks small.
_BATCH = 256
#: Raw bytes between two checkpoints when estimating what fits under the gzip limit.
_CHECKPOINT_BYTES = 64 * 1024
#: Measurements allowed when fitting under the gzip limit (each compresses the document once).
_FIT_STEPS = 6

# Severity's properties, looked up 100,000 times: plain dicts are several times faster.
_SCORE = {s: s.score for s in Severity}
_LABEL = {s: s.label for s in Severity}
_LEVEL = {s: s.sarif_level for s in Severity}

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False, allow_nan=False).encode


@dataclass(frozen=True)
class SarifStats:
    """What was written, for the terminal summary."""

    path: str
    runs: int
    results: int
    dropped: int
    #: Human lines about limits that were hit (empty when nothing was dropped or merged).
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- planning


@dataclass
class _RunPlan:
    """One run to write: a tool (or the merged tools) and its results, most severe first."""

    name: str
    version: str
    automation_id: str
    findings: list[Finding]
    errors: list[ScannerError]
    #: Tools folded into this run (only for the merged run).
    merged_tools: tuple[str, ...] = ()
    max_runs: int = 0
    #: Results dropped by the per-run limit and by the gzip limit.
    dropped_run_limit: int = 0
    dropped_gzip: int = 0
    #: Total results before any limit, for the notes.
    total: int = 0
    run_limit: int = 0
    gzip_limit: int = 0


@dataclass
class _Context:
    """What result encoding needs for one run: rule indexes and path normalisation."""

    rule_index: dict[str, int]
    merged: bool
    paths: _Paths


@dataclass
class _Paths:
    """Turns the paths a tool reported into repository-relative uris, with a cache.

    A path outside the repository (``/etc/passwd``, ``../other``) gets no uri at
    all: code scanning must never show it as a file of the repository; the
    result keeps it in its message and a logical location instead.
    """

    roots: tuple[str, ...]
    cache: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_root(cls, root: str | Path) -> _Paths:
        return cls(root_spellings(root))

    def uri(self, path: str) -> str:
        cached = self.cache.get(path)
        if cached is None:
            relative = repo_path(path, self.roots)
            inside = relative and is_inside(relative)
            cached = self.cache[path] = quote(relative, safe=_URI_SAFE) if inside else ""
        return cached

    def portable(self, text: str) -> str:
        """A message without this machine's root folder in it (notifications name files)."""
        for root in self.roots:
            if len(root) > 1:
                text = text.replace(root + "/", "").replace(root, ".")
        return text


def _score(finding: Finding) -> float:
    """The finding's security-severity, clamped to GitHub's 0-10 and never NaN."""
    score = finding.score
    if score is None or math.isnan(score):
        return _SCORE[finding.severity]
    return min(max(float(score), 0.0), 10.0)


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by fingerprint; ties (same fingerprint, e.g. another line) by all the rest.

    Sorting on the short key and settling the rare ties afterwards is much
    cheaper than a long key for every finding.
    """
    items = list(findings)
    keys = [_short_key(f) for f in items]
    order = sorted(range(len(items)), key=keys.__getitem__)
    if len(set(keys)) == len(keys):
        return [items[i] for i in order]
    ordered: list[Finding] = []
    start = 0
    while start < len(order):
        key = keys[order[start]]
        end = start + 1
        while end < len(order) and keys[order[end]] == key:
            end += 1
        group = [items[i] for i in order[start:end]]
        # Every field counts (repr is the dataclass's full, deterministic text).
        ordered.extend(sorted(group, key=repr) if len(group) > 1 else group)
        start = end
    return ordered


def _short_key(finding: Finding) -> tuple[bool, int, float, str]:
    # Suppressed results last: under GitHub's limits the active ones are kept first.
    return (bool(finding.suppressed_by), -int(finding.severity), -_score(finding), finding.fingerprint)


def _plan(
    findings: Iterable[Finding],
    tools: Mapping[str, str],
    errors: Sequence[ScannerError],
    automation_prefix: str,
    max_runs: int,
    max_results_per_run: int,
) -> list[_RunPlan]:
    """Group by tool, merge the tools beyond ``max_runs``, sort, apply the per-run limit."""
    by_tool: dict[str, list[Finding]] = {name: [] for name in tools}
    for finding in findings:
        by_tool.setdefault(finding.tool, []).append(finding)
    errors_by_tool: dict[str, list[ScannerError]] = {}
    for error in errors:
        by_tool.setdefault(error.tool, [])
        errors_by_tool.setdefault(error.tool, []).append(error)

    def version_of(tool: str) -> str:
        if tools.get(tool):
            return tools[tool]
        return min((f.tool_version for f in by_tool[tool] if f.tool_version), default="")

    names = sorted(by_tool)
    max_runs = max(max_runs, 1)
    merged: list[str] = []
    if len(names) > max_runs:
        # The tools that matter most keep their own run: errors first, then the most severe.
        ranked = sorted(
            names,
            key=lambda t: (
                t not in errors_by_tool,
                -max((_score(f) for f in by_tool[t]), default=-1.0),
                -len(by_tool[t]),
                t,
            ),
        )
        keep = set(ranked[: max_runs - 1])
        merged = [t for t in names if t not in keep]
        names = [t for t in names if t in keep]

    ids: set[str] = set()
    prefix = automation_prefix.strip("/")
    prefix = f"{prefix}/" if prefix else ""

    def unique_id(tool: str) -> str:
        # The category (all but the last segment) must not depend on what was found: GitHub
        # closes an alert only when a later analysis of the same category no longer has it.
        slug = _SPACES.sub("-", tool.strip())
        candidate = f"{prefix}{slug}/"
        n = 2
        while candidate in ids:
            candidate = f"{prefix}{slug}-{n}/"
            n += 1
        ids.add(candidate)
        return candidate

    plans = [
        _RunPlan(
            tool if tool.strip() else UNNAMED_TOOL,
            version_of(tool),
            unique_id(tool if tool.strip() else UNNAMED_TOOL),
            by_tool[tool],
            sorted(errors_by_tool.get(tool, []), key=_err),
        )
        for tool in names
    ]
    if merged:
        plans.append(
            _RunPlan(
                MERGED_RUN_NAME,
                "",
                unique_id("other-tools"),
                [f for t in merged for f in by_tool[t]],
                sorted((e for t in merged for e in errors_by_tool.get(t, [])), key=_err),
                merged_tools=tuple(merged),
                max_runs=max_runs,
            )
        )
    limit = max(max_results_per_run, 0)
    for plan in plans:
        plan.findings = _sorted(plan.findings)
        plan.total = len(plan.findings)
        if len(plan.findings) > limit:
            plan.dropped_run_limit = len(plan.findings) - limit
            plan.run_limit = limit
            del plan.findings[limit:]
    return plans


def _err(error: ScannerError) -> tuple[str, str, str, str]:
    return (error.tool, error.target, error.message, error.hint)


# --------------------------------------------------------------------------- run-level objects (sarif-om)


_FIELDS: dict[type, list[tuple[str, str, Any]]] = {}
_NOTHING = object()
#: Written even when equal to sarif-om's default: readers should not have to know the default.
_KEEP_DEFAULT = frozenset({"level"})


def _plain(obj: Any) -> Any:
    """sarif-om (attrs) objects to dicts keyed by SARIF property names, dropping unset and default values."""
    cls = type(obj)
    spec = _FIELDS.get(cls)
    if spec is None and hasattr(cls, "__attrs_attrs__"):
        import attr

        spec = []
        for attribute in cls.__attrs_attrs__:
            default = attribute.default
            if isinstance(default, attr.Factory):  # type: ignore[arg-type]
                default = default.factory()
            elif default is attr.NOTHING:
                default = _NOTHING
            if attribute.name in _KEEP_DEFAULT:
                default = _NOTHING
            spec.append((attribute.name, attribute.metadata["schema_property_name"], default))
        _FIELDS[cls] = spec
    if spec is not None:
        out: dict[str, Any] = {}
        for name, prop, default in spec:
            value = getattr(obj, name)
            if value is None or (default is not _NOTHING and value == default):
                continue
            out[prop] = _plain(value)
        return out
    if isinstance(obj, dict):
        return {key: _plain(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(value) for value in obj]
    return obj


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
    from sarif_om import MultiformatMessageString, ReportingConfiguration, ReportingDescriptor

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
    descriptor = ReportingDescriptor(
        id=acc.rule_id,
        name=name,
        short_description=MultiformatMessageString(text=short),
        full_description=MultiformatMessageString(text=full),
        help=MultiformatMessageString(text=help_text),
        help_uri=_http_uri(rule.help_uri) or None,
        default_configuration=ReportingConfiguration(level=acc.severity.sarif_level),
        properties=properties,
    )
    result: dict[str, Any] = _plain(descriptor)
    return result


#: Notification property holding a ScannerError's fields (read back by scanners/ingest.py).
ERROR_PROPERTY = "stillme/error"


def _run_head(plan: _RunPlan, paths: _Paths) -> tuple[dict[str, Any], _Context]:
    """The run without its results, and the rule index its results refer to."""
    from sarif_om import Invocation, Message, Notification, Run, RunAutomationDetails, Tool, ToolComponent

    merged = bool(plan.merged_tools)
    rules = _collect_rules(plan.findings, merged)
    ordered = sorted(rules)
    # The error's own fields ride along in the notification's properties, so that
    # reading the SARIF back (stillme merge / gate) restores the very same error.
    notifications = [
        Notification(
            message=Message(text=paths.portable(redact_text(e.describe()))),
            level="error",
            properties={ERROR_PROPERTY: _portable_error(e, paths)},
        )
        for e in plan.errors
    ]
    if plan.dropped_run_limit:
        notifications.append(
            Notification(
                message=Message(
                    text=f"{plan.dropped_run_limit} of {plan.total} results were left out: GitHub accepts at most "
                    f"{plan.run_limit} results per run; the most severe were kept."
                ),
                level="warning",
            )
        )
    if plan.dropped_gzip:
        notifications.append(
            Notification(
                message=Message(
                    text=f"{plan.dropped_gzip} more results were left out to keep the file under "
                    f"{_size_text(plan.gzip_limit)} gzip-compressed (GitHub's upload limit); the most severe were kept."
                ),
                level="warning",
            )
        )
    if merged:
        notifications.append(
            Notification(
                message=Message(
                    text=f"GitHub accepts at most {plan.max_runs} runs per file, so this run holds the results of "
                    f"{len(plan.merged_tools)} tools: {', '.join(plan.merged_tools)} (each result's tool is in its "
                    "properties)."
                ),
                level="note",
            )
        )
    driver = ToolComponent(
        name=plan.name,
        version=plan.version or None,
        rules=[_rule_dict(rules[rule_id]) for rule_id in ordered] or None,
    )
    if merged:
        driver.properties = {"tools": list(plan.merged_tools)}
    run = Run(
        tool=Tool(driver=driver),
        invocations=[
            Invocation(execution_successful=not plan.errors, tool_execution_notifications=notifications or None)
        ],
        automation_details=RunAutomationDetails(id=plan.automation_id),
    )
    head: dict[str, Any] = _plain(run)
    index = {rule_id: i for i, rule_id in enumerate(ordered)}
    return head, _Context(index, merged, paths)


def _portable_error(error: ScannerError, paths: _Paths) -> dict[str, str]:
    return {k: paths.portable(redact_text(v)) for k, v in error.to_dict().items()}


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


# --------------------------------------------------------------------------- results (plain dicts)


def _url_uri(url: str, category: str) -> str:
    """``http://127.0.0.1:8000/api/x?q`` as ``dast/api/x``: a path, never a scheme.

    Scheme, host and port are left out, as in the finding's fingerprint: a
    service under test gets another port (or host name) on every run, and
    the alert's file should not move with it.  The full URL is in the
    message and in the result's properties.
    """
    text = url.strip().replace("\\", "/").split("#", 1)[0].split("?", 1)[0]
    if "://" in text:
        text = text.split("://", 1)[1]
        rest = text.partition("/")[2]
    elif text.startswith("//"):
        rest = text[2:].partition("/")[2]
    elif text.startswith("/"):
        rest = text
    else:
        rest = text.partition("/")[2]  # "localhost:8000/x": a host without a scheme
    return _pseudo_uri(category, rest) if rest.strip("/.") else _pseudo_uri(category, "(root)")


def _pseudo_uri(*parts: str) -> str:
    """A made-up relative path for what has no file; '.' and '..' segments are dropped so it stays put."""
    segments = [s for part in parts for s in part.replace("\\", "/").split("/") if s not in ("", ".", "..")]
    return quote("/".join(segments), safe=_URI_SAFE)


def _message(finding: Finding) -> str:
    """The result's text: never empty, with the URL or the package and version in it."""
    loc = finding.location
    rule = finding.rule
    text = _first_text(finding.message, rule.short_description, rule.name, rule.id)
    if loc.url:
        if loc.url not in text:
            where = redact_text(loc.describe())
            text = f"{text} ({where})" if text else where
        else:
            text = text.replace(loc.url, redact_url(loc.url))
    elif loc.package:
        package = f"{loc.package} {loc.version}".strip()
        if loc.package not in text or (loc.version and loc.version not in text):
            text = f"{text} ({package})" if text else package
    return text or "(no message)"


def _result(finding: Finding, ctx: _Context) -> dict[str, Any]:
    """One result as a plain dict with SARIF property names (no sarif-om: too slow at 100k)."""
    finding = redact_finding(finding)
    loc = finding.location
    score = _score_text(_score(finding))
    uri = ctx.paths.uri(loc.path) if loc.path else ""
    line = loc.line if uri else 0
    outside = bool(loc.path) and not uri
    if not uri:
        if loc.url:
            uri = _url_uri(loc.url, finding.category)
        elif loc.package:
            uri = _pseudo_uri(finding.category, loc.package)
        if "/" not in uri:
            uri = _pseudo_uri(finding.category, finding.tool or "unknown")
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
    if line > 0:
        region: dict[str, Any] = {"startLine": line}
        if loc.column > 0:
            region["startColumn"] = loc.column
        if loc.end_line > line:
            region["endLine"] = loc.end_line
        if finding.evidence:
            region["snippet"] = {"text": finding.evidence}
        physical["region"] = region
    properties: dict[str, Any] = {
        "category": finding.category,
        "severity": _LABEL[finding.severity],
        "security-severity": score,
        "tool": finding.tool,
    }
    if finding.severity is Severity.UNKNOWN and finding.score is None:
        del properties["security-severity"]
    if finding.confidence:
        properties["confidence"] = finding.confidence
    if finding.fix:
        properties["fix"] = finding.fix
    if finding.evidence and line <= 0:
        properties["evidence"] = finding.evidence
    # The uri of a URL or package is a made-up path: keep the real thing for readers (and for ingest).
    if loc.url:
        properties["url"] = redact_url(loc.url)
        if loc.method:
            properties["method"] = loc.method.upper()
        if loc.param:
            properties["param"] = loc.param
    if loc.package:
        properties["package"] = loc.package
        if loc.version:
            properties["version"] = loc.version
    rule_id = _rule_id(finding, ctx.merged)
    message = _message(finding)
    location: dict[str, Any] = {"physicalLocation": physical}
    if outside:
        # Not a file of the repository: say where in the message and a logical location, never as a uri.
        shown = ctx.paths.portable(loc.path) + (f":{loc.line}" if loc.line else "")
        message = f"{message} (at {shown}, outside the repository)"
        location["logicalLocations"] = [{"fullyQualifiedName": shown, "kind": "resource"}]
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": ctx.rule_index[rule_id],
        "level": _LEVEL[finding.severity],
        "message": {"text": message},
        "locations": [location],
        # GitHub tracks an alert by primaryLocationLineHash: derived from the stable fingerprint, it
        # survives line moves and exists for results without a line (DAST, dependencies).
        "partialFingerprints": {
            "stillme/v1": finding.fingerprint,
            "primaryLocationLineHash": f"{finding.fingerprint[:16]}:1",
        },
        "properties": properties,
    }
    if finding.suppressed_by:
        kind, sep, justification = finding.suppressed_by.partition(": ")
        if not sep or kind not in ("inSource", "external"):
            kind, justification = "external", finding.suppressed_by
        result["suppressions"] = [{"kind": kind, "status": "accepted", "justification": justification}]
    return result


# --------------------------------------------------------------------------- serialisation


def _heads(plans: Sequence[_RunPlan], paths: _Paths) -> list[tuple[dict[str, Any], _Context]]:
    return [_run_head(plan, paths) for plan in plans]


def _chunks(plans: Sequence[_RunPlan], paths: _Paths) -> Iterator[bytes]:
    """The document in file order, a few hundred results per chunk."""
    yield _encode({"$schema": SCHEMA_URI, "version": SARIF_VERSION})[:-1].encode() + b',"runs":['
    for n, (plan, (head, ctx)) in enumerate(zip(plans, _heads(plans, paths), strict=True)):
        opening = _encode(head)[:-1] + ',"results":['
        yield (("," if n else "") + opening).encode()
        findings = plan.findings
        for start in range(0, len(findings), _BATCH):
            # One encoder call per batch: the list's brackets are cut off.
            text = _encode([_result(f, ctx) for f in findings[start : start + _BATCH]])[1:-1]
            yield (("," if start else "") + text).encode()
        yield b"]}"
    yield b"]}\n"


class _TooBig(Exception):
    """The document went over the gzip budget while being written."""


def _write(path: str | Path, plans: Sequence[_RunPlan], paths: _Paths, budget: int | None) -> None:
    """Stream the document to ``path`` atomically; raise _TooBig (old file intact) past ``budget``."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if budget is not None else None
    size = 0
    with atomic_writer(path, "wb") as text_typed:
        handle = cast(IO[bytes], text_typed)  # atomic_writer is typed for text; "wb" yields a binary file
        for chunk in _chunks(plans, paths):
            handle.write(chunk)
            if compressor is not None:
                size += len(compressor.compress(chunk))
                if budget is not None and size > budget:
                    raise _TooBig
        if compressor is not None:
            size += len(compressor.flush())
            if budget is not None and size > budget:
                raise _TooBig


def _measure(plans: Sequence[_RunPlan], paths: _Paths) -> int:
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    size = sum(len(compressor.compress(chunk)) for chunk in _chunks(plans, paths))
    return size + len(compressor.flush())


def _estimate_fit(plans: Sequence[_RunPlan], ordered: Sequence[Finding], paths: _Paths, budget: int, limit: int) -> int:
    """How many of the most severe results fit under ``budget``, from one compression pass.

    The results are compressed most severe first with a sync flush every
    ``_CHECKPOINT_BYTES`` so that the compressed size so far is known; between
    checkpoints it is interpolated.  It stops at the first checkpoint past
    the budget.  The caller checks the estimate on the real document.
    """
    base = _measure(_keep_most_severe(plans, ordered, 0, limit), paths)
    run_of = {id(f): i for i, plan in enumerate(plans) for f in plan.findings}
    contexts = [ctx for _, ctx in _heads(plans, paths)]
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    raw = packed = 0
    last_raw = last_packed = 0
    pending: list[int] = []  # raw offsets after each result since the last checkpoint
    fits = 0
    for n, finding in enumerate(ordered):
        data = _encode(_result(finding, contexts[run_of[id(finding)]])).encode() + b","
        raw += len(data)
        packed += len(compressor.compress(data))
        pending.append(raw)
        if raw - last_raw >= _CHECKPOINT_BYTES or n == len(ordered) - 1:
            packed += len(compressor.flush(zlib.Z_SYNC_FLUSH))
            span = max(raw - last_raw, 1)
            for k, offset in enumerate(pending, start=n - len(pending) + 1):
                guess = last_packed + (packed - last_packed) * (offset - last_raw) / span
                if base + guess > budget:
                    return fits
                fits = k + 1
            pending.clear()
            last_raw, last_packed = raw, packed
    return fits


def _replace_findings(plan: _RunPlan, findings: list[Finding], gzip_limit: int) -> _RunPlan:
    return replace(plan, findings=findings, dropped_gzip=len(plan.findings) - len(findings), gzip_limit=gzip_limit)


def _keep_most_severe(plans: Sequence[_RunPlan], ordered: Sequence[Finding], count: int, limit: int) -> list[_RunPlan]:
    """The plans with only the ``count`` most severe results overall (``ordered`` is most severe first)."""
    kept = {id(f) for f in ordered[:count]}
    return [_replace_findings(plan, [f for f in plan.findings if id(f) in kept], limit) for plan in plans]


def _fit_gzip(
    plans: list[_RunPlan], paths: _Paths, budget: int, max_gzip_bytes: int, notes: list[str]
) -> list[_RunPlan]:
    """Keep as many of the most severe results as fit under the gzip budget, checked on the real document.

    Starts from a one-pass estimate, then a few secant steps between the
    largest count known to fit and the smallest known not to; every count
    kept has been measured on the document that is then written.
    """
    ordered = _sorted(f for plan in plans for f in plan.findings)
    total = len(ordered)
    count = min(_estimate_fit(plans, ordered, paths, budget, max_gzip_bytes), total)
    fits, too_many = -1, total + 1
    best: tuple[list[_RunPlan], int] | None = None
    for _ in range(_FIT_STEPS):
        cut = _keep_most_severe(plans, ordered, count, max_gzip_bytes)
        size = _measure(cut, paths)
        if size <= budget:
            fits, best = count, (cut, size)
            if size >= budget * 0.98:
                break
            guess = int(count * budget / max(size, 1) * 0.99)
        else:
            too_many = count
            guess = int(count * budget / size * 0.98)
        guess = min(max(guess, fits + 1), too_many - 1)
        if guess <= fits or guess >= too_many:
            break
        count = guess
    if best is None:
        cut = _keep_most_severe(plans, ordered, 0, max_gzip_bytes)
        best = (cut, _measure(cut, paths))
        fits = 0
    cut, size = best
    notes.append(
        f"SARIF: {total - fits} of {total} results left out to keep the file under {_size_text(max_gzip_bytes)} "
        "gzip-compressed (GitHub's upload limit); the most severe were kept"
    )
    if size > budget:
        notes.append(
            f"SARIF: the file is {_size_text(size)} gzip-compressed even without results, over the "
            f"{_size_text(max_gzip_bytes)} GitHub accepts"
        )
    return cut


# --------------------------------------------------------------------------- public API


def build_runs(
    findings: Sequence[Finding],
    *,
    tools: Mapping[str, str] = _NO_TOOLS,
    errors: Sequence[ScannerError] = (),
    suppressed: Sequence[Finding] = (),
    root: str | Path = ".",
    automation_prefix: str = "stillme",
    max_runs: int = 20,
    max_results_per_run: int = 25_000,
) -> list[dict[str, Any]]:
    """The runs :func:`write_sarif` writes, as plain dicts (without the gzip limit)."""
    plans = _plan([*findings, *suppressed], tools, errors, automation_prefix, max_runs, max_results_per_run)
    paths = _Paths.for_root(root)
    runs = []
    for plan, (head, ctx) in zip(plans, _heads(plans, paths), strict=True):
        head["results"] = [_result(f, ctx) for f in plan.findings]
        runs.append(head)
    return runs


def write_sarif(
    path: str | Path,
    findings: Sequence[Finding],
    *,
    tools: Mapping[str, str] = _NO_TOOLS,
    errors: Sequence[ScannerError] = (),
    suppressed: Sequence[Finding] = (),
    root: str | Path = ".",
    automation_prefix: str = "stillme",
    max_results_per_run: int = 25_000,
    max_gzip_bytes: int = 10 * 1024 * 1024,
    max_runs: int = 20,
) -> SarifStats:
    """Write one SARIF 2.1.0 file GitHub accepts: a run per tool, the most severe results within its limits.

    Atomic: on any error the previous file at ``path`` is left as it was.
    """
    plans = _plan([*findings, *suppressed], tools, errors, automation_prefix, max_runs, max_results_per_run)
    paths = _Paths.for_root(root)
    budget = max(max_gzip_bytes - GZIP_SLACK, 0)
    notes: list[str] = []
    for plan in plans:
        if plan.dropped_run_limit:
            notes.append(
                f"SARIF: {plan.dropped_run_limit} of {plan.total} results of {plan.name} left out "
                f"(GitHub accepts at most {plan.run_limit} per run); the most severe were kept"
            )
        if plan.merged_tools:
            notes.append(
                f"SARIF: {len(plan.merged_tools)} tools share the run {MERGED_RUN_NAME!r} (GitHub accepts at most "
                f"{max(max_runs, 1)} runs per file): {', '.join(plan.merged_tools)}"
            )
    try:
        _write(path, plans, paths, budget)
    except _TooBig:
        plans = _fit_gzip(plans, paths, budget, max_gzip_bytes, notes)
        _write(path, plans, paths, None)
    dropped = sum(p.dropped_run_limit + p.dropped_gzip for p in plans)
    return SarifStats(str(path), len(plans), sum(len(p.findings) for p in plans), dropped, tuple(notes))
