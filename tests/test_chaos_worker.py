"""The chaos stage's own worker: asked for by ``-m`` expressions that select chaos tests only, and
compatible with pytest-cov (which picks its xdist mode from the early options)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_stillme.chaos.worker import selects_chaos

pytest_plugins = ["pytester"]

TESTS = """
import os
import pytest


@pytest.mark.chaos
def test_chaos():
    print("worker", os.environ.get("PYTEST_XDIST_WORKER", "none"))


def test_plain():
    print("worker", os.environ.get("PYTEST_XDIST_WORKER", "none"))
"""

USES = """
import covered
import pytest


@pytest.mark.chaos
def test_it():
    assert covered.used() == 1
"""

CODE = """
def used():
    return 1


def unused():
    return 2
"""


@pytest.mark.parametrize(
    ("expression", "selected"),
    [
        ("chaos", True),
        ("chaos or integration", True),
        ("chaos and not slow", True),
        ("not chaos", False),
        ("not chaos and not integration", False),
        ("integration", False),
        ("chaotic", False),
    ],
)
def test_which_expressions_ask_for_chaos(expression: str, selected: bool) -> None:
    assert selects_chaos(expression) is selected


@given(st.sampled_from(["integration", "slow", "smoke"]))
def test_an_expression_without_chaos_never_asks_for_it(other: str) -> None:
    assert not selects_chaos(other)
    assert selects_chaos(f"chaos or {other}")
    assert not selects_chaos(f"not chaos and {other}")


@pytest.fixture(autouse=True)
def _outside_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``make test -n 2`` this test runs in a worker, whose variables the inner sessions would inherit."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


def test_not_chaos_stays_in_this_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mixed=TESTS)
    result = pytester.runpytest_subprocess("-m", "not chaos", "-s")
    result.assert_outcomes(passed=1, deselected=1)
    output = result.stdout.str()
    assert "worker none" in output
    assert "[gw0]" not in output  # no xdist worker started
    assert "created: " not in output
    assert "stillme chaos:" not in output  # chaos was not asked for: no header about it


def test_chaos_with_coverage_runs_in_a_worker_and_measures(pytester: pytest.Pytester) -> None:
    """Before the fix pytest-cov had chosen its single-process mode and the session ended in an INTERNALERROR."""
    pytester.makepyfile(test_mixed=TESTS, covered=CODE)
    pytester.makepyfile(test_uses=USES)
    result = pytester.runpytest_subprocess("-m", "chaos", "--cov=covered", "--cov-report=term-missing")
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=2)  # test_plain deselected (xdist does not count deselections in the line)
    result.stdout.fnmatch_lines(["*created: 1/1 worker*", "covered.py*"])
    line = next(line for line in result.stdout.lines if line.startswith("covered.py"))
    assert line.split()[-1] == "6", line  # unused()'s body: measured in the worker, missed
