"""The ``stillme`` command on real artifacts: JUnit of pytest sessions, coverage.py data, SARIF of our writer."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_stillme import __version__
from pytest_stillme.cli import main
from pytest_stillme.core.findings import Finding, Location, Rule, ScannerError, Severity
from pytest_stillme.readers.coverage import read_coverage_file
from pytest_stillme.readers.sarif import read_sarif
from pytest_stillme.report.sarif import write_sarif

pytest_plugins = ["pytester"]

MODULE = """\
def f(x):
    if x:
        return 1
    return 2


f(True)
"""

TRIVY_TABLE = """\
app/requirements.txt (pip)
==========================
Total: 1 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 1)

┌──────────┬────────────────┬──────────┬───────────────────┐
│ Library  │ Vulnerability  │ Severity │ Installed Version │
├──────────┼────────────────┼──────────┼───────────────────┤
│ jinja2   │ CVE-2019-10906 │ CRITICAL │ 2.10              │
└──────────┴────────────────┴──────────┴───────────────────┘
"""

PASSING_TESTS = """
def test_one():
    pass

def test_two():
    pass
"""

FAILING_TESTS = """
def test_login():
    assert "admin" == "guest", "wrong role"

def test_logout():
    pass
"""


def bandit(
    severity: Severity = Severity.HIGH,
    line: int = 12,
    message: str = "SQL built from user input",
    evidence: str = "query = 'SELECT ' + name",
) -> Finding:
    return Finding(
        tool="bandit",
        rule=Rule("B608", "hardcoded_sql_expressions"),
        category="sast",
        severity=severity,
        message=message,
        location=Location("src/app/db.py", line),
        evidence=evidence,
        tool_version="1.7.9",
    )


def pip_audit() -> Finding:
    return Finding(
        tool="pip-audit",
        rule=Rule("GHSA-h5c8-rqwp-cp95"),
        category="deps",
        severity=Severity.CRITICAL,
        message="jinja2 2.10 is vulnerable",
        location=Location("requirements.txt", package="jinja2", version="2.10"),
    )


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No STILLME_* or GitHub variables from outside, and no pyproject.toml but the test's own."""
    for name in list(os.environ):
        if name.startswith("STILLME_") or name == "GITHUB_STEP_SUMMARY":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def coverage_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real coverage.py output for a module with 4 of 5 statements run: 80 %."""
    folder = tmp_path_factory.mktemp("measured")
    (folder / "mod.py").write_text(MODULE)
    data = folder / ".coverage"
    run = [sys.executable, "-m", "coverage"]
    subprocess.run([*run, "run", f"--data-file={data}", "mod.py"], cwd=folder, check=True)
    subprocess.run([*run, "xml", f"--data-file={data}", "-o", "coverage.xml", "-q"], cwd=folder, check=True)
    subprocess.run([*run, "json", f"--data-file={data}", "-o", "coverage.json", "-q"], cwd=folder, check=True)
    return {"data": data, "xml": folder / "coverage.xml", "json": folder / "coverage.json"}


def sarif(path: Path, findings: list[Finding], **kw: object) -> Path:
    write_sarif(path, findings, **kw)  # type: ignore[arg-type]
    return path


def junit(pytester: pytest.Pytester, name: str, source: str) -> Path:
    """The JUnit file of a real pytest session (without the stillme plugin)."""
    module = pytester.makepyfile(**{f"test_{name}": source})
    out = pytester.path / f"{name}.xml"
    pytester.runpytest_subprocess(f"--junitxml={out}", "-p", "no:stillme", "-p", "no:cacheprovider", str(module))
    module.unlink()
    return out


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    capsys.readouterr()  # drop what came before (pytester prints the commands it runs)
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def row(out: str, check: str) -> list[str]:
    """The cells of one check's row in the gate table."""
    for line in out.splitlines():
        cells = [c for c in line.split("  ") if c.strip()]
        if cells and cells[0].strip() == check:
            return [c.strip() for c in cells]
    raise AssertionError(f"no row {check!r} in:\n{out}")


# --------------------------------------------------------------------------- basics


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"stillme {__version__}\n", "")


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys)
    assert status == 2
    assert "required" in err


