"""SARIF ingest: other tools' reports become findings, and a bad report is always a clear ReportError."""

from __future__ import annotations

import ast
import copy
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_stillme.core.findings import CATEGORIES, Finding, Location, Rule, Severity
from pytest_stillme.readers import sarif as ingest
from pytest_stillme.readers.sarif import (
    DEFAULT_TOOL_CATEGORIES,
    IngestResult,
    ReportError,
    parse_sarif,
    read_sarif,
)

ROOT = "/srv/project"
SOURCE = "reports/x.sarif"

# -- realistic documents (shapes of each tool's real SARIF, trimmed) --------------------------------


def semgrep_doc() -> dict[str, Any]:
    rule_id = "python.lang.security.audit.formatted-sql-query.formatted-sql-query"
    return {
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": []}],
                "results": [
                    {
                        "fingerprints": {"matchBasedId/v1": "8d1f0b6e"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "app/db.py", "uriBaseId": "%SRCROOT%"},
                                    "region": {
                                        "startLine": 15,
                                        "startColumn": 5,
                                        "endLine": 15,
                                        "endColumn": 59,
                                        "snippet": {
                                            "text": '    cursor.execute("SELECT * FROM users WHERE id = " + uid)'
                                        },
                                    },
                                }
                            }
                        ],
                        "message": {"text": "Detected possible formatted SQL query. Use parameterized queries."},
                        "properties": {},
                        "ruleId": rule_id,
                    },
                    {
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "app/legacy.py", "uriBaseId": "%SRCROOT%"},
                                    "region": {"startLine": 3, "snippet": {"text": "cursor.execute(q + x)"}},
                                }
                            }
                        ],
                        "message": {"text": "Detected possible formatted SQL query."},
                        "ruleId": rule_id,
                        "suppressions": [{"kind": "inSource"}],
                    },
                ],
                "tool": {
                    "driver": {
                        "name": "Semgrep OSS",
                        "semanticVersion": "1.85.0",
                        "rules": [
                            {
                                "id": rule_id,
                                "name": rule_id,
                                "defaultConfiguration": {"level": "error"},
                                "shortDescription": {"text": f"Semgrep Finding: {rule_id}"},
                                "fullDescription": {"text": "Detected possible formatted SQL query."},
                                "help": {"text": "Use parameterized queries instead.", "markdown": "**Use** them"},
                                "helpUri": f"https://semgrep.dev/r/{rule_id}",
                                "properties": {
                                    "precision": "very-high",
                                    "tags": [
                                        "CWE-89: Improper Neutralization of Special Elements used in an SQL Command",
                                        "HIGH CONFIDENCE",
                                        "OWASP-A03:2021 - Injection",
                                        "security",
                                    ],
                                },
                            }
                        ],
                    }
                },
            }
        ],
    }


def trivy_doc(rootpath: str = "file:///home/runner/work/shop/shop/") -> dict[str, Any]:
    def rule(ident: str, score: str, level: str, title: str) -> dict[str, Any]:
        return {
            "id": ident,
            "name": "LanguageSpecificPackageVulnerability",
            "shortDescription": {"text": title},
            "fullDescription": {"text": f"{title}."},
            "defaultConfiguration": {"level": level},
            "helpUri": f"https://avd.aquasec.com/nvd/{ident.lower()}",
            "help": {"text": f"Vulnerability {ident}", "markdown": f"**Vulnerability {ident}**"},
            "properties": {
                "precision": "very-high",
                "security-severity": score,
                "tags": ["vulnerability", "security", level.upper()],
            },
        }

    def result(ident: str, index: int, level: str, package: str) -> dict[str, Any]:
        return {
            "ruleId": ident,
            "ruleIndex": index,
            "level": level,
            "message": {"text": f"Package: {package}\nInstalled Version: 1.0\nVulnerability {ident}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "requirements.txt", "uriBaseId": "ROOTPATH"},
                        "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
                    },
                    "message": {"text": f"requirements.txt: {package}@1.0"},
                }
            ],
        }

    return {
        "version": "2.1.0",
        "$schema": "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "fullName": "Trivy Vulnerability Scanner",
                        "informationUri": "https://github.com/aquasecurity/trivy",
                        "name": "Trivy",
                        "rules": [
                            rule("CVE-2023-32681", "6.1", "warning", "python-requests: Unintended leak"),
                            rule("CVE-2024-6345", "8.8", "error", "setuptools: Remote code execution"),
                            rule("CVE-2022-40897", "5.9", "warning", "setuptools: ReDoS"),
                        ],
                        "version": "0.56.2",
                    }
                },
                "results": [
                    result("CVE-2023-32681", 0, "warning", "requests"),
                    result("CVE-2024-6345", 1, "error", "setuptools"),
                    result("CVE-2022-40897", 2, "warning", "setuptools"),
                ],
                "columnKind": "utf16CodeUnits",
                "originalUriBaseIds": {"ROOTPATH": {"uri": rootpath}},
            }
        ],
    }


def codeql_doc() -> dict[str, Any]:
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "CodeQL",
                        "organization": "GitHub",
                        "semanticVersion": "2.19.3",
                        "notifications": [{"id": "py/baseline/expected-extracted-files"}],
                        "rules": [],
                    },
                    "extensions": [
                        {
                            "name": "codeql/python-queries",
                            "semanticVersion": "1.3.1",
                            "rules": [
                                {
                                    "id": "py/unused-import",
                                    "name": "py/unused-import",
                                    "shortDescription": {"text": "Unused import"},
                                    "defaultConfiguration": {"enabled": True, "level": "note"},
                                    "properties": {
                                        "tags": ["maintainability", "useless-code"],
                                        "precision": "very-high",
                                        "problem.severity": "recommendation",
                                    },
                                },
                                {
                                    "id": "py/sql-injection",
                                    "name": "py/sql-injection",
                                    "shortDescription": {"text": "SQL query built from user-controlled sources"},
                                    "fullDescription": {"text": "Building a SQL query from user input is unsafe."},
                                    "defaultConfiguration": {"enabled": True, "level": "error"},
                                    "help": {"text": "# SQL query built from user-controlled sources"},
                                    "properties": {
                                        "tags": ["security", "external/cwe/cwe-089"],
                                        "kind": "path-problem",
                                        "precision": "high",
                                        "problem.severity": "error",
                                        "security-severity": "8.8",
                                    },
                                },
                            ],
                        }
                    ],
                },
                "artifacts": [{"location": {"uri": "app/views.py", "uriBaseId": "%SRCROOT%", "index": 0}}],
                "results": [
                    {
                        "ruleId": "py/sql-injection",
                        "ruleIndex": 1,
                        "rule": {"id": "py/sql-injection", "index": 1, "toolComponent": {"index": 0}},
                        "message": {"text": "This SQL query depends on a [user-provided value](1)."},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "app/views.py", "uriBaseId": "%SRCROOT%", "index": 0},
                                    "region": {"startLine": 22, "startColumn": 24, "endColumn": 29},
                                }
                            }
                        ],
                        "partialFingerprints": {
                            "primaryLocationLineHash": "5c9a3b7d2f0e1a4b:1",
                            "primaryLocationStartColumnFingerprint": "19",
                        },
                    },
                    {
                        "ruleId": "py/unused-import",
                        "ruleIndex": 0,
                        "rule": {"id": "py/unused-import", "index": 0, "toolComponent": {"index": 0}},
                        "message": {"text": "Import of 'os' is not used."},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"index": 0}, "region": {"startLine": 1}}}
                        ],
                    },
                ],
                "automationDetails": {"id": "/language:python/"},
            }
        ],
    }


