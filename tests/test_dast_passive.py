"""The built-in passive scan: ZAP's rule ids on a site with known defects, none on a site without.

The expected ids are those ZAP's baseline reports for the same site (its
WARN lines: risk Low and above; the baseline ignores Informational alerts),
each written down with the reason ZAP raises it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_stillme.dast.passive import active_rules, discover, run
from pytest_stillme.dast.rules import parse_rule_config
from pytest_stillme.scanners.api import ScanRequest, ScanResult
from pytest_stillme.service import ServiceTarget, serve_app

from .dast_support import DEFECTS, GOOD, free_port

#: What ZAP's baseline (2.16, default Medium threshold) reports for DEFECTS, and why.
EXPECTED_FOR_DEFECTS = {
    "10038": "HTML pages without Content-Security-Policy (Medium)",
    "10020": "HTML pages (200) without X-Frame-Options or CSP frame-ancestors (Medium)",
    "10202": "the POST form on / has no anti-CSRF token (Medium)",
    "10021": "200 responses without X-Content-Type-Options: nosniff (Low)",
    "10036": "Server: Apache/2.4.57 (Unix) names a version (Low)",
    "10037": "X-Powered-By: Express (Low)",
    "10010": "Set-Cookie session=... without HttpOnly (Low)",
    "10054": "Set-Cookie session=... without SameSite (Low)",
    "10063": "HTML pages without Permissions-Policy (Low)",
    "90004": "2xx HTML without Cross-Origin-Resource/Embedder/Opener-Policy (Low)",
}
#: And what it does not report, though a reader might expect it: why not.
NOT_EXPECTED = {
    "10011": "Secure is only checked on cookies set over HTTPS; the site is plain HTTP",
    "10035": "HSTS is only checked over HTTPS",
    "10015": "cache-control is only checked over HTTPS (and is Informational)",
    "90022": "no page answers 500 or shows an error message (the 404s are plain 'Not Found')",
}


def scan(tmp_path: Path, target: ServiceTarget, **options: object) -> ScanResult:
    request = ScanRequest(root=tmp_path, options=options, service=target)
    found = discover(request)
    assert found.errors == ()
    return run(ScanRequest(root=tmp_path, options=options, targets=found.targets, service=target))


def reported(result: ScanResult) -> set[str]:
    """Plugin ids with a finding of risk Low or above, as zap-baseline lists them."""
    return {s.source for s in result.sources if any(f.severity >= 1 for f in s.findings)}


@pytest.fixture(scope="module")
def defects_url() -> Iterator[str]:
    with serve_app(DEFECTS) as url:
        yield url


@pytest.fixture(scope="module")
def good_url() -> Iterator[str]:
    with serve_app(GOOD) as url:
        yield url


def test_known_defects_give_exactly_zaps_rule_ids_over_loopback(tmp_path: Path, defects_url: str) -> None:
    result = scan(tmp_path, ServiceTarget(url=defects_url))
    assert result.errors == ()
    assert result.warnings == ()
    assert reported(result) == set(EXPECTED_FOR_DEFECTS)
    assert not reported(result) & set(NOT_EXPECTED)
    # Every finding is of this site, with a URL location and ZAP's vocabulary.
    assert all(f.location.url.startswith(defects_url) and f.tool == "passive" for f in result.findings)
    cookie = next(f for f in result.findings if f.rule.id == "10010")
    assert cookie.location.param == "session"
    assert cookie.evidence == "Set-Cookie: session"
    assert cookie.rule.cwe == (1004,)


def test_known_defects_in_process_too(tmp_path: Path) -> None:
    result = scan(tmp_path, ServiceTarget(app_ref="tests.dast_support:DEFECTS"), in_process=True)
    assert result.errors == ()
    assert reported(result) == set(EXPECTED_FOR_DEFECTS)


def test_right_headers_and_cookies_give_no_finding(tmp_path: Path, good_url: str) -> None:
    result = scan(tmp_path, ServiceTarget(url=good_url))
    assert result.errors == ()
    assert result.findings == ()
    # Not because nothing was looked at: every page was fetched, the form posted.
    assert {("POST", "/subscribe"), ("GET", "/about"), ("GET", "/robots.txt")} <= set(GOOD.requests)


def test_one_result_per_rule_and_the_rule_file(tmp_path: Path, defects_url: str) -> None:
    (tmp_path / "zap.conf").write_text(
        "10037\tIGNORE\t(X-Powered-By)\n10038\tFAIL\t(CSP)\n10021\tOUTOFSCOPE\t.*/about$\n"
    )
    result = scan(tmp_path, ServiceTarget(url=defects_url), rules="zap.conf")
    sources = {s.source for s in result.sources}
    assert "10037" not in sources  # IGNOREd: no item, no finding
    assert {r.plugin_id for r in active_rules(parse_rule_config("10037\tIGNORE\tx\n"))} == sources
    nosniff = [f.location.url for f in result.findings if f.rule.id == "10021"]
    assert nosniff
    assert not any(url.endswith("/about") for url in nosniff)


def test_a_target_that_does_not_answer(tmp_path: Path) -> None:
    result = scan(tmp_path, ServiceTarget(url=f"http://127.0.0.1:{free_port()}"))
    (error,) = result.errors
    assert error.message == "the target does not answer: connection refused"
    assert result.findings == ()


def test_a_bad_rule_file_fails_discovery_and_run(tmp_path: Path) -> None:
    (tmp_path / "zap.conf").write_text("10038 FAIL (CSP)\n")
    request = ScanRequest(root=tmp_path, options={"rules": "zap.conf"}, service=ServiceTarget(url="http://127.0.0.1:1"))
    (error,) = discover(request).errors
    assert error.message.startswith("cannot use the rule file: zap.conf:1: expected tab-separated fields")
    assert run(request).errors == (error,)


def test_bounds_stop_the_crawl_with_a_warning(tmp_path: Path) -> None:
    result = scan(tmp_path, ServiceTarget(app_ref="tests.dast_support:LINKED"), in_process=True, max_pages=10)
    assert result.errors == ()
    (warning,) = result.warnings
    assert warning.startswith("the crawl of app tests.dast_support:LINKED (served in process) stopped at max_pages")


def test_no_target_is_an_error_not_an_empty_scan(tmp_path: Path) -> None:
    """A caller that is not the pytest layer (which checks first) and gives no service gets an error, no findings."""
    result = run(ScanRequest(root=tmp_path))
    assert [e.message for e in result.errors] == ["no target to scan"]
    assert "--stillme-target" in result.errors[0].hint
    assert result.findings == ()
