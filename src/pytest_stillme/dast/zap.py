"""``--stillme-scan zap``: a ZAP baseline through the daemon's API, one item per alert type.

``discover`` lists the alert types (see :mod:`.catalogue`: static, so every
xdist worker collects the same items, and nothing is asked of ZAP at
collection); ``run`` opens the target (an app target is served on loopback
for the duration), runs zap-baseline's steps (:mod:`.zapflow`), groups ZAP's
alert instances by alert reference, applies the rule file, and returns one
result per alert type.  Under xdist the run happens once: the worker that
reaches a ``zap`` item first claims it, the others wait for its result.

``zap.report`` writes ZAP's own traditional JSON report, with the IGNOREd
rules, out-of-scope instances and ZAP's out-of-date alert taken out, so the
artifact says what the gate judged.  No pytest here.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.findings import Finding, ScannerError
from ..scanners.api import Discovery, ScanRequest, ScanResult, SourceResult, Target, ToolIdentity
from ..scanners.process import ToolFailure
from ..service import TargetError, is_loopback_host, open_target
from .alerts import OUT_OF_DATE, ZapAlert, ZapInstance, confidence_code, findings_from_alerts, risk_code
from .catalogue import alert_types, item_key, plugin_of
from .options import load_rules, require, require_service, with_defaults
from .rules import RuleConfig
from .settings import ZAP_SETTINGS
from .zapapi import ZapClient
from .zapflow import GRACE, Bounds, ZapRun

__all__ = ["discover", "identify", "item_keys", "run"]

TOOL = "zap"


def _options(request: ScanRequest) -> dict[str, Any]:
    return with_defaults(request.options, ZAP_SETTINGS, TOOL)


def _rules(request: ScanRequest, options: Mapping[str, Any]) -> RuleConfig:
    return load_rules(request.root, str(options["rules"] or ""), str(options["default_level"]), TOOL)


def item_keys(rules: RuleConfig, *, active: bool, include_out_of_date: bool) -> dict[str, str]:
    """Alert reference -> name of every ZAP item: the catalogue and the rule file's ids, minus IGNOREd rules."""
    keys = alert_types(active=active)
    if include_out_of_date:
        keys[OUT_OF_DATE] = "ZAP is Out of Date"
    for ref in rules.levels:
        keys.setdefault(ref, "")
    return {ref: name for ref, name in keys.items() if not rules.ignored(plugin_of(ref), ref)}


def discover(request: ScanRequest) -> Discovery:
    """The alert types, from the catalogue and the rule file: cheap and the same in every process."""
    try:
        options = _options(request)
        rules = _rules(request, options)
    except ToolFailure as exc:
        return Discovery(errors=(exc.error,))
    keys = item_keys(
        rules, active=bool(options["active_scan"]), include_out_of_date=bool(options["include_out_of_date"])
    )
    steps = (
        "spider"
        + (", Ajax spider" if options["ajax_spider"] else "")
        + (", active scan" if options["active_scan"] else "")
    )
    summary = f"ZAP baseline via {options['api']} ({steps}); {rules.describe()}"
    return Discovery(targets=tuple(Target(ref) for ref in keys), summary=summary)


def identify(request: ScanRequest) -> ToolIdentity:
    """Never cached: a DAST result depends on the running service, not on files."""
    return ToolIdentity(version="", cache_key="")


def run(request: ScanRequest) -> ScanResult:
    """The baseline; every failure is an error of the result (never an empty one)."""
    try:
        require(TOOL, "zapv2", "requests")
        options = _options(request)
        rules = _rules(request, options)
        require_service(TOOL, request)
        return _run(request, options, rules)
    except ToolFailure as exc:
        return ScanResult(TOOL, errors=(exc.error,))
    except TargetError as exc:
        return ScanResult(TOOL, errors=(ScannerError(TOOL, str(exc), "fix --stillme-target"),))