def test_the_command_does_not_import_pytest(tmp_path: Path) -> None:
    report = sarif(tmp_path / "clean.sarif", [], tools={"bandit": "1.7.9"})
    code = (
        "import sys\n"
        "from pytest_stillme.cli import main\n"
        f"status = main(['gate', '--coverage-min', 'off', '--sarif', {str(report)!r}])\n"
        "print(status, sorted(m for m in sys.modules if m == 'pytest' or m.startswith('_pytest')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_console_script_in_a_subprocess(tmp_path: Path, coverage_files: dict[str, Path]) -> None:
    script = shutil.which("stillme", path=str(Path(sys.executable).parent)) or shutil.which("stillme")
    assert script, "the stillme console script is not installed (pip install -e .)"
    report = sarif(tmp_path / "scan.sarif", [bandit()], tools={"bandit": "1.7.9"})
    done = subprocess.run(
        [script, "gate", "--sarif", str(report), "--coverage", str(coverage_files["data"]), "--coverage-min", "75"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    assert "sast findings" in done.stdout
    assert "FAIL" in done.stdout
    assert "[high] bandit B608: SQL built from user input at src/app/db.py:12" in done.stdout
    assert done.stdout.rstrip().endswith("stillme gate FAILED (profile development)")
    assert done.stderr == ""
    bad = subprocess.run([script, "gate", "--sarif", str(tmp_path / "missing.sarif")], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.startswith("stillme: error: ")
    assert "missing.sarif" in bad.stderr
    assert "Traceback" not in bad.stderr
    version = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout == f"stillme {__version__}\n"


# --------------------------------------------------------------------------- merge


def test_merge_junit(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    unit = junit(pytester, "unit", PASSING_TESTS)
    integration = junit(pytester, "integration", FAILING_TESTS)
    out = tmp_path / "reports" / "junit.xml"
    status, stdout, err = run(capsys, "merge", "junit", "-o", out, unit, integration)
    assert (status, err) == (0, "")
    assert stdout.startswith(f"stillme: merged 2 JUnit files into {out}: 4 tests: 3 passed, 1 failed, 0 errors")
    text = out.read_text()
    assert 'name="pytest (unit)"' in text
    assert 'name="pytest (integration)"' in text


def test_merge_sarif_dedups_and_keeps_tools_and_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    unit = sarif(tmp_path / "unit.sarif", [bandit()], tools={"bandit": "1.7.9", "semgrep": "1.80.0"})
    security = sarif(
        tmp_path / "security.sarif",
        [bandit(), pip_audit()],
        tools={"bandit": "1.7.9", "pip-audit": "2.7.3"},
        errors=[ScannerError("zap", "target unreachable", target="http://127.0.0.1:8000")],
    )
    out = tmp_path / "merged.sarif"
    status, stdout, err = run(capsys, "merge", "sarif", "-o", out, unit, security)
    assert (status, err) == (0, "")
    assert stdout.startswith(f"stillme: merged 2 SARIF files into {out}: 2 results in ")
    assert "1 scanner errors" in stdout

    merged = read_sarif(out)
    assert {f.fingerprint for f in merged.findings} == {bandit().fingerprint, pip_audit().fingerprint}
    # semgrep ran and found nothing: it keeps its run.
    assert {"bandit", "semgrep", "pip-audit"} <= set(merged.tools)
    assert [e.tool for e in merged.errors] == ["zap"]
    assert "target unreachable" in merged.errors[0].describe()
    data = json.loads(out.read_text())
    assert data["version"] == "2.1.0"


def test_merge_sarif_prefix_places_a_subfolder_session_in_the_repository(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    web = Finding(
        tool="passive",
        rule=Rule("10038"),
        category="dast",
        severity=Severity.LOW,
        message="no CSP",
        location=Location(url="http://127.0.0.1:8000/items"),
    )
    stage = sarif(tmp_path / "stage.sarif", [bandit(), pip_audit(), web], tools={"bandit": "1.7.9"})
    out = tmp_path / "merged.sarif"
    status, _, err = run(capsys, "merge", "sarif", "--prefix", "examples/service/", "-o", out, stage)
    assert (status, err) == (0, "")
    uris = {
        result["ruleId"]: result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for run_ in json.loads(out.read_text())["runs"]
        for result in run_["results"]
    }
    assert uris["B608"] == "examples/service/src/app/db.py"
    assert uris["GHSA-h5c8-rqwp-cp95"] == "examples/service/requirements.txt"
    assert uris["10038"] == "dast/items"  # a URL names no file of the repository
    merged = read_sarif(out)
    assert {f.fingerprint for f in merged.findings} == {bandit().fingerprint, pip_audit().fingerprint, web.fingerprint}


def test_merging_merged_sarif_is_stable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    error = ScannerError("zap", "target unreachable", hint="start the service", target="http://127.0.0.1:8000")
    first = sarif(tmp_path / "security.sarif", [pip_audit()], tools={"pip-audit": "2.7.3"}, errors=[error])
    once = tmp_path / "once.sarif"
    twice = tmp_path / "twice.sarif"
    assert run(capsys, "merge", "sarif", "-o", once, first)[0] == 0
    assert run(capsys, "merge", "sarif", "-o", twice, once, first)[0] == 0
    assert read_sarif(twice).errors == read_sarif(first).errors == (error,)


def test_merge_bad_input_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = sarif(tmp_path / "good.sarif", [bandit()])
    bad = tmp_path / "bad.sarif"
    bad.write_text(good.read_text()[:200])
    status, _stdout, err = run(capsys, "merge", "sarif", "-o", tmp_path / "out.sarif", good, bad)
    assert status == 2
    assert err.startswith(f"stillme: error: {bad}: ")
    assert err.count("\n") == 1
    assert not (tmp_path / "out.sarif").exists()
    not_xml = tmp_path / "junit.xml"
    not_xml.write_text("collected 3 items\n3 passed\n")
    status, _, err = run(capsys, "merge", "junit", "-o", tmp_path / "out.xml", not_xml)
    assert status == 2
    assert err.startswith(f"stillme: error: {not_xml}: not XML")
    assert not (tmp_path / "out.xml").exists()


# --------------------------------------------------------------------------- gate


def test_gate_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path, coverage_files: dict[str, Path]) -> None:
    report = sarif(tmp_path / "scan.sarif", [bandit(Severity.LOW)])
    status, out, err = run(
        capsys, "gate", "--sarif", report, "--coverage", coverage_files["data"], "--coverage-min", 75
    )
    assert (status, err) == (0, "")
    assert row(out, "coverage") == ["coverage", "80.0%", ">= 75%", "pass"]
    assert row(out, "sast findings") == ["sast findings", "1 low", "0 at >= high", "pass"]
    assert out.rstrip().endswith("stillme gate PASSED (profile development)")


@pytest.mark.parametrize("kind", ["data", "xml", "json"])
def test_gate_fails_on_coverage_from_any_coverage_file(
    capsys: pytest.CaptureFixture[str], coverage_files: dict[str, Path], kind: str
) -> None:
    status, out, _ = run(capsys, "gate", "--coverage", coverage_files[kind])
    assert status == 1
    assert row(out, "coverage") == ["coverage", "80.0%", ">= 85%", "FAIL"]
    assert "  total coverage 80.00% is below 85%" in out
    assert out.rstrip().endswith("stillme gate FAILED (profile development)")


def test_gate_without_coverage_file_fails_unless_coverage_is_off(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    clean = sarif(tmp_path / "clean.sarif", [], tools={"bandit": "1.7.9"})
    status, out, _ = run(capsys, "gate", "--sarif", clean)
    assert status == 1
    assert row(out, "coverage") == ["coverage", "no data", ">= 85%", "FAIL"]
    assert "no coverage file given (--coverage)" in out
    (tmp_path / "pyproject.toml").write_text('[tool.stillme.gate]\ncoverage = "off"\n')
    status, out, _ = run(capsys, "gate", "--sarif", clean)
    assert status == 0
    assert row(out, "coverage") == ["coverage", "-", "not gated", "pass"]


def test_gate_thresholds_from_options_and_profiles(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    high = sarif(tmp_path / "high.sarif", [bandit()])
    assert run(capsys, "gate", "--sarif", high, "--coverage-min", "off")[0] == 1
    assert run(capsys, "gate", "--sarif", high, "--coverage-min", "off", "--fail-on", "sast=critical")[0] == 0
    medium = sarif(tmp_path / "medium.sarif", [bandit(Severity.MEDIUM)])
    assert run(capsys, "gate", "--sarif", medium, "--coverage-min", "off")[0] == 0
    status, out, _ = run(capsys, "gate", "--sarif", medium, "--coverage-min", "off", "--env", "production")
    assert status == 1
    assert row(out, "sast findings") == ["sast findings", "1 medium", "0 at >= medium", "FAIL"]
    assert out.rstrip().endswith("(profile production)")


def test_gate_reads_config_and_suppressions_from_root(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.stillme]\ngate.coverage = "off"\n[tool.stillme.tools]\nacme = "deps"\n'
    )
    (project / ".stillme-suppressions.toml").write_text(
        '[[suppress]]\nrule = "B608"\nlocation = "src/app/*.py"\nreason = "parameterised below"\nexpires = 2099-01-01\n'
        '[[suppress]]\nrule = "NOPE"\nreason = "old"\nexpires = 2099-01-01\n'
    )
    report = sarif(
        tmp_path / "scan.sarif", [bandit(), bandit(line=40, message="another one", evidence="sql = f'DELETE {t}'")]
    )
    status, out, _ = run(capsys, "gate", "--sarif", report, "--root", project)
    assert status == 0, out
    assert "suppressed findings: 2 (kept out of the gate; in SARIF as suppressed)" in out
    assert "unused suppression: NOPE" in out
    # Without the project's config the same findings fail the gate.
    assert run(capsys, "gate", "--sarif", report, "--coverage-min", "off")[0] == 1


def test_gate_falls_back_on_coverage_fail_under_like_the_plugin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, coverage_files: dict[str, Path]
) -> None:
    # pytest-cov hands coverage's own fail_under to the plugin; the command reads the same config.
    (tmp_path / "pyproject.toml").write_text("[tool.coverage.report]\nfail_under = 78\n")
    status, out, _ = run(capsys, "gate", "--coverage", coverage_files["json"])
    assert status == 0
    assert row(out, "coverage") == ["coverage", "80.0%", ">= 78%", "pass"]
    status, out, _ = run(capsys, "gate", "--coverage", coverage_files["json"], "--coverage-min", "81")
    assert status == 1
    assert row(out, "coverage") == ["coverage", "80.0%", ">= 81%", "FAIL"]


def test_gate_counts_failed_tests(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], coverage_files: dict[str, Path]
) -> None:
    good = junit(pytester, "unit", PASSING_TESTS)
    bad = junit(pytester, "integration", FAILING_TESTS)
    cov = ("--coverage", coverage_files["data"], "--coverage-min", "50")
    status, out, _ = run(capsys, "gate", "--junit", good, *cov)
    assert status == 0
    assert row(out, "tests") == ["tests", "2 run, 0 failed, 0 errors", "0 failed, 0 errors", "pass"]
    status, out, _ = run(capsys, "gate", "--junit", good, "--junit", bad, *cov)
    assert status == 1
    assert row(out, "tests") == ["tests", "4 run, 1 failed, 0 errors", "0 failed, 0 errors", "FAIL"]
    assert "test_integration::test_login: AssertionError: wrong role" in out


def test_gate_writes_markdown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = sarif(tmp_path / "scan.sarif", [bandit(Severity.CRITICAL)])
    md = tmp_path / "out" / "summary.md"
    status, out, _ = run(capsys, "gate", "--sarif", report, "--coverage-min", "off", "--markdown", md)
    assert status == 1
    assert f"stillme: wrote the summary to {md}" in out
    text = md.read_text()
    assert text.startswith("## ❌ stillme: gate FAILED")
    assert "| critical | sast | bandit | B608 | src/app/db.py:12 | SQL built from user input |" in text
    assert f"SARIF: `{report}`" in text


@pytest.mark.parametrize(
    ("severity", "env"),
    [(Severity.HIGH, "development"), (Severity.LOW, "development"), (Severity.MEDIUM, "production")],
)
def test_same_verdict_as_the_plugin(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], severity: Severity, env: str
) -> None:
    pytester.makepyfile(
        test_scan=f"""
        from pytest_stillme import Finding, Location, Rule, Severity

        def test_scan(stillme_findings):
            stillme_findings.add(Finding(
                tool="house-rules", rule=Rule("HR1"), category="sast", severity=Severity.{severity.name},
                message="hard-coded token", location=Location(path="app.py", line=2), evidence="TOKEN = 'x'"))
        """
    )
    stored = pytester.path / "stillme.sarif"
    result = pytester.runpytest_subprocess(
        "--stillme-gate", f"--stillme-sarif={stored}", "--stillme-coverage=off", f"--stillme-env={env}"
    )
    status, out, _ = run(
        capsys, "gate", "--sarif", stored, "--coverage-min", "off", "--env", env, "--root", pytester.path
    )
    assert status == result.ret
    assert ("stillme gate PASSED" in out) == (result.ret == 0)


# --------------------------------------------------------------------------- summary


def test_summary_prints_markdown_and_exits_zero_on_a_failed_gate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, coverage_files: dict[str, Path]
) -> None:
    report = sarif(tmp_path / "scan.sarif", [bandit()])
    status, out, err = run(capsys, "summary", "--sarif", report, "--coverage", coverage_files["xml"])
    assert (status, err) == (0, "")
    assert out.startswith("## ❌ stillme: gate FAILED")
    assert "| coverage | 80.0% | >= 85% | ❌ **FAIL** |" in out


def test_summary_to_a_file_and_appended_to_github(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tests = junit(pytester, "unit", PASSING_TESTS)
    out = tmp_path / "summary.md"
    assert run(capsys, "summary", "--junit", tests, "--output", out) == (0, "", "")
    text = out.read_text()
    assert text.startswith("## stillme\n")
    assert "✅ **Tests:** 2 tests: 2 passed" in text

    status, _, err = run(capsys, "summary", "--junit", tests, "--github")
    assert status == 2
    assert err == "stillme: error: --github: $GITHUB_STEP_SUMMARY is not set (is this a GitHub Actions step?)\n"

    step = tmp_path / "step_summary.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    assert run(capsys, "summary", "--junit", tests, "--github", "--title", "unit")[0] == 0
    assert (
        run(
            capsys,
            "summary",
            "--junit",
            tests,
            "--github",
            "--title",
            "security",
            "--coverage-min",
            "off",
            "--sarif",
            sarif(tmp_path / "s.sarif", [], tools={"bandit": "1.7.9"}),
        )[0]
        == 0
    )
    text = step.read_text()
    assert text.startswith("earlier step\n## unit\n")
    assert "## ✅ security: gate PASSED" in text


# --------------------------------------------------------------------------- bad input


def _bad_inputs(tmp_path: Path, pytester: pytest.Pytester) -> dict[str, tuple[list[str], str]]:
    good = sarif(tmp_path / "good.sarif", [bandit()])
    truncated = tmp_path / "truncated.sarif"
    truncated.write_text(good.read_text()[: len(good.read_text()) // 2])
    trivy = tmp_path / "trivy.sarif"
    trivy.write_text(TRIVY_TABLE)
    not_xml = tmp_path / "junit-unit.xml"
    not_xml.write_text("============ 3 passed in 0.01s ============\n")
    real_junit = junit(pytester, "unit", PASSING_TESTS)
    bad_config = tmp_path / "bad-config"
    bad_config.mkdir()
    (bad_config / "pyproject.toml").write_text('[tool.stillme.gate]\nsast = "hgh"\n')
    return {
        "truncated sarif": (["--sarif", str(truncated)], "truncated.sarif: not a report"),
        "trivy table": (["--sarif", str(trivy)], "trivy.sarif: not a report"),
        "missing sarif": (["--sarif", str(tmp_path / "nope.sarif")], "nope.sarif"),
        "non-xml junit": (["--junit", str(not_xml)], "junit-unit.xml: not XML"),
        "sarif as junit": (["--junit", str(good)], "good.sarif: not XML"),
        "junit as coverage": (["--coverage", str(real_junit)], "unit.xml: not a Cobertura coverage report"),
        "sarif as coverage": (["--coverage", str(good)], "good.sarif: not a coverage.py JSON report"),
        "missing coverage": (["--coverage", str(tmp_path / "cov.xml")], "cov.xml: no such file"),
        "bad config": (["--root", str(bad_config)], "invalid severity 'hgh' for gate.sast in"),
        "bad --fail-on": (["--fail-on", "sast"], "invalid --fail-on 'sast'"),
        "bad --fail-on severity": (["--fail-on", "sast=hgh"], "invalid severity 'hgh' for gate.sast in --fail-on"),
        "bad --coverage-min": (["--coverage-min", "120"], "invalid coverage minimum '120'"),
        "missing root": (["--root", str(tmp_path / "nowhere")], "nowhere: --root is not a directory"),
    }


@pytest.mark.parametrize("command", ["gate", "summary"])
def test_bad_input_is_one_line_and_exit_2(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    for case, (args, expected) in _bad_inputs(tmp_path, pytester).items():
        # summary only evaluates the gate when given SARIF or coverage: give it something to evaluate.
        extra = (
            ["--coverage-min", "off", "--sarif", str(sarif(tmp_path / "ok.sarif", [], tools={"bandit": "1.7.9"}))]
            if command == "summary"
            else []
        )
        if "--coverage-min" in args:
            extra = extra[2:]
        status, out, err = run(capsys, command, *args, *extra)
        assert status == 2, case
        assert err.startswith("stillme: error: "), case
        assert expected in err, (case, err)
        assert err.count("\n") == 1, (case, err)
        assert "Traceback" not in err
        assert out == "", case


def test_unwritable_output_is_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    clean = sarif(tmp_path / "clean.sarif", [], tools={"bandit": "1.7.9"})
    status, _, err = run(
        capsys, "gate", "--coverage-min", "off", "--sarif", clean, "--markdown", blocker / "summary.md"
    )
    assert status == 2
    assert err.startswith("stillme: error: ")
    assert "file" in err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for word in ("merge", "gate", "summary"):
        assert word in out
    status, out, _ = run(capsys, "gate", "--help")
    assert status == 0
    assert textwrap.dedent("--fail-on CATEGORY=SEVERITY") in out


# --------------------------------------------------------------------------- coverage files


def test_every_coverage_format_gives_coverage_pys_own_total(tmp_path: Path) -> None:
    # With branch coverage, coverage.py's total is (lines + branches covered) / (lines + branches):
    # 4 of 5 lines and 1 of 2 branches here, 5/7 = 71.43 %, not the XML's line-rate of 80 %.
    (tmp_path / "mod.py").write_text(MODULE)
    run_coverage = [sys.executable, "-m", "coverage"]
    subprocess.run([*run_coverage, "run", "--branch", "mod.py"], cwd=tmp_path, check=True)
    subprocess.run([*run_coverage, "xml", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*run_coverage, "json", "-q"], cwd=tmp_path, check=True)
    renamed = tmp_path / "artifact.bin"  # told by content, not by name
    renamed.write_bytes((tmp_path / "coverage.xml").read_bytes())
    totals = {
        name: read_coverage_file(tmp_path / name).total for name in (".coverage", "coverage.xml", "coverage.json")
    }
    assert totals[".coverage"] == pytest.approx(500 / 7)
    assert totals == {name: pytest.approx(500 / 7) for name in totals}
    assert read_coverage_file(renamed).total == pytest.approx(500 / 7)


def test_coverage_problems_never_raise_and_never_touch_the_file(
    tmp_path: Path, coverage_files: dict[str, Path]
) -> None:
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    before = other.read_bytes()
    result = read_coverage_file(other)
    assert result.total is None
    assert result.problem == f"{other}: an SQLite database, but not a coverage.py data file (no coverage_schema table)"
    assert other.read_bytes() == before  # coverage would have added its tables

    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "mod.py").write_text(MODULE)
    subprocess.run([sys.executable, "-m", "coverage", "run", "mod.py"], cwd=moved, check=True)
    (moved / "mod.py").unlink()
    result = read_coverage_file(moved / ".coverage")
    assert result.total is None
    assert "No source for code" in result.problem
    assert "check them out" in result.problem

    cases = {
        tmp_path / "empty": ("", "empty file"),
        tmp_path / "cov.json": ('{"totals": {"percent_covered": "high"}}', "not a number"),
        tmp_path / "list.json": ("[1, 2]", "not a coverage file"),
        tmp_path / "sarif.json": ('{"version": "2.1.0", "runs": []}', "no 'totals' object"),
        tmp_path / "cut.json": ('{"totals": {"percent', "not valid JSON"),
        tmp_path / "cut.xml": ('<coverage line-rate="0.5"><packages>', "not well-formed XML"),
        tmp_path / "jacoco.xml": ("<report name='x'/>", "not a Cobertura coverage report (root element <report>"),
        tmp_path / "rate.xml": ('<coverage line-rate="1.5"/>', "not a fraction"),
        tmp_path / "none.xml": ('<coverage lines-valid="0" lines-covered="0"/>', "no lines measured"),
        tmp_path / "text.txt": ("TOTAL 5 1 80%", "not a coverage file"),
        tmp_path: (None, "is a directory"),
        tmp_path / "missing.xml": (None, "no such file"),
    }
    for path, (content, problem) in cases.items():
        if content is not None:
            path.write_text(content)
        result = read_coverage_file(path)
        assert result.total is None, path
        assert result.problem.startswith(f"{path}: "), result.problem
        assert problem in result.problem, result.problem
        assert result.source == str(path)
    assert read_coverage_file(coverage_files["json"]).total == pytest.approx(80.0)
