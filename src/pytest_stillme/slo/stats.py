"""Latency statistics: nearest-rank percentiles and a fixed log-scale histogram.

Percentiles are exact (the sample is kept and sorted once): a load run of
minutes holds a few hundred thousand floats, which sorts in milliseconds, and
an approximation would blur exactly the tail an SLO is about.  No pytest here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BUCKETS_MS", "Distribution", "histogram", "percentile"]

#: Upper bounds (ms, inclusive) of the histogram's buckets; the last bucket is everything above.
BUCKETS_MS: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def percentile(ordered: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile of an ascending sequence (0.0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def histogram(ordered: Sequence[float]) -> tuple[tuple[str, int], ...]:
    """Counts per bucket of an ascending sequence of milliseconds: ``(("<=1ms", n), ..., (">10000ms", n))``."""
    counts = [0] * (len(BUCKETS_MS) + 1)
    index = 0
    for value in ordered:
        while index < len(BUCKETS_MS) and value > BUCKETS_MS[index]:
            index += 1
        counts[index] += 1
    labels = [f"<={bound:g}ms" for bound in BUCKETS_MS] + [f">{BUCKETS_MS[-1]:g}ms"]
    return tuple(zip(labels, counts, strict=True))


@dataclass(frozen=True)
class Distribution:
    """Summary of a latency sample in milliseconds."""

    count: int = 0
    mean: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    histogram: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, values_ms: Sequence[float]) -> Distribution:
        ordered = sorted(values_ms)
        if not ordered:
            return cls(histogram=histogram(()))
        return cls(
            count=len(ordered),
            mean=math.fsum(ordered) / len(ordered),
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p95=percentile(ordered, 95),
            p99=percentile(ordered, 99),
            max=ordered[-1],
            histogram=histogram(ordered),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "mean_ms": round(self.mean, 3),
            "p50_ms": round(self.p50, 3),
            "p90_ms": round(self.p90, 3),
            "p95_ms": round(self.p95, 3),
            "p99_ms": round(self.p99, 3),
            "max_ms": round(self.max, 3),
            "histogram": dict(self.histogram),
        }