def _run(request: ScanRequest, options: dict[str, Any], rules: RuleConfig) -> ScanResult:
    started = time.monotonic()
    bounds = Bounds(
        deadline=started + float(options["timeout"]),
        poll=float(options["poll"]),
        spider=int(options["spider_minutes"]) * 60 + GRACE,
        ajax=int(options["ajax_minutes"]) * 60 + GRACE,
        active=int(options["active_minutes"]) * 60 + GRACE,
        passive=float(options["passive_wait"]),
    )
    client = ZapClient(str(options["api"]), str(options["api_key"]), call_timeout=float(options["call_timeout"]))
    assert request.service is not None  # checked by run()
    with open_target(request.service, request.root) as base_url:
        target = zap_target(base_url, str(options["target_url"]), allow_remote=bool(options["allow_remote"]))
        flow = ZapRun(client, target, bounds, key_given=bool(options["api_key"]))
        version = flow.version()
        if options["new_session"]:
            flow.new_session()
        flow.open_target()
        flow.spider(
            minutes=int(options["spider_minutes"]),
            depth=int(options["spider_depth"]),
            children=int(options["spider_children"]),
        )
        if options["ajax_spider"]:
            flow.ajax_spider(minutes=int(options["ajax_minutes"]))
        if options["active_scan"]:
            flow.active_scan(minutes=int(options["active_minutes"]), policy=str(options["active_policy"] or ""))
        flow.passive_wait()
        raw = flow.alerts()
        report_text = flow.report() if options["report"] else ""
    alerts = group_api_alerts(raw, target)
    converted = findings_from_alerts(
        alerts,
        tool=TOOL,
        version=version,
        rules=rules,
        include_out_of_date=bool(options["include_out_of_date"]),
        site=target,
    )
    warnings = list(converted.notes)
    errors: list[ScannerError] = []
    if report_text:
        problem = write_report(report_text, _report_path(request.root, str(options["report"])), rules, options)
        if problem:
            errors.append(
                ScannerError(TOOL, problem, "check that the folder is writable and ZAP's report add-on works")
            )
    keys = [t.name for t in request.targets] or list(
        item_keys(rules, active=bool(options["active_scan"]), include_out_of_date=bool(options["include_out_of_date"]))
    )
    return ScanResult(TOOL, version, split_by_item(converted.findings, keys), tuple(errors), tuple(warnings))


def split_by_item(findings: tuple[Finding, ...], keys: list[str]) -> tuple[SourceResult, ...]:
    """One result per item (empty when it passed); alert types no item covers get results of their own."""
    known = dict.fromkeys(keys, "")
    grouped: dict[str, list[Finding]] = {key: [] for key in keys}
    for finding in findings:
        key = item_key(finding.rule.id, known) or finding.rule.id
        grouped.setdefault(key, []).append(finding)
    return tuple(SourceResult(key, tuple(items)) for key, items in grouped.items())


def zap_target(base_url: str, configured: str, *, allow_remote: bool) -> str:
    """The target as ZAP should reach it: ``zap.target_url`` (``{port}`` filled in), else the target itself."""
    if not configured:
        return base_url
    port = urlsplit(base_url).port or (443 if base_url.startswith("https:") else 80)
    url = configured.replace("{port}", str(port)).rstrip("/")
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    if not host:
        raise ToolFailure(ScannerError(TOOL, f"invalid zap.target_url {configured!r}", "expected http://HOST:PORT"))
    if not (allow_remote or _near(host)):
        raise ToolFailure(
            ScannerError(
                TOOL,
                f"refusing zap.target_url {url!r}: {host} is neither loopback nor a private address, and ZAP "
                "sends probes (and with the active scan, attacks) there",
                "use the address of this machine as ZAP sees it, or set zap.allow_remote = true if you own that host",
            )
        )
    return url


def _near(host: str) -> bool:
    """Loopback, a private or link-local address, or a one-label name (a container or compose service)."""
    if is_loopback_host(host) or host == "host.docker.internal":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host
    return address.is_private or address.is_link_local


