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

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..core.findings import CATEGORIES, Finding, Location, Rule, ScannerError, Severity
from .base import DEFAULT_MAX_BYTES, IngestResult, ReportError, load_json, read_bytes
from .jsonpath import Invalid as _Invalid
from .jsonpath import as_obj as _as_obj
from .jsonpath import at as _at
from .jsonpath import get_list as _list
from .jsonpath import get_obj as _obj
from .jsonpath import get_str as _str
from .jsonpath import kind as _kind
from .jsonpath import raise_invalid as _fail
from .paths import root_spellings
from .sarif_locations import Locator
from .sarif_rules import _Component, _component, _find_rule, _fix, _message, _message_strings
from .sarif_values import _LEVEL_SEVERITY, _bool, _int, _level, _precision, _score, _shown, _text

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

#: Result kinds that say "checked and fine": not findings.
_PASSING_KINDS = frozenset({"pass", "notApplicable"})
#: Our own SARIF writer's fingerprint key: reading it back keeps fingerprints (and so suppressions) stable.
STILLME_FINGERPRINT = "stillme/v1"


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
        self.locator = Locator(roots)
        self.categories = categories
        self.default_category = default
        self.occurrences: dict[str, int] = {}

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

        components = [_component(driver, driver_at)]
        for index, extension in enumerate(_list(tool, "extensions", tool_at)):
            at = f"{tool_at}.extensions[{index}]"
            components.append(_component(_as_obj(extension, at), at))
        global_strings = _message_strings(driver, "globalMessageStrings", driver_at)

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
        bases = self.locator.bases(run, where)
        artifacts = _list(run, "artifacts", where)
        self.locator.artifacts_at = _at(where, "artifacts")
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

    # -- rules --------------------------------------------------------------

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
        rule_id, info = _find_rule(result, where, components)
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
        message = _message(result, where, info, global_strings) or rule.short_description
        message = message or rule.full_description or rule.name or rule.id
        location, evidence = self.locator.location(result, where, bases, artifacts)
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
            fix=_fix(result, where) or _bag_text(bag, "fix").strip(),
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


def _merged_tools(props: dict[str, Any] | None) -> tuple[str, ...]:
    """The tools our own writer folded into this run (``driver.properties.tools``), if it is such a run."""
    names = (props or {}).get("tools")
    if not isinstance(names, list):
        return ()
    return tuple(dict.fromkeys(n.strip() for n in names if isinstance(n, str) and n.strip()))


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
