"""Test helpers for the DAST stage: a ZAP-compatible API server, test apps, ZAP report fixtures.

:class:`FakeZap` answers on a loopback port as a ZAP daemon answers its API:
the ``zaproxy`` client sends every call through its proxy setting, so the
server receives absolute-URI requests for ``http://zap/JSON/<component>/
<view|action>/<name>/`` and ``http://zap/OTHER/core/other/jsonreport/``,
checks the ``X-ZAP-API-Key`` header, and answers with ZAP's shapes (the
first value of a one-key object) and ZAP's errors (HTTP 400 with
``{"code": "bad_api_key", "message": ...}``, HTTP 500 ``internal_error``
with a ``detail``).  ``accessUrl`` really fetches the target, so a target
ZAP cannot reach fails as with ZAP.  The scan itself is scripted: spider
progress per poll, a passive-scan queue that drains per poll (or never),
and the alerts it was given.

The reports and API alerts below reproduce the shape of a real ZAP 2.16.1
baseline report (numbers as strings, ``alertRef`` grouping, ``nodeName``
null, ``systemic`` a boolean): written here, not copied.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = "test-key-123"

# -- ZAP-shaped alerts ---------------------------------------------------------------------------

#: (pluginId, alertRef, name, risk word, riskcode, confidence word, confidence code, cwe, wasc, param, evidence)
ALERT_TYPES: list[tuple[str, str, str, str, str, str, str, str, str, str, str]] = [
    (
        "10038",
        "10038-1",
        "Content Security Policy (CSP) Header Not Set",
        "Medium",
        "2",
        "High",
        "3",
        "693",
        "15",
        "",
        "",
    ),
    (
        "10020",
        "10020-1",
        "Missing Anti-clickjacking Header",
        "Medium",
        "2",
        "Medium",
        "2",
        "1021",
        "15",
        "x-frame-options",
        "",
    ),
    (
        "10021",
        "10021",
        "X-Content-Type-Options Header Missing",
        "Low",
        "1",
        "Medium",
        "2",
        "693",
        "15",
        "x-content-type-options",
        "",
    ),
    (
        "10036",
        "10036-2",
        'Server Leaks Version Information via "Server" HTTP Response Header Field',
        "Low",
        "1",
        "High",
        "3",
        "497",
        "13",
        "",
        "Werkzeug/3.1.3 Python/3.12.10",
    ),
    ("10049", "10049-1", "Non-Storable Content", "Informational", "0", "Medium", "2", "524", "13", "", "500"),
    ("10049", "10049-3", "Storable and Cacheable Content", "Informational", "0", "Medium", "2", "524", "13", "", ""),
    (
        "90022",
        "90022",
        "Application Error Disclosure",
        "Low",
        "1",
        "Medium",
        "2",
        "550",
        "13",
        "",
        "HTTP/1.1 500 INTERNAL SERVER ERROR",
    ),
    ("10116", "10116", "ZAP is Out of Date", "Low", "1", "High", "3", "1104", "45", "", ""),
]
PATHS = ["", "/", "/robots.txt", "/sitemap.xml"]


def api_alerts(site: str) -> list[dict[str, Any]]:
    """ZAP's API answer to core/view/alerts: one object per instance, risk and confidence as words."""
    alerts = []
    number = 0
    for plugin, ref, name, risk, _, confidence, _, cwe, wasc, param, evidence in ALERT_TYPES:
        paths = PATHS[:2] if plugin in ("10020", "10021", "10116") else PATHS
        for path in paths:
            alerts.append(
                {
                    "sourceid": "3",
                    "other": "" if plugin != "10021" else "This issue still applies to error type pages.",
                    "method": "GET",
                    "evidence": evidence,
                    "pluginId": plugin,
                    "cweid": cwe,
                    "confidence": confidence,
                    "wascid": wasc,
                    "description": f"<p>{name}.</p><p>Second paragraph.</p>",
                    "messageId": str(number + 1),
                    "inputVector": "",
                    "url": site + path,
                    "tags": {f"CWE-{cwe}": f"https://cwe.mitre.org/data/definitions/{cwe}.html"},
                    "reference": "<p>https://example.org/ref</p>",
                    "solution": "<p>Fix it.</p>",
                    "alert": name,
                    "param": param,
                    "attack": "",
                    "name": name,
                    "risk": risk,
                    "id": str(number),
                    "alertRef": ref,
                }
            )
            number += 1
    return alerts