def ruff_doc(root: str = ROOT) -> dict[str, Any]:
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ruff",
                        "informationUri": "https://github.com/astral-sh/ruff",
                        "version": "0.6.9",
                        "rules": [
                            {
                                "id": "F401",
                                "shortDescription": {"text": "{name} imported but unused"},
                                "fullDescription": {"text": "## What it does\nChecks for unused imports."},
                                "help": {"text": "{name} imported but unused"},
                                "helpUri": "https://docs.astral.sh/ruff/rules/unused-import",
                                "properties": {"id": "F401", "kind": "Pyflakes", "name": "unused-import"},
                            }
                        ],
                    }
                },
                "results": [
                    {
                        "level": "error",
                        "message": {"text": "`os` imported but unused"},
                        "ruleId": "F401",
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": f"file://{root}/src/app.py"},
                                    "region": {"startLine": 1, "startColumn": 8, "endLine": 1, "endColumn": 10},
                                }
                            }
                        ],
                    },
                    {
                        "level": "error",
                        "message": {"text": "SyntaxError: Expected an expression"},
                        "ruleId": None,
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": f"file://{root}/src/broken.py"},
                                    "region": {"startLine": 4, "startColumn": 9},
                                }
                            }
                        ],
                    },
                ],
            }
        ],
    }


def bandit_doc() -> dict[str, Any]:
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Bandit",
                        "organization": "PyCQA",
                        "semanticVersion": "1.9.4",
                        "version": "1.9.4",
                        "rules": [
                            {
                                "id": "B105",
                                "name": "hardcoded_password_string",
                                "helpUri": "https://bandit.readthedocs.io/en/1.9.4/plugins/b105.html",
                                "shortDescription": {"text": "hardcoded_password_string"},
                                "fullDescription": {"text": "Bandit check B105: hardcoded_password_string"},
                                "defaultConfiguration": {"level": "note"},
                                "properties": {
                                    "tags": ["security", "external/cwe/cwe-259"],
                                    "precision": "medium",
                                    "cwe": "CWE-259",
                                },
                            },
                            {
                                "id": "B608",
                                "name": "hardcoded_sql_expressions",
                                "defaultConfiguration": {"level": "warning"},
                                "properties": {"tags": ["security", "external/cwe/cwe-89"], "precision": "low"},
                            },
                        ],
                    }
                },
                "invocations": [{"executionSuccessful": True, "endTimeUtc": "2026-05-07T14:31:44Z"}],
                "results": [
                    {
                        "ruleId": "B105",
                        "ruleIndex": 0,
                        "level": "note",
                        "message": {"text": "Possible hardcoded password: '123456'"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": ".\\app.py"},
                                    "region": {
                                        "startLine": 6,
                                        "endLine": 6,
                                        "startColumn": 12,
                                        "endColumn": 20,
                                        "snippet": {"text": 'password = "123456"\n'},
                                    },
                                    "contextRegion": {"startLine": 5, "endLine": 7, "snippet": {"text": "\n"}},
                                }
                            }
                        ],
                        "properties": {
                            "issue_confidence": "MEDIUM",
                            "issue_severity": "LOW",
                            "original_path": ".\\app.py",
                            "tags": ["bandit", "B105", "CWE-259"],
                        },
                        "partialFingerprints": {"primaryLocationLineHash": "ab12"},
                    },
                    {
                        "ruleId": "B608",
                        "ruleIndex": 1,
                        "message": {"text": "Possible SQL injection vector through string-based query construction."},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": ".\\app.py"},
                                    "region": {"startLine": 15, "startColumn": 13},
                                }
                            }
                        ],
                        "properties": {"issue_confidence": "LOW", "issue_severity": "MEDIUM"},
                    },
                ],
            }
        ],
    }


DOCUMENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "semgrep": semgrep_doc,
    "trivy": trivy_doc,
    "codeql": codeql_doc,
    "ruff": ruff_doc,
    "bandit": bandit_doc,
}


def sarif(*runs: dict[str, Any]) -> dict[str, Any]:
    return {"version": "2.1.0", "runs": list(runs)}


def run(
    *results: dict[str, Any], name: str = "Tool", rules: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"tool": {"driver": {"name": name, "rules": rules or []}}, "results": list(results), **extra}


def res(rule_id: str = "R1", text: str = "a problem", uri: str | None = "src/a.py", **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": rule_id, "message": {"text": text}, **extra}
    if uri is not None:
        result.setdefault(
            "locations", [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 3}}}]
        )
    return result


def parse(doc: Any, **kwargs: Any) -> IngestResult:
    kwargs.setdefault("root", ROOT)
    return parse_sarif(doc, source=SOURCE, **kwargs)


def one(doc: Any, **kwargs: Any) -> Finding:
    findings = parse(doc, **kwargs).findings
    assert len(findings) == 1, findings
    return findings[0]


def fails(doc: Any, **kwargs: Any) -> str:
    with pytest.raises(ReportError) as info:
        parse(doc, **kwargs)
    assert info.value.path == SOURCE
    assert str(info.value) == f"{SOURCE}: {info.value.problem}"
    return info.value.problem


# -- the tools ----------------------------------------------------------------------------------------


def test_semgrep() -> None:
    result = parse(semgrep_doc())
    assert result.tools == {"Semgrep OSS": "1.85.0"}
    assert result.errors == ()
    (finding,) = result.findings  # the nosemgrep-suppressed one is skipped
    assert finding.tool == "Semgrep OSS"
    assert finding.tool_version == "1.85.0"
    assert finding.category == "sast"
    assert finding.severity is Severity.HIGH  # no result level: the rule's default "error"
    assert finding.score is None
    assert finding.confidence == "very-high"
    assert finding.location == Location(path="app/db.py", line=15, column=5, end_line=15)
    assert finding.evidence.strip().startswith("cursor.execute(")
    assert finding.message.startswith("Detected possible formatted SQL query")
    rule = finding.rule
    assert rule.id.endswith("formatted-sql-query")
    assert rule.name == rule.id
    assert rule.short_description.startswith("Semgrep Finding:")
    assert rule.full_description == "Detected possible formatted SQL query."
    assert rule.help == "Use parameterized queries instead."
    assert rule.help_uri.startswith("https://semgrep.dev/r/")
    assert rule.cwe == (89,)
    assert rule.tags == ("HIGH CONFIDENCE", "OWASP-A03:2021 - Injection", "security")


def test_trivy_is_container_with_scores_from_rules() -> None:
    result = parse(trivy_doc())
    assert result.tools == {"Trivy": "0.56.2"}
    assert [f.category for f in result.findings] == ["container"] * 3
    assert [f.score for f in result.findings] == [6.1, 8.8, 5.9]
    assert [f.severity for f in result.findings] == [Severity.MEDIUM, Severity.HIGH, Severity.MEDIUM]
    first = result.findings[0]
    assert first.rule.id == "CVE-2023-32681"
    assert first.rule.help_uri == "https://avd.aquasec.com/nvd/cve-2023-32681"
    assert first.rule.tags == ("vulnerability", "security", "WARNING")
    assert first.message.startswith("Package: requests")
    # ROOTPATH points at the CI machine's checkout, not under our root: the uri stays repository-relative.
    assert first.location.path == "requirements.txt"
    assert first.location.line == 1


