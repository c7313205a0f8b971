"""Prometheus metrics for the service: a per-app registry and an ASGI middleware."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Methods reported as themselves; anything else is folded into ``OTHER`` to bound label cardinality.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Route label for requests that matched no route (the raw path would be unbounded).
UNMATCHED_ROUTE = "<unmatched>"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The service's collectors, all registered in one registry owned by one app."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "inventory_http_requests",
            "HTTP requests handled, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "inventory_http_request_duration_seconds",
            "Time spent handling HTTP requests, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.items = Gauge("inventory_items", "Number of distinct items in the store.", registry=self.registry)

    def track_items(self, count: Callable[[], float]) -> None:
        """Make the ``inventory_items`` gauge read its value from ``count`` at scrape time."""
        self.items.set_function(count)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.latency.labels(method=method, route=route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The text exposition of the registry and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The path template (``/items/{item_id:int}``) of the route serving ``scope``.

    A partial match (right path, wrong method: a 405) still names the route.
    """
    partial: str | None = None
    for route in routes:
        match, _ = route.matches(scope)
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        if match is Match.FULL:
            return path
        if match is Match.PARTIAL and partial is None:
            partial = path
    return partial if partial is not None else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Pure ASGI middleware counting and timing every HTTP request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
        route = route_template(self.routes, scope)
        status = 500  # what the client sees if the app fails before starting a response
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.observe(method, route, status, time.perf_counter() - start)