def json_report(site: str, alerts: list[dict[str, Any]] | None = None, version: str = "2.16.1") -> dict[str, Any]:
    """ZAP's traditional JSON report of the API alerts, grouped by alertRef as ZAP groups them."""
    items = api_alerts(site) if alerts is None else alerts
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for alert in items:
        grouped.setdefault((alert["alertRef"], alert["name"]), []).append(alert)
    codes = {t[1]: (t[4], t[6]) for t in ALERT_TYPES}
    parts = urlsplit(site)
    report_alerts = []
    for (ref, name), group in grouped.items():
        first = group[0]
        riskcode, confidence = codes.get(ref, ("1", "2"))
        report_alerts.append(
            {
                "pluginid": first["pluginId"],
                "alertRef": ref,
                "alert": name,
                "name": name,
                "riskcode": riskcode,
                "confidence": confidence,
                "riskdesc": f"{first['risk']} ({first['confidence']})",
                "desc": first["description"],
                "instances": [
                    {
                        "id": a["id"],
                        "uri": a["url"],
                        "nodeName": None,
                        "method": a["method"],
                        "param": a["param"],
                        "attack": "",
                        "evidence": a["evidence"],
                        "otherinfo": a["other"],
                    }
                    for a in group
                ],
                "count": str(len(group)),
                "systemic": False,
                "solution": first["solution"],
                "otherinfo": "",
                "reference": first["reference"],
                "cweid": first["cweid"],
                "wascid": first["wascid"],
                "sourceid": "3",
            }
        )
    return {
        "@programName": "ZAP",
        "@version": version,
        "@generated": "Sun, 16 Nov 2025 22:08:54",
        "created": "2025-11-16T22:08:54.323650737Z",
        "site": [
            {
                "@name": site,
                "@host": parts.hostname,
                "@port": str(parts.port or 80),
                "@ssl": "false",
                "alerts": report_alerts,
            }
        ],
        "sequences": [],
    }


def xml_report(data: dict[str, Any]) -> bytes:
    """The same report as ZAP's XML report (``-x``), built from the JSON one."""
    from xml.sax.saxutils import escape, quoteattr

    out = [
        f'<?xml version="1.0"?>\n<OWASPZAPReport programName="ZAP" version="{data["@version"]}" '
        f'generated="{data["@generated"]}">'
    ]
    for site in data["site"]:
        out.append(
            f'<site name={quoteattr(site["@name"])} host={quoteattr(site["@host"])} port="{site["@port"]}" '
            f'ssl="{site["@ssl"]}"><alerts>'
        )
        for alert in site["alerts"]:
            out.append("<alertitem>")
            for key in ("pluginid", "alertRef", "alert", "name", "riskcode", "confidence", "riskdesc", "desc"):
                out.append(f"<{key}>{escape(str(alert[key]))}</{key}>")
            out.append("<instances>")
            for instance in alert["instances"]:
                out.append("<instance>")
                for key in ("uri", "method", "param", "attack", "evidence", "otherinfo"):
                    out.append(f"<{key}>{escape(str(instance[key]))}</{key}>")
                out.append("</instance>")
            out.append("</instances>")
            for key in ("count", "solution", "otherinfo", "reference", "cweid", "wascid", "sourceid"):
                out.append(f"<{key}>{escape(str(alert[key]))}</{key}>")
            out.append("</alertitem>")
        out.append("</alerts></site>")
    out.append("</OWASPZAPReport>")
    return "\n".join(out).encode()


# -- the ZAP-compatible server -------------------------------------------------------------------


@dataclass
class ZapScript:
    """How the fake ZAP behaves: what it knows and where it fails."""

    api_key: str | None = API_KEY
    version: str = "2.16.1"
    #: Spider status calls before it reports 100 %.
    spider_polls: int = 2
    #: recordsToScan answers in turn; the last repeats (so [5] never drains).
    records: list[int] = field(default_factory=lambda: [3, 1, 0])
    #: Whether the spider finds URLs (False: ZAP answers but spiders nothing).
    finds_urls: bool = True
    #: Whether accessUrl really fetches the target (and fails when it cannot).
    fetch_target: bool = True
    #: API alerts per site; None: :func:`api_alerts` of the target.
    alerts: list[dict[str, Any]] | None = None
    #: "ok", "garbage" (not JSON) or "error" (HTTP 500).
    report: str = "ok"
    #: Ajax spider status calls while "running".
    ajax_polls: int = 1
    active_polls: int = 2
    #: API paths that never answer (until the server stops): a hung ZAP.
    hang: frozenset[str] = frozenset()


