"""The ``fuzz`` fixture in real sessions: failures, ledger and SARIF, seeds, profiles, xdist, install cost."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import starlette.applications  # noqa: F401

# Loaded here, before any inner session: pytester drops the modules a session imported when it ends,
# and importing hypothesis, httpx and starlette again in every inner session would cost seconds each.
import pytest_stillme.fuzz.explore
import pytest_stillme.fuzz.fixture
import pytest_stillme.fuzz.run
import pytest_stillme.fuzz.targets  # noqa: F401

#: A small shop with two planted defects (SQL error text, reflected XSS) and a clean endpoint.
SHOP = """
import sqlite3

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

DB = sqlite3.connect(":memory:", check_same_thread=False)
DB.execute("CREATE TABLE p (name TEXT)")
DB.execute("INSERT INTO p VALUES ('a'), ('b')")


async def find(request):
    name = request.query_params.get("name", "a")
    try:
        rows = DB.execute(f"SELECT name FROM p WHERE name = '{name}'").fetchall()
    except sqlite3.Error as exc:
        return JSONResponse({"error": f"sqlite3.OperationalError: {exc}"}, status_code=400)
    return JSONResponse({"rows": rows})


async def hello(request):
    return HTMLResponse(f"<p>Hi {request.query_params.get('who', 'you')}</p>")


async def health(request):
    return JSONResponse({"ok": True})


async def length(request):
    if len(request.query_params.get("word", "")) >= 5:
        raise ValueError("word too long")
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/find", find), Route("/hello", hello)])
clean = Starlette(routes=[Route("/health", health)])
lengthy = Starlette(routes=[Route("/length", length)])
"""

TESTS = """
import shop


def test_shop(fuzz):
    fuzz(shop.app, examples=5)


def test_clean(fuzz):
    result = fuzz(shop.clean, examples=5)
    assert result.requests > 0 and result.found == []
