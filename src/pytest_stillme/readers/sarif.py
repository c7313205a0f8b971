"""Turn SARIF 2.1.0 reports written by other tools (Trivy, Semgrep, CodeQL, ruff, bandit, ...) into findings.

Other tools already speak SARIF, so reading it is how their results reach the
one ledger and the one gate.  A report that cannot be read is never an empty
result: it is a :class:`ReportError` naming the file and the JSON path of the
problem, so a broken CI step cannot pass the gate by accident.

Structure is checked by hand on exactly what is read (no JSON-schema validation:
importing ``jsonschema`` alone costs more than parsing most reports).  Property
bags (``properties``) belong to each tool, so keys we merely *recognise* there
(``category``, ``precision``, ``url``...) count only when they have the expected
type; ``security-severity`` is the exception, because it decides the severity.
``null`` is read as "absent" everywhere, as ruff writes ``"ruleId": null``.

No pytest here.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from ..core.findings import CATEGORIES, Finding, Location, Rule, ScannerError, Severity
from .base import DEFAULT_MAX_BYTES, IngestResult, ReportError, load_json, read_bytes
from .jsonpath import Invalid as _Invalid
from .jsonpath import as_obj as _as_obj
from .jsonpath import at as _at
from .jsonpath import get_int as _get_int
from .jsonpath import get_list as _list
from .jsonpath import get_obj as _obj
from .jsonpath import get_str as _str
from .jsonpath import kind as _kind
from .jsonpath import raise_invalid as _fail
from .paths import file_uri_path, is_absolute, repo_path, root_spellings

__all__ = [
    "DEFAULT_TOOL_CATEGORIES",
    "IngestResult",
    "ReportError",
    "parse_sarif",
    "read_sarif",
]

SARIF_VERSION = "2.1.0"

#: Lower-case substrings of a tool's name -> the category its findings go to.
#: The longest matching key wins, so "snyk container" beats a shorter "snyk".
DEFAULT_TOOL_CATEGORIES: Mapping[str, str] = MappingProxyType(
    {
        # containers and images
        "trivy": "container",
        "grype": "container",
        "clair": "container",
        "anchore": "container",
        "dockle": "container",
        "docker scout": "container",
        "snyk container": "container",
        # dependencies
        "pip-audit": "deps",
        "osv-scanner": "deps",
        "safety": "deps",
        "dependency-check": "deps",
        "npm audit": "deps",
        "snyk open source": "deps",
        "govulncheck": "deps",
        # static analysis (code, infrastructure as code, secrets)
        "semgrep": "sast",
        "codeql": "sast",
        "bandit": "sast",
        "gosec": "sast",
        "brakeman": "sast",
        "sonar": "sast",
        "snykcode": "sast",
        "snyk code": "sast",
        "checkov": "sast",
        "tfsec": "sast",
        "kics": "sast",
        "gitleaks": "sast",
        "trufflehog": "sast",
        "detect-secrets": "sast",
        # linters and type checkers
        "ruff": "lint",
        "mypy": "lint",
        "pylint": "lint",
        "flake8": "lint",
        "pyright": "lint",
        "eslint": "lint",
        "hadolint": "lint",
        "shellcheck": "lint",
        # running applications
        "zap": "dast",
        "nuclei": "dast",
        "nikto": "dast",
        "burp": "dast",
        "schemathesis": "dast",
    }
)

_LEVEL_SEVERITY: Mapping[str, Severity] = MappingProxyType(
    {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW, "none": Severity.INFO}
)
_PRECISIONS = frozenset({"very-high", "high", "medium", "low"})
#: Result kinds that say "checked and fine": not findings.
_PASSING_KINDS = frozenset({"pass", "notApplicable"})
#: Our own SARIF writer's fingerprint key: reading it back keeps fingerprints (and so suppressions) stable.
STILLME_FINGERPRINT = "stillme/v1"
_UNKNOWN_RULE = "unknown-rule"
#: What Semgrep writes as the snippet when not logged in: useless as evidence.
_PLACEHOLDER_SNIPPETS = frozenset({"requires login"})

_CWE_TAG = re.compile(r"^(?:external/cwe/)?cwe[-_: ]?0*(\d{1,6})(?!\d)", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\d{1,6})\}")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def read_sarif(
    path: str | Path,
    *,
    root: str | Path = ".",
    tool_categories: Mapping[str, str] | None = None,
    default_category: str = "sast",
    max_bytes: int = DEFAULT_MAX_BYTES,
    honour_suppressions: bool = True,
) -> IngestResult:
    """Read a SARIF file; any problem with the file is a :class:`ReportError`, never a traceback."""
    name = str(path)
    data = load_json(read_bytes(path, max_bytes=max_bytes), name)
    return parse_sarif(
        data,
        source=name,
        root=root,
        tool_categories=tool_categories,
        default_category=default_category,
        honour_suppressions=honour_suppressions,
    )


def parse_sarif(
    data: Any,
    *,
    source: str,
    root: str | Path = ".",
    tool_categories: Mapping[str, str] | None = None,
    default_category: str = "sast",
    honour_suppressions: bool = True,
) -> IngestResult:
    """Like :func:`read_sarif` for an already-parsed JSON value; ``source`` names it in errors.

    ``honour_suppressions``: a result the tool marked as suppressed (``suppressions``
    with status accepted, e.g. ``# nosemgrep``) is returned in ``suppressed``, with its
    justification, instead of among the findings; either way it is never dropped.
    """
    categories = _category_table(tool_categories, default_category)
    parser = _Parser(source, root_spellings(root), categories, default_category, honour_suppressions)
    try:
        return parser.parse(data)
    except _Invalid as exc:
        problem = f"{exc.where}: {exc.problem}" if exc.where else exc.problem
        raise ReportError(source, problem) from None
    except RecursionError:
        raise ReportError(source, "not SARIF: nested too deeply") from None


def _category_table(user: Mapping[str, str] | None, default: str) -> tuple[dict[str, str], ...]:
    """Lower-cased user mapping first, then the defaults; bad categories are a caller's mistake."""
    if default not in CATEGORIES:
        raise ValueError(f"unknown default category {default!r}; expected one of {', '.join(CATEGORIES)}")
    table: dict[str, str] = {}
    for key, category in (user or {}).items():
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r} for tool {key!r}; expected one of {', '.join(CATEGORIES)}")
        if key.strip():
            table[key.strip().lower()] = category
    return table, dict(DEFAULT_TOOL_CATEGORIES)


