"""Benchmark: the pip-audit collector against plain pip-audit, on 200 pinned requirements and a local OSV snapshot.

Usage: ``python benchmarks/bench_pip_audit.py [--requirements 200] [--records 6000] [--repeat 3]``

A synthetic OSV snapshot (``--records`` PyPI records over many packages, as
JSON files in a PyPA-advisory-database-like tree) and a requirements file of
``--requirements`` exact pins (one in ten vulnerable, with PYSEC/GHSA alias
pairs and CVSS vectors) are written to a temporary folder.  Then, each
``--repeat`` times (the median is reported):

* ``collector``: ``audit([requirements], vuln_db=FOLDER)``: loading the
  snapshot, serving it on loopback, running pip-audit, checking coverage,
  deriving severities (CVSS scored with ``cvss``) and building findings.
* ``collector, snapshot preloaded``: the same with the snapshot already in
  memory (``vuln_db=Snapshot``), i.e. the cost once a session has loaded it.
* ``pip-audit``: plain ``python -m pip_audit -r FILE --no-deps --disable-pip
  -s osv --osv-url URL -f json`` against the same snapshot served by the same
  loopback server (started beforehand, not timed): the same service.

Exits 1 (and prints MISSED) when the collector with the snapshot loaded takes
more than 1.5x plain pip-audit (like for like: both find the service running),
or when the results disagree.  The cold figure adds loading the snapshot,
which grows with its size (about 0.3 s for 6,000 records, 1.5 s for 20,000 on
a busy two-core machine) and overlaps pip-audit's start-up when a core is free.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pytest_stillme.readers.osv_snapshot import load_snapshot  # noqa: E402
from pytest_stillme.scanners.pip_audit.audit import AuditTarget, audit  # noqa: E402
from pytest_stillme.scanners.pip_audit.osv_server import OsvServer  # noqa: E402

RATIO_TARGET = 1.5
VECTORS = (
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
)


def record(ident: str, package: str, fixed: str, aliases: list[str], rng: random.Random) -> dict[str, Any]:
    modified = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=rng.randint(1, 20))
    data: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": ident,
        "modified": modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published": "2023-01-01T00:00:00Z",
        "aliases": aliases,
        "summary": f"Synthetic vulnerability {ident} in {package}",
        "details": "A long description. " * 20,
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package, "purl": f"pkg:pypi/{package}"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                "versions": [f"0.{n}" for n in range(rng.randint(5, 40))],
            }
        ],
        "references": [{"type": "WEB", "url": f"https://example.org/{ident}"}],
    }
    if ident.startswith("GHSA"):
        data["severity"] = [{"type": "CVSS_V3" if "3.1" in (v := rng.choice(VECTORS)) else "CVSS_V4", "score": v}]
        data["database_specific"] = {"severity": "HIGH", "cwe_ids": ["CWE-79"]}
    return data


def build(folder: Path, requirements: int, records: int, seed: int = 7) -> tuple[Path, Path, int]:
    """The snapshot tree and the requirements file; returns how many requirements are vulnerable."""
    rng = random.Random(seed)
    snapshot = folder / "advisory-database"
    lines = []
    vulnerable = 0
    written = 0
    for n in range(requirements):
        name = f"bench-pkg-{n:03d}"
        lines.append(f"{name}==1.{n % 7}.0")
        if n % 10 == 0:
            vulnerable += 1
            pysec, ghsa, cve = f"PYSEC-2099-{n}", f"GHSA-bench-{n:04d}-xxxx", f"CVE-2099-{n:05d}"
            for ident, aliases in ((pysec, [ghsa, cve]), (ghsa, [cve])):
                path = snapshot / "vulns" / name / f"{ident}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(record(ident, name, "9.0", aliases, rng)))
                written += 1
    n = 0
    while written < records:
        name = f"other-pkg-{n % 2500:04d}"
        ident = f"PYSEC-2098-{n}"
        path = snapshot / "vulns" / name / f"{ident}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record(ident, name, f"{rng.randint(1, 9)}.0", [], rng)))
        written += 1
        n += 1
    requirements_file = folder / "requirements.txt"
    requirements_file.write_text("\n".join(lines) + "\n")
    return snapshot, requirements_file, vulnerable


def time_collector(folder: Path, vuln_db: Any) -> tuple[float, int]:
    start = time.perf_counter()
    result = audit([AuditTarget.requirements("requirements.txt")], root=folder, vuln_db=vuln_db)
    seconds = time.perf_counter() - start
    if result.all_errors:
        raise SystemExit(f"the collector failed: {[e.describe() for e in result.all_errors]}")
    return seconds, len(result.findings)


def time_plain(folder: Path, url: str) -> tuple[float, int]:
    argv = [sys.executable, "-m", "pip_audit", "-r", "requirements.txt", "--no-deps", "--disable-pip"]
    argv += ["-s", "osv", "--osv-url", f"{url}/query", "-f", "json", "--progress-spinner", "off"]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"plain pip-audit failed: {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    return seconds, sum(len(d.get("vulns", [])) for d in data["dependencies"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=int, default=200)
    parser.add_argument("--records", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-pip-audit-") as scratch:
        folder = Path(scratch)
        snapshot_dir, _, vulnerable = build(folder, args.requirements, args.records)
        start = time.perf_counter()
        snapshot = load_snapshot(snapshot_dir)
        load_seconds = time.perf_counter() - start
        print(
            f"snapshot: {snapshot.records} OSV records over {snapshot.packages} packages, "
            f"loaded in {load_seconds:.2f} s; {args.requirements} pinned requirements, {vulnerable} vulnerable"
        )
        collector, preloaded, plain = [], [], []
        findings = reported = 0
        with OsvServer(snapshot) as server:
            time_plain(folder, server.url)  # warm the interpreter's file cache for both sides
            for _ in range(args.repeat):
                seconds, findings = time_collector(folder, snapshot_dir)
                collector.append(seconds)
                preloaded.append(time_collector(folder, snapshot)[0])
                seconds, reported = time_plain(folder, server.url)
                plain.append(seconds)
    median = statistics.median
    ratio = median(collector) / median(plain)
    ratio_loaded = median(preloaded) / median(plain)
    print(f"collector, cold:               {median(collector):6.2f} s  ({findings} findings)")
    print(f"collector, snapshot preloaded: {median(preloaded):6.2f} s")
    print(f"plain pip-audit, same service: {median(plain):6.2f} s  ({reported} vulnerabilities)")
    print(f"ratio, snapshot preloaded:     {ratio_loaded:6.2f} (target <= {RATIO_TARGET})")
    print(f"ratio, cold (loads snapshot):  {ratio:6.2f}")
    failed = False
    if findings != reported or findings != vulnerable:
        print(f"MISSED: the collector found {findings}, pip-audit {reported}, expected {vulnerable}")
        failed = True
    if ratio_loaded > RATIO_TARGET:
        print(f"MISSED: the collector took {ratio_loaded:.2f}x plain pip-audit (target {RATIO_TARGET}x)")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
