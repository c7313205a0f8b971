"""Every timeout path, in real sessions (subprocesses: signals, forks and watchdogs must not touch this one).

Limits are half a second and grace periods half a second, so the whole file
stays within a few seconds of waiting.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

FAST = ("--stillme-chaos-grace=0.5", "-p", "no:cacheprovider")

SIGNAL_PATHS = """
import signal
import threading
import time

import pytest


@pytest.fixture
def hangs_in_teardown():
    yield
    time.sleep(30)


@pytest.fixture
def hangs_in_setup():
    time.sleep(30)
    yield


@pytest.mark.integration(timeout=0.5)
def test_sleeps():
    time.sleep(30)


@pytest.mark.integration(timeout=0.5)
def test_shows_every_thread():
    release = threading.Event()
    helper = threading.Thread(target=release.wait, name="helper-waiting-on-event", daemon=True)
    helper.start()
    try:
        time.sleep(30)
    finally:
        release.set()


@pytest.mark.integration(timeout=0.5)
def test_teardown_hangs(hangs_in_teardown):
    pass


@pytest.mark.integration(timeout=0.5)
def test_failed_and_teardown_hangs(hangs_in_teardown):
    assert False, "the body failed first"


@pytest.mark.integration(timeout=0.5)
def test_setup_hangs(hangs_in_setup):
    pass


@pytest.mark.integration(timeout=0.5)
def test_swallows_the_timeout():
    try:
        time.sleep(30)
    except BaseException:
        pass


@pytest.mark.timeout(0.5)
def test_plain_pytest_timeout_marker():
    time.sleep(30)


@pytest.mark.timeout(0.5, func_only=True)
def test_func_only_timer():
    time.sleep(30)


@pytest.mark.integration(timeout=5)
def test_quick():
    pass


@pytest.mark.integration(budget=0.05)
def test_over_budget():
    time.sleep(0.2)


def test_previous_alarm_handler_is_back():
    assert signal.getsignal(signal.SIGALRM) is MINE
"""

CONFTEST = """
import signal

def mine(signum, frame):
    pass

def pytest_configure(config):
    import builtins
    builtins.MINE = mine
    signal.signal(signal.SIGALRM, mine)