def _shown(value: str, limit: int = 40) -> str:
    """A value quoted for an error message, cut short: a report may hold megabytes in one string."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _int(parent: dict[str, Any], key: str, where: str, minimum: int = 0) -> int | None:
    value = _get_int(parent, key, where)
    if value is not None and value < minimum:
        _fail(_at(where, key), f"expected an integer >= {minimum}, got {value}")
    return value


def _bool(parent: dict[str, Any], key: str, where: str) -> bool | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        _fail(_at(where, key), f"expected true or false, got {_kind(value)}")
    return value


def _level(parent: dict[str, Any], key: str, where: str) -> str:
    """A SARIF ``level``, or "" when absent."""
    level = _str(parent, key, where)
    if level and level.lower() not in _LEVEL_SEVERITY:
        _fail(_at(where, key), f"unknown level {_shown(level)} (expected none, note, warning or error)")
    return level.lower()


def _text(parent: dict[str, Any], key: str, where: str) -> str:
    """The text of a multiformat message (``text``, else ``markdown``)."""
    message = _obj(parent, key, where)
    if message is None:
        return ""
    at = _at(where, key)
    return _str(message, "text", at) or _str(message, "markdown", at)


def _score(props: dict[str, Any] | None, where: str) -> float | None:
    """``security-severity``: a number or a numeric string, as GitHub reads it."""
    if props is None:
        return None
    value = props.get("security-severity")
    at = _at(where, "security-severity")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        _fail(at, f"not a number: got {_kind(value)}")
    try:
        score = float(value)
    except (ValueError, OverflowError):
        score = math.nan
    if not math.isfinite(score):
        _fail(at, f"not a number: {_shown(value) if isinstance(value, str) else 'out of range'}")
    return score


def _format(template: str, arguments: list[str]) -> str:
    """SARIF's ``{0}`` placeholders, with ``{{``/``}}`` for literal braces; unknown ones stay."""
    if not arguments:
        return template

    def sub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        index = int(match.group(1))
        return arguments[index] if index < len(arguments) else token

    return _PLACEHOLDER.sub(sub, template)


