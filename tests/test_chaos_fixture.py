"""The chaos fixture in real sessions: undone at teardown, shown on failure, reproducible from the seed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

TARGET = """
def ping():
    return "pong"


class Service:
    def call(self):
        return "ok"
"""

#: Tests whose injected faults depend only on the seed: each records its fault pattern as a JUnit property.
PATTERNS = """
import pytest
import target


@pytest.mark.chaos
@pytest.mark.parametrize("n", range(4))
def test_pattern(chaos, record_property, n):
    chaos.patch("target.ping", raises=OSError, rate=0.5)
    bits = ""
    for _ in range(24):
        try:
            target.ping()
            bits += "."
        except OSError:
            bits += "X"
    record_property("pattern", bits)
    record_property("rng", chaos.rng.random())


@pytest.mark.chaos(seed=1234)
def test_pinned(chaos, record_property):
    record_property("test_seed", chaos.seed)
"""


def properties(junit: Path) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for case in ET.parse(junit).iter("testcase"):
        found[case.get("name", "")] = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
    return found


@pytest.fixture
def seeded(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(target=TARGET, test_patterns=PATTERNS)
    pytester.makeini("[pytest]\njunit_family = xunit1\n")
    pytester.syspathinsert()
    return pytester


def test_teardown_undoes_every_patch_even_when_the_test_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(target=TARGET)
    pytester.syspathinsert()
    pytester.makepyfile(
        test_undo="""
        import httpx
        import pytest
        import target

        ORIGINALS = (target.ping, target.Service.call, httpx.HTTPTransport.handle_request,
                     httpx.AsyncHTTPTransport.handle_async_request)
        SERVICE = target.Service()

        def test_patches_then_fails(chaos):
            chaos.patch("target.ping", returns="patched")
            chaos.patch(target.Service, "call", raises=RuntimeError)
            chaos.patch(SERVICE, "call", latency=0.01)
            chaos.http.patch_clients()
            assert target.ping() == "patched"
            raise AssertionError("the test fails with every patch in place")

        def test_everything_is_back():
            assert (target.ping, target.Service.call, httpx.HTTPTransport.handle_request,
                    httpx.AsyncHTTPTransport.handle_async_request) == ORIGINALS
            assert "call" not in vars(SERVICE)
            assert SERVICE.call() == "ok"
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)


def test_a_failed_test_shows_seed_and_faults(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(target=TARGET)
    pytester.syspathinsert()
    pytester.makepyfile(
        test_fail="""
        import target

        def test_fails_after_faults(chaos):
            chaos.patch("target.ping", raises=TimeoutError("upstream slow"), after=1, times=2)
            target.ping()
            for _ in range(2):
                try:
                    target.ping()
                except TimeoutError:
                    pass
            assert target.ping() == "never"
        """
    )
    result = pytester.runpytest("--stillme-chaos-seed=77")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- stillme chaos (call) -*",
            "session seed 77 (replay: --stillme-chaos-seed 77), test seed *",
            "faults set up:",
            "  <chaos patch target.ping (after 1, 2 times): 2 of 4 calls, active>",
            "faults injected: 2",
            "  #1 target.ping, call 2: raised TimeoutError('upstream slow')",
            "  #2 target.ping, call 3: raised TimeoutError('upstream slow')",
        ]
    )