def test_trivy_rootpath_under_root_keeps_the_subfolder() -> None:
    finding = parse(trivy_doc(rootpath=f"file://{ROOT}/services/api/")).findings[0]
    assert finding.location.path == "services/api/requirements.txt"


def test_trivy_critical_from_a_numeric_score() -> None:
    doc = trivy_doc()
    doc["runs"][0]["tool"]["driver"]["rules"][1]["properties"]["security-severity"] = 9.8
    finding = parse(doc).findings[1]
    assert finding.severity is Severity.CRITICAL
    assert finding.score == 9.8


def test_codeql_rules_in_extensions() -> None:
    result = parse(codeql_doc())
    assert result.tools == {"CodeQL": "2.19.3"}
    sql, unused = result.findings
    assert sql.category == unused.category == "sast"
    assert sql.rule.id == "py/sql-injection"
    assert sql.rule.cwe == (89,)
    assert sql.rule.tags == ("security",)
    assert sql.rule.full_description.startswith("Building a SQL query")
    assert sql.severity is Severity.HIGH
    assert sql.score == 8.8
    assert sql.confidence == "high"
    assert sql.location == Location(path="app/views.py", line=22, column=24)
    assert unused.rule.short_description == "Unused import"
    assert unused.severity is Severity.LOW  # the rule's default level "note"
    assert unused.score is None
    assert unused.location.path == "app/views.py"  # only an index into run.artifacts


def test_codeql_reference_by_component_name() -> None:
    doc = codeql_doc()
    results = doc["runs"][0]["results"]
    results[0]["rule"]["toolComponent"] = {"name": "codeql/python-queries"}
    del results[0]["ruleIndex"]
    assert parse(doc).findings[0].score == 8.8


def test_codeql_unresolvable_component_falls_back_to_the_id() -> None:
    doc = codeql_doc()
    doc["runs"][0]["results"][0]["rule"]["toolComponent"] = {"index": 7}
    assert parse(doc).findings[0].rule.cwe == (89,)


def test_ruff() -> None:
    result = parse(ruff_doc())
    assert result.tools == {"ruff": "0.6.9"}
    unused, syntax = result.findings
    assert unused.category == syntax.category == "lint"
    assert unused.severity is Severity.HIGH
    assert unused.location == Location(path="src/app.py", line=1, column=8, end_line=1)
    assert unused.rule.help_uri.endswith("unused-import")
    assert syntax.rule.id == "unknown-rule"  # ruff writes "ruleId": null for syntax errors
    assert syntax.location.path == "src/broken.py"


def test_ruff_against_a_real_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "ruff.sarif"
    report.write_text(json.dumps(ruff_doc(root=tmp_path.resolve().as_posix())))
    monkeypatch.chdir(tmp_path)
    assert read_sarif(report).findings[0].location.path == "src/app.py"  # root defaults to "."


def test_bandit() -> None:
    result = parse(bandit_doc())
    assert result.tools == {"Bandit": "1.9.4"}
    password, sql = result.findings
    assert password.category == "sast"
    assert password.severity is Severity.LOW
    assert password.location == Location(path="app.py", line=6, column=12, end_line=6)
    assert password.evidence == 'password = "123456"\n'
    assert password.rule.cwe == (259,)
    assert password.confidence == "medium"
    assert sql.severity is Severity.MEDIUM  # level omitted: the rule's default "warning"
    assert sql.rule.cwe == (89,)
    assert sql.location.path == "app.py"


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_documents_from_disk_match_parse(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.sarif"
    path.write_text(json.dumps(DOCUMENTS[name](), indent=2), encoding="utf-8")
    assert read_sarif(path, root=ROOT) == parse_sarif(DOCUMENTS[name](), source=str(path), root=ROOT)


# -- severity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        ("error", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        ("note", Severity.LOW),
        ("none", Severity.INFO),
        ("ERROR", Severity.HIGH),
        (None, Severity.MEDIUM),
    ],
)
def test_level_banding(level: str | None, severity: Severity) -> None:
    extra = {} if level is None else {"level": level}
    assert one(sarif(run(res(**extra)))).severity is severity


def test_level_falls_back_to_the_rule_default() -> None:
    rules = [{"id": "R1", "defaultConfiguration": {"level": "note"}}]
    assert one(sarif(run(res(), rules=rules))).severity is Severity.LOW
    assert one(sarif(run(res(level="error"), rules=rules))).severity is Severity.HIGH


def test_non_failing_kinds() -> None:
    # kind other than "fail" and no level: SARIF's default is "none"
    assert one(sarif(run(res(kind="review")))).severity is Severity.INFO
    assert one(sarif(run(res(kind="fail")))).severity is Severity.MEDIUM
    assert parse(sarif(run(res(kind="pass"), res(kind="notApplicable")))).findings == ()


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        ("10.0", Severity.CRITICAL),
        ("9.0", Severity.CRITICAL),
        ("8.9", Severity.HIGH),
        (7, Severity.HIGH),
        ("6.9", Severity.MEDIUM),
        (4.0, Severity.MEDIUM),
        ("3.9", Severity.LOW),
        (" 0.1 ", Severity.LOW),
        ("0.0", Severity.INFO),
        (0, Severity.INFO),
    ],
)
def test_security_severity_banding(score: Any, severity: Severity) -> None:
    finding = one(sarif(run(res(level="note", properties={"security-severity": score}))))
    assert finding.severity is severity
    assert finding.score == float(score)


def test_security_severity_result_before_rule() -> None:
    rules = [{"id": "R1", "properties": {"security-severity": "9.5"}}]
    assert one(sarif(run(res(properties={"security-severity": "2.0"}), rules=rules))).score == 2.0
    assert one(sarif(run(res(), rules=rules))).severity is Severity.CRITICAL


def test_empty_security_severity_is_absent() -> None:
    finding = one(sarif(run(res(level="note", properties={"security-severity": ""}))))
    assert (finding.severity, finding.score) == (Severity.LOW, None)


@pytest.mark.parametrize("bad", ["high", "nan", "inf", True, [7], {"v": 1}, 10**400, "x" * 10_000])
def test_security_severity_not_a_number(bad: Any) -> None:
    problem = fails(sarif(run(res(properties={"security-severity": bad}))))
    assert problem.startswith("runs[0].results[0].properties.security-severity: not a number")
    assert len(problem) < 200
    rules = [{"id": "R1", "properties": {"security-severity": bad}}]
    problem = fails(sarif(run(res(), rules=rules)))
    assert problem.startswith("runs[0].tool.driver.rules[0].properties.security-severity: not a number")


# -- category ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "category"),
    [
        ("Trivy", "container"),
        ("Grype", "container"),
        ("Semgrep OSS", "sast"),
        ("CodeQL", "sast"),
        ("Bandit", "sast"),
        ("ruff", "lint"),
        ("Mypy", "lint"),
        ("pylint", "lint"),
        ("flake8", "lint"),
        ("pip-audit", "deps"),
        ("osv-scanner", "deps"),
        ("OWASP ZAP", "dast"),
        ("Something Unknown", "sast"),
    ],
)
def test_category_from_tool_name(tool: str, category: str) -> None:
    assert one(sarif(run(res(), name=tool))).category == category


def test_default_table_is_sane() -> None:
    assert all(key == key.lower() for key in DEFAULT_TOOL_CATEGORIES)
    assert set(DEFAULT_TOOL_CATEGORIES.values()) <= set(CATEGORIES)