@dataclass(frozen=True)
class _RuleInfo:
    """A reportingDescriptor as far as findings need it."""

    rule: Rule
    level: str
    score: float | None
    confidence: str
    message_strings: Mapping[str, str]


@dataclass(frozen=True)
class _Component:
    """The driver or an extension: a name, a guid and the rules it defines."""

    name: str
    guid: str
    rules: tuple[_RuleInfo, ...]
    by_id: Mapping[str, _RuleInfo]


class _Parser:
    """One report: holds the per-file occurrence counts that keep identical findings apart."""

    def __init__(
        self,
        source: str,
        roots: tuple[str, ...],
        categories: tuple[dict[str, str], ...],
        default: str,
        honour_suppressions: bool = True,
    ) -> None:
        self.honour_suppressions = honour_suppressions
        self.suppressed: list[Finding] = []
        self.source = source
        self.roots = roots
        self.categories = categories
        self.default_category = default
        self.occurrences: dict[str, int] = {}
        #: Where the current run's artifacts are, for errors about an artifact a location points to.
        self.artifacts_at = "artifacts"

    def parse(self, data: Any) -> IngestResult:
        if not isinstance(data, dict):
            _fail("", f"not SARIF: the top level is {_kind(data)}, not an object")
        if "version" not in data or data["version"] is None:
            _fail("", f"not SARIF: no 'version' (expected {SARIF_VERSION})")
        version = data["version"]
        if version != SARIF_VERSION:
            shown = _shown(version) if isinstance(version, str) else _kind(version)
            _fail("", f"unsupported SARIF version {shown} (expected {SARIF_VERSION})")
        runs = data.get("runs")
        if runs is None:
            _fail("", "not SARIF: no 'runs' array")
        if not isinstance(runs, list):
            _fail("runs", f"expected an array, got {_kind(runs)}")
        findings: list[Finding] = []
        tools: dict[str, str] = {}
        errors: list[ScannerError] = []
        if not runs:
            # A SARIF file with no run says that no tool scanned anything: never "clean".
            errors.append(
                ScannerError(
                    "stillme-report",
                    "the SARIF holds no runs: no tool reported a scan",
                    "check the step that wrote it: did the tool run, and on what?",
                    self.source,
                )
            )
        for index, run in enumerate(runs):
            where = f"runs[{index}]"
            self._run(_as_obj(run, where), where, findings, tools, errors)
        return IngestResult(
            findings=tuple(findings), tools=tools, errors=tuple(errors), suppressed=tuple(self.suppressed)
        )

    # -- runs ---------------------------------------------------------------

    def _run(
        self,
        run: dict[str, Any],
        where: str,
        findings: list[Finding],
        tools: dict[str, str],
        errors: list[ScannerError],
    ) -> None:
        tool_at = _at(where, "tool")
        tool = _obj(run, "tool", where)
        if tool is None:
            _fail(tool_at, "missing (every run must name its tool)")
        driver_at = _at(tool_at, "driver")
        driver = _obj(tool, "driver", tool_at)
        if driver is None:
            _fail(driver_at, "missing (every run must name its tool)")
        name = _str(driver, "name", driver_at).strip()
        if not name:
            _fail(_at(driver_at, "name"), "missing (every run must name its tool)")
        version = _str(driver, "version", driver_at) or _str(driver, "semanticVersion", driver_at)
        merged = _merged_tools(_obj(driver, "properties", driver_at))
        if merged:
            # Our own writer folds tools beyond GitHub's run limit into one run: list them, not the fold.
            for tool_name in merged:
                tools.setdefault(tool_name, "")
        elif version or name not in tools:
            tools[name] = version

        components = [self._component(driver, driver_at)]
        for index, extension in enumerate(_list(tool, "extensions", tool_at)):
            at = f"{tool_at}.extensions[{index}]"
            components.append(self._component(_as_obj(extension, at), at))
        global_strings = self._message_strings(driver, "globalMessageStrings", driver_at)

        errors.extend(self._run_errors(run, where, name))
        if run.get("results") is None:
            # SARIF: results is present for an actual scan (empty when it found nothing), absent or
            # null when the tool did not run.
            errors.append(
                ScannerError(
                    name,
                    f"{where} has no results array: {name} reports no scan (SARIF omits results when the tool "
                    "did not run; a scan that found nothing has an empty array)",
                    "check the step that ran the tool",
                    self.source,
                )
            )

        props = _obj(run, "properties", where)
        categories = {tool_name: self._category(tool_name, props) for tool_name in (name, *merged)}
        bases = self._bases(run, where)
        artifacts = _list(run, "artifacts", where)
        self.artifacts_at = _at(where, "artifacts")
        for index, result in enumerate(_list(run, "results", where)):
            at = f"{where}.results[{index}]"
            finding = self._result(
                _as_obj(result, at),
                at,
                tool=name,
                version=version,
                categories=categories,
                components=components,
                global_strings=global_strings,
                bases=bases,
                artifacts=artifacts,
            )
            if finding is not None:
                findings.append(finding)

    def _run_errors(self, run: dict[str, Any], where: str, tool: str) -> list[ScannerError]:
        """Failed invocations and error notifications: the tool's own word that the scan is incomplete."""
        errors: list[ScannerError] = []
        hint = (
            "the tool says its run went wrong, so its findings may be incomplete: fix the run and regenerate the report"
        )
        for index, invocation in enumerate(_list(run, "invocations", where)):
            at = f"{where}.invocations[{index}]"
            invocation = _as_obj(invocation, at)
            succeeded = _bool(invocation, "executionSuccessful", at)
            messages: list[str] = []
            restored = 0
            for number, notification in enumerate(_list(invocation, "toolExecutionNotifications", at)):
                note_at = f"{at}.toolExecutionNotifications[{number}]"
                notification = _as_obj(notification, note_at)
                if _level(notification, "level", note_at) == "error":
                    stored = _stored_error(notification)
                    if stored is not None:
                        # Our own SARIF: restore the error exactly (no nesting on re-reads).
                        errors.append(stored)
                        restored += 1
                        continue
                    messages.append(self._notification_text(notification, note_at))
            for message in messages:
                errors.append(ScannerError(tool, f"error during the run: {message}", hint=hint, target=self.source))
            if succeeded is False and not messages and not restored:
                detail: list[str] = []
                code = _int(invocation, "exitCode", at, minimum=-(2**63))
                if code is not None:
                    detail.append(f"exit code {code}")
                for key in ("exitCodeDescription", "exitSignalName"):
                    text = _str(invocation, key, at)
                    if text:
                        detail.append(text)
                suffix = f" ({', '.join(detail)})" if detail else ""
                errors.append(ScannerError(tool, f"the run failed{suffix}", hint=hint, target=self.source))
        return errors

    def _notification_text(self, notification: dict[str, Any], where: str) -> str:
        text = _text(notification, "message", where).strip()
        if not text:
            descriptor = _obj(notification, "descriptor", where)
            ident = _str(descriptor, "id", _at(where, "descriptor")) if descriptor else ""
            text = f"error notification {ident}".strip()
        return text

    def _category(self, tool: str, run_props: dict[str, Any] | None) -> str:
        """The run's own category, else the tool-name table; results may still override it."""
        own = _own_category(run_props)
        if own:
            return own
        name = tool.lower()
        for table in self.categories:
            matches = [key for key in table if key in name]
            if matches:
                return table[max(matches, key=len)]
        return self.default_category

    def _bases(self, run: dict[str, Any], where: str) -> dict[str, tuple[str, str]]:
        """``originalUriBaseIds``: id -> (uri, parent id)."""
        at = _at(where, "originalUriBaseIds")
        table = _obj(run, "originalUriBaseIds", where)
        bases: dict[str, tuple[str, str]] = {}
        for key, value in (table or {}).items():
            entry = _as_obj(value, _at(at, key)) if value is not None else {}
            bases[key] = (_str(entry, "uri", _at(at, key)), _str(entry, "uriBaseId", _at(at, key)))
        return bases

    # -- rules --------------------------------------------------------------

    def _component(self, component: dict[str, Any], where: str) -> _Component:
        rules: list[_RuleInfo] = []
        by_id: dict[str, _RuleInfo] = {}
        for index, descriptor in enumerate(_list(component, "rules", where)):
            at = f"{where}.rules[{index}]"
            info = self._rule(_as_obj(descriptor, at), at)
            rules.append(info)
            by_id.setdefault(info.rule.id, info)
        return _Component(
            name=_str(component, "name", where),
            guid=_str(component, "guid", where),
            rules=tuple(rules),
            by_id=by_id,
        )

    def _rule(self, descriptor: dict[str, Any], where: str) -> _RuleInfo:
        ident = _str(descriptor, "id", where)
        if not ident:
            _fail(_at(where, "id"), "missing (every rule needs an id)")
        props = _obj(descriptor, "properties", where)
        props_at = _at(where, "properties")
        cwe: list[int] = []
        tags: list[str] = []
        for index, tag in enumerate(_list(props or {}, "tags", props_at)):
            if not isinstance(tag, str):
                _fail(f"{props_at}.tags[{index}]", f"expected a string, got {_kind(tag)}")
            match = _CWE_TAG.match(tag.strip())
            if match:
                number = int(match.group(1))
                if number and number not in cwe:
                    cwe.append(number)
            elif tag not in tags:
                tags.append(tag)
        config = _obj(descriptor, "defaultConfiguration", where)
        level = _level(config, "level", _at(where, "defaultConfiguration")) if config else ""
        return _RuleInfo(
            rule=Rule(
                id=ident,
                name=_str(descriptor, "name", where),
                short_description=_text(descriptor, "shortDescription", where),
                full_description=_text(descriptor, "fullDescription", where),
                help=_text(descriptor, "help", where),
                help_uri=_str(descriptor, "helpUri", where),
                cwe=tuple(cwe),
                tags=tuple(tags),
            ),
            level=level,
            score=_score(props, props_at),
            confidence=_precision((props or {}).get("precision")),
            message_strings=self._message_strings(descriptor, "messageStrings", where),
        )

    def _message_strings(self, parent: dict[str, Any], key: str, where: str) -> dict[str, str]:
        table = _obj(parent, key, where)
        at = _at(where, key)
        strings: dict[str, str] = {}
        for ident, message in (table or {}).items():
            if message is None:
                continue
            entry = _as_obj(message, _at(at, ident))
            strings[ident] = _str(entry, "text", _at(at, ident)) or _str(entry, "markdown", _at(at, ident))
        return strings

    def _find_rule(
        self, result: dict[str, Any], where: str, components: list[_Component]
    ) -> tuple[str, _RuleInfo | None]:
        """The rule id and descriptor: by index when it agrees with the id, else by id anywhere."""
        rule_id = _str(result, "ruleId", where)
        index = _int(result, "ruleIndex", where, minimum=-1)
        index_at = _at(where, "ruleIndex")
        component: _Component | None = components[0]
        reference = _obj(result, "rule", where)
        if reference is not None:
            ref_at = _at(where, "rule")
            rule_id = rule_id or _str(reference, "id", ref_at)
            ref_index = _int(reference, "index", ref_at, minimum=-1)
            if ref_index is not None and ref_index >= 0:
                index, index_at = ref_index, _at(ref_at, "index")
            tool_ref = _obj(reference, "toolComponent", ref_at)
            if tool_ref is not None:
                component = self._resolve_component(tool_ref, _at(ref_at, "toolComponent"), components)
        if component is not None and index is not None and 0 <= index < len(component.rules):
            info = component.rules[index]
            if not rule_id or info.rule.id == rule_id:
                return info.rule.id, info
        if rule_id:
            searched = ([component] if component is not None else []) + components
            for candidate in searched:
                found = candidate.by_id.get(rule_id)
                if found is not None:
                    return rule_id, found
            return rule_id, None
        if component is not None and index is not None and index >= len(component.rules):
            _fail(index_at, f"{index} is out of range ({len(component.rules)} rules) and the result has no ruleId")
        return _UNKNOWN_RULE, None

    @staticmethod
    def _resolve_component(reference: dict[str, Any], where: str, components: list[_Component]) -> _Component | None:
        """A toolComponentReference: ``index`` counts extensions; ``name``/``guid`` match any component."""
        index = _int(reference, "index", where, minimum=-1)
        if index is not None and 0 <= index < len(components) - 1:
            return components[index + 1]
        guid = _str(reference, "guid", where)
        name = _str(reference, "name", where)
        for component in components:
            if (guid and component.guid == guid) or (name and component.name == name):
                return component
        return None

    # -- results ------------------------------------------------------------

    def _result(
        self,
        result: dict[str, Any],
        where: str,
        *,
        tool: str,
        version: str,
        categories: Mapping[str, str],
        components: list[_Component],
        global_strings: Mapping[str, str],
        bases: dict[str, tuple[str, str]],
        artifacts: list[Any],
    ) -> Finding | None:
        justification = self._suppression(result, where)
        if _str(result, "baselineState", where) == "absent":
            return None
        kind = _str(result, "kind", where)
        if kind in _PASSING_KINDS:
            return None
        rule_id, info = self._find_rule(result, where, components)
        props = _obj(result, "properties", where)
        props_at = _at(where, "properties")

        score = _score(props, props_at)
        level = _level(result, "level", where)
        if score is None and info is not None:
            score = info.score
        if not level:
            # SARIF: a result whose kind is not "fail" has level "none" unless it says otherwise.
            level = "none" if kind and kind != "fail" else (info.level if info and info.level else "warning")
        severity = Severity.from_score(score) if score is not None else _LEVEL_SEVERITY[level]
        if score is None and isinstance(props, dict) and props.get("severity") == "unknown":
            severity = Severity.UNKNOWN  # stillme's own SARIF: a severity nobody knew stays unknown

        rule = info.rule if info is not None else Rule(id=rule_id)
        message = self._message(result, where, info, global_strings) or rule.short_description
        message = message or rule.full_description or rule.name or rule.id
        location, evidence = self._location(result, where, bases, artifacts)
        location = _with_properties(location, props)
        bag = props or {}
        owner = bag.get("tool")
        if len(categories) > 1 and isinstance(owner, str) and owner in categories and owner != tool:
            # A result of a folded run: its tool is in its properties and its rule id is "tool/rule".
            tool, version = owner, ""
            if rule.id.startswith(f"{owner}/"):
                rule = replace(rule, id=rule.id[len(owner) + 1 :])

        finding = Finding(
            tool=tool,
            rule=rule,
            category=_own_category(props) or categories[tool],
            severity=severity,
            message=message,
            location=location,
            evidence=evidence or _bag_text(bag, "evidence"),
            fix=self._fix(result, where) or _bag_text(bag, "fix").strip(),
            confidence=_precision(bag.get("precision"))
            or _precision(bag.get("confidence"))
            or (info.confidence if info else ""),
            score=score,
            tool_version=version,
        )
        # Identical results in one report would share a fingerprint: number them in order.
        occurrence = self.occurrences.get(finding.fingerprint, 0)
        self.occurrences[finding.fingerprint] = occurrence + 1
        given = self._given_fingerprint_of(result, where)
        if occurrence or given:
            finding = replace(finding, occurrence=occurrence, fingerprint=given)
        if justification and self.honour_suppressions:
            self.suppressed.append(finding.with_suppression(justification))
            return None
        return finding

    @staticmethod
    def _suppression(result: dict[str, Any], where: str) -> str:
        """Why the tool suppressed this result (``nosemgrep``, ``# noqa``, a triage), "" when it did not.

        SARIF: a result is suppressed when it has suppressions and each is accepted (a status that is
        absent means accepted); one under review or rejected keeps it active.
        """
        reasons: list[str] = []
        entries = _list(result, "suppressions", where)
        for index, suppression in enumerate(entries):
            at = f"{_at(where, 'suppressions')}[{index}]"
            entry = _as_obj(suppression, at)
            if _str(entry, "status", at) not in ("", "accepted"):
                return ""
            kind = _str(entry, "kind", at) or "external"
            justification = _str(entry, "justification", at).strip()
            reasons.append(f"{kind}: {justification}" if justification else f"{kind} (no justification given)")
        return "; ".join(dict.fromkeys(reasons))

    @staticmethod
    def _given_fingerprint_of(result: dict[str, Any], where: str) -> str:
        for key in ("partialFingerprints", "fingerprints"):
            table = _obj(result, key, where)
            if table is not None and table.get(STILLME_FINGERPRINT) is not None:
                return _str(table, STILLME_FINGERPRINT, _at(where, key)).strip()
        return ""

    @staticmethod
    def _message(result: dict[str, Any], where: str, info: _RuleInfo | None, global_strings: Mapping[str, str]) -> str:
        message = _obj(result, "message", where)
        if message is None:
            return ""
        at = _at(where, "message")
        arguments: list[str] = []
        for index, argument in enumerate(_list(message, "arguments", at)):
            if not isinstance(argument, str):
                _fail(f"{at}.arguments[{index}]", f"expected a string, got {_kind(argument)}")
            arguments.append(argument)
        text = _str(message, "text", at) or _str(message, "markdown", at)
        if not text:
            ident = _str(message, "id", at)
            if ident:
                text = (info.message_strings.get(ident, "") if info else "") or global_strings.get(ident, "")
        return _format(text, arguments).strip()

    @staticmethod
    def _fix(result: dict[str, Any], where: str) -> str:
        for index, fix in enumerate(_list(result, "fixes", where)):
            at = f"{_at(where, 'fixes')}[{index}]"
            text = _text(_as_obj(fix, at), "description", at).strip()
            if text:
                return text
        return ""

    def _location(
        self, result: dict[str, Any], where: str, bases: dict[str, tuple[str, str]], artifacts: list[Any]
    ) -> tuple[Location, str]:
        """The first location's file and region, and its snippet as evidence."""
        locations = _list(result, "locations", where)
        if not locations:
            return Location(), ""
        at = f"{_at(where, 'locations')}[0]"
        physical = _obj(_as_obj(locations[0], at), "physicalLocation", at)
        if physical is None:
            return Location(), ""
        at = _at(at, "physicalLocation")
        path = url = ""
        artifact = _obj(physical, "artifactLocation", at)
        if artifact is not None:
            path, url = self._artifact(artifact, _at(at, "artifactLocation"), bases, artifacts)
        line = column = end_line = 0
        evidence = ""
        region = _obj(physical, "region", at)
        if region is not None:
            region_at = _at(at, "region")
            line = _int(region, "startLine", region_at) or 0
            column = _int(region, "startColumn", region_at) or 0
            end_line = _int(region, "endLine", region_at) or 0
            snippet = _obj(region, "snippet", region_at)
            if snippet is not None:
                evidence = _str(snippet, "text", _at(region_at, "snippet"))
                if evidence.strip() in _PLACEHOLDER_SNIPPETS:
                    evidence = ""
        return Location(path=path, line=line, column=column, end_line=end_line, url=url), evidence

    def _artifact(
        self, artifact: dict[str, Any], where: str, bases: dict[str, tuple[str, str]], artifacts: list[Any]
    ) -> tuple[str, str]:
        """(path, url): a repository-relative path when possible; http(s) URIs are URLs."""
        uri = _str(artifact, "uri", where)
        base_id = _str(artifact, "uriBaseId", where)
        index = _int(artifact, "index", where, minimum=-1)
        if not uri and index is not None and 0 <= index < len(artifacts):
            # The location only points into run.artifacts: take the uri from there.
            at = f"{self.artifacts_at}[{index}]"
            entry = _obj(_as_obj(artifacts[index], at), "location", at)
            if entry is not None:
                uri = _str(entry, "uri", _at(at, "location"))
                base_id = base_id or _str(entry, "uriBaseId", _at(at, "location"))
        if not uri.strip():
            return "", ""
        return self._to_path(uri.strip(), base_id, bases)

    def _to_path(self, uri: str, base_id: str, bases: dict[str, tuple[str, str]]) -> tuple[str, str]:
        relative = _SCHEME.match(uri) is None and not is_absolute(uri)
        resolved = uri
        if relative and base_id:
            base = _resolve_base(base_id, bases)
            if base:
                resolved = _join(base, uri)
        scheme = _SCHEME.match(resolved)
        if scheme is not None:
            name = scheme.group(1).lower()
            if name in ("http", "https"):
                return "", resolved
            if name != "file":
                return resolved.replace("\\", "/"), ""  # e.g. a package URL: keep it, it is all we know
            path = file_uri_path(resolved)
        else:
            path = unquote(resolved)
        found = repo_path(path, self.roots)
        if is_absolute(found) and relative:
            # The base is some other machine's checkout: the uri is relative to the
            # project there, which is the best guess for the project here too.
            return _clean(unquote(uri).replace("\\", "/")), ""
        return found, ""


