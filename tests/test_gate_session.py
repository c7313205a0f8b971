"""The gate in real pytest sessions: summary line, JUnit and exit status agree."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from .conftest import load_sarif, sarif_results

FULL_TESTS = """
import pkg

def test_add():
    assert pkg.add(1, 2) == 3

def test_sign():
    assert pkg.sign(-5) == -1
    assert pkg.sign(5) == 1
"""

PARTIAL_TESTS = """
import pkg

def test_add():
    assert pkg.add(1, 2) == 3
"""

FINDING_TEST = """
from pytest_stillme import Finding, Location, Rule, Severity

def test_check(stillme_findings):
    stillme_findings.add(Finding(
        tool="house-rules", rule=Rule("HR1", "no-secrets", cwe=(798,)), category="sast",
        severity=Severity.{severity}, message="hard-coded token",
        location=Location(path="pkg/__init__.py", line=2), evidence="TOKEN = 'x'"))
"""


def gate_case(junit_path) -> ET.Element:
    root = ET.parse(junit_path).getroot()
    cases = [c for c in root.iter("testcase") if c.get("classname") == "stillme" and c.get("name") == "gate"]
    assert len(cases) == 1, ET.tostring(root).decode()
    return cases[0]


def test_gate_passes_with_enough_coverage(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=FULL_TESTS)
    result = project.runpytest_subprocess("--stillme-gate", "--cov=pkg", "--junitxml=junit.xml")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["*stillme gate*", "coverage*100.0%*>= 85%*pass*", "stillme gate PASSED*", "*3 passed*"]
    )
    case = gate_case(project.path / "junit.xml")
    assert case.find("failure") is None
    sarif = project.path / "artifacts" / "stillme.sarif"
    assert sarif.is_file()
    assert load_sarif(sarif)["version"] == "2.1.0"
    result.stdout.fnmatch_lines([f"stillme SARIF: {sarif}*"])


def test_low_coverage_fails_everywhere_alike(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=PARTIAL_TESTS)
    result = project.runpytest_subprocess("--stillme-gate", "--cov=pkg", "--junitxml=junit.xml")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["coverage*50.0%*>= 85%*FAIL*", "*total coverage 50.00% is below 85%*", "*1 failed, 1 passed*"]
    )
    failure = gate_case(project.path / "junit.xml").find("failure")
    assert failure is not None
    assert "coverage" in (failure.text or "")


def test_gate_without_coverage_data_fails_closed(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=FULL_TESTS)
    result = project.runpytest_subprocess("--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["coverage*no data*FAIL*", "*pytest-cov is not active*--cov=YOUR_PACKAGE*"])


def test_coverage_off_in_config(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=FULL_TESTS)
    project.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    result = project.runpytest_subprocess("--stillme-gate")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["coverage*not gated*pass*"])


@pytest.mark.parametrize(("report", "figure"), [("--cov-report=", "-"), ("--cov-report=term", "50.0%")])
def test_coverage_not_gated_shows_pytest_covs_own_total_and_computes_none(
    project: pytest.Pytester, report: str, figure: str
) -> None:
    """Not gated, the figure is pytest-cov's own total when it printed one; none is computed from the data."""
    project.makepyfile(test_pkg=PARTIAL_TESTS)
    result = project.runpytest_subprocess("--stillme-gate", "--stillme-coverage=off", "--cov=pkg", report)
    result.stdout.fnmatch_lines([f"coverage*{figure}*not gated*pass*"])
    assert result.ret == 0


def test_coverage_fail_under_is_the_fallback_minimum(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=PARTIAL_TESTS)
    project.makepyprojecttoml("[tool.coverage.report]\nfail_under = 40\n")
    result = project.runpytest_subprocess("--stillme-gate", "--cov=pkg")
    # 50 % passes coverage's own 40 % although it is below stillme's default 85 %.
    result.stdout.fnmatch_lines(["coverage*50.0%*>= 40%*pass*"])
    assert result.ret == 0


def test_explicit_minimum_beats_coverage_fail_under(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=PARTIAL_TESTS)
    project.makepyprojecttoml("[tool.coverage.report]\nfail_under = 40\n")
    result = project.runpytest_subprocess("--stillme-gate", "--cov=pkg", "--stillme-coverage=45")
    result.stdout.fnmatch_lines(["coverage*50.0%*>= 45%*pass*"])