def test_same_seed_same_faults_and_last_reuses_it(seeded: pytest.Pytester) -> None:
    first = seeded.runpytest("-m", "chaos", "--stillme-chaos-seed=42", "--junitxml=first.xml")
    first.assert_outcomes(passed=5)
    first.stdout.fnmatch_lines(["stillme chaos: seed 42 (given; replay with --stillme-chaos-seed 42 or last)*"])
    again = seeded.runpytest("-m", "chaos", "--stillme-chaos-seed=last", "--junitxml=again.xml")
    again.stdout.fnmatch_lines(["stillme chaos: seed 42 (last; *"])
    other = seeded.runpytest("-m", "chaos", "--stillme-chaos-seed=43", "--junitxml=other.xml")
    other.assert_outcomes(passed=5)
    one, two, three = (properties(seeded.path / name) for name in ("first.xml", "again.xml", "other.xml"))
    assert one == two
    patterns = [one[f"test_pattern[{n}]"]["pattern"] for n in range(4)]
    assert len(set(patterns)) == 4, "each test has its own faults"
    assert all("X" in p and "." in p for p in patterns)
    assert [three[f"test_pattern[{n}]"]["pattern"] for n in range(4)] != patterns
    assert one["test_pinned"]["test_seed"] == three["test_pinned"]["test_seed"] == "1234"


def test_last_without_a_stored_seed_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--stillme-chaos-seed=last")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--stillme-chaos-seed last: no seed stored in pytest's cache yet*"])


XDIST_EXTRA = """
import time
import pytest


@pytest.mark.chaos(timeout=0.5)
def test_sleep_times_out():
    time.sleep(30)


@pytest.mark.chaos(timeout=0.5)
def test_native_loop():
    sum(range(10**10))


@pytest.mark.chaos
def test_after_the_crash():
    pass
"""


def test_xdist_same_faults_as_one_process_and_timeouts_survive(seeded: pytest.Pytester) -> None:
    seeded.makepyfile(test_xdist_extra=XDIST_EXTRA)
    common = ("-m", "chaos", "--stillme-chaos-seed=9", "--stillme-chaos-grace=0.5")
    single = seeded.runpytest_subprocess(*common, "-n", "0", "-k", "not native", "--junitxml=n0.xml")
    single.assert_outcomes(passed=6)
    assert "1 timeout" in single.stdout.lines[-1]
    dist = seeded.runpytest_subprocess(*common, "-n", "2", "-v", "--junitxml=n2.xml")
    dist.stdout.fnmatch_lines_random(
        [
            "*TIMEOUT*::test_native_loop*",
            "*TIMEOUT*::test_sleep_times_out*",
            "*PASSED*::test_after_the_crash*",
            "TIMEOUT *::test_native_loop - TIMEOUT: call exceeded the 0.5 s limit and went on 0.5 s more; "
            "its watchdog ended xdist worker gw*",
        ]
    )
    assert "6 passed, 2 timeout" in dist.stdout.lines[-1]
    n0, n2 = properties(seeded.path / "n0.xml"), properties(seeded.path / "n2.xml")
    for n in range(4):
        name = f"test_pattern[{n}]"
        assert n0[name] == n2[name]
    crashed = {case.get("name"): case for case in ET.parse(seeded.path / "n2.xml").iter("testcase")}
    failure = crashed["test_native_loop"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("TIMEOUT: call exceeded the 0.5 s limit")
    assert "line 12 in test_native_loop" in (failure.text or "")


def test_stress_in_a_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time

        def test_fast_enough(chaos):
            chaos.stress(lambda: None, workers=2, iterations=50, max_error_rate=0.0, p99=1.0, name="noop")

        def test_too_slow(chaos):
            chaos.stress(lambda: time.sleep(0.002), workers=2, iterations=10, p50=0.000001, name="sleepy")
        """
    )
    pytester.makeini("[pytest]\njunit_family = xunit1\n")
    result = pytester.runpytest("--junitxml=junit.xml", "-rP")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines_random(
        [
            "E   *StressFailure: stress sleepy: 10 calls by 2 workers in * s (*/s), stopped by iterations",
            "E   *FAILED: p50 latency * ms > 0.001 ms",
            "stress noop: 50 calls by 2 workers*",
        ]
    )
    props = properties(pytester.path / "junit.xml")
    assert props["test_fast_enough"]["stillme.stress.noop.calls"] == "50"
    assert props["test_too_slow"]["stillme.stress.sleepy.calls"] == "10"
    assert "stillme.stress.noop.p95_ms" in props["test_fast_enough"]