def _merged_tools(props: dict[str, Any] | None) -> tuple[str, ...]:
    """The tools our own writer folded into this run (``driver.properties.tools``), if it is such a run."""
    names = (props or {}).get("tools")
    if not isinstance(names, list):
        return ()
    return tuple(dict.fromkeys(n.strip() for n in names if isinstance(n, str) and n.strip()))


def _precision(value: Any) -> str:
    """A SARIF precision (``very-high``, ``high``, ``medium``, ``low``) from a property, or ""."""
    if not isinstance(value, str):
        return ""
    text = value.strip().lower().replace(" ", "-").replace("_", "-")
    return text if text in _PRECISIONS else ""


def _bag_text(bag: dict[str, Any], key: str) -> str:
    """A string our own writer keeps in the properties when SARIF has no place for it."""
    value = bag.get(key)
    return value if isinstance(value, str) else ""


def _own_category(props: dict[str, Any] | None) -> str:
    """A ``category`` that is one of ours (a stillme SARIF round-trips); anything else is the tool's business."""
    value = (props or {}).get("category")
    if isinstance(value, str) and value.strip().lower() in CATEGORIES:
        return value.strip().lower()
    return ""


def _with_properties(location: Location, props: dict[str, Any] | None) -> Location:
    """HTTP and package details our own writer (and some tools) keep in the result's properties."""
    if not props:
        return location
    extra: dict[str, Any] = {
        key: value.strip()
        for key in ("url", "method", "param", "package", "version")
        if isinstance((value := props.get(key)), str) and value.strip()
    }
    return replace(location, **extra) if extra else location