"""


@pytest.fixture(scope="module")
def signal_session(tmp_path_factory: pytest.TempPathFactory) -> tuple[pytest.RunResult, Path]:
    """One real session over every signal path, run once and read by several tests."""
    root = tmp_path_factory.mktemp("signal_paths")
    (root / "test_paths.py").write_text(SIGNAL_PATHS)
    (root / "conftest.py").write_text(CONFTEST)
    (root / "pyproject.toml").write_text('[tool.stillme.gate]\ncoverage = "off"\n')
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-v",
            *FAST,
            "--junitxml=junit.xml",
            "--stillme-sarif=out.sarif",
            "-p",
            "no:randomly",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = pytest.RunResult(proc.returncode, proc.stdout.splitlines(), proc.stderr.splitlines(), 0.0)
    return result, root


def junit_cases(path: Path) -> dict[str, ET.Element]:
    tree = ET.parse(path)
    return {case.get("name", ""): case for case in tree.iter("testcase")}


def test_signal_timeouts_are_their_own_outcome(signal_session: tuple[pytest.RunResult, Path]) -> None:
    result, _ = signal_session
    assert result.ret == 1
    result.stdout.fnmatch_lines_random(
        [
            "*::test_sleeps TIMEOUT*",
            "*::test_shows_every_thread TIMEOUT*",
            "*::test_teardown_hangs PASSED*",
            "*::test_teardown_hangs TIMEOUT*",
            "*::test_failed_and_teardown_hangs FAILED*",
            "*::test_failed_and_teardown_hangs TIMEOUT*",
            "*::test_setup_hangs TIMEOUT*",
            "*::test_swallows_the_timeout TIMEOUT*",
            "*::test_plain_pytest_timeout_marker TIMEOUT*",
            "*::test_func_only_timer TIMEOUT*",
            "*::test_quick PASSED*",
            "*::test_over_budget FAILED*",
            "*::test_previous_alarm_handler_is_back PASSED*",
        ]
    )
    summary = result.stdout.lines[-1]
    assert re.search(r"2 failed, 3 passed, 8 timeout in", summary), summary


def test_timeouts_section_and_short_lines(signal_session: tuple[pytest.RunResult, Path]) -> None:
    result, _ = signal_session
    text = result.stdout.str()
    result.stdout.fnmatch_lines(["*= TIMEOUTS =*"])
    result.stdout.fnmatch_lines_random(
        [
            "TIMEOUT *::test_sleeps - TIMEOUT: call exceeded the 0.5 s limit (after 0.5* s)",
            "TIMEOUT *::test_teardown_hangs - TIMEOUT: teardown exceeded the 0.5 s limit*",
            "TIMEOUT *::test_setup_hangs - TIMEOUT: setup exceeded the 0.5 s limit*",
            "TIMEOUT *::test_swallows_the_timeout - TIMEOUT: call exceeded the 0.5 s limit; "
            "the code under test caught the timeout exception and carried on",
        ]
    )
    stacks = text.split("test_shows_every_thread", 2)[-1]
    assert "--- thread helper-waiting-on-event" in stacks
    assert "in test_shows_every_thread" in stacks
    assert "/_pytest/" not in stacks.split("TIMEOUT test_")[0]  # pytest's own frames are left out
    assert "OVER BUDGET: the test took 0.2" in text
    assert "the body failed first" in text


def test_junit_records_timeouts(signal_session: tuple[pytest.RunResult, Path]) -> None:
    _, root = signal_session
    cases = junit_cases(root / "junit.xml")
    failure = cases["test_sleeps"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("TIMEOUT: call exceeded the 0.5 s limit")
    assert "stacks of all threads at the timeout" in (failure.text or "")
    props = {p.get("name"): p.get("value") for p in cases["test_sleeps"].iter("property")}
    assert props["stillme.timeout"] == "call exceeded 0.5 s (signal)"
    error = cases["test_setup_hangs"].find("error")
    assert error is not None
    assert "TIMEOUT: setup exceeded" in error.get("message", "")
    assert cases["test_quick"].find("failure") is None


def test_sarif_records_timeouts_as_slo_findings(signal_session: tuple[pytest.RunResult, Path]) -> None:
    _, root = signal_session
    data = json.loads((root / "out.sarif").read_text())
    results = [r for run in data["runs"] for r in run["results"] if r["ruleId"] == "STILLME-CHAOS-TIMEOUT"]
    messages = sorted(r["message"]["text"] for r in results)
    assert len(messages) == 8
    assert any("test_paths.py::test_setup_hangs timed out in setup (limit 0.5 s, signal)" in m for m in messages)


ESCALATION = """
import os
import time
import warnings

import pytest


@pytest.mark.integration(timeout=0.5, isolate=True)
def test_native_loop():
    sum(range(10**10))  # a C loop holding the GIL: no signal handler runs until it returns


@pytest.mark.integration(timeout=0.5, isolate=True)
def test_isolated_sleep():
    time.sleep(30)


@pytest.mark.timeout(0.5, func_only=True)
@pytest.mark.integration(isolate=True)
def test_isolated_func_only_sleep():
    time.sleep(30)


@pytest.mark.integration(isolate=True)
def test_isolated_pass(record_property):
    record_property("answer", 42)
    print("printed in the child")
    warnings.warn(UserWarning("warned in the child"))


@pytest.mark.integration(isolate=True)
def test_isolated_fail():
    assert 1 + 1 == 3


@pytest.mark.integration(isolate=True)
def test_isolated_crash():
    os._exit(3)


@pytest.mark.integration(isolate=True)
@pytest.mark.xfail(reason="known", strict=True)
def test_isolated_xfail():
    raise ValueError


def test_after():
    pass
