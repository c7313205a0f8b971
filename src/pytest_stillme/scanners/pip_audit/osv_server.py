"""OSV's query API over a snapshot on loopback, and online look-ups of OSV records.

:class:`OsvServer` implements the part of OSV's API pip-audit uses
(``POST /v1/query``) plus ``/v1/querybatch`` and ``GET /v1/vulns/{id}``, on
127.0.0.1 at an ephemeral port.  No pytest here.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import quote, unquote

from packaging.utils import canonicalize_name

from ...readers.osv import (
    _MAX_RECORD_BYTES,
    PYPI,
    Advisory,
    OsvError,
    SnapshotError,
    normalize_version,
    parse_record,
)

__all__ = [
    "OsvServer",
    "fetch_advisories",
]


from ...readers.osv_snapshot import Snapshot

# -- the loopback API ----------------------------------------------------------


class OsvServer:
    """OSV's query API over a snapshot, on 127.0.0.1 with an ephemeral port, in a background thread.

    ``with OsvServer(snapshot) as server:`` then ``server.url`` is the API base
    (``http://127.0.0.1:PORT/v1``); pip-audit gets ``--osv-url {url}/query``.
    :attr:`queried` records every (package, version) asked about, so the
    caller can prove that pip-audit really audited what it says it did.
    """

    def __init__(self, snapshot: Snapshot | Future[Snapshot]) -> None:
        # A future lets the caller load the snapshot while pip-audit starts up: queries wait for it.
        self._snapshot = snapshot
        self.queried: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot served, once loaded (a loading error is raised here, and answered with HTTP 503)."""
        if isinstance(self._snapshot, Snapshot):
            return self._snapshot
        return self._snapshot.result()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the OSV server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> OsvServer:
        handler = type("_BoundHandler", (_Handler,), {"owner": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        # A short poll interval: shutdown() waits for the loop's next look, 0.5 s by default.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="stillme-osv", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def note(self, package: str, version: str) -> None:
        with self._lock:
            self.queried.add((canonicalize_name(package), normalize_version(version)))

    def answer(self, query: Any) -> dict[str, Any]:
        """One ``/v1/query`` body to its response (``{}`` when nothing matches, as OSV does)."""
        if not isinstance(query, dict):
            raise OsvError("the query is not a JSON object")
        package = query.get("package")
        version = query.get("version")
        if not isinstance(package, dict) or not isinstance(version, str) or not version.strip():
            if "commit" in query:
                return {}  # commits are not PyPI releases
            raise OsvError("the query needs package.name, package.ecosystem and version")
        name, ecosystem = package.get("name"), package.get("ecosystem")
        purl = package.get("purl")
        if isinstance(purl, str) and purl.startswith("pkg:pypi/") and not name:
            name, ecosystem = unquote(purl[len("pkg:pypi/") :].split("@", 1)[0]), PYPI
        if not isinstance(name, str) or not name.strip():
            raise OsvError("the query needs package.name")
        if ecosystem != PYPI:
            return {}
        self.note(name, version)
        vulns = [a.served() for a in self.snapshot.query(name, version)]
        return {"vulns": vulns} if vulns else {}


class _Handler(BaseHTTPRequestHandler):
    owner: ClassVar[OsvServer]
    protocol_version = "HTTP/1.1"
    server_version = "stillme-osv"
    #: Buffered: headers and body leave in one segment (flushed after each request) ...
    wbufsize = -1

    def setup(self) -> None:
        super().setup()
        # ... and without Nagle: with keep-alive, a small write waiting on a delayed ACK costs 40 ms a query.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a test session's output is no place for an access log."""

    def _send(self, status: int, body: Mapping[str, Any]) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"null")
            if self.path.rstrip("/") == "/v1/query":
                self._send(200, self.owner.answer(data))
            elif self.path.rstrip("/") == "/v1/querybatch":
                queries = data.get("queries") if isinstance(data, dict) else None
                if not isinstance(queries, list):
                    raise OsvError("the batch needs a queries array")
                results = []
                for query in queries:
                    vulns = self.owner.answer(query).get("vulns", [])
                    results.append({"vulns": [{"id": v["id"], "modified": v.get("modified", "")} for v in vulns]})
                self._send(200, {"results": results})
            else:
                self._send(404, {"code": 5, "message": f"no such endpoint {self.path}"})
        except (OsvError, ValueError, RecursionError) as exc:
            self._send(400, {"code": 3, "message": str(exc)})
        except SnapshotError as exc:
            self._send(503, {"code": 14, "message": str(exc)})

    def do_GET(self) -> None:
        prefix = "/v1/vulns/"
        if not self.path.startswith(prefix):
            self._send(404, {"code": 5, "message": f"no such endpoint {self.path}"})
            return
        ident = unquote(self.path[len(prefix) :])
        try:
            found = self.owner.snapshot.get(ident)
        except SnapshotError as exc:
            self._send(503, {"code": 14, "message": str(exc)})
            return
        if found is not None:
            self._send(200, found.served())
        else:
            self._send(404, {"code": 5, "message": "Bug not found."})


# -- online look-ups -----------------------------------------------------------


def fetch_advisories(
    ids: Sequence[str],
    *,
    api: str,
    timeout: float,
) -> tuple[dict[str, Advisory], list[str]]:
    """``GET {api}/vulns/{id}`` for each id: the records found, and a problem per id that could not be fetched.

    Used for severities when pip-audit audited against an online service: its
    JSON carries only ids.  A 404 is not a problem (a CVE id often has no OSV
    record of its own); anything else is, so an unknown severity is explained.
    """
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def one(ident: str) -> tuple[str, Advisory | None, str]:
        url = f"{api.rstrip('/')}/vulns/{quote(ident, safe='')}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                raw = response.read(_MAX_RECORD_BYTES + 1)
            if len(raw) > _MAX_RECORD_BYTES:
                return ident, None, f"{ident}: the record at {url} is too large"
            return ident, parse_record(json.loads(raw.decode("utf-8")), origin=url), ""
        except urllib.error.HTTPError as exc:
            return ident, None, "" if exc.code == 404 else f"{ident}: {url} answered HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return ident, None, f"{ident}: {url} could not be reached ({reason})"
        except (ValueError, RecursionError) as exc:  # OsvError, JSON and Unicode errors
            return ident, None, f"{ident}: {url} did not return an OSV record ({exc})"

    found: dict[str, Advisory] = {}
    problems: list[str] = []
    unique = list(dict.fromkeys(ids))
    if not api.startswith(("http://", "https://")):
        return found, [f"the OSV API {api!r} is not an http(s) URL"] if unique else []
    if not unique:
        return found, problems
    with ThreadPoolExecutor(max_workers=min(8, len(unique))) as pool:
        for ident, advisory, problem in pool.map(one, unique):
            if advisory is not None and not advisory.withdrawn:
                found[ident] = advisory
            if problem:
                problems.append(problem)
    return found, problems
