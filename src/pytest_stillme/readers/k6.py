"""k6 end-of-test summaries, judged against the same SLOs as stillme's own load runs.

Two shapes are read, told apart by content: ``k6 run --summary-export
FILE`` (metrics flat: ``http_req_duration`` holds ``"p(95)"``,
``http_req_failed`` holds ``passes``/``fails``/``value``) and the JSON of
``handleSummary`` (``JSON.stringify(data)``: each metric has ``type`` and its
figures under ``values``).  Durations are k6's milliseconds.  The figures
that decide are ``http_reqs`` (requests), ``http_req_failed`` (a rate whose
"passes" are the *failed* requests) and ``http_req_duration``'s ``p(95)``
(in k6's default ``summaryTrendStats``; a run that dropped it cannot be
judged and says so).  ``dropped_iterations`` means k6 could not keep an
arrival rate: like a stillme run whose generator was the bottleneck, such a
run is never a pass.

Fail closed: a file that is not a k6 summary, or one missing a figure, is a
:class:`~.base.ReportError` naming the file and the JSON path.
No pytest here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..slo.judge import Figures, Judgement, Rollback, Slo, judge, slo_findings
from .base import IngestResult, ReportError

__all__ = ["TOOL", "is_k6_summary", "k6_figures", "parse_k6_summary", "read_k6_summary"]

TOOL = "k6"
_HTTP_METRICS = ("http_req_duration", "http_reqs", "http_req_failed")


def is_k6_summary(data: Any) -> bool:
    """Whether ``data`` (parsed JSON) is a k6 summary: a ``metrics`` object with k6's HTTP metrics."""
    if not isinstance(data, dict):
        return False
    metrics = data.get("metrics")
    if not isinstance(metrics, dict) or not any(name in metrics for name in _HTTP_METRICS):
        return False
    return any(key in data for key in ("root_group", "state", "options"))


def _values(metrics: Mapping[str, Any], name: str, source: str) -> dict[str, Any] | None:
    """The figures of one metric in either shape, or ``None`` when the metric is absent."""
    metric = metrics.get(name)
    if metric is None:
        return None
    if not isinstance(metric, dict):
        raise ReportError(source, f"not a valid k6 summary: metrics.{name}: expected an object")
    values = metric.get("values", metric) if "type" in metric or "values" in metric else metric
    if not isinstance(values, dict):
        raise ReportError(source, f"not a valid k6 summary: metrics.{name}.values: expected an object")
    return values


def _number(
    values: Mapping[str, Any], key: str, where: str, source: str, *, required: bool = True, hint: str = ""
) -> float:
    value = values.get(key)
    if value is None and not required:
        return 0.0
    if value is None:
        raise ReportError(source, f"cannot judge the k6 summary: {where} has no {key!r}{hint}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ReportError(source, f"not a valid k6 summary: {where}.{key} is {value!r}, not a number of at least 0")
    return float(value)


def k6_figures(data: Any, source: str) -> Figures:
    """The deciding figures of a k6 summary; :class:`ReportError` when it has not got them."""
    if not is_k6_summary(data):
        raise ReportError(source, "not a k6 summary: expected k6's --summary-export or handleSummary JSON")
    metrics = data["metrics"]
    duration = _values(metrics, "http_req_duration", source)
    if duration is None:
        raise ReportError(
            source, "cannot judge the k6 summary: it has no http_req_duration (did the script send HTTP?)"
        )
    where = "metrics.http_req_duration"
    p95 = _number(duration, "p(95)", where, source, hint=" (add p(95) to k6's summaryTrendStats)")
    failed = _values(metrics, "http_req_failed", source)
    if failed is None:
        raise ReportError(source, "cannot judge the k6 summary: it has no http_req_failed (k6 0.31 or later writes it)")
    errors = _number(failed, "passes", "metrics.http_req_failed", source)
    answered = errors + _number(failed, "fails", "metrics.http_req_failed", source)
    reqs = _values(metrics, "http_reqs", source)
    requests = _number(reqs, "count", "metrics.http_reqs", source) if reqs is not None else answered
    rate = _number(reqs, "rate", "metrics.http_reqs", source, required=False) if reqs is not None else 0.0
    problems: tuple[str, ...] = ()
    dropped = _values(metrics, "dropped_iterations", source)
    dropped_count = _number(dropped, "count", "metrics.dropped_iterations", source) if dropped is not None else 0.0
    if dropped_count:
        problems = (
            f"k6 dropped {dropped_count:g} iterations: it could not keep the requested arrival rate "
            "(raise the scenario's preAllocatedVUs or maxVUs)",
        )
    if errors > requests:
        raise ReportError(
            source, f"not a valid k6 summary: {errors:g} failed requests but only {requests:g} requests in http_reqs"
        )
    return Figures(
        tool=TOOL,
        requests=int(requests),
        errors=int(errors),
        p95_ms=p95,
        p50_ms=_number(duration, "med", where, source, required=False),
        p99_ms=_number(duration, "p(99)", where, source, required=False),
        max_ms=_number(duration, "max", where, source, required=False),
        throughput=rate,
        generator_problems=problems,
    )


def judge_k6_summary(data: Any, *, source: str, slo: Slo | None = None, rollback: Rollback | None = None) -> Judgement:
    """A k6 summary judged against the SLOs and rollback triggers."""
    return judge(k6_figures(data, source), slo or Slo(), rollback or Rollback())


def parse_k6_summary(
    data: Any, *, source: str, slo: Slo | None = None, rollback: Rollback | None = None
) -> IngestResult:
    """Findings (category ``slo``) for each SLO the k6 run missed; none when it met them."""
    judgement = judge_k6_summary(data, source=source, slo=slo, rollback=rollback)
    findings = slo_findings(judgement.misses, tool=TOOL, path=source)
    return IngestResult(findings=findings, tools={TOOL: ""}, errors=())


def read_k6_summary(path: str | Path, *, slo: Slo | None = None, rollback: Rollback | None = None) -> IngestResult:
    """Read and judge a k6 summary file."""
    import json

    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(name, f"cannot read the report: {exc}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ReportError(name, f"not a report: not valid JSON: {exc}") from None
    return parse_k6_summary(data, source=name, slo=slo, rollback=rollback)
