"""HTTP faults for code that uses httpx, sync and async, per host, route and method.

Rules are added with :class:`HttpChaos` methods (``refuse``, ``connect_timeout``,
``read_timeout``, ``status``, ``slow``, ``truncate``, ``corrupt``) and reach the
code under test two ways: a transport the test hands to its client
(:meth:`HttpChaos.transport`, :meth:`HttpChaos.async_transport`, wrapping any
inner transport, ``httpx.ASGITransport`` included), or
:meth:`HttpChaos.patch_clients`, which routes every ``httpx.HTTPTransport`` and
``httpx.AsyncHTTPTransport`` (the default of every client the code builds
itself) through the rules for the rest of the test.

Faults look like the real thing to the client: the exception types httpx
raises for a refused connection or a timeout, a body cut short after its
``Content-Length`` (``RemoteProtocolError`` while reading), a slow response
that becomes a ``ReadTimeout`` when it exceeds the client's read timeout.
Rules are tried in the order they were added; the first that fires decides.
This module imports httpx, so it is only loaded when a test asks for it.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from .faults import Patcher
from .schedule import FaultLog, Schedule, check_seconds

__all__ = ["HttpChaos", "HttpRule"]

SendSync = Callable[[httpx.Request], httpx.Response]
_HOST_PORT = re.compile(r"(\[[^\]]+\]|[^:\[\]]+):(\d+|\*)")


class HttpRule:
    """One HTTP fault: which requests it applies to, its schedule and what it does."""

    def __init__(
        self,
        kind: str,
        schedule: Schedule,
        *,
        host: str | None,
        route: str | None,
        method: str | tuple[str, ...] | None,
        options: dict[str, Any],
    ) -> None:
        self.kind = kind
        self.schedule = schedule
        self.host = host.lower() if host else None
        self.route = route
        methods = (method,) if isinstance(method, str) else method
        self.methods = tuple(m.upper() for m in methods) if methods else None
        self.options = options

    @property
    def calls(self) -> int:
        """Matching requests this rule was asked about."""
        return self.schedule.calls

    @property
    def fired(self) -> int:
        """Faults it injected."""
        return self.schedule.fired

    def matches(self, request: httpx.Request) -> bool:
        url = request.url
        if self.methods and request.method.upper() not in self.methods:
            return False
        if self.route is not None and not fnmatch.fnmatchcase(url.path, self.route):
            return False
        if self.host is not None:
            host_pattern, port_pattern = self.host_and_port
            if not fnmatch.fnmatchcase(url.host.lower(), host_pattern):
                return False
            port = url.port or {"http": 80, "https": 443}.get(url.scheme, 0)
            if port_pattern is not None and not fnmatch.fnmatchcase(str(port), port_pattern):
                return False
        return True

    @property
    def host_and_port(self) -> tuple[str, str | None]:
        """``"api.local:8080"`` -> ("api.local", "8080"); IPv6 with a port in brackets: ``"[::1]:8080"``."""
        assert self.host is not None
        found = _HOST_PORT.fullmatch(self.host)
        if found is None:
            return self.host.strip("[]"), None
        return found.group(1).strip("[]"), found.group(2)

    def describe(self) -> str:
        where = " ".join(
            part
            for part in (
                "/".join(self.methods) if self.methods else "",
                f"host {self.host}" if self.host else "",
                f"route {self.route}" if self.route else "",
            )
            if part
        )
        return f"{self.kind}{f' on {where}' if where else ''} ({self.schedule.describe()})"

    def __repr__(self) -> str:
        return f"<http fault {self.describe()}: {self.fired} of {self.calls} requests>"


def _request_label(request: httpx.Request) -> str:
    return f"{request.method} {request.url.copy_with(query=None)}"


def _read_timeout_of(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout")
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def _corrupt(body: bytes, seed: int) -> bytes:
    """Flip bytes: always the first (so JSON no longer parses), and about one in sixteen more."""
    import random

    rng = random.Random(seed)
    data = bytearray(body)
    positions = {0} | {rng.randrange(len(data)) for _ in range(len(data) // 16)}
    for index in positions:
        data[index] ^= rng.randrange(1, 256)
    return bytes(data)


class _CutStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that ends early, the way h11 reports a peer that closed too soon."""

    def __init__(self, part: bytes, expected: int) -> None:
        self.part = part
        self.expected = expected

    def _error(self) -> httpx.RemoteProtocolError:
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body: "
            f"received {len(self.part)} bytes, expected {self.expected} (injected by stillme chaos)"
        )

    def __iter__(self) -> Iterator[bytes]:
        if self.part:
            yield self.part
        raise self._error()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.part:
            yield self.part
        raise self._error()