def _join(base: str, uri: str) -> str:
    return base if not uri else (base if base.endswith(("/", "\\")) else base + "/") + uri


def _resolve_base(base_id: str, bases: dict[str, tuple[str, str]]) -> str:
    """A uriBaseId to its base, following parents (it may stay relative); "" when unknown or cyclic."""
    parts: list[str] = []
    seen: set[str] = set()
    current = base_id
    while current:
        if current in seen or current not in bases:
            return ""
        seen.add(current)
        uri, parent = bases[current]
        if not uri:
            return ""  # SARIF: a base without a uri is one the tool did not know
        parts.append(uri)
        if _SCHEME.match(uri) or is_absolute(uri):
            break
        current = parent
    resolved = parts.pop()
    while parts:
        resolved = _join(resolved, parts.pop())
    return resolved


def _clean(path: str) -> str:
    """A relative POSIX path without ``./`` and ``//`` noise."""
    normal = posixpath.normpath(path) if path else ""
    return "" if normal == "." else normal


#: Where stillme's SARIF writer keeps a ScannerError's fields (report/sarif.py ERROR_PROPERTY).
_ERROR_PROPERTY = "stillme/error"


def _stored_error(notification: dict[str, Any]) -> ScannerError | None:
    """The ScannerError stillme wrote into a notification, if this is one of ours."""
    properties = notification.get("properties")
    if not isinstance(properties, dict):
        return None
    data = properties.get(_ERROR_PROPERTY)
    fields = ("tool", "message", "hint", "target")
    if not isinstance(data, dict) or not all(isinstance(data.get(k, ""), str) for k in fields):
        return None
    if not data.get("tool") or not data.get("message"):
        return None
    return ScannerError.from_dict(data)