def test_user_mapping_first_and_default_category() -> None:
    doc = sarif(run(res(), name="Trivy"), run(res(), name="acme-scan"))
    findings = parse(doc, tool_categories={"TRIVY": "deps"}, default_category="lint").findings
    assert [f.category for f in findings] == ["deps", "lint"]


def test_longest_match_wins() -> None:
    table = {"snyk": "sast", "snyk container": "container"}
    assert one(sarif(run(res(), name="Snyk Container")), tool_categories=table).category == "container"


def test_own_category_round_trips() -> None:
    doc = sarif(
        run(res(properties={"category": "fuzz"}), res(text="other"), name="stillme", properties={"category": "slo"})
    )
    assert [f.category for f in parse(doc).findings] == ["fuzz", "slo"]


def test_foreign_category_property_is_ignored() -> None:
    doc = sarif(run(res(properties={"category": "security"}), res(properties={"category": 3}), name="ruff"))
    assert [f.category for f in parse(doc).findings] == ["lint", "lint"]


def test_bad_categories_are_the_callers_mistake() -> None:
    with pytest.raises(ValueError, match="unknown default category"):
        parse(sarif(), default_category="security")
    with pytest.raises(ValueError, match="unknown category 'x' for tool 'acme'"):
        parse(sarif(), tool_categories={"acme": "x"})


# -- location ---------------------------------------------------------------------------------------


def location_of(uri: str) -> Location:
    result = res(uri=None)
    result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": uri}}}]
    return one(sarif(run(result))).location


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("src/a.py", "src/a.py"),
        ("./src/a.py", "src/a.py"),
        (".\\src\\a.py", "src/a.py"),
        ("src\\pkg\\a.py", "src/pkg/a.py"),
        ("src/my%20file.py", "src/my file.py"),
        ("src/./pkg//a.py", "src/pkg/a.py"),
        (".//src/a.py", "src/a.py"),
        ("././src/a.py", "src/a.py"),
        (f"file://{ROOT}/src/a.py", "src/a.py"),
        (f"file://{ROOT}/src/my%20file.py", "src/my file.py"),
        (f"{ROOT}/src/a.py", "src/a.py"),
        ("file:///elsewhere/a.py", "/elsewhere/a.py"),
        ("file:///C:/work/app/a.py", "C:/work/app/a.py"),
        ("C:\\work\\app\\a.py", "C:/work/app/a.py"),
        ("pkg:pypi/requests@2.31.0", "pkg:pypi/requests@2.31.0"),
        ("file://localhost/srv/project/a.py", "a.py"),
        ("file://fileserver/share/a.py", "//fileserver/share/a.py"),
        ("file://[bad/a.py", "//[bad/a.py"),
        (f"file://{ROOT}/a.py?x=1#L3", "a.py"),
    ],
)
def test_uri_to_path(uri: str, path: str) -> None:
    assert location_of(uri).path == path


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(
        ["", "file:", "file://", "file:///", "http://", "FILE:///C:", "C:\\", "/", "./", ".\\", "%"]
    ).flatmap(lambda prefix: st.text(max_size=20).map(lambda tail: prefix + tail)),
    st.sampled_from(["", "SRC", "NESTED", "NOPE"]),
)
def test_any_uri_gives_a_path_or_a_url(uri: str, base: str) -> None:
    result = res(uri=None)
    result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": base}}}]
    bases = {"SRC": {"uri": f"file://{ROOT}/"}, "NESTED": {"uri": "lib/", "uriBaseId": "SRC"}}
    location = one(sarif(run(result, originalUriBaseIds=bases))).location
    assert not (location.path and location.url)
    assert not location.path.startswith("./")
    assert "\\" not in location.path


def test_uri_base_ids() -> None:
    bases = {
        "SRCROOT": {"uri": f"file://{ROOT}/"},
        "PKG": {"uri": "lib/pkg/", "uriBaseId": "SRCROOT"},
        "LOOP": {"uri": "x/", "uriBaseId": "LOOP"},
        "RELATIVE": {"uri": "services/"},
        "UNKNOWN": {},
    }

    def path(uri: str, base: str) -> str:
        result = res(uri=None)
        result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": base}}}]
        return one(sarif(run(result, originalUriBaseIds=bases))).location.path

    assert path("a.py", "SRCROOT") == "a.py"
    assert path("a.py", "PKG") == "lib/pkg/a.py"
    assert path("a.py", "RELATIVE") == "services/a.py"
    assert path("a.py", "LOOP") == "a.py"
    assert path("a.py", "UNKNOWN") == "a.py"
    assert path("a.py", "%SRCROOT%") == "a.py"
    assert path(f"file://{ROOT}/b.py", "PKG") == "b.py"  # an absolute uri ignores its base


def test_root_with_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    doc = sarif(run(res(uri=f"file://{real.as_posix()}/a.py")))
    assert parse_sarif(doc, source=SOURCE, root=link).findings[0].location.path == "a.py"


def test_windows_root_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "root_spellings", lambda root: ("C:/Work/Shop",))
    assert location_of("file:///c:/work/shop/src/a.py").path == "src/a.py"
    assert location_of("C:\\Work\\Shop\\src\\a.py").path == "src/a.py"
    assert location_of("C:/Work/Other/a.py").path == "C:/Work/Other/a.py"


def test_the_root_itself_is_no_path() -> None:
    assert location_of(f"file://{ROOT}/").path == ""
    assert location_of(".").path == ""


def test_http_uri_is_a_url() -> None:
    location = location_of("https://shop.example/login?next=%2F")
    assert location == Location(url="https://shop.example/login?next=%2F")


def test_region_and_no_location() -> None:
    result = res(uri=None)
    assert one(sarif(run(result))).location == Location()
    result["locations"] = [{"logicalLocations": [{"name": "main"}]}]
    assert one(sarif(run(result))).location == Location()
    result["locations"] = [{"physicalLocation": {"region": {"startLine": 9}}}]
    assert one(sarif(run(result))).location == Location(line=9)


def test_only_the_first_location_counts() -> None:
    result = res(uri=None)
    result["locations"] = [
        {"physicalLocation": {"artifactLocation": {"uri": "first.py"}}},
        {"physicalLocation": {"artifactLocation": {"uri": "second.py"}}},
    ]
    assert one(sarif(run(result))).location.path == "first.py"


def test_location_details_from_properties() -> None:
    props = {"url": "http://localhost:8000/search?q=1", "method": "GET", "param": "q"}
    finding = one(sarif(run(res(uri="app/main.py", properties=props))))
    assert finding.location.url == "http://localhost:8000/search?q=1"
    assert (finding.location.method, finding.location.param, finding.location.path) == ("GET", "q", "app/main.py")
    pkg = one(sarif(run(res(uri="requirements.txt", properties={"package": "requests", "version": "2.19.0"}))))
    assert pkg.location.describe() == "requests 2.19.0 (requirements.txt:3)"
    ignored = one(sarif(run(res(properties={"package": 5, "version": ["x"]}))))
    assert (ignored.location.package, ignored.location.version) == ("", "")


