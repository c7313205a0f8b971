"""What a load run sends: endpoints, their mix, and the shape of the run.

Endpoints come from ``[tool.stillme.slo]`` (or a test's own ``slo.run``) as
strings, ``"GET /items"`` or just ``"/items"``, or as tables with a body,
headers, a weight and the statuses that count as success::

    endpoints = ["GET /items", {method = "POST", path = "/items", json = {name = "bolt", quantity = 1, price = 1}}]
    mix = {"GET /items" = 9, "POST /items" = 1}

Paths are relative to the target: an absolute URL is refused, so load can
never leave the host the target check allowed.  The mix is followed exactly
(a smooth weighted round-robin, no dice), so two runs send the same requests
in the same order.  No pytest here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.settings import Bad

__all__ = [
    "DEFAULT_ENDPOINT",
    "METHODS",
    "Endpoint",
    "LoadPlan",
    "apply_mix",
    "parse_endpoint",
    "parse_endpoints",
    "parse_mix",
    "weighted_cycle",
]

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_TABLE_KEYS = frozenset({"method", "path", "weight", "body", "json", "headers", "expect", "name"})


@dataclass(frozen=True)
class Endpoint:
    """One request the load sends, and what answer counts as a success."""

    method: str = "GET"
    path: str = "/"
    weight: float = 1.0
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    #: Statuses that count as success; empty means any 2xx or 3xx.
    expect: frozenset[int] = frozenset()
    #: Any status below 500 counts as success (the default endpoint, whose answer nobody specified).
    lenient: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"{self.method} {self.path}")

    def ok(self, status: int) -> bool:
        if self.expect:
            return status in self.expect
        if self.lenient:
            return status < 500
        return 200 <= status < 400

    def describe_expect(self) -> str:
        if self.expect:
            return ", ".join(str(s) for s in sorted(self.expect))
        return "any status below 500" if self.lenient else "2xx or 3xx"


#: What a load run drives when no endpoints are configured.
DEFAULT_ENDPOINT = Endpoint("GET", "/", lenient=True)


def _status_set(raw: Any, where: str) -> frozenset[int]:
    items = raw if isinstance(raw, (list, tuple)) else str(raw).replace(",", " ").split()
    result: set[int] = set()
    for item in items:
        text = str(item).strip()
        low, sep, high = text.partition("-")
        try:
            first = int(low)
            last = int(high) if sep else first
        except ValueError:
            raise Bad(
                f"invalid expected status {item!r} in {where}", "use status codes such as 200 or 200-299"
            ) from None
        if isinstance(item, bool) or not 100 <= first <= last <= 599:
            raise Bad(f"invalid expected status {item!r} in {where}", "status codes from 100 to 599")
        result.update(range(first, last + 1))
    if not result:
        raise Bad(f"empty expected statuses in {where}", "list the status codes that count as success")
    return frozenset(result)


def _path(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Bad(f"invalid path {raw!r} in {where}", "a path such as /items")
    path = raw.strip()
    if not path.startswith("/") or path.startswith("//"):
        raise Bad(
            f"invalid path {raw!r} in {where}",
            "a path relative to the target, starting with / (the host is --stillme-target's)",
        )
    if any(c.isspace() for c in path):
        raise Bad(f"invalid path {raw!r} in {where}", "no spaces (percent-encode them as %20)")
    return path


def _method(raw: Any, where: str) -> str:
    method = str(raw).strip().upper()
    if method not in METHODS:
        raise Bad(f"invalid method {raw!r} in {where}", f"use {', '.join(METHODS)}")
    return method


def _weight(raw: Any, where: str) -> float:
    if isinstance(raw, bool):
        raise Bad(f"invalid weight {raw!r} in {where}", "a number of at least 0")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise Bad(f"invalid weight {raw!r} in {where}", "a number of at least 0") from None
    if not math.isfinite(value) or value < 0:
        raise Bad(f"invalid weight {raw!r} in {where}", "a number of at least 0")
    return value


def parse_endpoint(raw: Any, where: str = "endpoints") -> Endpoint:
    """``"GET /items"``, ``"/items"`` or a table (method, path, weight, body or json, headers, expect, name)."""
    if isinstance(raw, str):
        words = raw.split()
        if len(words) == 1:
            return Endpoint("GET", _path(words[0], where))
        if len(words) == 2:
            return Endpoint(_method(words[0], where), _path(words[1], where))
        raise Bad(f"invalid endpoint {raw!r} in {where}", "use METHOD /path, such as GET /items")
    if not isinstance(raw, Mapping):
        raise Bad(f"invalid endpoint {raw!r} in {where}", "a string METHOD /path, or a table with method and path")
    unknown = sorted(set(raw) - _TABLE_KEYS)
    if unknown:
        raise Bad(
            f"unknown key(s) {', '.join(unknown)} in an endpoint of {where}", f"use {', '.join(sorted(_TABLE_KEYS))}"
        )
    path = _path(raw.get("path"), where)
    method = _method(raw.get("method", "GET"), where)
    if "body" in raw and "json" in raw:
        raise Bad(f"endpoint {method} {path} in {where} has both body and json", "give one of them")
    headers: list[tuple[str, str]] = []
    body = b""
    if "json" in raw:
        body = json.dumps(raw["json"], separators=(",", ":")).encode()
        headers.append(("Content-Type", "application/json"))
    elif "body" in raw:
        if not isinstance(raw["body"], str):
            raise Bad(f"invalid body of {method} {path} in {where}", "a string (or use json = {...})")
        body = raw["body"].encode()
    extra = raw.get("headers", {})
    if not isinstance(extra, Mapping) or not all(isinstance(v, str) for v in extra.values()):
        raise Bad(f"invalid headers of {method} {path} in {where}", "a table of header names to strings")
    headers.extend((str(k), v) for k, v in extra.items())
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise Bad(f"invalid name {name!r} of {method} {path} in {where}", "a string")
    return Endpoint(
        method=method,
        path=path,
        weight=_weight(raw.get("weight", 1.0), where),
        body=body,
        headers=tuple(headers),
        expect=_status_set(raw["expect"], f"{method} {path}") if "expect" in raw else frozenset(),
        name=name.strip(),
    )


def parse_endpoints(raw: Any) -> tuple[Endpoint, ...]:
    """A list of endpoints (TOML), one a line (ini) or comma-separated (environment, option)."""
    if isinstance(raw, str):
        items: list[Any] = [p.strip() for p in raw.replace(",", "\n").splitlines() if p.strip()]
    elif isinstance(raw, (list, tuple)):
        items = list(raw)
    else:
        raise Bad(f"invalid endpoints {raw!r}", 'a list such as ["GET /items", "GET /quote?item=1&qty=2"]')
    endpoints = tuple(parse_endpoint(item) for item in items)
    names = [e.name for e in endpoints]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise Bad(f"endpoint {duplicates[0]!r} is listed twice", 'give one of them a name = "..." to tell them apart')
    return endpoints


def parse_mix(raw: Any) -> dict[str, float]:
    """Weights by endpoint name: a TOML table, or ``GET /items=9, POST /items=1`` pairs."""
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(raw, Mapping):
        pairs = raw.items()
    elif isinstance(raw, str):
        found = []
        for part in raw.replace(",", "\n").splitlines():
            if not part.strip():
                continue
            name, sep, value = part.rpartition("=")
            if not sep or not name.strip():
                raise Bad(f"invalid mix entry {part.strip()!r}", "use METHOD /path=WEIGHT")
            found.append((name.strip(), value.strip()))
        pairs = found
    else:
        raise Bad(f"invalid mix {raw!r}", "a table of endpoint names to weights")
    mix = {" ".join(str(name).split()): _weight(value, "mix") for name, value in pairs}
    if mix and not any(mix.values()):
        raise Bad("every weight of the mix is 0", "give at least one endpoint a weight above 0")
    return mix


def apply_mix(endpoints: tuple[Endpoint, ...], mix: Mapping[str, float]) -> tuple[Endpoint, ...]:
    """The endpoints with the mix's weights; a name in the mix that matches none is an error."""
    from dataclasses import replace

    by_name = {e.name: e for e in endpoints}
    unknown = [name for name in mix if name not in by_name]
    if unknown:
        known = ", ".join(repr(n) for n in by_name) or "none"
        raise Bad(f"mix names {unknown[0]!r}, which is not an endpoint", f"endpoints: {known}")
    result = tuple(replace(e, weight=mix.get(e.name, e.weight)) for e in endpoints)
    if not any(e.weight > 0 for e in result):
        raise Bad("every endpoint has weight 0", "give at least one endpoint a weight above 0")
    return result


