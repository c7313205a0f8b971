"""The same verdict, findings and SARIF with xdist absent, ``-n 0`` and ``-n 2``."""

from __future__ import annotations

import pytest

from .conftest import sarif_results

#: Findings made three ways: inside tests (travel on reports), outside tests
#: by a conftest plugin (travel through workeroutput), and a scanner error.
PROJECT_TESTS = """
import pytest
from pytest_stillme import Finding, Location, Rule, Severity

@pytest.mark.parametrize("n", range(6))
def test_many(stillme_findings, n):
    stillme_findings.add(Finding(
        tool="tool-a" if n % 2 else "tool-b", rule=Rule(f"R{n % 3}"), category="sast",
        severity=Severity.MEDIUM if n < 4 else Severity.HIGH, message=f"finding {n}",
        location=Location(path="pkg/__init__.py", line=n + 1)))
"""

PROJECT_CONFTEST = """
from pytest_stillme import Finding, Location, Rule, Severity, record_finding

def pytest_collection_finish(session):
    record_finding(session.config, Finding(
        tool="conftest-check", rule=Rule("C1"), category="deps", severity=Severity.CRITICAL,
        message="vulnerable thing 1.0", location=Location(package="thing", version="1.0")))
"""

MODES = {
    "absent": ["-p", "no:xdist"],
    "n0": ["-n", "0"],
    "n2": ["-n", "2"],
}


@pytest.fixture
def findings_project(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile(test_many=PROJECT_TESTS)
    project.makeconftest(PROJECT_CONFTEST)
    project.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    return project


def test_same_verdict_and_sarif_in_every_mode(findings_project: pytest.Pytester) -> None:
    outcomes = {}
    for mode, args in MODES.items():
        result = findings_project.runpytest_subprocess("--stillme-gate", f"--stillme-sarif={mode}.sarif", *args)
        outcomes[mode] = (result.ret, result.parseoutcomes().get("failed"), result.parseoutcomes().get("passed"))
        result.stdout.fnmatch_lines(["sast findings*2 high, 4 medium*FAIL*", "deps findings*1 critical*FAIL*"])
    assert outcomes["absent"] == outcomes["n0"] == outcomes["n2"] == (1, 1, 6)
    results = {mode: sarif_results(findings_project.path / f"{mode}.sarif") for mode in MODES}
    assert len(results["absent"]) == 7
    assert results["absent"] == results["n0"] == results["n2"]


def test_dead_worker_is_a_gate_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_die="""
        import os

        def test_dies():
            os._exit(3)

        def test_lives():
            pass
        """
    )
    project.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    result = project.runpytest_subprocess("--stillme-gate", "-n", "2", "--max-worker-restart=0")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["scanner errors*FAIL*", "*pytest-xdist (gw*): worker gw* died*"])


def test_only_the_controller_writes(findings_project: pytest.Pytester) -> None:
    result = findings_project.runpytest_subprocess("--stillme-gate", "--stillme-sarif=out.sarif", "-n", "2")
    result.stdout.fnmatch_lines(["stillme SARIF: *out.sarif (7 results in 4 runs)*"])
    leftovers = sorted(p.name for p in findings_project.path.iterdir() if p.name.endswith(".tmp"))
    assert leftovers == []