def test_login_placeholder_snippet_is_not_evidence() -> None:
    result = res(uri=None)
    result["locations"] = [
        {"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"snippet": {"text": "requires login"}}}}
    ]
    assert one(sarif(run(result))).evidence == ""


# -- fingerprints -----------------------------------------------------------------------------------


def test_stillme_fingerprint_round_trips() -> None:
    original = Finding(
        tool="stillme-fuzz",
        rule=Rule(id="fuzz/crash", name="crash"),
        category="fuzz",
        severity=Severity.HIGH,
        message="ValueError on input 'x'",
        location=Location(url="http://localhost:8000/items", method="POST", param="name"),
    )
    doc = sarif(
        run(
            {
                "ruleId": original.rule.id,
                "level": original.severity.sarif_level,
                "message": {"text": original.message},
                "partialFingerprints": {"stillme/v1": original.fingerprint},
                "properties": {
                    "category": "fuzz",
                    "security-severity": str(original.security_severity),
                    "url": original.location.url,
                    "method": original.location.method,
                    "param": original.location.param,
                },
            },
            name=original.tool,
        )
    )
    back = one(doc)
    assert back.fingerprint == original.fingerprint
    assert (back.category, back.severity, back.location) == ("fuzz", Severity.HIGH, original.location)
    assert back.score == original.security_severity


def test_properties_our_writer_keeps() -> None:
    props = {"confidence": "Very High", "fix": "Add the header", "evidence": "Server: nginx/1.2"}
    finding = one(sarif(run(res(uri=None, properties=props))))
    assert (finding.confidence, finding.fix, finding.evidence) == ("very-high", "Add the header", "Server: nginx/1.2")
    assert one(sarif(run(res(properties={"precision": "LOW", "confidence": "high"})))).confidence == "low"
    assert one(sarif(run(res(properties={"confidence": 0.9, "fix": 1, "evidence": []})))).confidence == ""


def test_folded_run_gives_each_result_its_tool() -> None:
    folded = run(
        res("ruff/F401", properties={"tool": "ruff"}),
        res("zap/10038", properties={"tool": "zap"}),
        res("ruff/E501", properties={"tool": "someone-else"}),
        res("R9"),
        name="pytest-stillme (other tools)",
        rules=[{"id": "ruff/F401", "shortDescription": {"text": "unused import"}}],
    )
    folded["tool"]["driver"]["properties"] = {"tools": ["ruff", "zap", "", 3]}
    result = parse(sarif(folded))
    assert result.tools == {"ruff": "", "zap": ""}
    assert [(f.tool, f.rule.id, f.category) for f in result.findings] == [
        ("ruff", "F401", "lint"),
        ("zap", "10038", "dast"),
        ("pytest-stillme (other tools)", "ruff/E501", "sast"),
        ("pytest-stillme (other tools)", "R9", "sast"),
    ]
    assert result.findings[0].rule.short_description == "unused import"


def test_our_own_sarif_round_trips() -> None:
    """The writer's output read back: same fingerprints, tools, categories, severities and places."""
    from pytest_stillme.report.sarif import build_runs

    findings = [
        Finding(
            "Bandit",
            Rule("B105", "hardcoded_password_string", cwe=(259,)),
            "sast",
            Severity.LOW,
            "Possible hardcoded password",
            Location("app/settings.py", 6, 12),
            evidence='password = "123456"',
            confidence="medium",
            tool_version="1.9.4",
        ),
        Finding(
            "stillme-dast",
            Rule("headers/csp"),
            "dast",
            Severity.MEDIUM,
            "No Content-Security-Policy header",
            Location(url="http://127.0.0.1:8000/api/items?q=1", method="GET", param="q"),
            fix="Send a Content-Security-Policy header",
        ),
        Finding(
            "pip-audit",
            Rule("PYSEC-2023-74"),
            "deps",
            Severity.CRITICAL,
            "requests leaks Proxy-Authorization",
            Location("requirements.txt", package="requests", version="2.19.0"),
            score=9.8,
        ),
        Finding("stillme-slo", Rule("latency/p99"), "slo", Severity.HIGH, "p99 900 ms > 500 ms", evidence="p99=900ms"),
        Finding("ruff", Rule("F401"), "lint", Severity.INFO, "`os` imported but unused", Location("src/a.py", 1)),
        Finding(
            "ruff",
            Rule("F401"),
            "lint",
            Severity.INFO,
            "`os` imported but unused",
            Location("src/a.py", 9),
            occurrence=1,
        ),
    ]
    for max_runs in (20, 2):  # 2: most tools are folded into one run
        doc = {"version": "2.1.0", "runs": build_runs(findings, root=ROOT, max_runs=max_runs)}
        back = {f.fingerprint: f for f in parse(json.loads(json.dumps(doc))).findings}
        assert set(back) == {f.fingerprint for f in findings}
        for original in findings:
            again = back[original.fingerprint]
            assert (again.tool, again.rule.id, again.category, again.severity) == (
                original.tool,
                original.rule.id,
                original.category,
                original.severity,
            )
            assert again.rule.cwe == original.rule.cwe
            assert (again.evidence, again.fix, again.confidence) == (
                original.evidence,
                original.fix,
                original.confidence,
            )
            loc, back_loc = original.location, again.location
            assert (back_loc.url, back_loc.method, back_loc.param) == (loc.url, loc.method, loc.param)
            assert (back_loc.package, back_loc.version, back_loc.line) == (loc.package, loc.version, loc.line)
            if loc.path:
                assert back_loc.path == loc.path
            assert again.security_severity == original.security_severity


def test_without_stillme_fingerprint_one_is_computed() -> None:
    finding = one(sarif(run(res(partialFingerprints={"primaryLocationLineHash": "abc"}))))
    assert finding.fingerprint not in ("", "abc")


def test_identical_results_get_distinct_fingerprints() -> None:
    doc = sarif(run(res(), res(), res(text="a problem", uri="src/a.py"), res(text="another")))
    findings = parse(doc).findings
    assert [f.occurrence for f in findings] == [0, 1, 2, 0]
    assert len({f.fingerprint for f in findings}) == 4
    # the same report parsed again gives the same fingerprints, in the same order
    assert [f.fingerprint for f in parse(doc).findings] == [f.fingerprint for f in findings]


def test_line_moves_do_not_change_fingerprints() -> None:
    def at(line: int) -> dict[str, Any]:
        result = res(uri=None)
        result["locations"] = [
            {"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": line}}}
        ]
        return result

    assert one(sarif(run(at(3)))).fingerprint == one(sarif(run(at(30)))).fingerprint


# -- suppression and baseline -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suppressions", "kept"),
    [
        ([], True),
        ([{"kind": "inSource"}], False),
        ([{"kind": "external", "status": "accepted"}], False),
        ([{"kind": "external", "status": "underReview"}], True),
        ([{"kind": "external", "status": "rejected"}], True),
        # One suppression rejected (or under review) keeps the result active, as GitLab and the SARIF SDK read it.
        ([{"status": "rejected"}, {"kind": "inSource", "justification": "ok"}], True),
    ],
)
def test_suppressions(suppressions: list[dict[str, Any]], kept: bool) -> None:
    result = parse(sarif(run(res(suppressions=suppressions))))
    assert len(result.findings) == int(kept)
    # Never dropped: a suppressed result is counted, with why.
    assert len(result.suppressed) == int(not kept)
    assert all(f.suppressed_by for f in result.suppressed)


def test_suppressions_can_be_ignored() -> None:
    doc = sarif(run(res(suppressions=[{"kind": "inSource", "justification": "false positive"}])))
    assert parse(doc).suppressed[0].suppressed_by == "inSource: false positive"
    assert len(parse_sarif(doc, source=SOURCE, root=ROOT, honour_suppressions=False).findings) == 1


