"""Benchmark: the load engine against wrk, on the same loopback server at the same concurrency.

Usage: ``python benchmarks/bench_slo.py [--rounds 3] [--duration 5] [--connections 32] [--path /healthz] [--json PATH]``

The server is the example service (``examples/service``, Starlette) under one
uvicorn worker, started once in its own process on a free loopback port.
wrk (Debian's ``wrk``: ``apt-get install wrk``) runs with one thread, as the
engine does, and ``--connections`` connections; the engine
(``pytest_stillme.slo.engine.run_load``, closed model) with the same number
of connections.  Each round runs both back to back, the order swapped every
round (wrk then engine, engine then wrk, ...), and yields one ratio per
figure; the result is the median of the rounds' ratios, so drift of a shared
machine between rounds cancels out.
wrk's p50 and p95 come from its own latency histogram (a Lua ``done`` hook);
the engine's from its exact percentiles.  On a machine with two CPUs or more
the server is pinned to one and the generators to another (``--no-pin`` to
turn that off), so what is compared is the generators, not how the
scheduler shares one core between a generator and the server.

Targets: the engine drives >= 90 % of wrk's requests per second, and its p95
is within 10 % of wrk's (ratio <= 1.10).  Why: a generator slower than the
server measures itself, and the figures a deployment is judged on would be
the generator's queueing, not the service's latency.

Exits 1 when a target is missed (a line says MISSED), 2 when wrk or the
package is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
try:
    from pytest_stillme.slo.engine import run_load
    from pytest_stillme.slo.plan import Endpoint, LoadPlan
except ImportError as exc:  # pragma: no cover - a broken checkout
    print(f"cannot import pytest_stillme.slo: {exc}", file=sys.stderr)
    sys.exit(2)

THROUGHPUT_TARGET = 0.90
P95_TARGET = 1.10
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("STILLME %d %d %d %f %f\\n", summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout, latency:percentile(50), latency:percentile(95)))
end
"""


@dataclass
class Run:
    tool: str
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    errors: int
    generator_cpu: float | None = None
    loop_lag_ms: float | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinning() -> tuple[set[int], set[int]] | None:
    """CPUs for the server and for the generators (one each), when there are two to choose from."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return ({cpus[0]}, {cpus[1]}) if len(cpus) >= 2 else None


def start_server(port: int, cpus: set[int] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "examples" / "service" / "src"), "INVENTORY_PORT": str(port)}
    env.pop("INVENTORY_TEST_FAULTS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "inventory"],
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        cwd=ROOT / "examples" / "service",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the example service did not start")


def run_wrk(wrk: str, url: str, connections: int, duration: float, script: Path) -> Run:
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("STILLME "))
    _, requests, micros, errors, p50, p95 = line.split()
    return Run(
        "wrk", int(requests), int(requests) / (int(micros) / 1e6), float(p50) / 1000, float(p95) / 1000, int(errors)
    )


def run_engine(url: str, path: str, connections: int, duration: float) -> Run:
    plan = LoadPlan((Endpoint("GET", path),), concurrency=connections, duration=duration)
    result = run_load(url, plan)
    lat = result.latency
    gen = result.generator
    return Run("engine", result.requests, result.throughput, lat.p50, lat.p95, result.errors, gen.cpu, gen.loop_lag_ms)


def paired(runs: dict[str, list[Run]], field: str) -> float:
    """The median over rounds of engine/wrk for one figure."""
    return statistics.median(
        getattr(e, field) / getattr(w, field) for e, w in zip(runs["engine"], runs["wrk"], strict=True)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the server and the generators to separate CPUs",
    )
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: apt-get install wrk (Debian's package), then run again", file=sys.stderr)
        return 2
    pins = pinning() if args.pin else None
    port = free_port()
    server = start_server(port, pins[0] if pins else None)
    if pins:
        # wrk inherits this process's affinity; the engine's thread is in this process.
        os.sched_setaffinity(0, pins[1])
    url = f"http://127.0.0.1:{port}"
    runs: dict[str, list[Run]] = {"wrk": [], "engine": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "report.lua"
            script.write_text(WRK_SCRIPT)
            run_engine(url, args.path, args.connections, 1.0)  # warm-up: the server's first requests, imports
            for round_ in range(args.rounds):
                order = ("wrk", "engine") if round_ % 2 == 0 else ("engine", "wrk")
                for tool in order:
                    if tool == "wrk":
                        runs["wrk"].append(run_wrk(wrk, url + args.path, args.connections, args.duration, script))
                    else:
                        runs["engine"].append(run_engine(url, args.path, args.connections, args.duration))
    finally:
        server.terminate()
        server.wait(timeout=10)
    shape = f"{args.connections} connections, {args.duration:g} s x {args.rounds} rounds"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    where = f"server on CPU {sorted(pins[0])[0]}, generators on CPU {sorted(pins[1])[0]}" if pins else "not pinned"
    print(f"one uvicorn worker serving GET {args.path}, {shape}; {where}; load average at the end {load}")
    for tool, items in runs.items():
        for r in items:
            cpu = (
                f", generator CPU {r.generator_cpu:.0%}, loop lag p99 {r.loop_lag_ms:.1f} ms"
                if r.generator_cpu is not None and r.loop_lag_ms is not None
                else ""
            )
            figures = f"{r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  p95 {r.p95_ms:6.2f} ms"
            print(f"  {tool:6s} {figures}  errors {r.errors}{cpu}")
    rps_ratio = paired(runs, "rps")
    p50_ratio = paired(runs, "p50_ms")
    p95_ratio = paired(runs, "p95_ms")
    failed = False
    for name, value, ok, target in (
        ("throughput engine/wrk", rps_ratio, rps_ratio >= THROUGHPUT_TARGET, f">= {THROUGHPUT_TARGET:.2f}"),
        ("p95 engine/wrk", p95_ratio, p95_ratio <= P95_TARGET, f"<= {P95_TARGET:.2f}"),
    ):
        print(f"{name}: {value:.3f}x (target {target}){'' if ok else '  MISSED'}")
        failed |= not ok
    print(f"p50 engine/wrk: {p50_ratio:.3f}x (for information; medians of the rounds' ratios)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": platform.platform(),
                    "python": platform.python_version(),
                    "runs": {k: [asdict(r) for r in v] for k, v in runs.items()},
                    "throughput_ratio": rps_ratio,
                    "p50_ratio": p50_ratio,
                    "p95_ratio": p95_ratio,
                },
                indent=2,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
