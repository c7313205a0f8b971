"""Every way the gate once passed when it should have failed, each through a real pytest session.

One test (or a parametrised set) per case of the fail-closed issue: path options
written with a space, deselected sources, unknown severities, SARIF that says
nothing was scanned, other tools' suppressions, any failure of a source,
``stillme gate`` without input, cut-short sessions, secrets in what is shown,
and long lists.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_stillme.cli import main

HIGH_SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {"driver": {"name": "semgrep", "rules": [{"id": "sql-injection"}]}},
            "results": [
                {
                    "ruleId": "sql-injection",
                    "level": "error",
                    "message": {"text": "user input reaches a SQL query"},
                    "locations": [
                        {"physicalLocation": {"artifactLocation": {"uri": "app.py"}, "region": {"startLine": 3}}}
                    ],
                }
            ],
        }
    ],
}
MEDIUM_SARIF = json.loads(json.dumps(HIGH_SARIF).replace('"error"', '"warning"'))
PASSING = "def test_ok():\n    assert True\n"


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def sarif_of(project: pytest.Pytester, name: str = "artifacts/stillme.sarif") -> dict:  # type: ignore[type-arg]
    return json.loads((project.path / name).read_text())  # type: ignore[no-any-return]


def error_texts(sarif: dict) -> list[str]:  # type: ignore[type-arg]
    return [
        n["message"]["text"]
        for run in sarif["runs"]
        for inv in run.get("invocations", [])
        for n in inv.get("toolExecutionNotifications", [])
        if n.get("level") == "error"
    ]


# -- 1. path options written with a space ----------------------------------------------------------


PATH_OPTIONS = [
    "--stillme-report",
    "--stillme-vuln-db",
    "--stillme-sarif",
    "--stillme-suppressions",
    "--stillme-markdown",
]


def _value_for(option: str, folder: Path) -> Path:
    """An existing file or folder the option accepts (an existing path is what moved pytest's rootdir)."""
    folder.mkdir(parents=True, exist_ok=True)
    if option == "--stillme-report":
        return write_json(folder / "scan.sarif", MEDIUM_SARIF)
    if option == "--stillme-vuln-db":
        db = folder / "osv"
        db.mkdir(exist_ok=True)
        return db
    if option == "--stillme-suppressions":
        path = folder / "accepted.toml"
        path.write_text('[[suppress]]\nrule = "X1"\nreason = "r"\nexpires = 2099-01-01\n')
        return path
    path = folder / ("old.sarif" if option == "--stillme-sarif" else "old.md")
    path.write_text("from an earlier session")
    return path


@pytest.mark.parametrize("option", PATH_OPTIONS)
@pytest.mark.parametrize("where", ["inside", "outside"])
@pytest.mark.parametrize("config", [True, False], ids=["config", "no-config"])
def test_space_form_behaves_as_equals_or_stops(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, option: str, where: str, config: bool
) -> None:
    if config:
        # The project's settings: a medium finding fails here; a space form that lost them would pass it.
        pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\nsast = "medium"\n')
    pytester.makepyfile(test_a=PASSING)
    folder = pytester.path / "sub" if where == "inside" else tmp_path_factory.mktemp("outside")
    value = _value_for(option, folder)
    spaced = pytester.runpytest(option, str(value))
    if spaced.ret == pytest.ExitCode.USAGE_ERROR:
        # Stopped at start-up, saying what to write and why: never a silently different session.
        spaced.stderr.fnmatch_lines([f"*write {option}={value} (with '='): pytest chooses the rootdir*"])
        assert where == "outside" or not config
        assert "Traceback" not in spaced.stderr.str()
    else:
        joined = pytester.runpytest(f"{option}={value}")
        assert (spaced.ret, spaced.parseoutcomes()) == (joined.ret, joined.parseoutcomes())
    if where == "outside" and config:
        # Outside the project the rootdir would move and the project's settings be lost: it must stop.
        assert spaced.ret == pytest.ExitCode.USAGE_ERROR


# -- 2. sources that were asked for and did not run -------------------------------------------------


@pytest.fixture
def reporting(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    pytester.makepyfile(test_a=PASSING + "\n\ndef test_other():\n    assert True\n")
    write_json(pytester.path / "scan.sarif", HIGH_SARIF)
    return pytester


@pytest.mark.parametrize(
    "selection",
    [["-k", "test_ok"], ["-m", "not stillme_source"], ["--deselect", "stillme-report[scan.sarif]"]],
    ids=["k", "m", "deselect"],
)
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_a_deselected_source_fails_the_gate(reporting: pytest.Pytester, selection: list[str], xdist: list[str]) -> None:
    result = reporting.runpytest("--stillme-gate", "--stillme-report=scan.sarif", *selection, *xdist)
    assert result.ret == 1
    text = result.stdout.str()
    assert "stillme-report: asked for (--stillme-report) but its item was deselected" in text
    assert "stillme gate PASSED" not in text
    errors = error_texts(sarif_of(reporting))
    assert any("deselected" in e for e in errors)


def test_a_source_left_by_x_fails_the_gate(reporting: pytest.Pytester) -> None:
    reporting.makepyfile(test_a="def test_fail():\n    assert False\n")
    result = reporting.runpytest("--stillme-gate", "--stillme-report=scan.sarif", "-x", "-p", "no:randomly")
    assert result.ret == 1
    assert any("did not run" in e or "cut short" in e or "stopped early" in e for e in error_texts(sarif_of(reporting)))


# -- 3. unknown severities ---------------------------------------------------------------------------


PIP_AUDIT_NO_SEVERITY = {
    "dependencies": [
        {"name": "demo-web", "version": "1.1", "vulns": [{"id": "PYSEC-2099-1", "fix_versions": ["1.2"]}]},
    ],
    "fixes": [],
}


def test_an_unknown_severity_fails_at_any_threshold(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\ndeps = "critical"\n')
    write_json(pytester.path / "audit.json", PIP_AUDIT_NO_SEVERITY)
    result = pytester.runpytest("--stillme-gate", "--stillme-report=audit.json", "--stillme-markdown=summary.md")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["deps findings*1 unknown*0 at >= critical*FAIL*"])
    assert "| unknown | deps | pip-audit | PYSEC-2099-1 |" in (pytester.path / "summary.md").read_text()
    (result_,) = [r for run in sarif_of(pytester)["runs"] for r in run["results"]]
    assert result_["properties"]["severity"] == "unknown"
    assert result_["level"] == "error"
    assert "security-severity" not in result_["properties"]  # no number is made up for it
    # stillme gate over the stored SARIF agrees.
    assert main(["gate", "--sarif", str(pytester.path / "artifacts/stillme.sarif"), "--coverage-min", "off"]) == 1


def test_unknown_severity_setting_chooses_otherwise(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme]\nunknown_severity = "low"\n[tool.stillme.gate]\ncoverage = "off"\n')
    write_json(pytester.path / "audit.json", PIP_AUDIT_NO_SEVERITY)
    result = pytester.runpytest("--stillme-gate", "--stillme-report=audit.json")
    assert result.ret == 0, result.stdout.str()


# -- 4. SARIF that says nothing was scanned ----------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        {"version": "2.1.0", "runs": []},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "trivy"}}}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "trivy"}}, "results": None}]},
    ],
    ids=["no-runs", "no-results", "null-results"],
)
def test_sarif_that_scanned_nothing_fails(pytester: pytest.Pytester, document: dict) -> None:  # type: ignore[type-arg]
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    pytester.makepyfile(test_a=PASSING)
    report = write_json(pytester.path / "empty.sarif", document)
    result = pytester.runpytest("--stillme-gate", f"--stillme-report={report}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["scanner errors*1*FAIL*"])
    assert main(["gate", "--sarif", str(report), "--coverage-min", "off"]) == 1


def test_an_empty_results_array_is_a_clean_scan(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    report = write_json(
        pytester.path / "clean.sarif",
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": []}]},
    )
    assert pytester.runpytest("--stillme-gate", f"--stillme-report={report}").ret == 0


# -- 5. suppressions inside ingested SARIF -----------------------------------------------------------


def _suppressed_sarif() -> dict:  # type: ignore[type-arg]
    document = json.loads(json.dumps(HIGH_SARIF))
    document["runs"][0]["results"][0]["suppressions"] = [{"kind": "inSource", "justification": "sanitised above"}]
    return document  # type: ignore[no-any-return]


def test_other_tools_suppressions_are_counted_listed_and_kept(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    write_json(pytester.path / "scan.sarif", _suppressed_sarif())
    result = pytester.runpytest("--stillme-gate", "--stillme-report=scan.sarif", "--stillme-markdown=summary.md")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["suppressed findings: 1*", "*semgrep sql-injection at app.py:3: inSource: sanitised above"]
    )
    assert "inSource: sanitised above" in (pytester.path / "summary.md").read_text()
    (kept,) = [r for run in sarif_of(pytester)["runs"] for r in run["results"]]
    assert kept["suppressions"] == [{"kind": "inSource", "status": "accepted", "justification": "sanitised above"}]


def test_other_tools_suppressions_can_be_overruled(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme]\nreport_suppressions = false\n[tool.stillme.gate]\ncoverage = "off"\n')
    write_json(pytester.path / "scan.sarif", _suppressed_sarif())
    assert pytester.runpytest("--stillme-gate", "--stillme-report=scan.sarif").ret == 1


# -- 6. any failure of a source ----------------------------------------------------------------------


def test_any_exception_in_a_source_is_a_gate_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    pytester.makeconftest(
        "import pytest_stillme.readers.detect as detect\n"
        "def boom(*args, **kwargs):\n"
        "    raise MemoryError()\n"
        "detect.read_report = boom\n"
    )
    write_json(pytester.path / "scan.sarif", HIGH_SARIF)
    result = pytester.runpytest_subprocess("--stillme-gate", "--stillme-report=scan.sarif")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*stillme-report failed: MemoryError*"])
    assert "Traceback" not in result.stdout.str()
    assert any("MemoryError" in e for e in error_texts(sarif_of(pytester)))
    assert main(["gate", "--sarif", str(pytester.path / "artifacts/stillme.sarif"), "--coverage-min", "off"]) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_is_refused_unread(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    fifo = pytester.path / "report.sarif"
    os.mkfifo(fifo)
    result = pytester.runpytest("--stillme-gate", f"--stillme-report={fifo}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*FIFO*"])
    assert main(["gate", "--sarif", str(fifo), "--coverage-min", "off"]) == 2
    assert "FIFO" in capsys.readouterr().err


def test_a_report_over_the_size_limit_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme]\nmax_report_size = "100"\n[tool.stillme.gate]\ncoverage = "off"\n')
    write_json(pytester.path / "scan.sarif", HIGH_SARIF)
    result = pytester.runpytest("--stillme-gate", "--stillme-report=scan.sarif")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*over the limit of 100 bytes*max_report_size*"])


# -- 7. stillme gate with no input -----------------------------------------------------------------


def test_stillme_gate_without_input_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["gate", "--coverage-min", "off"]) == 2
    assert "nothing to judge" in capsys.readouterr().err