def group_api_alerts(raw: list[dict[str, Any]], site: str) -> list[ZapAlert]:
    """ZAP's API lists one alert per instance: group them into alert types, as its reports do."""
    groups: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    for index, item in enumerate(raw):
        plugin = str(item.get("pluginId") or item.get("pluginid") or "").strip()
        name = str(item.get("name") or item.get("alert") or "").strip()
        risk = risk_code(item.get("risk"))
        confidence = confidence_code(item.get("confidence"))
        if not plugin or not name or risk is None or confidence is None:
            raise ToolFailure(
                ScannerError(
                    TOOL,
                    f"ZAP answered alert {index} in an unknown shape (pluginId {plugin!r}, risk {item.get('risk')!r})",
                    "is this a ZAP daemon of version 2.10 or later?",
                )
            )
        ref = str(item.get("alertRef") or plugin).strip()
        group = groups.setdefault(
            (ref, name, risk, confidence),
            {"item": item, "plugin": plugin, "instances": []},
        )
        group["instances"].append(
            ZapInstance(
                uri=str(item.get("url") or site),
                method=str(item.get("method") or "GET"),
                param=str(item.get("param") or ""),
                attack=str(item.get("attack") or ""),
                evidence=str(item.get("evidence") or ""),
                other_info=str(item.get("other") or ""),
            )
        )
    alerts = []
    for (ref, name, risk, confidence), group in groups.items():
        first = group["item"]
        alerts.append(
            ZapAlert(
                plugin_id=group["plugin"],
                name=name,
                risk=risk,
                confidence=confidence,
                alert_ref=ref,
                description=str(first.get("description") or ""),
                solution=str(first.get("solution") or ""),
                reference=str(first.get("reference") or ""),
                cwe=_id(first.get("cweid")),
                wasc=_id(first.get("wascid")),
                instances=tuple(group["instances"]),
            )
        )
    return alerts


def _id(value: Any) -> int:
    try:
        return max(int(str(value).strip()), 0)
    except ValueError:
        return 0


def _report_path(root: Path, configured: str) -> Path:
    path = Path(configured)
    return path if path.is_absolute() else root / path


def write_report(text: str, path: Path, rules: RuleConfig, options: Mapping[str, Any]) -> str:
    """Write ZAP's JSON report without what the rule file left out; return a problem, or ""."""
    from ..readers.zap import is_zap_json
    from ..report.atomic import write_text_atomic

    try:
        data = json.loads(text)
    except ValueError:
        return f"ZAP's JSON report was not written to {path}: ZAP returned something that is not JSON"
    if not is_zap_json(data):
        return f"ZAP's JSON report was not written to {path}: ZAP returned JSON that is not its report"
    filter_report(data, rules, include_out_of_date=bool(options["include_out_of_date"]))
    try:
        write_text_atomic(path, json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        return f"ZAP's JSON report was not written to {path}: {exc.strerror or exc}"
    return ""


def filter_report(data: dict[str, Any], rules: RuleConfig, *, include_out_of_date: bool) -> None:
    """Take IGNOREd rules, out-of-scope instances and (unless kept) alert 10116 out of a JSON report, in place."""
    sites = data.get("site")
    for site in sites if isinstance(sites, list) else [sites] if isinstance(sites, dict) else []:
        alerts = site.get("alerts") if isinstance(site, dict) else None
        if not isinstance(alerts, list):
            continue
        kept = []
        for alert in alerts:
            if not isinstance(alert, dict):
                continue
            plugin = str(alert.get("pluginid") or "")
            ref = str(alert.get("alertRef") or plugin)
            if (plugin == OUT_OF_DATE and not include_out_of_date) or rules.ignored(plugin, ref):
                continue
            instances = alert.get("instances")
            if isinstance(instances, list):
                alert["instances"] = [
                    i
                    for i in instances
                    if not isinstance(i, dict) or rules.in_scope(plugin, str(i.get("uri") or ""), ref)
                ]
                if not alert["instances"]:
                    continue
                alert["count"] = str(len(alert["instances"]))
            kept.append(alert)
        site["alerts"] = kept
