"""The items of a scanner: one per target (``src/app.py::bandit``) and its status item (``stillme::bandit``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...core.findings import Finding, ScannerError
from ...core.gate import Policy
from ...core.redact import redact_text
from ...core.shown import finding_line
from ...notices import StillmeScanWarning
from ...report.text import MAX_LISTED, findings_text
from ...scanners.api import (
    Target,
)
from ..items import FindingsFailure, StillmeItem
from ..recording import note_tool, record_error, record_finding
from .run import ScannerRun


class ScanItem(StillmeItem):
    """One target (usually a file) of one scanner: ``src/app/run.py::bandit``."""

    def __init__(self, *, scan: ScannerRun, target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scan = scan
        self.target = target
        self.add_marker(scan.mark)
        self.stillme_source = scan.tool
        self.stillme_asked_by = scan.asked_by

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        # Not the node id: pytest would print the dots of a domain that ends it as "::"
        # ("app/__init__::py::bandit"); this one heads the failure section instead.
        return self.path, None, f"{self.target.name} ({self.scan.tool})"

    def run_source(self) -> None:
        outcome = self.scan.outcome(self.target)
        if not self.scan.noted:
            # Once per process is enough for the SARIF run of the tool: it rides on this item's
            # report to the controller, as the status item's note does.
            note_tool(self, self.scan.tool, outcome.version)
            self.scan.noted = outcome.source is not None
        for error in outcome.run_errors:
            record_error(self.config, error, self)
        if outcome.source is None:
            text = "\n".join(e.describe() for e in outcome.run_errors)
            raise FindingsFailure(f"{self.target.name}: not scanned, {self.scan.tool} did not run:\n{text}")
        source = outcome.source
        for finding in source.findings:
            record_finding(self.config, finding, self)
        for error in source.errors:
            record_error(self.config, error, self)
        problems = []
        errors = _unique([*source.errors, *outcome.run_errors])
        if errors:
            problems.append("not scanned:\n" + "\n".join(f"  {e.describe()}" for e in errors))
        blocking, below = _split_blocking(self.scan.state.policy, source.findings)
        if blocking:
            limit = self.scan.state.policy.threshold(self.scan.spec.category)
            problems.append(
                f"{len(blocking)} {self.scan.tool} finding(s) at or above the gate's threshold "
                f"({self.scan.spec.category} >= {limit.label if limit else 'off'}):\n"
                + findings_text(blocking, in_file=True)
            )
            if below:
                problems.append(
                    "also found, below the threshold:\n" + findings_text(below, detailed=False, in_file=True)
                )
        if problems:
            raise FindingsFailure(f"{self.target.name}:\n" + "\n".join(problems))


def _split_blocking(policy: Policy, findings: Sequence[Finding]) -> tuple[list[Finding], list[Finding]]:
    blocking: list[Finding] = []
    below: list[Finding] = []
    for finding in findings:
        if policy.suppression_for(finding) is not None:
            continue
        (blocking if policy.blocks(finding) else below).append(finding)
    key = lambda f: (f.location.line, f.rule.id)  # noqa: E731 - a sort key
    return sorted(blocking, key=key), sorted(below, key=key)


class ScanStatusItem(StillmeItem):
    """``stillme::bandit``: fails when the tool could not run, or could not scan some of its targets."""

    def __init__(self, *, scan: ScannerRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scan = scan
        self.add_marker(scan.mark)
        self.stillme_source = scan.tool
        self.stillme_asked_by = scan.asked_by

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        return self.path, None, self.nodeid

    def run_source(self) -> None:
        scan = self.scan
        results, version = scan.complete()
        note_tool(self, scan.tool, version)
        plan = scan.plan()
        discovered = {t.name for t in scan.discovery.targets}
        run_errors = [*scan.discovery.errors, *plan.errors, *(e for r in results for e in r.errors)]
        file_errors: list[ScannerError] = []
        #: Errors of targets that have items of their own: those items record and show them; counted here.
        shown_elsewhere = sum(1 for name in plan.unreadable if name in discovered)
        others: list[Finding] = []
        for result in results:
            for source in result.sources:
                if source.source in discovered:
                    shown_elsewhere += bool(source.errors)
                else:
                    # Not an item of its own (another file the tool reported on, or a scanner without
                    # per-target items): this item carries it.
                    file_errors.extend(source.errors)
                    others.extend(source.findings)
        for error in run_errors + file_errors:
            record_error(self.config, error, self)
        for finding in others:
            record_finding(self.config, finding, self)
        problems = []
        for message in dict.fromkeys(w for r in results for w in r.warnings):
            try:
                warnings.warn(StillmeScanWarning(f"{scan.tool}: {message}"), stacklevel=1)
            except StillmeScanWarning as exc:
                # The session's warning filters make it an error (filterwarnings = ["error"]): the item fails
                # with the warning's text; the scan itself was complete, so it is no scanner error of the gate.
                problems.append(f"{exc}\n  (a warning, made an error by this session's warning filters)")
        if run_errors:
            problems.append(
                f"{scan.tool} failed:\n" + "\n".join(f"  {redact_text(e.describe())}" for e in _unique(run_errors))
            )
        if file_errors:
            problems.append(
                f"{scan.tool} could not scan {len({e.target for e in file_errors})} file(s):\n"
                + "\n".join(f"  {redact_text(e.describe())}" for e in _unique(file_errors))
            )
        if shown_elsewhere:
            problems.append(f"{scan.tool} could not scan {shown_elsewhere} of its targets: see their items")
        blocking, _ = _split_blocking(scan.state.policy, others)
        if blocking:
            problems.append(
                f"{len(blocking)} finding(s) at or above the gate's threshold outside the collected files:\n"
                + "\n".join(f"  {finding_line(f)}" for f in blocking[:MAX_LISTED])
                + (f"\n  ... and {len(blocking) - MAX_LISTED} more" if len(blocking) > MAX_LISTED else "")
            )
        if problems:
            summary = scan.discovery.summary or scan.tool
            raise FindingsFailure(f"{summary} ({version or 'version unknown'}):\n" + "\n".join(problems))


def _unique(errors: Sequence[ScannerError]) -> list[ScannerError]:
    return list(dict.fromkeys(errors))