@pytest.mark.parametrize(("state", "kept"), [("new", True), ("unchanged", True), ("updated", True), ("absent", False)])
def test_baseline_state(state: str, kept: bool) -> None:
    assert len(parse(sarif(run(res(baselineState=state)))).findings) == int(kept)


# -- messages ---------------------------------------------------------------------------------------


def test_messages() -> None:
    rules = [
        {
            "id": "R1",
            "shortDescription": {"text": "Short"},
            "messageStrings": {"default": {"text": "Call to {0} with {1}"}, "md": {"markdown": "*x*"}},
        }
    ]
    run_ = run(
        res(text="plain"),
        {"ruleId": "R1", "message": {"markdown": "**md**"}},
        {"ruleId": "R1", "message": {"id": "default", "arguments": ["eval", "input"]}},
        {"ruleId": "R1", "message": {"id": "default", "arguments": ["eval"]}},
        {"ruleId": "R1", "message": {"id": "md"}},
        {"ruleId": "R1", "message": {"id": "global"}},
        {"ruleId": "R1", "message": {"id": "nowhere"}},
        {"ruleId": "R1"},
        {"ruleId": "R1", "message": {"text": "{0} has {{braces}}", "arguments": ["x"]}},
        {"ruleId": "R1", "message": {"text": "code {0} {} stays"}},
        {"ruleId": "R2"},
        rules=rules,
    )
    run_["tool"]["driver"]["globalMessageStrings"] = {"global": {"text": "From the driver"}}
    messages = [f.message for f in parse(sarif(run_)).findings]
    assert messages == [
        "plain",
        "**md**",
        "Call to eval with input",
        "Call to eval with {1}",
        "*x*",
        "From the driver",
        "Short",
        "Short",
        "x has {braces}",
        "code {0} {} stays",
        "R2",
    ]


def test_fix_text() -> None:
    fixes = [{"description": {"text": "Use a parameterised query"}, "artifactChanges": []}]
    assert one(sarif(run(res(fixes=fixes)))).fix == "Use a parameterised query"


# -- tools and failed runs --------------------------------------------------------------------------


def test_every_run_is_a_tool_even_without_results() -> None:
    doc = sarif(
        run(name="Quiet"),
        {"tool": {"driver": {"name": "NoResults", "semanticVersion": "2.0"}}},
        {"tool": {"driver": {"name": "Quiet", "version": "1.1"}}, "results": None},
        {"tool": {"driver": {"name": "Quiet"}}},
    )
    result = parse(doc)
    assert result.findings == ()
    assert result.tools == {"Quiet": "1.1", "NoResults": "2.0"}


def test_failed_run_is_an_error_not_a_clean_result() -> None:
    failed = run(
        res(),
        name="Semgrep OSS",
        invocations=[{"executionSuccessful": False, "exitCode": 2, "exitCodeDescription": "invalid config"}],
    )
    result = parse(sarif(failed))
    (error,) = result.errors
    assert (error.tool, error.target) == ("Semgrep OSS", SOURCE)
    assert error.message == "the run failed (exit code 2, invalid config)"
    assert error.hint
    assert len(result.findings) == 1  # partial results are still reported


def test_error_notifications_are_errors() -> None:
    notifications = [
        {"level": "error", "message": {"text": "Could not process app/broken.py"}},
        {"level": "warning", "message": {"text": "slow file"}},
        {"message": {"text": "default level is warning"}},
        {"level": "error", "descriptor": {"id": "extraction/failure"}},
    ]
    doc = sarif(
        run(name="CodeQL", invocations=[{"executionSuccessful": True, "toolExecutionNotifications": notifications}])
    )
    errors = parse(doc).errors
    assert [e.message for e in errors] == [
        "error during the run: Could not process app/broken.py",
        "error during the run: error notification extraction/failure",
    ]
    assert {e.tool for e in errors} == {"CodeQL"}


def test_failed_run_with_notifications_reports_them() -> None:
    invocation = {
        "executionSuccessful": False,
        "toolExecutionNotifications": [{"level": "error", "message": {"text": "boom"}}],
    }
    (error,) = parse(sarif(run(invocations=[invocation]))).errors
    assert error.message == "error during the run: boom"
    assert not parse(sarif(run(invocations=[{"executionSuccessful": True}]))).errors


# -- bad input: files -------------------------------------------------------------------------------


def read_fails(path: Path) -> str:
    with pytest.raises(ReportError) as info:
        read_sarif(path, root=ROOT)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: ")
    return info.value.problem


def test_missing_file(tmp_path: Path) -> None:
    assert read_fails(tmp_path / "nope.sarif") == "cannot read the report: No such file or directory"


def test_directory(tmp_path: Path) -> None:
    assert read_fails(tmp_path).startswith("cannot read the report: ")


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.sarif"
    path.write_bytes(content)
    assert read_fails(path) == "not a report: the file is empty"


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.sarif"
    path.write_text(json.dumps(semgrep_doc(), indent=2)[:700])
    problem = read_fails(path)
    assert problem.startswith("not a report: not valid JSON (line ")
    assert "plain-text" not in problem


def test_trivy_table_saved_as_sarif(tmp_path: Path) -> None:
    path = tmp_path / "trivy.sarif"
    path.write_text(
        "\nrequirements.txt (pip)\n======================\nTotal: 2 (HIGH: 1, CRITICAL: 1)\n\n"
        "┌──────────┬────────────────┬──────────┐\n│ Library  │ Vulnerability  │ Severity │\n"
    )
    problem = read_fails(path)
    assert problem.startswith("not a report: not valid JSON (line 2, column 1): Expecting value")
    assert "plain-text output" in problem


def test_not_json_at_line_one(tmp_path: Path) -> None:
    path = tmp_path / "x.sarif"
    path.write_text("Total: 0\n")
    assert read_fails(path).startswith("not a report: not valid JSON (line 1, column 1): Expecting value")


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.sarif"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(bandit_doc()).encode())
    assert len(read_sarif(path, root=ROOT).findings) == 2


def test_utf16_from_powershell_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "ps.sarif"
    path.write_bytes(json.dumps(bandit_doc()).encode("utf-16"))
    assert len(read_sarif(path, root=ROOT).findings) == 2


def test_not_text(tmp_path: Path) -> None:
    path = tmp_path / "bin.sarif"
    path.write_bytes(b'{"version": "\xff\xfe\xfa"}')
    assert read_fails(path).startswith("not a report: not text (utf-8: invalid start byte at byte 13)")


def test_huge_integer(tmp_path: Path) -> None:
    path = tmp_path / "int.sarif"
    path.write_text('{"version": ' + "9" * 5000 + "}")
    assert read_fails(path).startswith("not a report: not valid JSON")


def test_deeply_nested(tmp_path: Path) -> None:
    path = tmp_path / "deep.sarif"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert read_fails(path).startswith("not a report: ")


def test_a_large_report_is_quick(tmp_path: Path) -> None:
    doc = sarif(run(*(res(text=f"problem {i}", uri=f"src/m{i % 50}.py") for i in range(20_000)), name="ruff"))
    path = tmp_path / "big.sarif"
    path.write_text(json.dumps(doc))
    result = read_sarif(path, root=ROOT)
    assert len(result.findings) == 20_000
    assert len({f.fingerprint for f in result.findings}) == 20_000


