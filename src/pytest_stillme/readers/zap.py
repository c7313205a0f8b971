"""ZAP's reports as findings: the traditional JSON report (zap-baseline ``-J``) and the XML report (``-x``).

ZAP writes numbers as strings (``"riskcode": "2"``), ``null`` for absent
values (``"nodeName": null``), and its fields changed between versions
(``alertRef`` since 2.10, ``name`` beside ``alert``, ``site`` an object in
old reports and a list in new ones): read forgivingly, but reject clearly
what is not a ZAP report, naming the file and the place (a JSON path, or an
XML element).  Every instance becomes a finding (see
:mod:`pytest_stillme.dast.alerts`, which the ZAP driver shares, so a finding
reads the same whether it came from a report or from the daemon).

A report that lists no site at all is an error in the result, not "no
findings": ZAP writes one when it reached nothing.  XML is parsed only
through defusedxml, with DTDs and entities forbidden.  No pytest here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from ..core.findings import ScannerError
from ..dast.alerts import ZapAlert, ZapInstance, confidence_code, findings_from_alerts, risk_code
from ..dast.rules import RuleConfig
from .base import IngestResult, ReportError
from .jsonpath import at, kind

__all__ = ["ZapIngestResult", "is_zap_json", "is_zap_xml", "parse_zap_json", "parse_zap_xml"]

TOOL = "zap"
_NO_SITE_HINT = (
    "ZAP writes a report without sites when it reached nothing: check that the target was up and reachable "
    "from ZAP, then scan again"
)


@dataclass(frozen=True)
class ZapIngestResult(IngestResult):
    """An :class:`IngestResult` with notes on what was left out (ZAP's own out-of-date alert, IGNOREd rules)."""

    notes: tuple[str, ...] = ()


class _Bad(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)
        self.where = where
        self.problem = problem


def _fail(where: str, problem: str) -> NoReturn:
    raise _Bad(where, problem)


# -- JSON --------------------------------------------------------------------------------------


def is_zap_json(data: Any) -> bool:
    """Whether ``data`` (parsed JSON) is ZAP's traditional JSON report: ``site`` beside ``@version``/``@generated``."""
    if not isinstance(data, dict) or "site" not in data:
        return False
    if data.get("@programName") == "ZAP":
        return True
    return ("@version" in data or "@generated" in data) and isinstance(data.get("site"), (list, dict))


def parse_zap_json(
    data: Any,
    *,
    source: str,
    rules: RuleConfig | None = None,
    include_out_of_date: bool = False,
) -> ZapIngestResult:
    """Findings of a parsed traditional JSON report; what is not one is a :class:`ReportError`."""
    if not isinstance(data, dict):
        raise ReportError(source, f"not a ZAP report: the top level is {kind(data)}, not an object")
    if "site" not in data or not any(key in data for key in ("@programName", "@version", "@generated")):
        keys = ", ".join(sorted(str(k) for k in data)[:8]) or "none"
        raise ReportError(
            source,
            f"not a ZAP report: a JSON object with keys {keys}, not ZAP's traditional JSON report "
            "(@version, site); was ZAP asked for it (zap-baseline.py -J, report template traditional-json)?",
        )
    try:
        version = _text(data.get("@version"), "@version")
        sites = data["site"]
        if isinstance(sites, dict):
            sites = [sites]  # ZAP before 2.9 wrote a lone site as an object
        if not isinstance(sites, list):
            _fail("site", f"expected an array of sites, got {kind(sites)}")
        alerts: list[tuple[str, ZapAlert]] = []
        for index, site in enumerate(sites):
            where = at("site", index)
            if not isinstance(site, dict):
                _fail(where, f"expected an object, got {kind(site)}")
            name = _text(site.get("@name"), at(where, "@name"))
            items = site.get("alerts")
            if items is None:
                continue
            if not isinstance(items, list):
                _fail(at(where, "alerts"), f"expected an array, got {kind(items)}")
            for number, item in enumerate(items):
                alerts.append((name, _json_alert(item, at(at(where, "alerts"), number), name)))
    except _Bad as exc:
        raise ReportError(source, f"not a valid ZAP JSON report: {exc.where}: {exc.problem}") from None
    except RecursionError:
        raise ReportError(source, "not a valid ZAP JSON report: nested too deeply") from None
    return _result(alerts, bool(sites), version, source, rules, include_out_of_date)


def _json_alert(item: Any, where: str, site: str) -> ZapAlert:
    if not isinstance(item, dict):
        _fail(where, f"expected an object, got {kind(item)}")
    plugin = _ident(item.get("pluginid", item.get("pluginId")), at(where, "pluginid"))
    name = _text(item.get("name"), at(where, "name")) or _text(item.get("alert"), at(where, "alert"))
    if not name:
        _fail(at(where, "alert"), "missing (every alert has a name)")
    risk = _risk(item, where)
    confidence = _confidence(item.get("confidence"), at(where, "confidence"))
    instances = []
    raw_instances = item.get("instances")
    if raw_instances is not None and not isinstance(raw_instances, list):
        _fail(at(where, "instances"), f"expected an array, got {kind(raw_instances)}")
    for index, raw in enumerate(raw_instances or ()):
        place = at(at(where, "instances"), index)
        if not isinstance(raw, dict):
            _fail(place, f"expected an object, got {kind(raw)}")
        instances.append(_instance(raw.get, place, site))
    if not instances and item.get("uri") is not None:
        instances.append(_instance(item.get, where, site))  # very old reports: one instance, inline
    return ZapAlert(
        plugin_id=plugin,
        name=name,
        risk=risk,
        confidence=confidence,
        alert_ref=_text(item.get("alertRef"), at(where, "alertRef")).strip(),
        description=_text(item.get("desc"), at(where, "desc")),
        solution=_text(item.get("solution"), at(where, "solution")),
        reference=_text(item.get("reference"), at(where, "reference")),
        other_info=_text(item.get("otherinfo"), at(where, "otherinfo")),
        cwe=_number(item.get("cweid"), at(where, "cweid")),
        wasc=_number(item.get("wascid"), at(where, "wascid")),
        instances=tuple(instances),
    )


def _risk(item: dict[str, Any], where: str) -> int:
    raw = item.get("riskcode")
    if raw is None:
        # Some writers keep only "riskdesc": "Medium (High)".
        raw = item.get("riskdesc")
        if raw is None:
            _fail(at(where, "riskcode"), "missing (every alert has a risk, 0 to 3)")
        place = at(where, "riskdesc")
    else:
        place = at(where, "riskcode")
    code = risk_code(raw)
    if code is None:
        _fail(place, f"unknown risk {_shown(raw)} (expected 0 informational, 1 low, 2 medium or 3 high)")
    return code


def _confidence(raw: Any, where: str) -> int:
    if raw is None or raw == "":
        return 2
    code = confidence_code(raw)
    if code is None:
        _fail(where, f"unknown confidence {_shown(raw)} (expected 0 to 4)")
    return code


def _instance(get: Any, where: str, site: str) -> ZapInstance:
    uri = _text(get("uri"), at(where, "uri")).strip() or site
    return ZapInstance(
        uri=uri,
        method=_text(get("method"), at(where, "method")).strip().upper() or "GET",
        param=_text(get("param"), at(where, "param")),
        attack=_text(get("attack"), at(where, "attack")),
        evidence=_text(get("evidence"), at(where, "evidence")),
        other_info=_text(get("otherinfo"), at(where, "otherinfo")),
    )


def _text(value: Any, where: str) -> str:
    """A string field; numbers are accepted as text (ZAP is not consistent), null is ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    _fail(where, f"expected a string, got {kind(value)}")


def _ident(value: Any, where: str) -> str:
    text = _text(value, where).strip()
    if not text:
        _fail(where, "missing (every alert names the rule that raised it)")
    if not text.lstrip("-").isdigit():
        _fail(where, f"expected a plugin id (a number), got {_shown(text)}")
    return str(int(text))


def _number(value: Any, where: str) -> int:
    """CWE and WASC ids: ``"693"``, ``693``, ``"-1"`` or ``""`` (none) -> an int, 0 for none."""
    text = _text(value, where).strip()
    if not text:
        return 0
    try:
        number = int(text)
    except ValueError:
        _fail(where, f"expected a number, got {_shown(text)}")
    return max(number, 0)


def _shown(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value)[:limit]
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _result(
    alerts: list[tuple[str, ZapAlert]],
    has_site: bool,
    version: str,
    source: str,
    rules: RuleConfig | None,
    include_out_of_date: bool,
) -> ZapIngestResult:
    # One conversion for every site, so identical findings on two sites keep distinct fingerprints.
    converted = findings_from_alerts(
        (_with_site(alert, site) for site, alert in alerts),
        tool=TOOL,
        version=version,
        rules=rules,
        include_out_of_date=include_out_of_date,
    )
    errors: tuple[ScannerError, ...] = ()
    if not has_site:
        errors = (ScannerError(TOOL, "the ZAP report lists no site: ZAP scanned nothing", _NO_SITE_HINT, source),)
    return ZapIngestResult(converted.findings, {TOOL: version}, errors, notes=converted.notes)


def _with_site(alert: ZapAlert, site: str) -> ZapAlert:
    """An alert without instances (a summary-only writer) gets one at its site, so it is not lost."""
    return alert if alert.instances else replace(alert, instances=(ZapInstance(uri=site),))


# -- XML ---------------------------------------------------------------------------------------


def is_zap_xml(raw: bytes) -> bool:
    """Whether ``raw`` looks like ZAP's XML report: an ``OWASPZAPReport`` root element near the start."""
    head = raw[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"<"):
        return False
    return b"<OWASPZAPReport" in head


def parse_zap_xml(
    raw: bytes,
    *,
    source: str,
    rules: RuleConfig | None = None,
    include_out_of_date: bool = False,
) -> ZapIngestResult:
    """Findings of ZAP's XML report; what is not one (or unsafe XML) is a :class:`ReportError`."""
    try:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import ParseError, fromstring
    except ImportError:
        raise ReportError(
            source, "reading ZAP's XML report needs defusedxml: pip install 'pytest-stillme[dast]'"
        ) from None
    if not raw.strip():
        raise ReportError(source, "not a ZAP report: the file is empty")
    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ReportError(source, f"refusing the XML report: {exc} (ZAP's reports have no DTD or entities)") from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise ReportError(source, f"not a ZAP report: not well-formed XML (line {line}, column {column})") from None
    if root.tag != "OWASPZAPReport":
        raise ReportError(
            source, f"not a ZAP report: the root element is <{root.tag}>, not <OWASPZAPReport> (zap-baseline.py -x)"
        )
    version = root.get("version", "")
    alerts: list[tuple[str, ZapAlert]] = []
    sites = root.findall("site")
    try:
        for index, site in enumerate(sites, start=1):
            name = site.get("name", "")
            for number, item in enumerate(site.iter("alertitem"), start=1):
                alerts.append((name, _xml_alert(item, f"site[{index}]/alerts/alertitem[{number}]", name)))
    except _Bad as exc:
        raise ReportError(source, f"not a valid ZAP XML report: {exc.where}: {exc.problem}") from None
    return _result(alerts, bool(sites), version, source, rules, include_out_of_date)


def _xml_alert(item: Any, where: str, site: str) -> ZapAlert:
    def field(name: str) -> str | None:
        child = item.find(name)
        return None if child is None else (child.text or "")

    plugin = _ident(field("pluginid"), f"{where}/pluginid")
    name = field("name") or field("alert") or ""
    if not name.strip():
        _fail(f"{where}/alert", "missing (every alert has a name)")
    values = {"riskcode": field("riskcode"), "riskdesc": field("riskdesc")}
    risk = _risk({k: v for k, v in values.items() if v is not None}, where.replace("/", "."))
    instances = []
    for index, element in enumerate(item.iter("instance"), start=1):

        def get(key: str, element: Any = element) -> str | None:
            child = element.find(key)
            return None if child is None else (child.text or "")

        instances.append(_instance(get, f"{where}/instances/instance[{index}]", site))
    if not instances and field("uri") is not None:
        instances.append(_instance(field, where, site))
    return ZapAlert(
        plugin_id=plugin,
        name=name.strip(),
        risk=risk,
        confidence=_confidence(field("confidence"), f"{where}/confidence"),
        alert_ref=(field("alertRef") or "").strip(),
        description=field("desc") or "",
        solution=field("solution") or "",
        reference=field("reference") or "",
        other_info=field("otherinfo") or "",
        cwe=_number(field("cweid"), f"{where}/cweid"),
        wasc=_number(field("wascid"), f"{where}/wascid"),
        instances=tuple(instances),
    )
