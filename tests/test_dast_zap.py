"""The ZAP driver end to end: the real ``zaproxy`` client against a ZAP-compatible server on loopback.

Each failure mode is its own scanner error with its own message: ZAP
unreachable, a wrong or missing API key, an address that is not ZAP, a
target ZAP cannot reach, a spider that finds nothing, a wait that runs out,
a report that cannot be written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_stillme.core.findings import Severity
from pytest_stillme.dast.rules import RuleConfig, parse_rule_config
from pytest_stillme.dast.zap import discover, item_keys, run, split_by_item, zap_target
from pytest_stillme.readers.zap import parse_zap_json
from pytest_stillme.scanners.api import ScanRequest, ScanResult
from pytest_stillme.scanners.process import ToolFailure
from pytest_stillme.service import ServiceTarget, serve_app

from .dast_support import API_KEY, DEFECTS, FakeZap, ZapScript, free_port, serve_zap

#: Fast polls: the fake ZAP moves on per call, so no test waits on the clock.
FAST = {"poll": 0.001, "api_key": API_KEY, "call_timeout": 30.0}


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with serve_app(DEFECTS) as url:
        yield url


def scan(tmp_path: Path, api: str, target: str, script_options: dict[str, Any] | None = None) -> ScanResult:
    options = {**FAST, "api": api, **(script_options or {})}
    request = ScanRequest(root=tmp_path, options=options, service=ServiceTarget(url=target))
    found = discover(request)
    assert found.errors == ()
    return run(ScanRequest(root=tmp_path, options=options, targets=found.targets, service=request.service))


def calls(zap: FakeZap) -> list[str]:
    return [path.removeprefix("/JSON/") for path, _, _ in zap.calls]


def test_a_baseline_gives_one_result_per_alert_type(tmp_path: Path, target: str) -> None:
    with serve_zap() as (api, zap):
        result = scan(tmp_path, api, target)
    assert result.errors == ()
    assert result.version == "2.16.1"
    # zap-baseline's steps, in order; every call carried the key.
    sequence = calls(zap)
    assert sequence[:3] == ["core/view/version/", "core/action/newSession/", "core/action/accessUrl/"]
    assert sequence.index("spider/action/scan/") < sequence.index("pscan/view/recordsToScan/")
    assert sequence.count("pscan/view/recordsToScan/") == 3  # 3, 1, 0 records left
    assert sequence[-1] == "core/view/alerts/"
    assert {key for _, _, key in zap.calls} == {API_KEY}
    by_item = {s.source: s.findings for s in result.sources}
    assert len(by_item["10038-1"]) == 4
    assert all(f.severity is Severity.MEDIUM for f in by_item["10038-1"])
    assert len(by_item["10049-1"]) == 4
    assert len(by_item["10049-3"]) == 4
    assert by_item["10010"] == ()  # an alert type ZAP did not raise: a passing item
    assert all(f.tool == "zap" and f.tool_version == "2.16.1" for f in result.findings)
    assert not any(f.rule.id == "10116" for f in result.findings)
    assert any("10116" in w and "not a finding about the target" in w for w in result.warnings)


def test_zap_unreachable(tmp_path: Path, target: str) -> None:
    port = free_port()
    result = scan(tmp_path, f"http://127.0.0.1:{port}", target)
    (error,) = result.errors
    assert error.message.startswith(f"ZAP is unreachable at http://127.0.0.1:{port} (while trying to tell its version)")
    assert "zap.sh -daemon" in error.hint


def test_wrong_and_missing_api_keys(tmp_path: Path, target: str) -> None:
    with serve_zap() as (api, zap):
        wrong = scan(tmp_path, api, target, {"api_key": "nope"})
        missing = scan(tmp_path, api, target, {"api_key": ""})
    assert (
        wrong.errors[0].message == f"ZAP at {api} rejected the API key: ZAP refused the call: Bad API Key (bad_api_key)"
    )
    assert "ZAP_API_KEY" in wrong.errors[0].hint
    assert missing.errors[0].message.startswith(f"ZAP at {api} needs an API key, and none was given")
    assert calls(zap) == ["core/view/version/", "core/view/version/"]  # nothing else was tried


def test_an_address_that_is_not_zap(tmp_path: Path, target: str) -> None:
    result = scan(tmp_path, target, target)  # the target itself answers, but not as ZAP
    (error,) = result.errors
    assert error.message.startswith(f"{target} answers, but not as ZAP's API")


def test_a_zap_that_hangs(tmp_path: Path, target: str) -> None:
    with serve_zap(ZapScript(hang=frozenset({"/JSON/core/view/version/"}))) as (api, _):
        result = scan(tmp_path, api, target, {"call_timeout": 0.2})
    (error,) = result.errors
    assert error.message == "ZAP did not answer a call to tell its version within 0.2 s"
    assert "zap.call_timeout" in error.hint


def test_a_target_zap_cannot_reach(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    with serve_zap() as (api, zap):
        result = scan(tmp_path, api, nowhere)
    (error,) = result.errors
    assert error.message.startswith(f"ZAP cannot reach the target {nowhere}: ")
    assert "zap.target_url" in error.hint
    assert "spider/action/scan/" not in calls(zap)


def test_a_spider_that_finds_nothing(tmp_path: Path, target: str) -> None:
    with serve_zap(ZapScript(finds_urls=False)) as (api, _):
        result = scan(tmp_path, api, target)
    (error,) = result.errors
    assert error.message == f"ZAP answered, but found no URL of {target} (0 URLs spidered)"


def test_a_passive_scan_that_never_drains(tmp_path: Path, target: str) -> None:
    with serve_zap(ZapScript(records=[5])) as (api, _):
        result = scan(tmp_path, api, target, {"passive_wait": 0.05})
    (error,) = result.errors
    assert error.message.startswith("ZAP's passive scan still had 5 records to scan after ")
    assert error.message.endswith("the wait ran out")
    assert error.hint.startswith("raise zap.passive_wait")


def test_the_overall_bound_stops_a_spider_and_says_so(tmp_path: Path, target: str) -> None:
    with serve_zap(ZapScript(spider_polls=10**9)) as (api, zap):
        result = scan(tmp_path, api, target, {"timeout": 2.0})
    (error,) = result.errors
    assert "the wait ran out" in error.message or "ran out of time" in error.message
    assert "zap.timeout" in error.hint
    if "spider/action/scan/" in calls(zap):  # the bound hit while spidering (it may hit earlier on a slow machine)
        assert "spider/action/stop/" in calls(zap)  # a spider left running would go on loading the target


def test_ajax_spider_and_active_scan_when_asked(tmp_path: Path, target: str) -> None:
    with serve_zap() as (api, zap):
        result = scan(tmp_path, api, target, {"ajax_spider": True, "active_scan": True, "active_policy": "Light"})
    assert result.errors == ()
    sequence = calls(zap)
    for step in ("ajaxSpider/action/scan/", "ajaxSpider/view/status/", "ascan/action/scan/", "ascan/view/status/"):
        assert step in sequence
    scan_params = next(params for path, params, _ in zap.calls if path.endswith("ascan/action/scan/"))
    assert scan_params["scanPolicyName"] == "Light"


def test_the_rule_file_keeps_ignored_rules_out_of_items_findings_and_the_report(tmp_path: Path, target: str) -> None:
    (tmp_path / ".zap").mkdir()
    (tmp_path / ".zap" / "rules.tsv").write_text("10036\tIGNORE\t(Server)\n10038\tFAIL\t(CSP)\n")
    with serve_zap() as (api, _):
        result = scan(tmp_path, api, target, {"report": "out/zap.json"})
    assert result.errors == ()
    assert "10036-2" not in {s.source for s in result.sources}
    assert not any(f.rule.id.startswith("10036") for f in result.findings)
    written = json.loads((tmp_path / "out" / "zap.json").read_text())
    refs = {a["alertRef"] for a in written["site"][0]["alerts"]}
    assert "10036-2" not in refs
    assert "10116" not in refs
    assert "10038-1" in refs
    # The artifact reads back to the same findings.
    assert len(parse_zap_json(written, source="zap.json").findings) == len(result.findings)


def test_a_report_zap_does_not_give_is_an_error(tmp_path: Path, target: str) -> None:
    with serve_zap(ZapScript(report="garbage")) as (api, _):
        result = scan(tmp_path, api, target, {"report": "zap.json"})
    (error,) = result.errors
    assert (
        error.message
        == f"ZAP's JSON report was not written to {tmp_path / 'zap.json'}: ZAP returned something that is not JSON"
    )
    assert result.findings  # the findings themselves are still there
    with serve_zap(ZapScript(report="error")) as (api, _):
        failed = scan(tmp_path, api, target, {"report": "zap.json"})
    assert failed.errors[0].message.startswith(
        "ZAP failed to write its JSON report: ZAP refused the call: Internal Error"
    )
    assert not (tmp_path / "zap.json").exists()


def test_discovery_is_static_and_follows_settings() -> None:
    rules = parse_rule_config("10038\tIGNORE\t(CSP)\n40012\tFAIL\t(XSS)\n")
    plain = item_keys(RuleConfig(), active=False, include_out_of_date=False)
    assert plain == item_keys(RuleConfig(), active=False, include_out_of_date=False)
    assert "10038-1" in plain
    assert "10116" not in plain
    assert "40012" not in plain
    assert "10116" in item_keys(RuleConfig(), active=False, include_out_of_date=True)
    assert "40018" in item_keys(RuleConfig(), active=True, include_out_of_date=False)
    ruled = item_keys(rules, active=False, include_out_of_date=False)
    assert not any(k.startswith("10038") for k in ruled)
    assert "40012" in ruled  # listed in the rule file: an item even without the active scan


def test_alert_types_without_an_item_keep_their_findings(tmp_path: Path, target: str) -> None:
    with serve_zap() as (api, _):
        result = scan(tmp_path, api, target)
    findings = result.findings
    moved = [
        f.__class__(**{**f.__dict__, "rule": f.rule.__class__(**{**f.rule.__dict__, "id": rid})})
        for f, rid in zip(findings[:2], ("10055-99", "99999"), strict=True)
    ]
    sources = {s.source: s.findings for s in split_by_item(tuple(moved), ["10055", "10038-1"])}
    assert [f.rule.id for f in sources["10055"]] == ["10055-99"]  # its plugin's item
    assert [f.rule.id for f in sources["99999"]] == ["99999"]  # a result of its own: the status item carries it


def test_where_zap_reaches_the_target() -> None:
    assert zap_target("http://127.0.0.1:8123", "", allow_remote=False) == "http://127.0.0.1:8123"
    assert (
        zap_target("http://127.0.0.1:8123", "http://172.17.0.1:{port}", allow_remote=False) == "http://172.17.0.1:8123"
    )
    assert zap_target("http://127.0.0.1:8123", "http://app:8000/", allow_remote=False) == "http://app:8000"
    with pytest.raises(ToolFailure, match=re.escape("refusing zap.target_url 'http://example.org:8123'")):
        zap_target("http://127.0.0.1:8123", "http://example.org:{port}", allow_remote=False)
    assert zap_target("http://127.0.0.1:1", "http://example.org", allow_remote=True) == "http://example.org"


def test_no_target_is_an_error(tmp_path: Path) -> None:
    result = run(ScanRequest(root=tmp_path, options=FAST))
    assert result.errors[0].message == "no target to scan"
