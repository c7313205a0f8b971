"""The chaos and integration markers: registered, selected with -m, deselected by default, timed."""

from __future__ import annotations

import re

import pytest

TESTS = """
import pytest

def test_unit():
    pass

@pytest.mark.integration
def test_integration():
    pass

@pytest.mark.chaos
def test_chaos():
    pass

@pytest.mark.chaos
@pytest.mark.integration
def test_both():
    pass
"""

#: A test that reports the time limit pytest-timeout will use for it.
LIMITS = """
import pytest

def limit(request):
    marker = request.node.get_closest_marker("timeout")
    return None if marker is None else marker.args[0]

@pytest.mark.chaos
def test_chaos_default(request):
    print("LIMIT", request.node.name, limit(request))

@pytest.mark.integration
def test_integration_default(request):
    print("LIMIT", request.node.name, limit(request))

@pytest.mark.integration(timeout=30)
def test_marker_argument(request):
    print("LIMIT", request.node.name, limit(request))

@pytest.mark.timeout(7)
@pytest.mark.chaos(timeout=30)
def test_explicit_timeout_marker_wins(request):
    print("LIMIT", request.node.name, limit(request))

@pytest.mark.integration(timeout=0)
def test_zero_means_none(request):
    print("LIMIT", request.node.name, limit(request))

@pytest.mark.integration(budget=9)
class TestClassLevel:
    @pytest.mark.integration(timeout=12)
    def test_closest_wins_per_argument(self, request):
        print("LIMIT", request.node.name, limit(request))

def test_unmarked(request):
    print("LIMIT", request.node.name, limit(request))
"""


def limits(result: pytest.RunResult) -> dict[str, str]:
    """Test name -> the limit it printed."""
    found = re.findall(r"LIMIT (\S+) (\S+)", result.stdout.str())
    return dict(found)


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("--strict-markers", "--stillme-chaos")
    result.assert_outcomes(passed=4)
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.chaos(timeout=None, budget=None, isolate=None, seed=None): *"])
    markers.stdout.fnmatch_lines(["@pytest.mark.integration(timeout=None, budget=None, isolate=None, seed=None): *"])


def test_plain_run_deselects_chaos_tests_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "stillme chaos: seed * (random; replay with --stillme-chaos-seed * or last); "
            "chaos tests deselected (run them with -m chaos or --stillme-chaos)",
            "stillme chaos: timeouts chaos 600 s, integration 300 s, 5 s grace before escalation; isolation off",
            "*collected 4 items / 2 deselected / 2 selected",
            "stillme chaos: 2 chaos tests deselected (run them with -m chaos)",
        ]
    )
    assert "::test_chaos" not in result.stdout.str()
    assert "::test_both" not in result.stdout.str()


@pytest.mark.parametrize(
    ("args", "passed", "deselected", "why"),
    [
        (["-m", "chaos"], 2, 2, "-m 'chaos'"),
        (["-m", "chaos and not integration"], 1, 3, "-m 'chaos and not integration'"),
        (["-m", "not chaos"], 2, 2, ""),  # names the marker, asks for no chaos test: -m deselected them, quietly
        (["-m", "integration"], 1, 3, None),
        (["--stillme-chaos"], 4, 0, "--stillme-chaos"),
    ],
)
def test_selection(pytester: pytest.Pytester, args: list[str], passed: int, deselected: int, why: str | None) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=passed, deselected=deselected)
    if why:
        result.stdout.fnmatch_lines([f"stillme chaos: seed *; chaos tests selected ({why})"])
    elif why == "":
        assert "stillme chaos" not in result.stdout.str()
    else:
        result.stdout.fnmatch_lines(["stillme chaos: * deselected (run them with -m chaos)"])
        assert "stillme chaos: seed" not in result.stdout.str()  # quiet header when chaos is not asked for