def weighted_cycle(endpoints: tuple[Endpoint, ...]) -> Iterator[Endpoint]:
    """Endpoints in proportion to their weights, evenly spread (nginx's smooth weighted round-robin)."""
    live = [e for e in endpoints if e.weight > 0]
    if not live:
        raise ValueError("no endpoint with a weight above 0")
    if len(live) == 1:
        while True:
            yield live[0]
    total = math.fsum(e.weight for e in live)
    current = [0.0] * len(live)
    while True:
        best = 0
        for i, endpoint in enumerate(live):
            current[i] += endpoint.weight
            if current[i] > current[best]:
                best = i
        current[best] -= total
        yield live[best]


@dataclass(frozen=True)
class LoadPlan:
    """The shape of one load run.

    Without ``rate`` the run is a closed model: ``concurrency`` connections
    each send the next request as soon as the previous answer arrived.  With
    ``rate`` it is an open model: requests are due at fixed times
    (``rate`` per second), whatever the server does, and each latency is
    measured from the time its request was *due*, so a stalled server cannot
    hide its slow answers by delaying the requests that would have seen them
    (coordinated omission).  ``concurrency`` then caps the connections.
    """

    endpoints: tuple[Endpoint, ...] = (DEFAULT_ENDPOINT,)
    concurrency: int = 16
    #: Seconds of sending; with ``requests`` too, whichever comes first.
    duration: float | None = 10.0
    requests: int | None = None
    rate: float | None = None
    #: Seconds one request may take before it counts as a timeout.
    timeout: float = 10.0
    #: Bound of a run given by a request count only (a count never runs unbounded).
    time_limit: float = 300.0
    #: Whether the endpoints are the default ``GET /`` because none were configured.
    default_endpoints: bool = False
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.endpoints:
            raise ValueError("a load plan needs at least one endpoint")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.duration is None and self.requests is None:
            raise ValueError("a load plan needs a duration or a request count")
        if self.rate is not None and not self.rate > 0:
            raise ValueError("rate must be above 0")

    @property
    def open_model(self) -> bool:
        return self.rate is not None

    @property
    def deadline(self) -> float:
        """Seconds after which sending stops, whatever the count."""
        return self.duration if self.duration is not None else self.time_limit

    def describe(self) -> str:
        names = ", ".join(f"{e.name} x{e.weight:g}" if len(self.endpoints) > 1 else e.name for e in self.endpoints)
        how = f"{self.rate:g} req/s (open model)" if self.rate else "as fast as answered (closed model)"
        amount = []
        if self.requests is not None:
            amount.append(f"{self.requests} requests")
        if self.duration is not None:
            amount.append(f"{self.duration:g} s")
        return f"{names}; {self.concurrency} connections, {how}, {' or '.join(amount)}"
