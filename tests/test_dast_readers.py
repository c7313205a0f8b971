"""ZAP's traditional JSON and XML reports as findings: forgiving of ZAP's quirks, clear about what is not ZAP."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_stillme.core.findings import Severity
from pytest_stillme.dast.rules import parse_rule_config
from pytest_stillme.readers.base import ReportError
from pytest_stillme.readers.zap import is_zap_json, is_zap_xml, parse_zap_json, parse_zap_xml

from .dast_support import json_report, xml_report

SITE = "http://host.docker.internal:5000"


@pytest.fixture
def report() -> dict[str, Any]:
    return json_report(SITE)


def test_every_instance_is_a_finding_with_zaps_risk_confidence_and_ids(report: dict[str, Any]) -> None:
    result = parse_zap_json(report, source="zap.json")
    assert result.tools == {"zap": "2.16.1"}
    assert result.errors == ()
    by_rule = Counter(f.rule.id for f in result.findings)
    # Grouped by alertRef: plugin 10049 raises two alert types; 10116 is left out (see below).
    assert by_rule == {"10038-1": 4, "10020-1": 2, "10021": 2, "10036-2": 4, "10049-1": 4, "10049-3": 4, "90022": 4}
    csp = next(f for f in result.findings if f.rule.id == "10038-1")
    assert csp.severity is Severity.MEDIUM  # riskcode "2"
    assert csp.confidence == "high"  # confidence "3"
    assert csp.category == "dast"
    assert csp.tool == "zap"
    assert csp.rule.cwe == (693,)
    assert "WASC-15" in csp.rule.tags
    assert "zap-plugin-10038" in csp.rule.tags
    assert csp.rule.help_uri == "https://www.zaproxy.org/docs/alerts/10038-1/"
    assert csp.rule.full_description == "Content Security Policy (CSP) Header Not Set.\nSecond paragraph."
    assert csp.fix == "Fix it."
    server = next(f for f in result.findings if f.rule.id == "10036-2")
    assert server.evidence == "Werkzeug/3.1.3 Python/3.12.10"
    nosniff = next(f for f in result.findings if f.rule.id == "10021")
    assert nosniff.location.param == "x-content-type-options"
    assert nosniff.message == "X-Content-Type-Options Header Missing: This issue still applies to error type pages."
    assert {f.severity for f in result.findings if f.rule.id.startswith("10049")} == {Severity.INFO}


def test_fingerprints_are_distinct_and_survive_a_new_port(report: dict[str, Any]) -> None:
    first = parse_zap_json(report, source="a.json")
    # "http://host:5000" and "http://host:5000/" are both path "/": occurrences keep them apart.
    assert len({f.fingerprint for f in first.findings}) == len(first.findings)
    moved = json.loads(json.dumps(report).replace("host.docker.internal:5000", "127.0.0.1:41234"))
    second = parse_zap_json(moved, source="b.json")
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in second.findings]


def test_zaps_out_of_date_alert_is_left_out_with_a_note(report: dict[str, Any]) -> None:
    result = parse_zap_json(report, source="zap.json")
    assert not any(f.rule.id == "10116" for f in result.findings)
    assert any("10116" in note and "ZAP installation is out of date" in note for note in result.notes)
    kept = parse_zap_json(report, source="zap.json", include_out_of_date=True)
    assert sum(f.rule.id == "10116" for f in kept.findings) == 2


def test_the_rule_file_applies_to_reports_too(report: dict[str, Any]) -> None:
    rules = parse_rule_config("10036\tIGNORE\t(Server)\n90022\tOUTOFSCOPE\t.*/robots\\.txt$\n", source="rules.tsv")
    result = parse_zap_json(report, source="zap.json", rules=rules)
    ids = Counter(f.rule.id for f in result.findings)
    assert "10036-2" not in ids
    assert ids["90022"] == 3
    assert any("IGNORE in rules.tsv: 10036-2 (4)" in note for note in result.notes)


def test_old_and_odd_shapes_are_read(report: dict[str, Any]) -> None:
    old = copy.deepcopy(report)
    del old["@programName"]
    old["site"] = old["site"][0]  # a lone site as an object (ZAP before 2.9)
    for alert in old["site"]["alerts"]:
        del alert["alertRef"]  # before 2.10
        alert["riskcode"] = int(alert["riskcode"])  # numbers as numbers
        alert["cweid"] = "-1"
        del alert["name"]
    result = parse_zap_json(old, source="old.json")
    assert {f.rule.id for f in result.findings} >= {"10038", "10020", "10049"}
    assert all(f.rule.cwe == () for f in result.findings)


def test_a_report_without_sites_is_an_error_not_a_pass() -> None:
    empty = {"@programName": "ZAP", "@version": "2.16.1", "@generated": "x", "site": []}
    result = parse_zap_json(empty, source="zap.json")
    assert result.findings == ()
    assert [e.message for e in result.errors] == ["the ZAP report lists no site: ZAP scanned nothing"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "not a ZAP report: the top level is an array"),
        ({"version": "2.1.0", "runs": []}, "not a ZAP report: a JSON object with keys runs, version"),
        ({"@version": "2", "site": "x"}, "site: expected an array of sites, got a string"),
        (
            {"@version": "2", "site": [{"alerts": [{"riskcode": "2", "name": "x"}]}]},
            "site[0].alerts[0].pluginid: missing",
        ),
        (
            {"@version": "2", "site": [{"alerts": [{"pluginid": "1", "riskcode": "9", "name": "x"}]}]},
            "site[0].alerts[0].riskcode: unknown risk '9'",
        ),
        (
            {"@version": "2", "site": [{"alerts": [{"pluginid": "abc", "riskcode": "1", "name": "x"}]}]},
            "expected a plugin id (a number), got 'abc'",
        ),
        (
            {"@version": "2", "site": [{"alerts": [{"pluginid": "1", "riskcode": "1", "name": "x", "instances": {}}]}]},
            "site[0].alerts[0].instances: expected an array, got an object",
        ),
    ],
)
def test_what_is_not_a_zap_report_is_rejected_clearly(data: Any, problem: str) -> None:
    with pytest.raises(ReportError) as info:
        parse_zap_json(data, source="r.json")
    assert str(info.value).startswith("r.json: ")
    assert problem in str(info.value)


def test_detection() -> None:
    assert is_zap_json(json_report(SITE))
    assert not is_zap_json({"version": "2.1.0", "runs": []})
    assert not is_zap_json({"site": []})  # no ZAP marker
    assert is_zap_xml(xml_report(json_report(SITE)))
    assert is_zap_xml(b'\xef\xbb\xbf<?xml version="1.0"?>\n<OWASPZAPReport version="2.7.0">')
    assert not is_zap_xml(b'{"site": []}')
    assert not is_zap_xml(b"<?xml version='1.0'?><testsuites/>")


def test_the_xml_report_gives_the_same_findings(report: dict[str, Any]) -> None:
    from_json = parse_zap_json(report, source="zap.json")
    from_xml = parse_zap_xml(xml_report(report), source="zap.xml")
    assert from_xml.tools == {"zap": "2.16.1"}
    assert [f.fingerprint for f in from_xml.findings] == [f.fingerprint for f in from_json.findings]
    assert [f.severity for f in from_xml.findings] == [f.severity for f in from_json.findings]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "the file is empty"),
        (b"<OWASPZAPReport><site>", "not well-formed XML (line 1"),
        (b"<testsuites/>", "the root element is <testsuites>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><OWASPZAPReport>&a;</OWASPZAPReport>',
            "refusing the XML report",
        ),
        (
            b"<OWASPZAPReport><site name='x'><alerts><alertitem><pluginid>1</pluginid><name>n</name>"
            b"<riskcode>7</riskcode></alertitem></alerts></site></OWASPZAPReport>",
            "unknown risk '7'",
        ),
    ],
)
def test_bad_xml_is_rejected_clearly(raw: bytes, problem: str) -> None:
    with pytest.raises(ReportError) as info:
        parse_zap_xml(raw, source="r.xml")
    assert str(info.value).startswith("r.xml: ")
    assert problem in str(info.value)


_TEXT = st.one_of(st.none(), st.text(max_size=12), st.integers(-5, 5))
_INSTANCE = st.fixed_dictionaries({}, optional={k: _TEXT for k in ("uri", "method", "param", "evidence", "nodeName")})
_ALERT = st.fixed_dictionaries(
    {"pluginid": st.one_of(st.integers(0, 99999), st.integers(0, 99999).map(str), _TEXT)},
    optional={
        "riskcode": _TEXT,
        "confidence": _TEXT,
        "name": _TEXT,
        "alertRef": _TEXT,
        "cweid": _TEXT,
        "instances": st.one_of(st.none(), st.lists(_INSTANCE, max_size=3), _TEXT),
    },
)


@settings(max_examples=150)
@given(st.lists(_ALERT, max_size=4))
def test_any_alert_list_is_read_or_rejected_with_a_report_error(alerts: list[dict[str, Any]]) -> None:
    data = {"@programName": "ZAP", "@version": "2.16.1", "site": [{"@name": SITE, "alerts": alerts}]}
    try:
        result = parse_zap_json(data, source="h.json")
    except ReportError as exc:
        problem = str(exc)
    else:
        problem = ""
        assert all(0 <= f.severity <= 3 for f in result.findings)
    assert not problem or problem.startswith("h.json: not a valid ZAP JSON report: site[0].alerts[")