@pytest.mark.parametrize(
    ("severity", "args", "env", "fails"),
    [
        ("HIGH", [], {}, True),
        ("MEDIUM", [], {}, False),
        ("MEDIUM", ["--stillme-fail-on", "sast=medium"], {}, True),
        ("MEDIUM", [], {"STILLME_ENV": "production"}, True),
        ("CRITICAL", ["--stillme-fail-on", "sast=off"], {}, False),
    ],
)
def test_findings_thresholds(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    severity: str,
    args: list[str],
    env: dict[str, str],
    fails: bool,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    project.makepyfile(test_check=FINDING_TEST.format(severity=severity))
    project.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    result = project.runpytest("--stillme-gate", "--junitxml=junit.xml", *args)
    assert result.ret == (1 if fails else 0)
    if fails:
        result.stdout.fnmatch_lines(["sast findings*FAIL*", f"*[[]{severity.lower()}] house-rules HR1*"])
    junit = (project.path / "junit.xml").read_text()
    assert "stillme.finding" in junit  # the finding-bearing test carries it in JUnit


def test_findings_reach_sarif_with_security_severity(project: pytest.Pytester) -> None:
    project.makepyfile(test_check=FINDING_TEST.format(severity="HIGH"))
    result = project.runpytest("--stillme-sarif=out.sarif")
    assert result.ret == 0  # no gate: findings are reported, not judged
    data = load_sarif(project.path / "out.sarif")
    (run,) = [r for r in data["runs"] if r["tool"]["driver"]["name"] != "pytest-stillme"]
    assert run["tool"]["driver"]["name"] == "house-rules"
    (rule,) = run["tool"]["driver"]["rules"]
    assert rule["properties"]["security-severity"] == "8.0"
    assert "external/cwe/cwe-798" in rule["properties"]["tags"]
    (res,) = run["results"]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/__init__.py"
    assert "stillme gate" not in result.stdout.str()


def test_scanner_error_fails_the_gate(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_err="""
        def test_scan(stillme_findings):
            stillme_findings.error("fakescan", "service unreachable", hint="start the service", target="http://127.0.0.1:9")
        """
    )
    project.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    result = project.runpytest("--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["scanner errors*1*0*FAIL*", "*fakescan (http://127.0.0.1:9): service unreachable*"])


def test_quiet_when_green(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=FULL_TESTS)
    project.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    result = project.runpytest("--stillme-gate", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["stillme gate passed*"])
    assert "figure" not in result.stdout.str()


def test_collect_only_does_not_gate(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=FULL_TESTS)
    result = project.runpytest("--stillme-gate", "--collect-only")
    assert result.ret == 0
    assert "stillme gate" not in result.stdout.str()
    assert not (project.path / "artifacts").exists()


def test_failing_tests_and_passing_gate_exit_one(project: pytest.Pytester) -> None:
    project.makepyfile(test_bad="def test_bad():\n    assert False\n")
    project.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    result = project.runpytest("--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["stillme gate PASSED*", "*1 failed, 1 passed*"])


def test_unwritable_sarif_fails_the_gate(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=FULL_TESTS)
    project.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    (project.path / "blocker").write_text("a file where a folder should be")
    result = project.runpytest("--stillme-gate", "--stillme-sarif=blocker/out.sarif")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["reports written*FAIL*", "*cannot write SARIF to*blocker*"])


def test_markdown_summary_written(project: pytest.Pytester) -> None:
    project.makepyfile(test_check=FINDING_TEST.format(severity="CRITICAL"))
    project.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    result = project.runpytest("--stillme-gate", "--stillme-markdown=artifacts/summary.md")
    assert result.ret == 1
    text = (project.path / "artifacts" / "summary.md").read_text()
    assert "FAILED" in text
    assert "HR1" in text


def test_plugin_can_be_disabled(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=FULL_TESTS)
    result = project.runpytest("-p", "no:stillme", "--stillme-gate")
    assert result.ret == 4  # the option is unknown: the plugin is really off
    result.stderr.fnmatch_lines(["*unrecognized arguments: --stillme-gate*"])


def test_sarif_same_for_same_findings(project: pytest.Pytester) -> None:
    project.makepyfile(test_check=FINDING_TEST.format(severity="HIGH"))
    project.runpytest("--stillme-sarif=a.sarif")
    project.runpytest("--stillme-sarif=b.sarif")
    assert sarif_results(project.path / "a.sarif") == sarif_results(project.path / "b.sarif")


def test_log_level_from_environment(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STILLME_LOG_LEVEL", "debug")
    project.makepyfile(test_pkg=FULL_TESTS)
    result = project.runpytest_subprocess("--stillme-gate", "--stillme-coverage=off")
    assert result.ret == 0
    result.stderr.fnmatch_lines(["stillme DEBUG: settings: gate=True*environment variable STILLME_LOG_LEVEL*"])
    monkeypatch.setenv("STILLME_LOG_LEVEL", "loud")
    result = project.runpytest_subprocess("--stillme-gate")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*invalid log level 'loud' for log_level in environment variable STILLME_LOG_LEVEL*"])


def test_option_paths_are_relative_to_the_invocation_dir(project: pytest.Pytester) -> None:
    project.makepyfile(test_pkg=FULL_TESTS)
    project.makepyprojecttoml('[tool.stillme]\nmarkdown = "from-config.md"\n')
    sub = project.mkdir("sub")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)
        result = project.runpytest_subprocess(
            "--stillme-sarif=here.sarif",
            f"--rootdir={project.path}",
            "-c",
            str(project.path / "pyproject.toml"),
            str(project.path),
        )
    assert result.ret == 0
    assert (sub / "here.sarif").is_file()  # an option: relative to where pytest started
    assert (project.path / "from-config.md").is_file()  # a config file: relative to the rootdir