class HttpChaos:
    """The HTTP fault rules of one test, and the ways to put them between a client and the network."""

    def __init__(self, log: FaultLog, patcher: Patcher, seed_for: Callable[[str], int]) -> None:
        self.rules: list[HttpRule] = []
        self._log = log
        self._patcher = patcher
        self._seed_for = seed_for
        self._patched = False

    # -- rules ---------------------------------------------------------------------------------

    def _add(
        self,
        kind: str,
        *,
        host: str | None = None,
        route: str | None = None,
        method: str | tuple[str, ...] | None = None,
        rate: float = 1.0,
        after: int = 0,
        times: int | None = None,
        **options: Any,
    ) -> HttpRule:
        index = len(self.rules) + 1
        schedule = Schedule(rate=rate, after=after, times=times, seed=self._seed_for(f"http#{index}:{kind}"))
        rule = HttpRule(kind, schedule, host=host, route=route, method=method, options=options)
        self.rules.append(rule)
        return rule

    def refuse(self, **match: Any) -> HttpRule:
        """Connection refused: ``httpx.ConnectError``; the request never reaches the server."""
        return self._add("refuse", **match)

    def connect_timeout(self, *, delay: float = 0.0, **match: Any) -> HttpRule:
        """``httpx.ConnectTimeout`` after ``delay`` seconds; the request never reaches the server."""
        return self._add("connect_timeout", delay=check_seconds(delay, "delay"), **match)

    def read_timeout(self, *, reach_server: bool = True, delay: float = 0.0, **match: Any) -> HttpRule:
        """``httpx.ReadTimeout``: by default the server got the request and acted on it, the answer is lost."""
        return self._add("read_timeout", reach_server=reach_server, delay=check_seconds(delay, "delay"), **match)

    def status(
        self,
        code: int,
        *,
        json: Any = None,
        text: str | None = None,
        headers: dict[str, str] | None = None,
        retry_after: float | None = None,
        **match: Any,
    ) -> HttpRule:
        """Answer ``code`` (a 5xx, 429, ...) instead of the server, which never sees the request."""
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise ValueError(f"status code must be from 100 to 599, not {code!r}")
        if retry_after is not None:
            check_seconds(retry_after, "retry_after")
        return self._add("status", code=code, json=json, text=text, headers=headers, retry_after=retry_after, **match)

    def slow(self, seconds: float, **match: Any) -> HttpRule:
        """Delay the response; past the client's read timeout it becomes ``httpx.ReadTimeout``."""
        return self._add("slow", seconds=check_seconds(seconds, "seconds"), **match)

    def truncate(self, *, keep: float = 0.5, **match: Any) -> HttpRule:
        """Cut the body short (``keep`` is the fraction kept): ``httpx.RemoteProtocolError`` while reading it."""
        if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0.0 <= keep < 1.0:
            raise ValueError(f"keep must be a fraction from 0 to below 1, not {keep!r}")
        return self._add("truncate", keep=float(keep), **match)

    def corrupt(self, **match: Any) -> HttpRule:
        """Flip bytes of the body (its length unchanged): JSON no longer parses, gzip no longer decodes."""
        return self._add("corrupt", **match)

    # -- where the rules act --------------------------------------------------------------------

    def transport(self, inner: httpx.BaseTransport | None = None) -> httpx.BaseTransport:
        """A transport for ``httpx.Client(transport=...)``: faults, then ``inner`` (default: the network)."""
        return _FaultTransport(self, inner if inner is not None else httpx.HTTPTransport())

    def async_transport(self, inner: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncBaseTransport:
        """The same for ``httpx.AsyncClient``; ``inner`` may be ``httpx.ASGITransport(app)``."""
        return _AsyncFaultTransport(self, inner if inner is not None else httpx.AsyncHTTPTransport())

    def patch_clients(self) -> None:
        """Route every network transport of httpx through the rules until the test ends.

        Clients the code under test builds itself use ``httpx.HTTPTransport`` /
        ``httpx.AsyncHTTPTransport`` unless given a transport; both classes are
        patched, so those clients see the faults too (before or after the patch
        was made).  Clients with a transport of their own (ASGI, mock) do not.
        """
        if self._patched:
            return
        self._patched = True
        plan = self

        def sync_make(original: Callable[..., httpx.Response]) -> Callable[..., httpx.Response]:
            def handle_request(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
                return plan.handle(request, lambda r: original(transport, r))

            return handle_request

        def async_make(original: Callable[..., Any]) -> Callable[..., Any]:
            async def handle_async_request(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> Any:
                async def send(r: httpx.Request) -> httpx.Response:
                    response: httpx.Response = await original(transport, r)
                    return response

                return await plan.ahandle(request, send)

            return handle_async_request

        self._patcher.replace(httpx.HTTPTransport, "handle_request", sync_make)
        self._patcher.replace(httpx.AsyncHTTPTransport, "handle_async_request", async_make)

    # -- applying them ---------------------------------------------------------------------------

    def _pick(self, request: httpx.Request) -> tuple[HttpRule, int] | None:
        for rule in self.rules:
            if rule.matches(request):
                call = rule.schedule.decide()
                if call:
                    return rule, call
        return None

    def _note(self, rule: HttpRule, call: int, request: httpx.Request, action: str) -> None:
        self._log.add(f"http {_request_label(request)}", call, f"{rule.kind}: {action}")

    def _before(self, rule: HttpRule, call: int, request: httpx.Request) -> httpx.Response | BaseException | None:
        """What a fault does before the request is sent: an answer, an error, or None to send it."""
        kind, opts = rule.kind, rule.options
        if kind == "refuse":
            self._note(rule, call, request, "connection refused")
            return httpx.ConnectError("[Errno 111] Connection refused (injected by stillme chaos)", request=request)
        if kind == "connect_timeout":
            self._note(rule, call, request, "connect timed out")
            return httpx.ConnectTimeout("timed out (injected by stillme chaos)", request=request)
        if kind == "read_timeout" and not opts["reach_server"]:
            self._note(rule, call, request, "read timed out before the request reached the server")
            return httpx.ReadTimeout("timed out (injected by stillme chaos)", request=request)
        if kind == "status":
            code = opts["code"]
            headers = dict(opts["headers"] or {})
            if opts["retry_after"] is not None:
                headers.setdefault("Retry-After", f"{opts['retry_after']:g}")
            self._note(rule, call, request, f"answered {code}")
            if opts["text"] is not None:
                return httpx.Response(code, text=opts["text"], headers=headers, request=request)
            body = (
                opts["json"] if opts["json"] is not None else {"error": "injected", "detail": f"stillme chaos {code}"}
            )
            return httpx.Response(code, json=body, headers=headers, request=request)
        return None

    def _delay(self, rule: HttpRule) -> float:
        return float(rule.options.get("delay", 0.0))

    def _slow_plan(self, rule: HttpRule, request: httpx.Request) -> tuple[float, bool]:
        """How long to wait, and whether the wait ends in a read timeout (the client's limit was reached)."""
        seconds = float(rule.options["seconds"])
        limit = _read_timeout_of(request)
        if limit is not None and seconds >= limit:
            return limit, True
        return seconds, False

    def _after(
        self, rule: HttpRule, call: int, request: httpx.Request, response: httpx.Response, raw: bytes
    ) -> httpx.Response:
        """Truncate or corrupt a received body."""
        if rule.kind == "truncate":
            if not raw:
                self._note(rule, call, request, "empty body, nothing to truncate")
                return httpx.Response(response.status_code, headers=response.headers, content=raw, request=request)
            kept = int(len(raw) * rule.options["keep"])
            self._note(rule, call, request, f"body cut after {kept} of {len(raw)} bytes")
            stream = _CutStream(raw[:kept], len(raw))
            return httpx.Response(response.status_code, headers=response.headers, stream=stream, request=request)
        corrupted = _corrupt(raw, self._seed_for(f"corrupt#{call}")) if raw else raw
        self._note(rule, call, request, f"{len(raw)}-byte body corrupted")
        return httpx.Response(response.status_code, headers=response.headers, content=corrupted, request=request)

    def handle(self, request: httpx.Request, send: SendSync) -> httpx.Response:
        """Apply the rules to one request of a sync client; ``send`` is the real transport."""
        picked = self._pick(request)
        if picked is None:
            return send(request)
        rule, call = picked
        if self._delay(rule):
            time.sleep(self._delay(rule))
        early = self._before(rule, call, request)
        if isinstance(early, BaseException):
            raise early
        if early is not None:
            return early
        response = send(request)
        if rule.kind == "read_timeout":
            response.close()
            self._note(rule, call, request, "read timed out after the server got the request")
            raise httpx.ReadTimeout("timed out (injected by stillme chaos)", request=request)
        if rule.kind == "slow":
            wait, times_out = self._slow_plan(rule, request)
            time.sleep(wait)
            if times_out:
                response.close()
                self._note(rule, call, request, f"no answer within the client's {wait:g} s read timeout")
                raise httpx.ReadTimeout("timed out (slow response injected by stillme chaos)", request=request)
            self._note(rule, call, request, f"answer delayed {wait:g} s")
            return response
        try:
            raw = b"".join(response.iter_raw())
        finally:
            response.close()
        return self._after(rule, call, request, response, raw)

    async def ahandle(self, request: httpx.Request, send: Callable[[httpx.Request], Any]) -> httpx.Response:
        """Apply the rules to one request of an async client."""
        import anyio

        picked = self._pick(request)
        if picked is None:
            response: httpx.Response = await send(request)
            return response
        rule, call = picked
        if self._delay(rule):
            await anyio.sleep(self._delay(rule))
        early = self._before(rule, call, request)
        if isinstance(early, BaseException):
            raise early
        if early is not None:
            return early
        response = await send(request)
        if rule.kind == "read_timeout":
            await response.aclose()
            self._note(rule, call, request, "read timed out after the server got the request")
            raise httpx.ReadTimeout("timed out (injected by stillme chaos)", request=request)
        if rule.kind == "slow":
            wait, times_out = self._slow_plan(rule, request)
            await anyio.sleep(wait)
            if times_out:
                await response.aclose()
                self._note(rule, call, request, f"no answer within the client's {wait:g} s read timeout")
                raise httpx.ReadTimeout("timed out (slow response injected by stillme chaos)", request=request)
            self._note(rule, call, request, f"answer delayed {wait:g} s")
            return response
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        return self._after(rule, call, request, response, raw)


class _FaultTransport(httpx.BaseTransport):
    def __init__(self, plan: HttpChaos, inner: httpx.BaseTransport) -> None:
        self._plan = plan
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._plan.handle(request, self._inner.handle_request)

    def close(self) -> None:
        self._inner.close()


class _AsyncFaultTransport(httpx.AsyncBaseTransport):
    def __init__(self, plan: HttpChaos, inner: httpx.AsyncBaseTransport) -> None:
        self._plan = plan
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._plan.ahandle(request, self._inner.handle_async_request)

    async def aclose(self) -> None:
        await self._inner.aclose()