"""


def test_escalation_in_an_isolated_child(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_escalation=ESCALATION)
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    result = pytester.runpytest_subprocess(
        "-v", "-rP", *FAST, "--junitxml=junit.xml", "-o", "junit_family=xunit1", "--stillme-sarif=out.sarif"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines_random(
        [
            "*::test_native_loop TIMEOUT*",
            "*::test_isolated_sleep TIMEOUT*",
            "*::test_isolated_func_only_sleep TIMEOUT*",
            "*::test_isolated_pass PASSED*",
            "*::test_isolated_fail FAILED*",
            "*::test_isolated_crash FAILED*",
            "*::test_isolated_xfail XFAIL*",
            "*::test_after PASSED*",
            "TIMEOUT *::test_native_loop - TIMEOUT: call exceeded the 0.5 s limit and went on 0.5 s more; "
            "its child process was ended by its watchdog",
            "Timeout (0:00:*)!",
            '*File "*test_escalation.py", line 10 in test_native_loop',
            "*the child process running the test body exited with status 3 before it reported (a crash?)",
            "*assert (1 + 1) == 3*",
            "printed in the child",
            "*UserWarning: warned in the child",
        ]
    )
    assert re.search(r"2 failed, 2 passed, 1 xfailed, 1 warning, 3 timeout in", result.stdout.lines[-1])
    result.stdout.fnmatch_lines(
        ["TIMEOUT *::test_isolated_func_only_sleep - TIMEOUT: call exceeded the 0.5 s limit (after*"]
    )
    cases = junit_cases(pytester.path / "junit.xml")
    native = cases["test_native_loop"].find("failure")
    assert native is not None
    assert native.get("message", "").startswith("TIMEOUT: call exceeded the 0.5 s limit")
    props = {p.get("name"): p.get("value") for p in cases["test_isolated_pass"].iter("property")}
    assert props["answer"] == "42"
    data = json.loads((pytester.path / "out.sarif").read_text())
    texts = [r["message"]["text"] for run in data["runs"] for r in run["results"]]
    assert any("test_native_loop timed out in call (limit 0.5 s, escalated)" in t for t in texts)
    assert any("test_isolated_sleep timed out in call (limit 0.5 s, signal)" in t for t in texts)


def test_escalation_without_isolation_ends_a_single_process(pytester: pytest.Pytester) -> None:
    """Documented: without a child process or an xdist worker, the watchdog can only end the session."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.integration(timeout=0.5)
        def test_native_loop():
            sum(range(10**10))
        """
    )
    result = pytester.runpytest_subprocess(*FAST)
    assert result.ret == 1
    result.stderr.fnmatch_lines(["Timeout (0:00:*)!", "*line 5 in test_native_loop"])


def test_escalation_can_be_switched_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest, time

        @pytest.mark.integration(timeout=0.5)
        def test_sleeps():
            time.sleep(30)
        """
    )
    result = pytester.runpytest_subprocess(*FAST, "-v", "-o", "stillme_chaos_escalate=false")
    result.stdout.fnmatch_lines(["*grace before escalation (escalation off)*", "*1 timeout in*"])


def test_session_budget_stops_new_tests_and_writes_every_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_slow(n):
            time.sleep(0.3)
        """
    )
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    result = pytester.runpytest_subprocess(
        "--stillme-session-budget=0.5", "--junitxml=junit.xml", "--stillme-gate", "--stillme-markdown=summary.md", *FAST
    )
    # What the budget promises, whatever the machine's load: no new test after it is spent, at least
    # one test not started, every report written, and the cut-short run marked as such in each.
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines_random(
        [
            "*Interrupted: stillme: session budget of 0.5 s spent after * s*",
            "stillme: session budget of 0.5 s spent after * s; * of 6 tests not started "
            "(every report was still written)",
        ]
    )
    cases = junit_cases(pytester.path / "junit.xml")
    ran = [name for name in cases if name.startswith("test_slow")]
    assert 1 <= len(ran) < 6
    gate = cases["gate"].find("failure")
    assert gate is not None
    assert "stopped early: stillme: session budget of 0.5 s spent" in (gate.get("message", "") + (gate.text or ""))
    sarif = json.loads((pytester.path / "artifacts" / "stillme.sarif").read_text())
    assert not sarif["runs"][0]["invocations"][0]["executionSuccessful"]
    assert "stopped early" in (pytester.path / "summary.md").read_text()