# -- bad input: structure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ([], "not SARIF: the top level is an array, not an object"),
        ("2.1.0", "not SARIF: the top level is a string, not an object"),
        (None, "not SARIF: the top level is null, not an object"),
        ({"runs": []}, "not SARIF: no 'version' (expected 2.1.0)"),
        ({"version": "2.0.0", "runs": []}, "unsupported SARIF version '2.0.0' (expected 2.1.0)"),
        ({"version": 2.1, "runs": []}, "unsupported SARIF version a number (expected 2.1.0)"),
        ({"version": "2.1.0"}, "not SARIF: no 'runs' array"),
        ({"version": "2.1.0", "runs": {}}, "runs: expected an array, got an object"),
        ({"version": "2.1.0", "runs": [7]}, "runs[0]: expected an object, got a number"),
        ({"version": "2.1.0", "runs": [{}]}, "runs[0].tool: missing (every run must name its tool)"),
        ({"version": "2.1.0", "runs": [{"tool": []}]}, "runs[0].tool: expected an object, got an array"),
        ({"version": "2.1.0", "runs": [{"tool": {}}]}, "runs[0].tool.driver: missing (every run must name its tool)"),
        (
            {"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]},
            "runs[0].tool.driver.name: missing (every run must name its tool)",
        ),
        (
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "  "}}}]},
            "runs[0].tool.driver.name: missing (every run must name its tool)",
        ),
        (
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": 3}}}]},
            "runs[0].tool.driver.name: expected a string, got a number",
        ),
        (
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "version": 1.2}}}]},
            "runs[0].tool.driver.version: expected a string, got a number",
        ),
    ],
)
def test_document_errors(doc: Any, problem: str) -> None:
    assert fails(doc) == problem


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda r: r.update(results={}), "runs[1].results: expected an array, got an object"),
        (lambda r: r["results"].append("x"), "runs[1].results[2]: expected an object, got a string"),
        (
            lambda r: r["results"][1].update(level="fatal"),
            "runs[1].results[1].level: unknown level 'fatal' (expected none, note, warning or error)",
        ),
        (lambda r: r["results"][1].update(level=3), "runs[1].results[1].level: expected a string, got a number"),
        (lambda r: r["results"][1].update(ruleId=["R1"]), "runs[1].results[1].ruleId: expected a string, got an array"),
        (
            lambda r: r["results"][1].update(ruleIndex="0"),
            "runs[1].results[1].ruleIndex: expected an integer, got a string",
        ),
        (
            lambda r: r["results"][1].update(ruleIndex=-2),
            "runs[1].results[1].ruleIndex: expected an integer >= -1, got -2",
        ),
        (
            lambda r: r["results"][1].update(message="hi"),
            "runs[1].results[1].message: expected an object, got a string",
        ),
        (
            lambda r: r["results"][1]["message"].update(text=5),
            "runs[1].results[1].message.text: expected a string, got a number",
        ),
        (
            lambda r: r["results"][1]["message"].update(arguments=[1]),
            "runs[1].results[1].message.arguments[0]: expected a string, got a number",
        ),
        (
            lambda r: r["results"][1].update(locations={}),
            "runs[1].results[1].locations: expected an array, got an object",
        ),
        (
            lambda r: r["results"][1].update(locations=[[]]),
            "runs[1].results[1].locations[0]: expected an object, got an array",
        ),
        (
            lambda r: r["results"][1]["locations"][0]["physicalLocation"].update(artifactLocation="a.py"),
            "runs[1].results[1].locations[0].physicalLocation.artifactLocation: expected an object, got a string",
        ),
        (
            lambda r: r["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"].update(uri=1),
            "runs[1].results[1].locations[0].physicalLocation.artifactLocation.uri: expected a string, got a number",
        ),
        (
            lambda r: r["results"][1]["locations"][0]["physicalLocation"]["region"].update(startLine="3"),
            "runs[1].results[1].locations[0].physicalLocation.region.startLine: expected an integer, got a string",
        ),
        (
            lambda r: r["results"][1]["locations"][0]["physicalLocation"]["region"].update(startLine=True),
            "runs[1].results[1].locations[0].physicalLocation.region.startLine: expected an integer, got a boolean",
        ),
        (
            lambda r: r["results"][1]["locations"][0]["physicalLocation"]["region"].update(startColumn=-1),
            "runs[1].results[1].locations[0].physicalLocation.region.startColumn: expected an integer >= 0, got -1",
        ),
        (
            lambda r: r["results"][1]["locations"][0]["physicalLocation"]["region"].update(snippet={"text": 1}),
            "runs[1].results[1].locations[0].physicalLocation.region.snippet.text: expected a string, got a number",
        ),
        (
            lambda r: r["results"][1].update(suppressions={}),
            "runs[1].results[1].suppressions: expected an array, got an object",
        ),
        (
            lambda r: r["results"][1].update(suppressions=[{"status": 1}]),
            "runs[1].results[1].suppressions[0].status: expected a string, got a number",
        ),
        (
            lambda r: r["results"][1].update(properties=[]),
            "runs[1].results[1].properties: expected an object, got an array",
        ),
        (
            lambda r: r["results"][1].update(partialFingerprints={"stillme/v1": 1}),
            "runs[1].results[1].partialFingerprints.stillme/v1: expected a string, got a number",
        ),
        (lambda r: r["tool"]["driver"].update(rules={}), "runs[1].tool.driver.rules: expected an array, got an object"),
        (
            lambda r: r["tool"]["driver"]["rules"].append({}),
            "runs[1].tool.driver.rules[1].id: missing (every rule needs an id)",
        ),
        (
            lambda r: r["tool"]["driver"]["rules"][0].update(defaultConfiguration={"level": "severe"}),
            "runs[1].tool.driver.rules[0].defaultConfiguration.level: unknown level 'severe' "
            "(expected none, note, warning or error)",
        ),
        (
            lambda r: r["tool"]["driver"]["rules"][0].update(properties={"tags": "security"}),
            "runs[1].tool.driver.rules[0].properties.tags: expected an array, got a string",
        ),
        (
            lambda r: r["tool"]["driver"]["rules"][0].update(properties={"tags": ["a", 1]}),
            "runs[1].tool.driver.rules[0].properties.tags[1]: expected a string, got a number",
        ),
        (
            lambda r: r["tool"]["driver"]["rules"][0].update(shortDescription="x"),
            "runs[1].tool.driver.rules[0].shortDescription: expected an object, got a string",
        ),
        (lambda r: r["tool"].update(extensions=[1]), "runs[1].tool.extensions[0]: expected an object, got a number"),
        (
            lambda r: (
                r.update(artifacts=[{"location": {"uri": 5}}])
                or r["results"][1]["locations"][0]["physicalLocation"].update(artifactLocation={"index": 0})
            ),
            "runs[1].artifacts[0].location.uri: expected a string, got a number",
        ),
        (
            lambda r: r["results"][1].update(ruleId=None, ruleIndex=5),
            "runs[1].results[1].ruleIndex: 5 is out of range (1 rules) and the result has no ruleId",
        ),
        (
            lambda r: r["results"][1].update(ruleId=None, rule={"index": 4}),
            "runs[1].results[1].rule.index: 4 is out of range (1 rules) and the result has no ruleId",
        ),
        (lambda r: r.update(invocations={}), "runs[1].invocations: expected an array, got an object"),
        (
            lambda r: r.update(invocations=[{"executionSuccessful": "no"}]),
            "runs[1].invocations[0].executionSuccessful: expected true or false, got a string",
        ),
        (
            lambda r: r.update(invocations=[{"toolExecutionNotifications": [{"level": "fatal"}]}]),
            "runs[1].invocations[0].toolExecutionNotifications[0].level: unknown level 'fatal' "
            "(expected none, note, warning or error)",
        ),
        (
            lambda r: r.update(originalUriBaseIds={"SRC": "file:///x/"}),
            "runs[1].originalUriBaseIds.SRC: expected an object, got a string",
        ),
    ],
)
def test_structure_errors_name_the_place(mutate: Callable[[dict[str, Any]], None], problem: str) -> None:
    doc = sarif(run(res(), name="First"), run(res(), res(), name="Second", rules=[{"id": "R1"}]))
    mutate(doc["runs"][1])
    assert fails(doc) == problem