@pytest.mark.parametrize(
    ("kind", "where"),
    [
        ("env", "environment variable STILLME_CHAOS"),
        ("ini", "*tox.ini (key stillme_chaos)"),
        ("pyproject", "*pyproject.toml"),
    ],
)
def test_run_chaos_from_configuration(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kind: str, where: str
) -> None:
    pytester.makepyfile(TESTS)
    if kind == "env":
        monkeypatch.setenv("STILLME_CHAOS", "1")
    elif kind == "ini":
        pytester.makeini("[pytest]\nstillme_chaos = true\n")
    else:
        pytester.makepyprojecttoml("[tool.stillme.chaos]\nrun = true\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([f"*chaos tests selected ({where})"])


def test_a_chaos_test_named_on_the_command_line_runs(pytester: pytest.Pytester) -> None:
    path = pytester.makepyfile(TESTS)
    result = pytester.runpytest(f"{path.name}::test_chaos", f"{path.name}::test_unit")
    result.assert_outcomes(passed=2)


def test_time_limits_handed_to_pytest_timeout(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LIMITS)
    result = pytester.runpytest("-v", "-s", "--stillme-chaos")
    result.assert_outcomes(passed=7)
    assert limits(result) == {
        "test_chaos_default": "600.0",
        "test_integration_default": "300.0",
        "test_marker_argument": "30.0",
        "test_explicit_timeout_marker_wins": "7",
        "test_zero_means_none": "0",
        "test_closest_wins_per_argument": "12.0",
        "test_unmarked": "None",
    }


def test_configured_defaults(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LIMITS)
    pytester.makepyprojecttoml("[tool.stillme.chaos]\ntimeout = 60\nintegration_timeout = 'off'\n")
    result = pytester.runpytest("-v", "-s", "--stillme-chaos", "--stillme-integration-timeout=45")
    found = limits(result)
    assert (found["test_chaos_default"], found["test_integration_default"]) == ("60.0", "45.0")
    result.stdout.fnmatch_lines(["stillme chaos: timeouts chaos 60 s, integration 45 s, *"])


def test_pytest_timeout_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-p", "no:timeout", "--strict-markers", "--stillme-chaos")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["stillme chaos: timeouts off (pytest-timeout is disabled); isolation off"])


def test_bad_marker_arguments_fail_that_test_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.integration(30)
        def test_positional():
            pass

        @pytest.mark.integration(timout=30)
        def test_typo():
            pass

        @pytest.mark.chaos(timeout="soon")
        def test_bad_timeout():
            pass

        @pytest.mark.chaos(budget=0)
        def test_bad_budget():
            pass

        @pytest.mark.chaos(isolate="yes")
        def test_bad_isolate():
            pass

        @pytest.mark.chaos(seed=-1)
        def test_bad_seed():
            pass

        def test_fine():
            pass
        """
    )
    result = pytester.runpytest("--stillme-chaos")
    result.assert_outcomes(passed=1, errors=6)
    result.stdout.fnmatch_lines_random(
        [
            "@pytest.mark.integration takes keyword arguments only (such as timeout=30), not (30,)",
            "unknown argument(s) timout of @pytest.mark.integration (known: timeout, budget, isolate, seed)",
            "invalid timeout 'soon' in @pytest.mark.chaos (a number of seconds (0 for none))",
            "invalid budget 0 in @pytest.mark.chaos (a number of seconds > 0)",
            "invalid isolate 'yes' in @pytest.mark.chaos (True or False)",
            "invalid seed -1 in @pytest.mark.chaos (a whole number from 0 to 2**64-1)",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_selection_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["stillme chaos: 2 chaos tests deselected (run with -m chaos)"])
    chosen = pytester.runpytest_subprocess("-n", "2", "-m", "chaos")
    chosen.assert_outcomes(passed=2)


def test_header_warns_that_one_process_cannot_survive_a_native_hang(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    alone = pytester.runpytest("-m", "chaos", "-p", "no:xdist")
    alone.stdout.fnmatch_lines(["stillme chaos: one process, no isolation: *install pytest-xdist*"])
    isolated = pytester.runpytest("-m", "chaos", "--stillme-chaos-isolate=chaos")
    assert "one process, no isolation" not in isolated.stdout.str()
