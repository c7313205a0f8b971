"""``--stillme-report``: other tools' SARIF as items, findings and gate errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from .conftest import load_sarif

TRIVY_LIKE: dict[str, Any] = {
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "Trivy",
                    "version": "0.58.0",
                    "rules": [
                        {
                            "id": "CVE-2024-0001",
                            "name": "OsPackageVulnerability",
                            "shortDescription": {"text": "openssl: bad thing"},
                            "properties": {"security-severity": "9.8", "tags": ["vulnerability", "CRITICAL"]},
                        },
                        {
                            "id": "CVE-2024-0002",
                            "shortDescription": {"text": "zlib: small thing"},
                            "properties": {"security-severity": "3.1"},
                        },
                    ],
                }
            },
            "results": [
                {
                    "ruleId": "CVE-2024-0001",
                    "ruleIndex": 0,
                    "level": "error",
                    "message": {"text": "Package: openssl 3.0.1, fixed in 3.0.9"},
                    "locations": [
                        {"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"}, "region": {"startLine": 1}}}
                    ],
                },
                {
                    "ruleId": "CVE-2024-0002",
                    "ruleIndex": 1,
                    "level": "note",
                    "message": {"text": "Package: zlib 1.2"},
                    "locations": [
                        {"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"}, "region": {"startLine": 1}}}
                    ],
                },
            ],
        }
    ],
}

SEMGREP_CLEAN: dict[str, Any] = {
    "version": "2.1.0",
    "runs": [{"tool": {"driver": {"name": "Semgrep OSS", "version": "1.90.0", "rules": []}}, "results": []}],
}


def tool_runs(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of the ingested tools, without stillme's own (always present) run."""
    return [r for r in data["runs"] if r["tool"]["driver"]["name"] != "pytest-stillme"]


@pytest.fixture
def reports(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    (pytester.path / "trivy.sarif").write_text(json.dumps(TRIVY_LIKE))
    (pytester.path / "semgrep.sarif").write_text(json.dumps(SEMGREP_CLEAN))
    return pytester


def test_report_alone_is_a_session(reports: pytest.Pytester) -> None:
    result = reports.runpytest(
        "--stillme-gate", "--stillme-report", "trivy.sarif", "--junitxml=junit.xml", "--stillme-sarif=out.sarif"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*stillme-report*trivy.sarif*",
            "*1 finding(s) at or above the gate's thresholds*",
            "CVE-2024-0001 * (severity critical)",
            "    Dockerfile:1: Package: openssl 3.0.1, fixed in 3.0.9",
            "container findings*1 critical, 1 low*FAIL*",
            "*2 failed*",
        ]
    )
    junit = ET.parse(reports.path / "junit.xml").getroot()
    names = {c.get("name") for c in junit.iter("testcase")}
    assert "stillme-report[trivy.sarif]" in names
    assert "gate" in names
    data = load_sarif(reports.path / "out.sarif")
    (run,) = tool_runs(data)
    assert run["tool"]["driver"]["name"] == "Trivy"
    scores = {r["id"]: r["properties"]["security-severity"] for r in run["tool"]["driver"]["rules"]}
    assert scores == {"CVE-2024-0001": "9.8", "CVE-2024-0002": "3.1"}


def test_clean_report_gives_an_empty_run(reports: pytest.Pytester) -> None:
    result = reports.runpytest("--stillme-gate", "--stillme-report", "semgrep.sarif", "--stillme-sarif=out.sarif")
    assert result.ret == 0
    (run,) = tool_runs(load_sarif(reports.path / "out.sarif"))
    assert run["tool"]["driver"]["name"] == "Semgrep OSS"
    assert run["results"] == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"version": "2.1.0", "runs": [', "not valid JSON"),
        ("Total: 3 (UNKNOWN: 0, LOW: 1, MEDIUM: 1, HIGH: 1, CRITICAL: 0)\n+---------+", "not valid JSON"),
        ('{"version": "2.0.0", "runs": []}', "2.0.0"),
    ],
)
def test_bad_report_fails_item_and_gate(reports: pytest.Pytester, content: str, problem: str) -> None:
    (reports.path / "bad.sarif").write_text(content)
    result = reports.runpytest("--stillme-gate", "--stillme-report", "bad.sarif")
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"*cannot ingest report*bad.sarif*{problem}*", "scanner errors*1*FAIL*"])
    assert "Traceback" not in result.stdout.str()


def test_missing_report_is_an_error(reports: pytest.Pytester) -> None:
    result = reports.runpytest("--stillme-gate", "--stillme-report", "nope.sarif")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*cannot ingest report*nope.sarif*", "scanner errors*FAIL*"])


def test_reports_from_config_and_xdist(reports: pytest.Pytester) -> None:
    reports.makepyprojecttoml(
        '[tool.stillme]\nreports = ["trivy.sarif", "semgrep.sarif"]\n[tool.stillme.gate]\ncoverage = "off"\n'
        'container = "off"\n'
    )
    result = reports.runpytest_subprocess("--stillme-gate", "-n", "2", "--stillme-sarif=out.sarif")
    assert result.ret == 0, result.stdout.str()
    runs = load_sarif(reports.path / "out.sarif")["runs"]
    assert sorted(r["tool"]["driver"]["name"] for r in runs) == ["Semgrep OSS", "Trivy", "pytest-stillme"]


def test_suppressed_report_finding(reports: pytest.Pytester) -> None:
    (reports.path / ".stillme-suppressions.toml").write_text(
        '[[suppress]]\nrule = "CVE-2024-0001"\nlocation = "Dockerfile"\nreason = "base image pinned, fix due"\n'
        "expires = 2099-12-31\n"
        '[[suppress]]\nrule = "CVE-1999-0001"\nreason = "stale"\nexpires = 2099-12-31\n'
    )
    result = reports.runpytest("--stillme-gate", "--stillme-report", "trivy.sarif", "--stillme-sarif=out.sarif")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["suppressed findings: 1*", "unused suppression: CVE-1999-0001*"])
    (run,) = tool_runs(load_sarif(reports.path / "out.sarif"))
    # Kept in the SARIF as suppressed, with the reason: GitHub shows it dismissed, stillme gate counts it.
    results = {r["ruleId"]: r for r in run["results"]}
    assert "suppressions" not in results["CVE-2024-0002"]
    assert results["CVE-2024-0001"]["suppressions"][0]["justification"] == "base image pinned, fix due"


def test_expired_suppression_fails(reports: pytest.Pytester) -> None:
    (reports.path / ".stillme-suppressions.toml").write_text(
        '[[suppress]]\nrule = "CVE-2024-0001"\nreason = "was fine"\nexpires = 2020-01-01\n'
    )
    result = reports.runpytest("--stillme-gate", "--stillme-report", "trivy.sarif")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["expired suppressions*1*FAIL*", "*CVE-2024-0001*expired 2020-01-01*"])


def test_bad_config_is_a_usage_error_naming_the_source(reports: pytest.Pytester) -> None:
    reports.makepyprojecttoml('[tool.stillme.gate]\nsast = "hgh"\n')
    result = reports.runpytest("--stillme-gate")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*invalid severity 'hgh' for gate.sast in *pyproject.toml*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
