"""zap-baseline's steps through ZAP's API, each wait bounded and logged, each failure its own error.

New session, open the target, spider (bounded), optional Ajax spider,
optional active scan, wait until the passive scanner has no records left,
then fetch the alerts under the target (paged).  Progress goes to the
``pytest_stillme.dast`` logger at INFO (``--log-cli-level=INFO`` or
``STILLME_LOG_LEVEL=info`` shows it).  Every failure raises
:class:`~pytest_stillme.scanners.process.ToolFailure` with a message that says
what went wrong and a hint that says what to do.  No pytest here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from ..core.findings import ScannerError
from ..scanners.process import ToolFailure
from .zapapi import ZapCallError, ZapClient

__all__ = ["Bounds", "ZapRun"]

LOG = logging.getLogger("pytest_stillme.dast")
TOOL = "zap"
T = TypeVar("T")
#: Alerts fetched per call, and the most calls: 1,000,000 alerts is beyond any baseline.
ALERT_PAGE = 500
MAX_ALERT_PAGES = 2000
#: Beyond a spider's own duration limit (which ZAP enforces), how long to wait for it to report 100 %.
GRACE = 60.0
_REACH_HINT = (
    "ZAP must reach the target from where ZAP runs: with ZAP in a container, set zap.target_url to the address "
    "ZAP sees (http://172.17.0.1:{port} on Docker's default bridge), or run ZAP with --network host"
)


@dataclass(frozen=True)
class Bounds:
    """The waits of one run, in seconds (``deadline`` is a ``time.monotonic()`` value)."""

    deadline: float
    poll: float = 2.0
    spider: float = 60.0
    ajax: float = 60.0
    active: float = 600.0
    passive: float = 300.0


class ZapRun:
    """One baseline against ``target`` through ``client``; ``fail`` messages name ``api``."""

    def __init__(self, client: ZapClient, target: str, bounds: Bounds, *, key_given: bool) -> None:
        self.client = client
        self.target = target
        self.bounds = bounds
        self.key_given = key_given
        self.api = client.address

    # -- failures ------------------------------------------------------------------------------

    def fail(self, message: str, hint: str) -> NoReturn:
        raise ToolFailure(ScannerError(TOOL, message, hint, self.target))

    def call(self, what: str, func: Callable[[Any], T]) -> T:
        if time.monotonic() > self.bounds.deadline:
            self.fail(
                f"the ZAP run ran out of time before it could {what}", "raise zap.timeout, or bound the scan tighter"
            )
        try:
            return self.client.call(what, func)
        except ZapCallError as exc:
            self._api_failure(exc)

    def _api_failure(self, exc: ZapCallError) -> NoReturn:
        if exc.kind == "unreachable":
            self.fail(
                f"ZAP is unreachable at {self.api} (while trying to {exc.what}): {exc.message}",
                "start ZAP as a daemon (zap.sh -daemon -port 8080 -config api.key=$ZAP_API_KEY), "
                "or point zap.api (--stillme-zap-api) at its port",
            )
        if exc.kind == "bad_key":
            if self.key_given:
                self.fail(
                    f"ZAP at {self.api} rejected the API key: {exc.message}",
                    "set ZAP_API_KEY to the key ZAP was started with (-config api.key=...)",
                )
            self.fail(
                f"ZAP at {self.api} needs an API key, and none was given: {exc.message}",
                "set ZAP_API_KEY to the key ZAP was started with (-config api.key=...)",
            )
        if exc.kind == "not_zap":
            self.fail(
                f"{self.api} answers, but not as ZAP's API ({exc.message})",
                "zap.api must be the port ZAP listens on (its proxy port, 8080 by default)",
            )
        if exc.kind == "timeout":
            self.fail(
                f"ZAP did not answer a call to {exc.what} within {self.client.call_timeout:g} s",
                "ZAP may be overloaded or stuck: look at its log, or raise zap.call_timeout",
            )
        self.fail(f"ZAP failed to {exc.what}: {exc.message}", "look at ZAP's log for the reason")

    # -- steps ---------------------------------------------------------------------------------

    def version(self) -> str:
        version = self.call("tell its version", lambda z: z.core.version)
        if not isinstance(version, str) or not version.strip():
            self.fail(f"{self.api} answered its version as {version!r}", "zap.api must point at a ZAP daemon")
        LOG.info("zap: ZAP %s at %s", version, self.api)
        return version.strip()

    def new_session(self) -> None:
        self.call("start a new session", lambda z: z.core.new_session(overwrite="true"))

    def open_target(self) -> None:
        LOG.info("zap: opening %s", self.target)
        try:
            self.client.call("open the target", lambda z: z.core.access_url(self.target, followredirects="true"))
        except ZapCallError as exc:
            if exc.kind == "api_error":
                reason = exc.detail or exc.message
                self.fail(f"ZAP cannot reach the target {self.target}: {reason}", _REACH_HINT)
            self._api_failure(exc)

    def spider(self, *, minutes: int, depth: int, children: int) -> int:
        self.call("set the spider's duration", lambda z: z.spider.set_option_max_duration(str(minutes)))
        self.call("set the spider's depth", lambda z: z.spider.set_option_max_depth(str(depth)))
        self.call("set the spider's children", lambda z: z.spider.set_option_max_children(str(children)))
        scan = self.call("start the spider", lambda z: z.spider.scan(url=self.target, recurse="true"))
        if not str(scan).isdigit():
            self.fail(f"ZAP did not start the spider on {self.target}: it answered {scan!r}", _REACH_HINT)
        self._wait_percent(
            "spider",
            lambda z: z.spider.status(str(scan)),
            self.bounds.spider,
            stop=lambda z: z.spider.stop(str(scan)),
            setting="zap.spider_minutes",
        )
        urls = self.call("list the URLs it found", lambda z: z.core.urls(baseurl=self.target))
        count = len(urls) if isinstance(urls, list) else 0
        if count == 0:
            self.fail(f"ZAP answered, but found no URL of {self.target} (0 URLs spidered)", _REACH_HINT)
        LOG.info("zap: spider found %d URLs", count)
        return count

    def ajax_spider(self, *, minutes: int) -> None:
        self.call("set the Ajax spider's duration", lambda z: z.ajaxSpider.set_option_max_duration(str(minutes)))
        started = self.call("start the Ajax spider", lambda z: z.ajaxSpider.scan(url=self.target))
        if str(started) != "OK":
            self.fail(
                f"ZAP did not start the Ajax spider: it answered {started!r}", "is the Ajax spider add-on installed?"
            )
        started = time.monotonic()
        polls = 0
        while True:
            status = self.call("tell the Ajax spider's status", lambda z: z.ajaxSpider.status)
            found = self.call("count the Ajax spider's results", lambda z: z.ajaxSpider.number_of_results)
            if str(status).lower() != "running":
                LOG.info("zap: Ajax spider done, %s resources", found)
                return
            polls += 1
            LOG.info("zap: Ajax spider running, %s resources so far", found)
            setting = self._ran_out(started, self.bounds.ajax, "zap.ajax_minutes")
            if setting:
                self._stop("the Ajax spider", lambda z: z.ajaxSpider.stop())
                self.fail(
                    f"the Ajax spider was still running after {time.monotonic() - started:.1f} s ({polls} checks): "
                    "the wait ran out",
                    f"raise {setting}, or leave zap.ajax_spider off",
                )
            time.sleep(self.bounds.poll)

    def active_scan(self, *, minutes: int, policy: str) -> None:
        self.call("bound the active scan", lambda z: z.ascan.set_option_max_scan_duration_in_mins(str(minutes)))
        scan = self.call(
            "start the active scan",
            lambda z: z.ascan.scan(url=self.target, recurse="true", scanpolicyname=policy or None),
        )
        if not str(scan).isdigit():
            self.fail(f"ZAP did not start the active scan: it answered {scan!r}", "check zap.active_policy")
        self._wait_percent(
            "active scan",
            lambda z: z.ascan.status(str(scan)),
            self.bounds.active,
            stop=lambda z: z.ascan.stop(str(scan)),
            setting="zap.active_minutes",
        )

    def passive_wait(self) -> None:
        started = time.monotonic()
        polls = 0
        while True:
            left = _int(self.call("count the records left to passive scan", lambda z: z.pscan.records_to_scan))
            if left is None:
                self.fail("ZAP answered its passive scan queue in an unknown shape", "is this a ZAP daemon?")
            if left == 0:
                LOG.info("zap: passive scan done")
                return
            polls += 1
            LOG.info("zap: passive scan, %d records left", left)
            setting = self._ran_out(started, self.bounds.passive, "zap.passive_wait")
            if setting:
                self.fail(
                    f"ZAP's passive scan still had {left} records to scan after {time.monotonic() - started:.1f} s "
                    f"({polls} checks): the wait ran out",
                    f"raise {setting} (a large site needs longer), or spider less (zap.spider_minutes)",
                )
            time.sleep(self.bounds.poll)

    def alerts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in range(MAX_ALERT_PAGES):
            batch = self.call("list its alerts", self._alert_page(page * ALERT_PAGE))
            if not isinstance(batch, list) or not all(isinstance(a, dict) for a in batch):
                self.fail(f"ZAP answered its alerts in an unknown shape: {str(batch)[:120]}", "is this a ZAP daemon?")
            found.extend(batch)
            if len(batch) < ALERT_PAGE:
                LOG.info("zap: %d alert instances", len(found))
                return found
        self.fail(f"ZAP holds more than {len(found)} alert instances", "scan a smaller part of the site")

    def _alert_page(self, start: int) -> Callable[[Any], Any]:
        def fetch(zap: Any) -> Any:
            return zap.core.alerts(baseurl=self.target, start=str(start), count=str(ALERT_PAGE))

        return fetch

    def report(self) -> str:
        text = self.call("write its JSON report", lambda z: z.core.jsonreport())
        if not isinstance(text, str) or not text.strip():
            self.fail("ZAP returned an empty JSON report", "look at ZAP's log: the report add-on may be missing")
        return text

    def _stop(self, what: str, stop: Callable[[Any], Any]) -> None:
        """Best effort, past any deadline: a scan left running would go on loading the target."""
        try:
            self.client.call(f"stop {what}", stop)
        except ZapCallError as exc:
            LOG.warning("zap: could not stop %s: %s", what, exc)

    def _ran_out(self, started: float, bound: float, setting: str) -> str:
        """The setting whose bound has passed ("" while both have time left): the step's, or zap.timeout."""
        now = time.monotonic()
        if now > self.bounds.deadline:
            return "zap.timeout"
        return setting if now - started > bound else ""

    def _wait_percent(
        self, what: str, status: Callable[[Any], Any], bound: float, *, stop: Callable[[Any], Any], setting: str
    ) -> None:
        started = time.monotonic()
        polls = 0
        percent: int | None = 0
        while True:
            which = self._ran_out(started, bound, setting) if polls else ""
            if which:
                # Past the bound the scan is stopped first: a scan left running would go on loading the target.
                self._stop(f"the {what}", stop)
                self.fail(
                    f"the {what} was at {percent}% after {time.monotonic() - started:.1f} s ({polls} checks): "
                    "the wait ran out",
                    f"raise {which}, or make the site smaller",
                )
            try:
                # Not self.call: its deadline check would end the wait without stopping the scan.
                percent = _int(self.client.call(f"tell the {what}'s progress", status))
            except ZapCallError as exc:
                self._stop(f"the {what}", stop)
                self._api_failure(exc)
            if percent is None:
                self.fail(f"ZAP answered the {what}'s progress in an unknown shape", "is this a ZAP daemon?")
            LOG.info("zap: %s %d%%", what, percent)
            if percent >= 100:
                return
            polls += 1
            time.sleep(self.bounds.poll)


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