def test_stillme_gate_out_of_memory_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pytest_stillme.readers.detect as detect

    def boom(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(detect, "read_report", boom)
    report = write_json(tmp_path / "x.sarif", HIGH_SARIF)
    assert main(["gate", "--sarif", str(report), "--coverage-min", "off"]) == 2
    err = capsys.readouterr().err
    assert "not enough memory" in err
    assert "Traceback" not in err


# -- 8. cut-short sessions ---------------------------------------------------------------------------


def test_ctrl_c_is_marked_in_every_report(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    pytester.makepyfile(
        test_a="def test_first():\n    pass\n\ndef test_interrupt():\n    raise KeyboardInterrupt\n\n"
        "def test_never():\n    pass\n"
    )
    result = pytester.runpytest_subprocess("--stillme-gate", "--junitxml=junit.xml", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    sarif = sarif_of(pytester)
    own = next(run for run in sarif["runs"] if run["tool"]["driver"]["name"] == "pytest-stillme")
    assert own["invocations"][0]["executionSuccessful"] is False
    assert any("interrupted" in e for e in error_texts(sarif))
    gate = next(c for c in ET.parse(pytester.path / "junit.xml").iter("testcase") if c.get("name") == "gate")
    assert gate.find("failure") is not None
    assert main(["gate", "--sarif", str(pytester.path / "artifacts/stillme.sarif"), "--coverage-min", "off"]) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_sigterm_is_handled_like_ctrl_c(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    (pytester.path / "artifacts").mkdir()
    (pytester.path / "artifacts" / "stillme.sarif").write_text("an earlier session's SARIF")
    pytester.makepyfile(
        test_a="import os, signal\n\ndef test_first():\n    pass\n\n"
        "def test_cancelled():\n    os.kill(os.getpid(), signal.SIGTERM)\n\ndef test_never():\n    pass\n"
    )
    scratch = pytester.path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where a leftover temporary folder would be
    result = pytester.runpytest_subprocess("--stillme-gate", "--junitxml=junit.xml", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
    assert [p.name for p in scratch.iterdir() if p.name.startswith("stillme-")] == []
    sarif = sarif_of(pytester)  # this session's, valid, marked as cut short
    assert any("interrupted" in e for e in error_texts(sarif))
    assert (pytester.path / "junit.xml").is_file()
    leftovers = [p.name for p in (pytester.path / "artifacts").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert signal.getsignal(signal.SIGTERM) is not None  # this process's own handler untouched


# -- 9. a native hang in the plain chaos command ---------------------------------------------------


def test_a_native_hang_keeps_every_report(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """``pytest -m chaos``, nothing else: the stage runs in one xdist worker, so the reports survive."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # the session under test is no worker
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n[tool.stillme.chaos]\ngrace = 1\n')
    pytester.makepyfile(
        test_h="""
        import pytest

        def test_before():
            pass

        @pytest.mark.chaos(timeout=1)
        def test_stuck_in_c():
            sum(range(10**13))  # never returns to Python: only ending the process stops it

        @pytest.mark.chaos
        def test_after():
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        "-m", "chaos or not chaos", "--stillme-gate", "--junitxml=junit.xml", "-p", "no:randomly", timeout=120
    )
    result.stdout.fnmatch_lines(["stillme chaos: the stage runs in one pytest-xdist worker*"])
    cases = {c.get("name"): c for c in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    assert {"test_before", "test_stuck_in_c", "test_after", "gate"} <= set(cases)
    assert "TIMEOUT" in ET.tostring(cases["test_stuck_in_c"], encoding="unicode")
    assert sarif_of(pytester)["runs"]


# -- 12. secrets never reach what is shown -----------------------------------------------------------


def test_secrets_in_a_finding_are_masked_everywhere(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    pytester.makepyfile(
        test_a="""
        from pytest_stillme import Finding, Location, Rule, Severity

        def test_leak(stillme_findings):
            url = "http://admin:TOKEN123@127.0.0.1:8000/p?access_token=TOKEN123&page=2"
            stillme_findings.add(Finding(
                tool="house-rules", rule=Rule("HR1"), category="dast", severity=Severity.HIGH,
                message=f"open redirect at {url}", location=Location(url=url, method="GET"),
                evidence="Authorization: Bearer TOKEN123abcdef"))
        """
    )
    result = pytester.runpytest("--stillme-gate", "--junitxml=junit.xml", "--stillme-markdown=summary.md")
    assert result.ret == 1
    shown = {
        "terminal": result.stdout.str(),
        "junit": (pytester.path / "junit.xml").read_text(),
        "markdown": (pytester.path / "summary.md").read_text(),
        "sarif": (pytester.path / "artifacts" / "stillme.sarif").read_text(),
    }
    for where, text in shown.items():
        assert "TOKEN123" not in text, where
    assert "access_token=***" in shown["sarif"]
    assert "page=2" in shown["markdown"]


# -- 13. long lists ------------------------------------------------------------------------------------


def test_a_failure_lists_the_first_hundred_findings(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    document = json.loads(json.dumps(HIGH_SARIF))
    one = document["runs"][0]["results"][0]
    document["runs"][0]["results"] = [
        {
            **one,
            "message": {"text": f"problem {i}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f"m{i}.py"}, "region": {"startLine": 1}}}],
        }
        for i in range(2000)
    ]
    write_json(pytester.path / "scan.sarif", document)
    result = pytester.runpytest("--stillme-gate", "--stillme-report=scan.sarif", "--junitxml=junit.xml")
    assert result.ret == 1
    junit = (pytester.path / "junit.xml").read_text()
    assert junit.count("problem ") < 250  # the first hundred or so, not two thousand
    assert "1900 more" in junit
    assert len(junit) < 200_000


# -- 14. configuration errors name the file and the real source ---------------------------------------


def test_a_non_utf8_suppressions_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    (pytester.path / ".stillme-suppressions.toml").write_bytes(b'[[suppress]]\nreason = "caf\xe9"\n')
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*.stillme-suppressions.toml: cannot read suppressions: not UTF-8*"])


def test_every_profile_is_checked_at_start_up(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.profiles.production.gate]\nsast = "hgh"\n')
    result = pytester.runpytest()  # a development session
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid severity 'hgh' for gate.sast in [[]tool.stillme.profiles.production[]]*"])


def test_an_override_is_named_as_its_source(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    result = pytester.runpytest("-o", "stillme_gate_sast=hgh")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid severity 'hgh' for gate.sast in -o stillme_gate_sast*"])


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_gate_over_no_tests_fails(pytester: pytest.Pytester, xdist: list[str]) -> None:
    """Before: ``-k nothing`` (or a wrong path) left the gate alone, and "1 passed" with exit 0."""
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess("--stillme-gate", "--stillme-coverage=off", "-k", "nothing", *xdist)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*no test ran: nothing was collected, or everything was deselected*"])
    ran = pytester.runpytest_subprocess("--stillme-gate", "--stillme-coverage=off", *xdist)
    assert ran.ret == pytest.ExitCode.OK


def test_the_gate_testcase_carries_its_checks_in_junit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    pytester.runpytest_subprocess("--stillme-gate", "--stillme-coverage=off", "--junitxml=junit.xml")
    cases = {case.get("name"): case for case in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    names = {prop.get("name"): prop.get("value") for prop in cases["gate"].iter("property")}
    assert names["stillme.scanner errors"] == "0 (threshold 0)"
    assert "stillme.coverage" in names
