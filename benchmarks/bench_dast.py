"""Benchmark: the passive scan's pages per second on a 200-page site, against a plain httpx loop (the floor).

Usage: ``python benchmarks/bench_dast.py [--pages 200] [--repeat 5] [--concurrency 4]``

The site is an ASGI app of ``--pages`` HTML pages (about 2 KB each, five
links each, some with a cookie, a comment and a form), plus a robots.txt and
a sitemap.  Each of ``--repeat`` rounds measures, interleaved (so the
machine's drift hits both sides alike), the median being reported:

* ``in process``: the passive scan with the app called in process (httpx's
  ASGI transport: crawl, parse, all 28 rules, findings), against an
  ``httpx.AsyncClient`` on the same transport fetching the same URLs one
  after the other;
* ``loopback``: the passive scan of the app served by uvicorn on
  127.0.0.1, against a plain ``httpx.Client`` loop fetching the same URLs
  from the same server.

Both sides fetch the same requests (the URLs the crawl visited, in its
order, the form posts included).  The figure is pages per second, and the
ratio scan / floor; the goal is at least 0.8x the floor.  Exits 1 when a
ratio misses it, or when a scan does not visit every page.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from pytest_stillme.dast.alerts import findings_from_alerts  # noqa: E402
from pytest_stillme.dast.passive import scan_url  # noqa: E402

TARGET = 0.8
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip. "
)


class BenchSite:
    """``pages`` HTML pages linking to each other; records the requests it answers."""

    def __init__(self, pages: int) -> None:
        self.count = pages
        self.requests: list[tuple[str, str, bytes]] = []
        self.recording = False
        self.bodies = {f"/page/{n}": self._page(n).encode() for n in range(pages)}
        self.bodies["/"] = self.bodies["/page/0"]
        urls = "".join(f"<url><loc>http://127.0.0.1/page/{n}</loc></url>" for n in range(0, pages, 10))
        self.sitemap = f'<?xml version="1.0"?><urlset>{urls}</urlset>'.encode()

    def _page(self, n: int) -> str:
        links = " ".join(f'<a href="/page/{(n * 7 + k) % self.count}">page {k}</a>' for k in range(1, 6))
        extra = "<!-- TODO: tidy up -->" if n % 10 == 0 else ""
        form = '<form action="/search" method="get"><input name="q"></form>' if n % 25 == 0 else ""
        return (
            f"<!DOCTYPE html><html><head><title>Page {n}</title></head><body><h1>Page {n}</h1>{extra}"
            f"<p>{LOREM * 12}</p><nav>{links}</nav>{form}</body></html>"
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                reply = {
                    "lifespan.startup": "lifespan.startup.complete",
                    "lifespan.shutdown": "lifespan.shutdown.complete",
                }
                await send({"type": reply[message["type"]]})
                if message["type"] == "lifespan.shutdown":
                    return
        body_in = b""
        more = True
        while more:
            message = await receive()
            body_in += message.get("body", b"")
            more = message.get("more_body", False)
        path = scope["path"]
        query = scope["query_string"].decode()
        if self.recording:
            self.requests.append((scope["method"], path + (f"?{query}" if query else ""), body_in))
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"x-content-type-options", b"nosniff")]
        if path == "/sitemap.xml":
            status, body, headers = 200, self.sitemap, [(b"content-type", b"application/xml")]
        elif path == "/robots.txt":
            status, body, headers = 200, b"User-agent: *\nDisallow: /admin\n", [(b"content-type", b"text/plain")]
        elif path in self.bodies or path == "/search":
            status, body = 200, self.bodies.get(path, b"<html><body>results</body></html>")
            if path.endswith("5"):
                headers.append((b"set-cookie", b"visit=1; Path=/"))
        else:
            status, body, headers = 404, b"Not Found", [(b"content-type", b"text/plain")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _socket() -> socket.socket:
    """A loopback socket made with IPPROTO_TCP, so asyncio sets TCP_NODELAY on its connections.

    (A socket made with proto 0 gets no TCP_NODELAY from asyncio, and every keep-alive response then stalls
    about 40 ms: Nagle on the server meets delayed ACK on the client. Both sides here would pay it.)
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


