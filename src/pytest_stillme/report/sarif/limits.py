"""Streaming the document and keeping it within GitHub's upload limit (10 MB gzip-compressed)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, cast

from ...core.findings import Finding
from ..atomic import atomic_writer
from .plan import _Context, _Paths, _RunPlan, _sorted
from .results import _result
from .rules import _run_head, _size_text

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"


SARIF_VERSION = "2.1.0"


#: zlib level GitHub's uploader (Node's zlib.gzipSync) and the gzip CLI use.
GZIP_LEVEL = 6


#: Room for what a gzip header may add (``gzip -c`` stores the file name) on top of our measure.
GZIP_SLACK = 256


#: Results encoded per write; a few hundred keep call overhead low and chunks small.
_BATCH = 256


#: Raw bytes between two checkpoints when estimating what fits under the gzip limit.
_CHECKPOINT_BYTES = 64 * 1024


#: Measurements allowed when fitting under the gzip limit (each compresses the document once).
_FIT_STEPS = 6


_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False, allow_nan=False).encode


def _heads(plans: Sequence[_RunPlan], paths: _Paths) -> list[tuple[dict[str, Any], _Context]]:
    return [_run_head(plan, paths) for plan in plans]


def _chunks(plans: Sequence[_RunPlan], paths: _Paths) -> Iterator[bytes]:
    """The document in file order, a few hundred results per chunk."""
    yield _encode({"$schema": SCHEMA_URI, "version": SARIF_VERSION})[:-1].encode() + b',"runs":['
    for n, (plan, (head, ctx)) in enumerate(zip(plans, _heads(plans, paths), strict=True)):
        opening = _encode(head)[:-1] + ',"results":['
        yield (("," if n else "") + opening).encode()
        findings = plan.findings
        for start in range(0, len(findings), _BATCH):
            # One encoder call per batch: the list's brackets are cut off.
            text = _encode([_result(f, ctx) for f in findings[start : start + _BATCH]])[1:-1]
            yield (("," if start else "") + text).encode()
        yield b"]}"
    yield b"]}\n"


class _TooBig(Exception):
    """The document went over the gzip budget while being written."""


def _write(path: str | Path, plans: Sequence[_RunPlan], paths: _Paths, budget: int | None) -> None:
    """Stream the document to ``path`` atomically; raise _TooBig (old file intact) past ``budget``."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if budget is not None else None
    size = 0
    with atomic_writer(path, "wb") as text_typed:
        handle = cast(IO[bytes], text_typed)  # atomic_writer is typed for text; "wb" yields a binary file
        for chunk in _chunks(plans, paths):
            handle.write(chunk)
            if compressor is not None:
                size += len(compressor.compress(chunk))
                if budget is not None and size > budget:
                    raise _TooBig
        if compressor is not None:
            size += len(compressor.flush())
            if budget is not None and size > budget:
                raise _TooBig


def _measure(plans: Sequence[_RunPlan], paths: _Paths) -> int:
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    size = sum(len(compressor.compress(chunk)) for chunk in _chunks(plans, paths))
    return size + len(compressor.flush())


def _estimate_fit(plans: Sequence[_RunPlan], ordered: Sequence[Finding], paths: _Paths, budget: int, limit: int) -> int:
    """How many of the most severe results fit under ``budget``, from one compression pass.

    The results are compressed most severe first with a sync flush every
    ``_CHECKPOINT_BYTES`` so that the compressed size so far is known; between
    checkpoints it is interpolated.  It stops at the first checkpoint past
    the budget.  The caller checks the estimate on the real document.
    """
    base = _measure(_keep_most_severe(plans, ordered, 0, limit), paths)
    run_of = {id(f): i for i, plan in enumerate(plans) for f in plan.findings}
    contexts = [ctx for _, ctx in _heads(plans, paths)]
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    raw = packed = 0
    last_raw = last_packed = 0
    pending: list[int] = []  # raw offsets after each result since the last checkpoint
    fits = 0
    for n, finding in enumerate(ordered):
        data = _encode(_result(finding, contexts[run_of[id(finding)]])).encode() + b","
        raw += len(data)
        packed += len(compressor.compress(data))
        pending.append(raw)
        if raw - last_raw >= _CHECKPOINT_BYTES or n == len(ordered) - 1:
            packed += len(compressor.flush(zlib.Z_SYNC_FLUSH))
            span = max(raw - last_raw, 1)
            for k, offset in enumerate(pending, start=n - len(pending) + 1):
                guess = last_packed + (packed - last_packed) * (offset - last_raw) / span
                if base + guess > budget:
                    return fits
                fits = k + 1
            pending.clear()
            last_raw, last_packed = raw, packed
    return fits


def _replace_findings(plan: _RunPlan, findings: list[Finding], gzip_limit: int) -> _RunPlan:
    return replace(plan, findings=findings, dropped_gzip=len(plan.findings) - len(findings), gzip_limit=gzip_limit)


def _keep_most_severe(plans: Sequence[_RunPlan], ordered: Sequence[Finding], count: int, limit: int) -> list[_RunPlan]:
    """The plans with only the ``count`` most severe results overall (``ordered`` is most severe first)."""
    kept = {id(f) for f in ordered[:count]}
    return [_replace_findings(plan, [f for f in plan.findings if id(f) in kept], limit) for plan in plans]


def _fit_gzip(
    plans: list[_RunPlan], paths: _Paths, budget: int, max_gzip_bytes: int, notes: list[str]
) -> list[_RunPlan]:
    """Keep as many of the most severe results as fit under the gzip budget, checked on the real document.

    Starts from a one-pass estimate, then a few secant steps between the
    largest count known to fit and the smallest known not to; every count
    kept has been measured on the document that is then written.
    """
    ordered = _sorted(f for plan in plans for f in plan.findings)
    total = len(ordered)
    count = min(_estimate_fit(plans, ordered, paths, budget, max_gzip_bytes), total)
    fits, too_many = -1, total + 1
    best: tuple[list[_RunPlan], int] | None = None
    for _ in range(_FIT_STEPS):
        cut = _keep_most_severe(plans, ordered, count, max_gzip_bytes)
        size = _measure(cut, paths)
        if size <= budget:
            fits, best = count, (cut, size)
            if size >= budget * 0.98:
                break
            guess = int(count * budget / max(size, 1) * 0.99)
        else:
            too_many = count
            guess = int(count * budget / size * 0.98)
        guess = min(max(guess, fits + 1), too_many - 1)
        if guess <= fits or guess >= too_many:
            break
        count = guess
    if best is None:
        cut = _keep_most_severe(plans, ordered, 0, max_gzip_bytes)
        best = (cut, _measure(cut, paths))
        fits = 0
    cut, size = best
    notes.append(
        f"SARIF: {total - fits} of {total} results left out to keep the file under {_size_text(max_gzip_bytes)} "
        "gzip-compressed (GitHub's upload limit); the most severe were kept"
    )
    if size > budget:
        notes.append(
            f"SARIF: the file is {_size_text(size)} gzip-compressed even without results, over the "
            f"{_size_text(max_gzip_bytes)} GitHub accepts"
        )
    return cut
