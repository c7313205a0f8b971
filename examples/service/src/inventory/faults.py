"""A test-only switch that injects latency and errors, so a deployment check can be seen to fail.

Off unless the service was started with ``INVENTORY_TEST_FAULTS=1``: only then
does ``python -m inventory`` serve :data:`app` (the inventory app wrapped in
:class:`FaultInjection`) instead of ``inventory.app:app``.  Then:

- ``POST /_test/faults`` with ``{"latency_ms": 300, "error_rate": 0.5, "paths": ["/items"]}``
  switches faults on (every field optional; ``paths`` are prefixes, none means every path;
  ``fail_first: 3`` fails the next three requests, as a service that is still warming up);
- ``DELETE /_test/faults`` switches them off, ``GET /_test/faults`` shows them.

Errors are spread evenly, not drawn at random (at 0.5 every second request
answers 500), so a test knows exactly what the service will do.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from dataclasses import asdict, dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from inventory.app import create_app

__all__ = ["CONTROL_PATH", "FaultInjection", "Faults", "app"]

CONTROL_PATH = "/_test/faults"
MAX_LATENCY_MS = 60_000


@dataclass(frozen=True)
class Faults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    paths: tuple[str, ...] = ()
    fail_first: int = 0

    @classmethod
    def parse(cls, data: Any) -> Faults:
        """From the control request's JSON body; ``ValueError`` says what is wrong."""
        if not isinstance(data, dict) or set(data) - {"latency_ms", "error_rate", "paths", "fail_first"}:
            raise ValueError("expected an object with latency_ms, error_rate, paths and fail_first")
        latency = data.get("latency_ms", 0)
        rate = data.get("error_rate", 0)
        paths = data.get("paths", [])
        fail_first = data.get("fail_first", 0)
        if isinstance(fail_first, bool) or not isinstance(fail_first, int) or not 0 <= fail_first <= 1_000_000:
            raise ValueError("fail_first must be a whole number of requests")
        for value in (latency, rate):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError("latency_ms and error_rate must be numbers")
        if not 0 <= latency <= MAX_LATENCY_MS or not 0 <= rate <= 1:
            raise ValueError(f"latency_ms must be 0..{MAX_LATENCY_MS} and error_rate 0..1")
        if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("/") for p in paths):
            raise ValueError("paths must be a list of path prefixes starting with /")
        return cls(float(latency), float(rate), tuple(paths), fail_first)

    def applies_to(self, path: str) -> bool:
        return not self.paths or any(path.startswith(prefix) for prefix in self.paths)


class FaultInjection:
    """ASGI middleware: delays and fails requests as the switch says; answers the switch itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.faults = Faults()
        self._lock = threading.Lock()
        self._seen = 0
        self._failed = 0

    def set(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._seen = self._failed = 0

    def _should_fail(self, faults: Faults) -> bool:
        with self._lock:
            self._seen += 1
            if self._seen <= faults.fail_first:
                return True
            if math.floor((self._seen - faults.fail_first) * faults.error_rate + 1e-9) > self._failed:
                self._failed += 1
                return True
            return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == CONTROL_PATH:
            await self._control(scope, receive, send)
            return
        faults = self.faults
        if faults.applies_to(path):
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000.0)
            if (faults.error_rate or faults.fail_first) and self._should_fail(faults):
                await _json(send, 500, {"error": "injected_fault", "detail": "error injected by the test switch"})
                return
        await self.app(scope, receive, send)

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "DELETE":
            self.set(Faults())
        elif method == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body") or len(body) > 4096:
                    break
            try:
                self.set(Faults.parse(json.loads(body or b"{}")))
            except ValueError as exc:
                await _json(send, 422, {"error": "invalid_faults", "detail": str(exc)})
                return
        elif method != "GET":
            await _json(send, 405, {"error": "method_not_allowed", "detail": "use GET, POST or DELETE"})
            return
        await _json(send, 200, {**asdict(self.faults), "paths": list(self.faults.paths)})


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


#: The inventory app with the switch: served only when INVENTORY_TEST_FAULTS=1.
app = FaultInjection(create_app())
