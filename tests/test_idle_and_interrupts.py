"""The plugin stays out of the way when idle, and never leaves half-written reports."""

from __future__ import annotations

import json

import pytest

HEAVY = (
    "bandit",
    "hypothesis",
    "httpx",
    "zaproxy",
    "sarif_om",
    "junitparser",
    "jsonschema",
    "coverage",
    "pytest_stillme.report.sarif",
    "pytest_stillme.readers.sarif",
    "pytest_stillme.adapter.items",
)


def test_idle_session_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import json, sys

        def pytest_sessionfinish(session):
            with open("modules.json", "w") as fh:
                json.dump(sorted(sys.modules), fh)
        """
    )
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    # hypothesis's own plugin imports hypothesis; it is not ours, so it is switched off here.
    result = pytester.runpytest_subprocess("-p", "no:hypothesispytest", "-p", "no:cov", "-p", "no:anyio")
    assert result.ret == 0
    modules = set(json.loads((pytester.path / "modules.json").read_text()))
    assert "pytest_stillme.plugin" in modules
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY) == []


def test_idle_session_writes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == 0
    assert not (pytester.path / "artifacts").exists()
    assert "stillme gate" not in result.stdout.str()


def test_interrupted_session_keeps_reports_whole(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    pytester.makepyfile(
        test_x="""
        from pytest_stillme import Finding, Rule, Severity

        def test_finding(stillme_findings):
            stillme_findings.add(Finding("t", Rule("R1"), "sast", Severity.LOW, "found before the interrupt"))

        def test_interrupt():
            raise KeyboardInterrupt
        """
    )
    old = pytester.path / "artifacts" / "stillme.sarif"
    old.parent.mkdir()
    old.write_text("previous content")
    result = pytester.runpytest_subprocess("--stillme-gate")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    data = json.loads(old.read_text())  # replaced whole, with what was found before the interrupt
    assert [r["ruleId"] for run in data["runs"] for r in run["results"]] == ["R1"]
    assert [p.name for p in old.parent.iterdir()] == ["stillme.sarif"]