class FakeZap:
    """A ZAP-compatible API on 127.0.0.1; ``calls`` records (path, params, key header) of each call."""

    def __init__(self, script: ZapScript | None = None) -> None:
        self.script = script or ZapScript()
        self.calls: list[tuple[str, dict[str, str], str | None]] = []
        self.target = ""
        self.urls: list[str] = []
        self.counters: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def count(self, name: str) -> int:
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + 1
            return self.counters[name]

    # -- endpoints: each returns (status, JSON value) ------------------------------------------

    def handle(self, path: str, params: dict[str, str], key: str | None) -> tuple[int, Any]:
        self.calls.append((path, params, key))
        script = self.script
        if path in script.hang:
            self.stopping.wait()
        if script.api_key is not None and key != script.api_key:
            return 400, {"code": "bad_api_key", "message": "Bad API Key"}
        route = getattr(self, "_" + path.strip("/").replace("/", "_"), None)
        if route is None:
            kind = "bad_view" if "/view/" in path else "bad_action" if "/action/" in path else "no_implementor"
            return 400, {"code": kind, "message": "Bad View" if kind == "bad_view" else "Bad Action"}
        result: tuple[int, Any] = route(params)
        return result

    @staticmethod
    def _missing(name: str) -> tuple[int, Any]:
        return 400, {"code": "missing_parameter", "message": "Missing Parameter", "detail": name}

    def _JSON_core_view_version(self, params: dict[str, str]) -> tuple[int, Any]:
        return 200, {"version": self.script.version}

    def _JSON_core_action_newSession(self, params: dict[str, str]) -> tuple[int, Any]:
        self.urls = []
        return 200, {"Result": "OK"}

    def _JSON_core_action_accessUrl(self, params: dict[str, str]) -> tuple[int, Any]:
        url = params.get("url")
        if not url:
            return self._missing("url")
        if self.script.fetch_target:
            try:
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=10) as answer:
                    status = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                return 500, {"code": "internal_error", "message": "Internal Error", "detail": str(reason)}
        else:
            status = 200
        self.target = url
        if self.script.finds_urls:
            self.urls = [url]
        return 200, {
            "accessUrl": [{"id": "1", "requestHeader": f"GET {url} HTTP/1.1", "responseHeader": f"HTTP/1.1 {status}"}]
        }

    def _JSON_spider_action_setOptionMaxDuration(self, params: dict[str, str]) -> tuple[int, Any]:
        return (200, {"Result": "OK"}) if params.get("Integer", "").isdigit() else self._missing("Integer")

    _JSON_spider_action_setOptionMaxDepth = _JSON_spider_action_setOptionMaxDuration
    _JSON_spider_action_setOptionMaxChildren = _JSON_spider_action_setOptionMaxDuration
    _JSON_ajaxSpider_action_setOptionMaxDuration = _JSON_spider_action_setOptionMaxDuration
    _JSON_ascan_action_setOptionMaxScanDurationInMins = _JSON_spider_action_setOptionMaxDuration

    def _JSON_spider_action_scan(self, params: dict[str, str]) -> tuple[int, Any]:
        url = params.get("url", "")
        if not url:
            return self._missing("url")
        if self.script.finds_urls and not self.urls:
            return 400, {"code": "url_not_found", "message": "URL Not Found in the Scan Tree", "detail": url}
        return 200, {"scan": "0"}

    def _JSON_spider_view_status(self, params: dict[str, str]) -> tuple[int, Any]:
        polls = self.count("spider")
        done = polls >= self.script.spider_polls
        if done and self.script.finds_urls:
            self.urls = [self.target + p for p in PATHS[1:]]
        return 200, {"status": "100" if done else str(100 * polls // max(self.script.spider_polls, 1))}

    def _JSON_spider_action_stop(self, params: dict[str, str]) -> tuple[int, Any]:
        return 200, {"Result": "OK"}

    def _JSON_core_view_urls(self, params: dict[str, str]) -> tuple[int, Any]:
        base = params.get("baseurl", "")
        return 200, {"urls": [u for u in self.urls if u.startswith(base)]}

    def _JSON_ajaxSpider_action_scan(self, params: dict[str, str]) -> tuple[int, Any]:
        return 200, {"Result": "OK"}

    def _JSON_ajaxSpider_view_status(self, params: dict[str, str]) -> tuple[int, Any]:
        running = self.count("ajax") <= self.script.ajax_polls
        return 200, {"status": "running" if running else "stopped"}

    def _JSON_ajaxSpider_view_numberOfResults(self, params: dict[str, str]) -> tuple[int, Any]:
        return 200, {"numberOfResults": str(len(self.urls))}

    def _JSON_ajaxSpider_action_stop(self, params: dict[str, str]) -> tuple[int, Any]:
        return 200, {"Result": "OK"}

    def _JSON_ascan_action_scan(self, params: dict[str, str]) -> tuple[int, Any]:
        return 200, {"scan": "1"}

    def _JSON_ascan_view_status(self, params: dict[str, str]) -> tuple[int, Any]:
        polls = self.count("ascan")
        return 200, {"status": "100" if polls >= self.script.active_polls else "50"}

    def _JSON_ascan_action_stop(self, params: dict[str, str]) -> tuple[int, Any]:
        return 200, {"Result": "OK"}

    def _JSON_pscan_view_recordsToScan(self, params: dict[str, str]) -> tuple[int, Any]:
        polls = self.count("pscan")
        records = self.script.records
        return 200, {"recordsToScan": str(records[min(polls, len(records)) - 1])}

    def _alerts(self) -> list[dict[str, Any]]:
        return self.script.alerts if self.script.alerts is not None else api_alerts(self.target)

    def _JSON_core_view_alerts(self, params: dict[str, str]) -> tuple[int, Any]:
        base = params.get("baseurl", "")
        start = int(params.get("start") or 0)
        count = int(params.get("count") or 0)
        alerts = [a for a in self._alerts() if str(a.get("url", "")).startswith(base)]
        page = alerts[start : start + count] if count else alerts[start:]
        return 200, {"alerts": page}

    def report(self) -> tuple[int, str]:
        if self.script.report == "garbage":
            return 200, "<html>no report here</html>"
        if self.script.report == "error":
            return 500, json.dumps({"code": "internal_error", "message": "Internal Error"})
        return 200, json.dumps(json_report(self.target, self._alerts()))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        zap = self.server.zap
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        key = self.headers.get("X-ZAP-API-Key")
        if parts.hostname != "zap":
            self._send(400, "text/html", b"<html>ZAP Error: not a ZAP API request</html>")
            return
        if parts.path.startswith("/OTHER/core/other/jsonreport"):
            zap.calls.append((parts.path, params, key))
            if zap.script.api_key is not None and key != zap.script.api_key:
                self._send(
                    400, "application/json", json.dumps({"code": "bad_api_key", "message": "Bad API Key"}).encode()
                )
                return
            status, text = zap.report()
            self._send(status, "application/json", text.encode())
            return
        status, value = zap.handle(parts.path, params, key)
        self._send(status, "application/json; charset=UTF-8", json.dumps(value).encode())

    do_POST = do_GET

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    zap: FakeZap


@contextmanager
def serve_zap(script: ZapScript | None = None) -> Iterator[tuple[str, FakeZap]]:
    """Run a :class:`FakeZap` on a free loopback port; yield its address (``http://127.0.0.1:PORT``) and it."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.zap = FakeZap(script)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="fake-zap", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.zap
    finally:
        server.zap.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- test sites ----------------------------------------------------------------------------------

Page = tuple[int, list[tuple[str, str]], str]


class Site:
    """A small ASGI site: path -> (status, headers, body); unknown paths are a plain-text 404."""

    def __init__(self, pages: dict[str, Page], headers: list[tuple[str, str]] | None = None) -> None:
        self.pages = pages
        self.headers = headers or []
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        path = scope["path"]
        self.requests.append(
            (scope["method"], path + ("?" + scope["query_string"].decode() if scope["query_string"] else ""))
        )
        status, headers, body = self.pages.get(path, (404, [("Content-Type", "text/plain")], "Not Found"))
        data = body.encode()
        raw = [(k.lower().encode(), v.encode()) for k, v in [*headers, *self.headers]]
        raw.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": data})


HTML = ("Content-Type", "text/html; charset=utf-8")


def _html(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>shop</title></head><body>{body}</body></html>"


#: A site with the header and cookie defects ZAP's baseline reports most often.
DEFECTS = Site(
    {
        "/": (
            200,
            [HTML, ("Set-Cookie", "session=4f2a9c; Path=/"), ("X-Powered-By", "Express")],
            _html(
                '<a href="/about">About</a> <form action="/subscribe" method="post">'
                '<input name="email" type="email"><button>Go</button></form>'
            ),
        ),
        "/about": (200, [HTML], _html("<p>About us</p>")),
        "/subscribe": (200, [HTML], _html("<p>Thanks</p>")),
    },
    headers=[("Server", "Apache/2.4.57 (Unix)")],
)

#: Every header and cookie attribute ZAP's passive rules look for, set right.
GOOD_HEADERS = [
    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Permissions-Policy", "camera=(), geolocation=(), microphone=()"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Referrer-Policy", "no-referrer"),
]
GOOD = Site(
    {
        "/": (
            200,
            [HTML, ("Set-Cookie", "session=4f2a9c; Path=/; Secure; HttpOnly; SameSite=Strict")],
            _html(
                '<a href="/about">About</a> <form action="/subscribe" method="post">'
                '<input type="hidden" name="csrf_token" value="k2"><input name="email"></form>'
            ),
        ),
        "/about": (200, [HTML], _html("<p>About us</p>")),
        "/subscribe": (200, [HTML], _html("<p>Thanks</p>")),
    },
    headers=GOOD_HEADERS,
)

#: A chain of 50 linked pages, for the crawl's bounds.
LINKED = Site(
    {
        "/": (200, [HTML], '<a href="/p0">start</a>'),
        **{f"/p{n}": (200, [HTML], f'<a href="/p{n + 1}">next</a>') for n in range(50)},
    }
)
