"""Every use of another project's internals (``adapter/compat.py``), pinned against the installed versions.

Each test runs a real session whose ``conftest.py`` calls the adapter where the plugin calls it and
prints what it got, next to what the other project itself says (pytest-cov's report, pytest's rootdir,
pytest-timeout's option, the terminal's counts).  When a new version moves an internal, these fail
first, with the value that changed.
"""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

COVERED = """\
def half(x):
    if x:
        return 1
    return 0
"""
TESTS = """\
from covered import half


def test_half():
    assert half(1) == 1
"""


def test_coverage_total_is_the_total_pytest_cov_prints(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(covered=COVERED, test_cov=TESTS)
    pytester.makeconftest(
        """
        import pytest
        from pytest_stillme.adapter.compat import coverage_total

        @pytest.hookimpl(wrapper=True, tryfirst=True)
        def pytest_runtestloop(session):
            result = yield
            config = session.config
            lazy, computed = coverage_total(config, compute=False), coverage_total(config)
            print(f"\\nCOMPAT lazy={lazy.total} computed={computed.total} fail_under={computed.fail_under}")
            return result
        """
    )
    pytester.makefile(".cfg", setup="[coverage:report]\nfail_under = 40\n")
    result = pytester.runpytest_subprocess("--cov=covered", "--cov-report=term", "-s", "-p", "no:stillme")
    output = result.stdout.str()
    printed = re.search(r"^TOTAL\s.*?(\d+(?:\.\d+)?)%\s*$", output, re.MULTILINE)
    assert printed is not None, output
    found = re.search(r"COMPAT lazy=(\S+) computed=(\S+) fail_under=(\S+)", output)
    assert found is not None, output
    # With a terminal report pytest-cov has its total already: read, not computed again.
    assert float(found[1]) == pytest.approx(float(found[2]))
    assert round(float(found[2])) == round(float(printed[1]))
    assert float(found[3]) == 40.0


def test_coverage_total_without_a_report_is_computed_only_when_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(covered=COVERED, test_cov=TESTS)
    pytester.makeconftest(
        """
        import pytest
        from pytest_stillme.adapter.compat import coverage_total

        @pytest.hookimpl(wrapper=True, tryfirst=True)
        def pytest_runtestloop(session):
            result = yield
            lazy, computed = coverage_total(session.config, compute=False), coverage_total(session.config)
            print(f"\\nCOMPAT lazy={lazy.total} computed={computed.total}")
            return result
        """
    )
    result = pytester.runpytest_subprocess("--cov=covered", "--cov-report=", "-s", "-p", "no:stillme")
    result.stdout.fnmatch_lines(["*COMPAT lazy=None computed=75.0"])


def test_setup_without_gives_the_rootdir_pytest_chose(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    pytester.makeconftest(
        """
        from pytest_stillme.adapter.compat import setup_without

        def pytest_configure(config):
            rootpath, inipath = setup_without(config)
            print(f"COMPAT {rootpath == config.rootpath} {inipath == config.inipath}")
        """
    )
    result = pytester.runpytest_subprocess("-s", "test_one.py")
    result.stdout.fnmatch_lines(["COMPAT True True"])


def test_pytest_timeout_default_is_pytest_timeouts_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    pytester.makeconftest(
        """
        from pytest_stillme.adapter.compat import pytest_timeout_default

        def pytest_configure(config):
            print(f"COMPAT {pytest_timeout_default(config)}")
        """
    )
    pytester.runpytest_subprocess("-s", "--timeout=7").stdout.fnmatch_lines(["COMPAT 7.0"])
    pytester.runpytest_subprocess("-s").stdout.fnmatch_lines(["COMPAT None"])


def test_added_items_and_the_gate_are_counted_by_the_terminal(pytester: pytest.Pytester) -> None:
    """``report_collected`` and ``count_extra_test``: "collected N items" and the final count include them."""
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    pytester.makeconftest(
        """
        import pytest

        @pytest.hookimpl(trylast=True)
        def pytest_sessionfinish(session):
            print(f"COMPAT testscollected={session.testscollected}")
        """
    )
    result = pytester.runpytest_subprocess("--stillme-gate", "--stillme-scan=ruff", "-p", "no:randomly", "-s")
    found = re.search(r"collected (\d+) items", result.stdout.str())
    assert found is not None, result.stdout.str()
    collected = int(found[1])
    outcomes = result.parseoutcomes()
    ran = outcomes.get("passed", 0) + outcomes.get("failed", 0)
    # test_one and ruff's items (added after collection) are collected; the gate is one more test.
    assert collected >= 3  # test_one, ruff's file item, ruff's status item
    assert ran == collected + 1
    assert f"COMPAT testscollected={collected + 1}" in result.stdout.str()
    # A session of nothing but the gate is a failed gate (exit 1), not pytest's "no tests collected" (exit 5).
    pytester.makepyfile(test_one="")
    assert pytester.runpytest_subprocess("--stillme-gate").ret == 1