def test_report_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(ReportError("a.sarif", "not SARIF: the file is empty")))
    assert (error.path, error.problem, str(error)) == (
        "a.sarif",
        "not SARIF: the file is empty",
        "a.sarif: not SARIF: the file is empty",
    )


def test_ingest_imports_neither_pytest_nor_jsonschema() -> None:
    tree = ast.parse(Path(ingest.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert not imported & {"pytest", "_pytest", "jsonschema"}


# -- property tests ---------------------------------------------------------------------------------

SARIF_KEYS = [
    "version", "runs", "tool", "driver", "name", "version", "results", "ruleId", "ruleIndex", "rule", "index",
    "level", "message", "text", "locations", "physicalLocation", "artifactLocation", "uri", "uriBaseId", "region",
    "startLine", "snippet", "properties", "security-severity", "rules", "extensions", "suppressions", "status",
    "invocations", "executionSuccessful", "toolExecutionNotifications", "originalUriBaseIds", "partialFingerprints",
]  # fmt: skip

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["2.1.0", "error", "warning", "note", "none", "accepted", "7.5", "file:///x/", "%SRCROOT%"])
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(SARIF_KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


def only_report_errors(doc: Any) -> None:
    try:
        result = parse_sarif(doc, source="fuzz.sarif", root=ROOT)
    except ReportError as exc:
        error: ReportError | None = exc
    else:
        error = None
        assert all(f.category in CATEGORIES for f in result.findings)
    if error is not None:
        assert str(error).startswith("fuzz.sarif: ")
        assert error.problem


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_arbitrary_json_only_report_errors(value: Any) -> None:
    only_report_errors(value)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_arbitrary_runs_only_report_errors(value: Any) -> None:
    only_report_errors({"version": "2.1.0", "runs": value if isinstance(value, list) else [value]})


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*prefix, index))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_documents_only_report_errors(data: st.DataObject) -> None:
    doc = DOCUMENTS[data.draw(st.sampled_from(sorted(DOCUMENTS)))]()
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = list(json_paths(doc))[1:]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
    only_report_errors(doc)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.binary(max_size=64)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.sampled_from(sorted(DOCUMENTS)).flatmap(
        lambda name: st.integers(0, 4000).map(lambda n: json.dumps(DOCUMENTS[name]()).encode()[:n])
    )
)
def test_arbitrary_bytes_only_report_errors(fuzz_dir: Path, content: bytes) -> None:
    path = fuzz_dir / "in.sarif"
    path.write_bytes(content)
    try:
        read_sarif(path, root=ROOT)
    except ReportError as exc:
        error: ReportError | None = exc
    else:
        error = None
    assert error is None or error.path == str(path)


LEVEL_SEVERITY = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW, "none": Severity.INFO}


def band(score: float) -> Severity:
    """GitHub's documented bands, written out independently of Severity.from_score."""
    for floor, severity in ((9.0, Severity.CRITICAL), (7.0, Severity.HIGH), (4.0, Severity.MEDIUM)):
        if score >= floor:
            return severity
    return Severity.LOW if score > 0 else Severity.INFO


levels = st.none() | st.sampled_from(sorted(LEVEL_SEVERITY))
scores: st.SearchStrategy[float | str | None] = st.none() | st.floats(min_value=0, max_value=10).flatmap(
    lambda x: st.sampled_from([x, repr(x)])
)
uris = st.sampled_from(["src/m.py", "./src/m.py", ".\\src\\m.py", f"file://{ROOT}/src/m.py", "src/m%2Epy"])


@st.composite
def generated_result(draw: st.DrawFn, index: int) -> tuple[dict[str, Any], dict[str, Any], Severity | None]:
    """A rule, a result using it, and the severity expected (None: the result is dropped)."""
    rule: dict[str, Any] = {"id": f"R{index}"}
    rule_level, rule_score = draw(levels), draw(scores)
    if rule_level:
        rule["defaultConfiguration"] = {"level": rule_level}
    if rule_score is not None:
        rule["properties"] = {"security-severity": rule_score}
    result: dict[str, Any] = {
        "ruleId": rule["id"],
        "message": {"text": draw(st.sampled_from(["boom", "bang 1", "bang 2"]))},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": draw(uris)}, "region": {"startLine": 1}}}],
    }
    if draw(st.booleans()):
        result["ruleIndex"] = index
    level, score = draw(levels), draw(scores)
    if level:
        result["level"] = level
    if score is not None:
        result["properties"] = {"security-severity": score}
    dropped = False
    if draw(st.integers(0, 5)) == 0:
        status = draw(st.sampled_from([None, "accepted", "underReview", "rejected"]))
        result["suppressions"] = [{"kind": "external"} | ({"status": status} if status else {})]
        dropped = status in (None, "accepted")
    if draw(st.integers(0, 5)) == 0:
        result["baselineState"] = draw(st.sampled_from(["new", "unchanged", "updated", "absent"]))
        dropped = dropped or result["baselineState"] == "absent"
    effective = score if score is not None else rule_score
    by_level = LEVEL_SEVERITY[level or rule_level or "warning"]
    expected = band(float(effective)) if effective is not None else by_level
    return rule, result, None if dropped else expected


@st.composite
def generated_run(draw: st.DrawFn) -> tuple[dict[str, Any], list[Severity]]:
    count = draw(st.integers(0, 12))
    parts = [draw(generated_result(i)) for i in range(count)]
    name = draw(st.sampled_from(["Trivy", "Semgrep OSS", "ruff", "CodeQL", "acme"]))
    doc_run = {
        "tool": {"driver": {"name": name, "version": "1.0", "rules": [rule for rule, _, _ in parts]}},
        "results": [result for _, result, _ in parts],
    }
    return doc_run, [expected for _, _, expected in parts if expected is not None]


@settings(max_examples=100, deadline=None)
@given(st.lists(generated_run(), max_size=4))
def test_generated_documents(runs: list[tuple[dict[str, Any], list[Severity]]]) -> None:
    result = parse(sarif(*(doc_run for doc_run, _ in runs)))
    expected = [severity for _, severities in runs for severity in severities]
    assert [f.severity for f in result.findings] == expected
    assert len({f.fingerprint for f in result.findings}) == len(result.findings)
    assert all(f.location.path == "src/m.py" for f in result.findings)
    assert set(result.tools) == {doc_run["tool"]["driver"]["name"] for doc_run, _ in runs}
    # what goes into the ledger survives the trip between processes
    assert [Finding.from_dict(f.to_dict()) for f in result.findings] == list(result.findings)


def test_findings_do_not_share_the_input() -> None:
    doc = semgrep_doc()
    before = parse(doc)
    doc["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["tags"].append("CWE-1")
    assert parse(copy.deepcopy(semgrep_doc())) == before
    assert before.findings[0].rule.cwe == (89,)
