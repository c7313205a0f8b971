"""``--stillme-scan passive``: the built-in passive scan, the default DAST when there is no ZAP.

``discover`` lists the rules (:mod:`.prules`, ZAP's plugin ids) the rule
file does not IGNORE: one item each, the same in every process.  ``run``
crawls the target (:mod:`.crawl`: bounded, same origin), applies every rule
to every exchange as it arrives, groups the hits into ZAP-shaped alerts and
turns them into findings the way ZAP's own alerts are turned (rule file
applied, see :mod:`.alerts`).  Fail closed: a target that does not answer,
a crawl that reached nothing, or requests that failed on the way are errors
of the result; a crawl cut short by its bounds is a warning that says which.
No pytest here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.findings import ScannerError
from ..scanners.api import Discovery, ScanRequest, ScanResult, SourceResult, Target
from ..scanners.process import ToolFailure
from ..service import TargetError
from .alerts import ZapAlert, ZapInstance, findings_from_alerts
from .clients import AppFetcher, FetchError, SocketFetcher, target_base
from .crawl import CrawlLimits, CrawlResult, crawl
from .options import load_rules, require, require_service, with_defaults
from .page import Exchange
from .prules import RULES, PassiveRule
from .rules import RuleConfig
from .settings import PASSIVE_SETTINGS

__all__ = ["PassiveScan", "active_rules", "discover", "run", "scan_url"]

TOOL = "passive"
#: Failed requests quoted in the error (the rest are counted).
SHOWN_FAILURES = 5


def _options(request: ScanRequest) -> dict[str, Any]:
    return with_defaults(request.options, PASSIVE_SETTINGS, TOOL)


def _rules(request: ScanRequest, options: Mapping[str, Any]) -> RuleConfig:
    return load_rules(request.root, str(options["rules"] or ""), str(options["default_level"]), TOOL)


def active_rules(config: RuleConfig) -> tuple[PassiveRule, ...]:
    """The rules to run: all but those the rule file IGNOREs by plugin id."""
    return tuple(rule for rule in RULES if config.level(rule.plugin_id) != "IGNORE")


def discover(request: ScanRequest) -> Discovery:
    try:
        options = _options(request)
        config = _rules(request, options)
    except ToolFailure as exc:
        return Discovery(errors=(exc.error,))
    rules = active_rules(config)
    summary = (
        f"passive scan, {len(rules)} rules with ZAP's ids, up to {options['max_pages']} requests; {config.describe()}"
    )
    return Discovery(targets=tuple(Target(rule.plugin_id) for rule in rules), summary=summary)


@dataclass
class PassiveScan:
    """Rules applied to exchanges as they arrive; hits grouped into ZAP-shaped alerts."""

    rules: tuple[PassiveRule, ...]
    exchanges: int = 0
    _hits: dict[tuple[str, str, str, int, int], list[ZapInstance]] = field(default_factory=dict)

    def __call__(self, ex: Exchange) -> None:
        self.exchanges += 1
        for rule in self.rules:
            for hit in rule.check(ex):
                kind = rule.alert(hit.ref)
                risk = kind.risk if hit.risk is None else hit.risk
                confidence = kind.confidence if hit.confidence is None else hit.confidence
                key = (rule.plugin_id, hit.ref, kind.name, risk, confidence)
                self._hits.setdefault(key, []).append(
                    ZapInstance(
                        uri=ex.url, method=ex.method, param=hit.param, evidence=hit.evidence, other_info=hit.other
                    )
                )

    def alerts(self) -> list[ZapAlert]:
        by_id = {rule.plugin_id: rule for rule in self.rules}
        alerts = []
        for (plugin, ref, name, risk, confidence), instances in self._hits.items():
            kind = by_id[plugin].alert(ref)
            alerts.append(
                ZapAlert(
                    plugin_id=plugin,
                    name=name,
                    risk=risk,
                    confidence=confidence,
                    alert_ref=ref,
                    description=kind.description,
                    solution=kind.solution,
                    reference="\n".join(kind.references),
                    cwe=kind.cwe,
                    wasc=kind.wasc,
                    instances=tuple(instances),
                )
            )
        return alerts


def run(request: ScanRequest) -> ScanResult:
    from .. import __version__

    try:
        require(TOOL, "defusedxml")
        options = _options(request)
        config = _rules(request, options)
        service = require_service(TOOL, request)
        with target_base(service, request.root, in_process=bool(options["in_process"])) as (base, app):
            scan = PassiveScan(active_rules(config))
            crawled = _crawl(base, app, options, scan)
    except ToolFailure as exc:
        return ScanResult(TOOL, __version__, errors=(exc.error,))
    except TargetError as exc:
        return ScanResult(TOOL, __version__, errors=(ScannerError(TOOL, str(exc), "fix --stillme-target"),))
    shown = service.describe()
    errors = _crawl_errors(crawled, scan, shown)
    warnings: list[str] = []
    if crawled.stopped:
        warnings.append(
            f"the crawl of {shown} stopped at {crawled.stopped}, with {crawled.left} URL(s) not visited: "
            "raise the bound (passive.max_pages, passive.timeout) to scan them"
        )
    converted = findings_from_alerts(scan.alerts(), tool=TOOL, version=__version__, rules=config)
    warnings.extend(converted.notes)
    grouped: dict[str, list[Any]] = {t.name: [] for t in request.targets} or {
        r.plugin_id: [] for r in active_rules(config)
    }
    for finding in converted.findings:
        plugin = next((t[len("zap-plugin-") :] for t in finding.rule.tags if t.startswith("zap-plugin-")), "")
        grouped.setdefault(plugin, []).append(finding)
    sources = tuple(SourceResult(name, tuple(items)) for name, items in grouped.items())
    return ScanResult(TOOL, __version__, sources, tuple(errors), tuple(warnings))


def _crawl_errors(crawled: CrawlResult, scan: PassiveScan, shown: str) -> list[ScannerError]:
    hint = "start the service (or fix --stillme-target) and scan again"
    if crawled.unreachable:
        return [ScannerError(TOOL, f"the target does not answer: {crawled.unreachable}", hint, shown)]
    if scan.exchanges == 0:
        return [ScannerError(TOOL, "the crawl reached no page", hint, shown)]
    if crawled.failures:
        listed = "; ".join(f"{where}: {why}" for where, why in crawled.failures[:SHOWN_FAILURES])
        more = len(crawled.failures) - SHOWN_FAILURES
        extra = f"; and {more} more" if more > 0 else ""
        return [
            ScannerError(
                TOOL,
                f"{len(crawled.failures)} of {crawled.requests} requests failed, so the scan is incomplete: "
                f"{listed}{extra}",
                "make the service answer every page (or raise passive.request_timeout)",
                shown,
            )
        ]
    return []


def _crawl(base: str, app: Any, options: Mapping[str, Any], scan: PassiveScan) -> CrawlResult:
    limits = CrawlLimits(
        max_pages=int(options["max_pages"]),
        max_depth=int(options["max_depth"]),
        timeout=float(options["timeout"]),
        # An app in process runs in this thread: one request at a time.
        concurrency=int(options["concurrency"]) if app is None else 1,
        forms=str(options["forms"]),
    )
    seeds = tuple(options["seeds"]) or ("/",)
    timeout, max_body = float(options["request_timeout"]), int(options["max_body"])
    if app is not None:
        try:
            with AppFetcher(app, base, timeout=timeout, max_body=max_body) as fetch:
                return crawl(fetch, base, seeds, limits, scan)
        except FetchError as exc:
            return CrawlResult(unreachable=str(exc))
    fetcher = SocketFetcher(base, timeout=timeout, max_body=max_body)
    try:
        return crawl(fetcher, base, seeds, limits, scan)
    finally:
        fetcher.close()


def scan_url(base: str, app: Any = None, **options: Any) -> tuple[PassiveScan, CrawlResult]:
    """The crawl and rules without a ScanRequest (for benchmarks and tests): ``options`` by short name."""
    full = with_defaults(options, PASSIVE_SETTINGS, TOOL)
    scan = PassiveScan(RULES)
    return scan, _crawl(base, app, full, scan)
