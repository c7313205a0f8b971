"""DAST in real pytest sessions: items per rule and per alert type, zap-baseline's outcomes, the gate, xdist."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

# Imported here, outside the inner sessions: pytester removes the modules an in-process session imported
# when it ends, and a requests imported twice into one process fails ("You can only merge into CookieJar").
import requests  # noqa: F401
import zapv2  # type: ignore[import-untyped]  # noqa: F401

from pytest_stillme.dast.plugin import scanner_specs
from pytest_stillme.dast.rules import RuleConfig
from pytest_stillme.dast.zap import item_keys
from pytest_stillme.scanners.api import ScannerRegistry
from pytest_stillme.service import serve_app

from .dast_support import API_KEY, DEFECTS, serve_zap


@pytest.fixture(scope="module")
def defects_url() -> Iterator[str]:
    with serve_app(DEFECTS) as url:
        yield url


def test_both_scanners_register_with_their_settings() -> None:
    registry = ScannerRegistry()
    for spec in scanner_specs():
        registry.add_scanner(spec)
    assert set(registry.scanners) == {"zap", "passive"}
    assert all(spec.needs_target and spec.category == "dast" for spec in registry.scanners.values())
    assert registry.settings["zap.api_key"].env == "ZAP_API_KEY"
    assert registry.settings["zap.api_key"].ini == "-"  # a key belongs in the environment, not in files
    options = [s.option for s in registry.settings.values() if s.option]
    assert len(options) == len(set(options))


def test_a_session_without_dast_pays_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "def test_idle(request):\n    assert not request.config.pluginmanager.has_plugin('stillme-dast-outcomes')\n"
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_passive_items_pass_warn_and_fail_as_zap_baseline_would(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    pytester.mkdir(".zap")
    (pytester.path / ".zap" / "rules.tsv").write_text(
        "10038\tFAIL\t(Content Security Policy (CSP) Header Not Set)\n"
        "10037\tIGNORE\t(X-Powered-By)\n"
        "10010\tINFO\t(Cookie No HttpOnly Flag)\n"
    )
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "-rA",
        "--stillme-scan",
        "passive",
        "--stillme-target",
        "tests.dast_support:DEFECTS",
        "--stillme-gate",
        "--stillme-fail-on",
        "dast=high",
        "--stillme-coverage",
        "off",
        "--stillme-sarif",
        "out.sarif",
    )
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1  # 10038, set to FAIL
    result.stdout.fnmatch_lines(
        [
            "*10038::passive: failing as zap-baseline would (the rule file sets FAIL):",
            "FAIL-NEW: Content Security Policy (CSP) Header Not Set [[]10038-1] x 3",
        ]
    )
    result.stdout.fnmatch_lines(["*PASSED 10020::passive*"])
    result.stdout.fnmatch_lines(["*WARN-NEW: Missing Anti-clickjacking Header [[]10020-1] x 3"])
    assert "10037::passive" not in result.stdout.str()  # IGNOREd: no item
    assert "StillmeDastWarning: WARN-NEW: Cookie No HttpOnly" not in result.stdout.str()  # INFO: quiet
    sarif = json.loads((pytester.path / "out.sarif").read_text())
    rules = {r["ruleId"] for run in sarif["runs"] for r in run["results"] if run["tool"]["driver"]["name"] == "passive"}
    assert {"10038-1", "10020-1", "10021", "10010", "10054-1", "90004-1"} <= rules
    assert not any(r.startswith("10037") for r in rules)


def test_zap_items_from_a_zap_daemon(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, defects_url: str
) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    with serve_zap() as (api, zap):
        monkeypatch.setenv("ZAP_API_KEY", API_KEY)
        monkeypatch.setenv("STILLME_ZAP_POLL", "0.001")
        result = pytester.runpytest(
            "-p",
            "no:cacheprovider",
            "-rA",
            "--stillme-scan",
            "zap",
            "--stillme-zap-api",
            api,
            "--stillme-target",
            defects_url,
        )
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*PASSED 10038-1::zap*"])
    result.stdout.fnmatch_lines(["*PASSED stillme::zap*"])
    result.stdout.fnmatch_lines(["*WARN-NEW: Content Security Policy (CSP) Header Not Set [[]10038-1] x 4"])
    result.stdout.fnmatch_lines(["*zap: left out ZAP's alert 10116 'ZAP is Out of Date'*"])
    # The findings are ZAP's, in ZAP's words: one per instance, in the session's ledger.
    assert sum(path.endswith("/spider/action/scan/") for path, _, _ in zap.calls) == 1


def test_a_zap_that_rejects_the_key_fails_every_zap_item(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, defects_url: str
) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    with serve_zap() as (api, _):
        monkeypatch.setenv("ZAP_API_KEY", "wrong")
        result = pytester.runpytest(
            "-p", "no:cacheprovider", "--stillme-scan", "zap", "--stillme-zap-api", api, "--stillme-target", defects_url
        )
    items = len(item_keys(RuleConfig(), active=False, include_out_of_date=False))
    result.assert_outcomes(passed=1, failed=items + 1)  # every alert type, and the status item
    result.stdout.fnmatch_lines([f"*ZAP at {api} rejected the API key*"])


def test_under_xdist_the_site_is_scanned_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    with serve_app(DEFECTS) as url:
        before = len(DEFECTS.requests)
        result = pytester.runpytest(
            "-p", "no:cacheprovider", "-n", "2", "--stillme-scan", "passive", "--stillme-target", url
        )
        home = [r for r in DEFECTS.requests[before:] if r == ("GET", "/")]
    assert result.ret == 0
    assert result.parseoutcomes()["passed"] == 30  # the test, 28 rules, the status item
    assert home == [("GET", "/")]  # one crawl for both workers


def test_rule_file_errors_stop_nothing_but_fail_the_status_item(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    Path(pytester.path / "zap.conf").write_text("10038 FAIL (CSP)\n")
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--stillme-scan",
        "passive",
        "--stillme-passive-rules",
        "zap.conf",
        "--stillme-target",
        "tests.dast_support:GOOD",
    )
    result.stdout.fnmatch_lines(["*cannot use the rule file: zap.conf:1: expected tab-separated fields*"])
    assert result.ret == 1
