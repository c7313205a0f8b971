"""The metrics endpoint: valid Prometheus exposition that has the metric names the user lists.

The body is parsed with ``prometheus_client``'s own parsers (the text format,
or OpenMetrics when the content type says so), so "valid" means what a
Prometheus client library accepts.  A required name matches a metric family
(``inventory_http_requests``) or one of its samples
(``inventory_http_requests_total``, ``..._bucket``), and may be a glob
(``inventory_http_*``).  No pytest here.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from .probe import Answer, fetch, new_client

__all__ = ["MetricsCheck", "check_metrics", "parse_exposition"]


class ExpositionError(ValueError):
    """The body is not valid exposition: the message names the line when the parser does."""


@dataclass(frozen=True)
class MetricsCheck:
    path: str
    ok: bool
    status: int = 0
    families: int = 0
    samples: int = 0
    required: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    message: str = ""
    names: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "status": self.status,
            "families": self.families,
            "samples": self.samples,
            "required": list(self.required),
            "missing": list(self.missing),
            "message": self.message,
        }


def parse_exposition(text: str, content_type: str = "") -> tuple[set[str], int, int]:
    """Family and sample names, the number of families and of samples; :class:`ExpositionError` when invalid."""
    from prometheus_client import parser as text_format
    from prometheus_client.openmetrics import parser as openmetrics

    parse: Any = (
        openmetrics.text_string_to_metric_families
        if "openmetrics" in content_type.lower()
        else text_format.text_string_to_metric_families
    )
    names: set[str] = set()
    families = samples = 0
    try:
        for family in parse(text):
            families += 1
            names.add(family.name)
            for sample in family.samples:
                samples += 1
                names.add(sample.name)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ExpositionError(f"not valid Prometheus exposition: {exc}") from None
    return names, families, samples


def _missing(required: tuple[str, ...], names: set[str]) -> tuple[str, ...]:
    return tuple(r for r in required if not any(fnmatch.fnmatchcase(n, r) for n in names))


def judge_metrics(path: str, answer: Answer, required: tuple[str, ...]) -> MetricsCheck:
    """Judge one answer of the metrics endpoint."""
    if answer.problem:
        return MetricsCheck(path, False, required=required, message=f"GET {path}: {answer.problem}")
    if answer.status != 200:
        return MetricsCheck(
            path, False, answer.status, required=required, message=f"GET {path} answered {answer.describe()}"
        )
    try:
        text = answer.body.decode("utf-8")
    except UnicodeDecodeError:
        return MetricsCheck(path, False, 200, required=required, message=f"GET {path}: the body is not UTF-8 text")
    try:
        names, families, samples = parse_exposition(text, answer.content_type)
    except ExpositionError as exc:
        return MetricsCheck(path, False, 200, required=required, message=f"GET {path}: {exc}")
    if not families:
        return MetricsCheck(path, False, 200, required=required, message=f"GET {path} exposes no metrics at all")
    missing = _missing(required, names)
    message = ""
    if missing:
        message = f"GET {path} lacks the required metric(s) {', '.join(missing)} ({families} families exposed)"
    return MetricsCheck(path, not missing, 200, families, samples, required, missing, message, tuple(sorted(names)))


def check_metrics(
    base_url: str, path: str = "/metrics", required: tuple[str, ...] = (), *, timeout: float = 10.0
) -> MetricsCheck:
    """Fetch and judge the metrics endpoint."""
    with new_client() as client:
        answer = fetch(client, base_url.rstrip("/") + path, timeout)
    return judge_metrics(path, answer, tuple(required))
