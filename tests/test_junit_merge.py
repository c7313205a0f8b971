"""Merging the JUnit files of several real pytest sessions: suites kept, names told apart, totals recomputed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from junitparser import JUnitXml

from pytest_stillme.report.junit import JUnitError, JUnitTotals, merge_junit, read_junit, read_junit_totals

pytest_plugins = ["pytester"]

UNIT = """
import pytest

def test_add():
    assert 1 + 1 == 2

@pytest.mark.skip(reason="not on this platform")
def test_skipped():
    pass

@pytest.mark.parametrize("n", [1, 2, 3])
def test_many(n):
    assert n
"""

INTEGRATION = """
def test_db():
    assert {"a": 1} == {"a": 2}, "row | mismatch"

def test_api():
    pass
"""

CHAOS = """
import pytest

@pytest.fixture
def broken():
    yield
    raise RuntimeError("teardown failed")

def test_kill(broken):
    assert False

@pytest.mark.xfail(reason="known")
def test_known():
    assert False
"""

SECURITY = """
def test_headers():
    pass
"""


def run_session(pytester: pytest.Pytester, name: str, source: str, out: Path | None = None) -> Path:
    """Run a real pytest session (without the stillme plugin) and return its JUnit file."""
    module = pytester.makepyfile(**{f"test_{name}": source})
    out = out or pytester.path / f"{name}.xml"
    out.parent.mkdir(parents=True, exist_ok=True)
    pytester.runpytest_subprocess(f"--junitxml={out}", "-p", "no:stillme", "-p", "no:cacheprovider", str(module))
    module.unlink()
    assert out.is_file()
    return out


def declared(path: Path) -> JUnitTotals:
    """What pytest itself wrote on the suite: the reference our counts must match."""
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return JUnitTotals(
        int(suite.get("tests", 0)),
        int(suite.get("failures", 0)),
        int(suite.get("errors", 0)),
        int(suite.get("skipped", 0)),
        float(suite.get("time", 0)),
    )


#: JUnit written by the first real run of each session, reused so the module stays fast.
_WRITTEN: dict[str, bytes] = {}


@pytest.fixture
def sessions(pytester: pytest.Pytester) -> dict[str, Path]:
    """The JUnit files of four real sessions: unit, integration, chaos and security."""
    paths = {}
    for name, source in (("unit", UNIT), ("integration", INTEGRATION), ("chaos", CHAOS), ("security", SECURITY)):
        if name in _WRITTEN:
            paths[name] = pytester.path / f"{name}.xml"
            paths[name].write_bytes(_WRITTEN[name])
        else:
            paths[name] = run_session(pytester, name, source)
            _WRITTEN[name] = paths[name].read_bytes()
    return paths


PYTEST_MAJOR = int(pytest.__version__.split(".")[0])


def test_merge_keeps_every_suite_and_recomputes_totals(sessions: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out" / "junit.xml"
    totals = merge_junit(list(sessions.values()), out)

    expected = sum((declared(p) for p in sessions.values()), JUnitTotals())
    if PYTEST_MAJOR >= 9:
        # pytest 8 declares a failed test with a teardown error as one test while writing two
        # test cases; the merge counts the cases, as pytest 9 declares them.
        assert (totals.tests, totals.failures, totals.errors, totals.skipped) == (
            expected.tests,
            expected.failures,
            expected.errors,
            expected.skipped,
        )
    assert totals.time == pytest.approx(expected.time, abs=0.01)
    # unit: 5 tests, 1 skipped; integration: 2, 1 failed; chaos: 3 cases (fail + teardown error + xfail);
    # security: 1.
    assert (totals.tests, totals.failures, totals.errors, totals.skipped) == (11, 2, 1, 2)

    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    assert [s.get("name") for s in root.findall("testsuite")] == [
        "pytest (unit)",
        "pytest (integration)",
        "pytest (chaos)",
        "pytest (security)",
    ]
    assert root.get("tests") == "11"
    assert root.get("failures") == "2"
    assert root.get("errors") == "1"
    assert root.get("skipped") == "2"
    by_name = {s.get("name"): s for s in root.findall("testsuite")}
    assert by_name["pytest (integration)"].get("failures") == "1"
    assert by_name["pytest (unit)"].get("skipped") == "1"
    # Cases survive with their content: the failure message and the skip reason.
    failure = root.find(".//testcase[@name='test_db']/failure")
    assert failure is not None
    assert "row | mismatch" in failure.get("message", "")
    assert root.find(".//testcase[@name='test_skipped']/skipped") is not None
    # junitparser reads it back, and our own reading of it agrees with the merge.
    xml = JUnitXml.fromfile(str(out))
    assert len(list(xml)) == 4
    assert read_junit_totals([out]) == totals


def test_totals_of_unmerged_files_equal_totals_of_merged(sessions: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "merged.xml"
    merged = merge_junit(list(sessions.values()), out)
    assert read_junit_totals(list(sessions.values())) == merged
    results = read_junit(list(sessions.values()))
    assert results.totals == merged
    assert results.totals.passed == 11 - 2 - 1 - 2
    assert not results.totals.ok
    assert any("test_db" in f and "row | mismatch" in f for f in results.failed)
    assert any("test_kill" in f and "teardown failed" in f for f in results.failed)


def test_same_file_names_in_artifact_folders_are_told_apart(pytester: pytest.Pytester, tmp_path: Path) -> None:
    # actions/download-artifact lays artifacts out as junit-unit/junit.xml, junit-security/junit.xml.
    unit = run_session(pytester, "unit", UNIT, pytester.path / "junit-unit" / "junit.xml")
    sec = run_session(pytester, "security", SECURITY, pytester.path / "junit-security" / "junit.xml")
    out = tmp_path / "merged.xml"
    merge_junit([unit, sec], out)
    names = [s.get("name") for s in ET.parse(out).getroot().findall("testsuite")]
    assert names == ["pytest (junit-unit/junit)", "pytest (junit-security/junit)"]


def test_unique_suite_names_are_kept_and_merging_again_is_stable(sessions: dict[str, Path], tmp_path: Path) -> None:
    first = tmp_path / "first.xml"
    merge_junit([sessions["unit"], sessions["integration"]], first)
    second = tmp_path / "second.xml"
    totals = merge_junit([first, sessions["security"]], second)
    names = [s.get("name") for s in ET.parse(second).getroot().findall("testsuite")]
    # "pytest" occurs once among the inputs of the second merge: no suffix for it.
    assert names == ["pytest (unit)", "pytest (integration)", "pytest"]
    assert totals.tests == 5 + 2 + 1


def test_output_may_be_an_input_and_a_file_given_twice_counts_once(sessions: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "all.xml"
    target.write_bytes(sessions["unit"].read_bytes())
    totals = merge_junit([target, sessions["security"], sessions["security"]], target)
    assert totals.tests == 5 + 1
    assert read_junit_totals([target]) == totals


def test_single_testsuite_root_and_totals_only_suites(tmp_path: Path) -> None:
    # Other tools write a bare <testsuite>; some write only totals, no cases.
    bare = tmp_path / "bare.xml"
    bare.write_text(
        '<testsuite name="go" time="1.5"><testcase name="a" time="0.5"/>'
        '<testcase name="b"><failure message="x"/></testcase></testsuite>'
    )
    totals_only = tmp_path / "totals.xml"
    totals_only.write_text('<testsuites><testsuite name="legacy" tests="4" failures="1" errors="0"/></testsuites>')
    result = read_junit_totals([bare, totals_only])
    assert (result.tests, result.failures, result.errors, result.skipped) == (6, 2, 0, 0)
    assert result.time == 1.5
    out = tmp_path / "out.xml"
    assert merge_junit([bare, totals_only], out) == result


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("", "not XML"),
        ("<testsuites><testsuite name='x'>", "not XML"),  # truncated
        ('{"version": "2.1.0", "runs": []}', "not XML"),
        ("<html><body>502 Bad Gateway</body></html>", "not JUnit XML"),
        ("\x00\x01\x02binary", "not XML"),
        ('<testsuites><testsuite name="x" time="soon"><testcase name="a"/></testsuite></testsuites>', "malformed"),
    ],
)
def test_bad_input_names_the_file_and_leaves_the_output_alone(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    bad = tmp_path / "junit-bad.xml"
    if content is not None:
        bad.write_text(content)
    good = tmp_path / "good.xml"
    good.write_text('<testsuites><testsuite name="pytest"><testcase name="a"/></testsuite></testsuites>')
    out = tmp_path / "out.xml"
    out.write_text("previous")
    with pytest.raises(JUnitError) as info:
        merge_junit([good, bad], out)
    message = str(info.value)
    assert message.startswith(f"{bad}: ")
    assert problem in message
    assert "\n" not in message
    assert out.read_text() == "previous"
    assert list(tmp_path.glob(".out.xml.*")) == []  # no temporary file left behind
    with pytest.raises(JUnitError, match=r"junit-bad\.xml"):
        read_junit_totals([bad])


def test_a_directory_is_not_a_junit_file(tmp_path: Path) -> None:
    with pytest.raises(JUnitError, match="not a file"):
        read_junit_totals([tmp_path])


def test_entities_are_not_expanded_from_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    evil = tmp_path / "evil.xml"
    evil.write_text(
        f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<testsuites><testsuite name="s"><testcase name="a"><failure message="&x;"/></testcase>'
        "</testsuite></testsuites>"
    )
    out = tmp_path / "out.xml"
    try:
        merge_junit([evil], out)
    except JUnitError as exc:  # the stdlib parser refuses undefined external entities: fine too
        problem = str(exc)
    else:
        problem = ""
        assert "TOP-SECRET" not in out.read_text()
    assert problem == "" or problem.startswith(f"{evil}: ")