def serve_forever(pages: int) -> None:
    """``--serve``: the site on a loopback port (printed), in this process, until stdin closes."""
    import uvicorn

    sock = _socket()
    config = uvicorn.Config(BenchSite(pages), lifespan="on", log_level="error", access_log=False, ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    print(sock.getsockname()[1], flush=True)
    sys.stdin.read()
    server.should_exit = True
    thread.join(timeout=10)


@contextmanager
def served(pages: int) -> Iterator[str]:
    """The site served by another process, as a service under test is: its CPU is not the scan's."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--pages", str(pages)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


def timed_scan(base: str, app: Any, site: BenchSite, pages: int, concurrency: int) -> tuple[float, int, int]:
    """Seconds, requests sent, and findings of one passive scan."""
    started = time.perf_counter()
    scan, crawled = scan_url(base, app, max_pages=pages * 2, concurrency=concurrency, timeout=600.0)
    findings = findings_from_alerts(scan.alerts(), tool="passive").findings
    seconds = time.perf_counter() - started
    if crawled.failures or crawled.stopped or crawled.unreachable:
        raise SystemExit(f"scan incomplete: {crawled}")
    return seconds, crawled.requests, len(findings)


def floor_in_process(app: Any, requests: list[tuple[str, str, bytes]]) -> float:
    async def loop() -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            started = time.perf_counter()
            for method, url, body in requests:
                response = await client.request(method, url, content=body or None)
                response.read()
            return time.perf_counter() - started

    return asyncio.run(loop())


def floor_loopback(base: str, requests: list[tuple[str, str, bytes]]) -> float:
    with httpx.Client(base_url=base, trust_env=False) as client:
        started = time.perf_counter()
        for method, url, body in requests:
            response = client.request(method, url, content=body or None)
            response.read()
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(args.pages)
        return 0
    site = BenchSite(args.pages)

    # The requests the crawl sends, recorded once: the floor sends exactly these.
    site.recording = True
    scan_url("http://127.0.0.1", site, max_pages=args.pages * 2, concurrency=1, timeout=600.0)
    site.recording = False
    requests = list(dict.fromkeys(site.requests))
    visited = {path for _, path, _ in requests}
    missing = [f"/page/{n}" for n in range(args.pages) if f"/page/{n}" not in visited]
    if missing:
        print(f"MISSED: the crawl did not visit {len(missing)} pages (e.g. {missing[:3]})")
        return 1

    modes: dict[str, tuple[Any, Any]] = {}
    results: dict[str, dict[str, list[float]]] = {}
    findings = 0
    with served(args.pages) as base:
        modes["in process"] = (
            lambda: timed_scan("http://127.0.0.1", site, site, args.pages, args.concurrency),
            lambda: floor_in_process(site, requests),
        )
        modes["loopback"] = (
            lambda: timed_scan(base, None, site, args.pages, args.concurrency),
            lambda: floor_loopback(base, requests),
        )
        for scan, floor in modes.values():  # warm-up: imports, connections, byte code
            scan()
            floor()
        for mode, (scan, floor) in modes.items():
            figures = results.setdefault(mode, {"scan": [], "floor": [], "ratio": []})
            for round_ in range(args.repeat):
                # Pairs, alternating which goes first: a ratio per pair cancels the machine's drift.
                if round_ % 2:
                    floor_s = floor()
                    scan_s, _, found = scan()
                else:
                    scan_s, _, found = scan()
                    floor_s = floor()
                findings = max(findings, found)
                figures["scan"].append(scan_s)
                figures["floor"].append(floor_s)
                figures["ratio"].append(floor_s / scan_s)
    print(
        f"passive scan of a {args.pages}-page site: {len(requests)} requests, {findings} findings, "
        f"concurrency {args.concurrency}, median of {args.repeat} interleaved pairs"
    )
    missed = False
    for mode, figures in results.items():
        scan_pps = len(requests) / statistics.median(figures["scan"])
        floor_pps = len(requests) / statistics.median(figures["floor"])
        ratio = statistics.median(figures["ratio"])
        verdict = "ok" if ratio >= TARGET else "MISSED"
        missed = missed or ratio < TARGET
        print(
            f"  {mode:10} scan {scan_pps:7.0f} pages/s   plain httpx loop {floor_pps:7.0f} pages/s   "
            f"ratio {ratio:.2f}x (goal >= {TARGET}x) {verdict}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
