"""Shared pieces of the deploy tests: the example service run for real, its fault switch, k6 summaries."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "service"
FAULTS = "/_test/faults"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


@contextmanager
def example_service(*, faults: bool = True) -> Iterator[str]:
    """``python -m inventory`` on a free loopback port (with the test-only fault switch); yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(EXAMPLE / "src"),
        "INVENTORY_HOST": "127.0.0.1",
        "INVENTORY_PORT": str(port),
        "INVENTORY_TEST_FAULTS": "1" if faults else "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "inventory"],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the example service exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            try:
                if _get(url + "/healthz", timeout=1.0) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the example service did not start within 60 s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def set_faults(url: str, **faults: Any) -> dict[str, Any]:
    """Switch the service's injected faults (``latency_ms``, ``error_rate``, ``paths``, ``fail_first``); {} clears."""
    request = urllib.request.Request(
        url + FAULTS,
        data=json.dumps(faults).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def k6_export(
    *, requests: int, failed: int, p95: float, med: float = 1.0, handle_summary: bool = False
) -> dict[str, Any]:
    """A k6 summary of the shape ``--summary-export`` (or ``handleSummary``'s JSON) writes."""
    duration = {"avg": med, "min": med / 2, "med": med, "max": p95 * 2, "p(90)": p95 * 0.9, "p(95)": p95}
    rate = {"count": requests, "rate": requests / 30.0}
    fails = {"passes": failed, "fails": requests - failed, "value": failed / requests if requests else 0}
    if handle_summary:
        return {
            "root_group": {"name": "", "path": "", "groups": [], "checks": []},
            "options": {"summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)"]},
            "state": {"isStdOutTTY": False, "testRunDurationMs": 30000.0},
            "metrics": {
                "http_req_duration": {"type": "trend", "contains": "time", "values": duration},
                "http_reqs": {"type": "counter", "contains": "default", "values": rate},
                "http_req_failed": {
                    "type": "rate",
                    "contains": "default",
                    "values": {"passes": failed, "fails": requests - failed, "rate": fails["value"]},
                },
            },
        }
    return {
        "root_group": {"name": "", "path": "", "id": "d41d8cd98f00b204e9800998ecf8427e", "groups": {}, "checks": {}},
        "metrics": {
            "http_req_duration": {**duration, "thresholds": {"p(95)<500": p95 >= 500}},
            "http_reqs": rate,
            "http_req_failed": fails,
            "iterations": {"count": requests, "rate": requests / 30.0},
        },
    }