"""


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(shop=SHOP)
    pytester.syspathinsert()
    return pytester


def test_the_fixture_fails_listing_every_finding_recorded_in_sarif_and_the_gate_under_xdist(
    shop: pytest.Pytester,
) -> None:
    shop.makepyfile(test_shop=TESTS)
    result = shop.runpytest("-n", "2", "--stillme-gate", "--stillme-sarif=out.sarif", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)  # the gate is a test of its own, failed by the findings
    text = result.stdout.str()
    assert "stillme fuzz:" in text
    assert "finding(s) on" in text
    for check in ("sql-error: GET /find [name]", "sql-boolean: GET /find [name]", "xss-reflection: GET /hello [who]"):
        assert check in text
    assert "curl -sS -i" in text
    assert "seed " in text
    assert "stillme gate" in text
    sarif = json.loads((shop.path / "out.sarif").read_text())
    run = next(r for r in sarif["runs"] if r["tool"]["driver"]["name"] == "stillme-fuzz")
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert {"sql-error", "sql-boolean", "xss-reflection"} <= set(by_rule)
    where = by_rule["sql-error"]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "shop.py"
    line = where["region"]["startLine"]
    assert (shop.path / "shop.py").read_text().splitlines()[line - 1].startswith("async def find")
    assert by_rule["sql-error"]["properties"]["category"] == "fuzz"
    assert by_rule["sql-error"]["properties"]["param"] == "name"


@pytest.mark.hypothesis_plugin
def test_the_seed_of_hypothesis_seed_is_used_and_reported(
    shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hypothesis.core

    # Hypothesis's plugin sets its forced seed for the process; later inner sessions must not inherit it.
    monkeypatch.setattr(hypothesis.core, "global_force_seed", None)
    shop.makepyfile(test_shop=TESTS)
    result = shop.runpytest("--hypothesis-seed=4242", "test_shop.py::test_shop", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "seed 4242" in result.stdout.str()
    assert "pytest --hypothesis-seed=4242 repeats" in result.stdout.str()


@pytest.mark.hypothesis_plugin
def test_a_hypothesis_profile_sets_the_budget_and_the_database_replays_failures(shop: pytest.Pytester) -> None:
    shop.makeconftest("""
        import os
        from hypothesis import settings
        from hypothesis.database import DirectoryBasedExampleDatabase

        settings.register_profile("few", max_examples=3, database=None)
        settings.register_profile("kept", database=DirectoryBasedExampleDatabase("examples-db"))
    """)
    shop.makepyfile(
        test_len="""
        import os
        import shop


        def test_budget(fuzz):
            result = fuzz(shop.clean, sweep=False, crawl=0, endpoints=[fuzz.endpoint("GET", "/health",
                          params={"x": "1"})])
            print("REQUESTS", result.requests)


        def test_length(fuzz):
            fuzz(shop.lengthy, sweep=False, examples=int(os.environ["EXAMPLES"]),
                 endpoints=[fuzz.endpoint("GET", "/length", params={"word": "ab"})])
    """
    )
    few = shop.runpytest("--hypothesis-profile=few", "-s", "-k", "budget", "-p", "no:cacheprovider")
    few.assert_outcomes(passed=1)
    requests = int(few.stdout.str().split("REQUESTS ")[1].split()[0])
    assert 1 < requests <= 4  # the base request and at most the profile's 3 examples (not the default 100)
    first = shop.runpytest("--hypothesis-profile=kept", "-k", "length", "-p", "no:cacheprovider", "-p", "no:randomly")
    first.assert_outcomes(failed=1)
    assert "word=00000" in first.stdout.str()  # shrunk to the shortest word that fails
    # One example is not enough to find it, but the database replays the saved failure first.
    import os

    os.environ["EXAMPLES"] = "1"
    try:
        again = shop.runpytest("--hypothesis-profile=kept", "-k", "length", "-p", "no:cacheprovider")
    finally:
        os.environ["EXAMPLES"] = "100"
    again.assert_outcomes(failed=1)
    assert "word=00000" in again.stdout.str()


@pytest.fixture(autouse=True)
def _examples_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLES", "100")


def test_a_conftest_adds_checks_and_settings_switch_checks_off(
    shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.makeconftest('''
        from pytest_stillme.fuzz import check


        @check("greeting-leak", severity="low")
        def greeting_leak(exchange):
            """Greets the visitor by name."""
            if b"Hi " in exchange.reply.body:
                return exchange.fail("the page greets the visitor")


        def pytest_stillme_fuzz_checks(checks):
            checks.add(greeting_leak)
    ''')
    shop.makepyfile(test_shop=TESTS)
    monkeypatch.setenv("STILLME_FUZZ_SKIP_CHECKS", "sql-error xss-reflection xss-structure")
    result = shop.runpytest("-k", "test_shop", "-p", "no:cacheprovider")
    text = result.stdout.str()
    assert "[low] greeting-leak: GET /hello: the page greets the visitor" in text
    assert "sql-error:" not in text
    assert "xss-reflection:" not in text
    assert "sql-boolean: GET /find [name]" in text
    monkeypatch.setenv("STILLME_FUZZ_SKIP_CHECKS", "no-such-check")
    result = shop.runpytest("-k", "test_shop", "-p", "no:cacheprovider")
    assert "unknown fuzz check 'no-such-check'" in result.stdout.str()


def test_a_remote_url_fails_the_test_before_any_request_and_is_a_gate_error(shop: pytest.Pytester) -> None:
    shop.makepyfile(
        test_remote="""
        def test_remote(fuzz):
            fuzz("http://example.com")
    """
    )
    result = shop.runpytest("--stillme-gate", "-p", "no:cacheprovider")
    text = result.stdout.str()
    assert "stillme fuzz: refusing fuzz target 'http://example.com'" in text
    assert "not a loopback address" in text
    assert result.ret == 1


def test_a_long_call_shows_a_progress_line(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STILLME_FUZZ_PROGRESS", "0.01")
    shop.makepyfile(
        test_slow="""
        import shop


        def test_progress(fuzz):
            fuzz(shop.clean, examples=40, endpoints=[fuzz.endpoint("GET", "/health", params={"x": "1", "y": 2})])
    """
    )
    result = shop.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.re_match_lines([r"fuzz test_slow.py::test_progress: endpoint 1/1 GET /health, \d+ requests"])


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_importing_the_plugin_imports_neither_hypothesis_nor_httpx() -> None:
    done = _run_python("""
        import sys
        import pytest_stillme.plugin, pytest_stillme.fuzz.plugin, pytest_stillme.fuzz
        heavy = sorted(m for m in ("hypothesis", "httpx") if m in sys.modules)
        print("HEAVY", heavy)
    """)
    assert done.stdout.strip() == "HEAVY []", done.stderr


def test_without_the_extra_the_fixture_says_what_to_install(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import sys

        class _Blocked:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "hypothesis":
                    raise ImportError("No module named 'hypothesis'")

        sys.meta_path.insert(0, _Blocked())
        for name in [m for m in sys.modules if m.split(".")[0] == "hypothesis"]:
            del sys.modules[name]
    """)
    pytester.makepyfile(
        test_x="""
        def test_x(fuzz):
            fuzz(object())
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:hypothesispytest", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "the fuzz fixture needs hypothesis, which is not installed: pip install 'pytest-stillme[fuzz]'" in (
        result.stdout.str()
    )


def test_settings_come_from_pyproject_and_options_and_bad_values_name_their_source(shop: pytest.Pytester) -> None:
    shop.makepyprojecttoml("""
        [tool.stillme.fuzz]
        skip_checks = ["sql-error", "sql-boolean", "sql-union"]
        crawl = 0
    """)
    shop.makepyfile(
        test_budget="""
        import shop


        def test_budget(fuzz):
            result = fuzz(shop.app, sweep=False, endpoints=[fuzz.endpoint("GET", "/find", params={"name": "a"})])
            print("REQUESTS", result.requests)
    """
    )
    result = shop.runpytest("--stillme-fuzz-examples=2", "-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)  # the SQL checks are off, and two examples find nothing else
    assert int(result.stdout.str().split("REQUESTS ")[1].split()[0]) <= 3
    shop.makepyprojecttoml("""
        [tool.stillme.fuzz]
        timeout = "soon"
    """)
    bad = shop.runpytest("-p", "no:cacheprovider")
    assert "invalid request timeout 'soon' for fuzz.timeout in" in bad.stderr.str() + bad.stdout.str()
