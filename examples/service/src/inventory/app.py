"""The inventory HTTP API: a Starlette application with JSON endpoints and probes."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any, NoReturn

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inventory import pricing
from inventory.metrics import Metrics, MetricsMiddleware
from inventory.store import InsufficientStock, InventoryStore, Item, NotFound

MAX_BODY_BYTES = 64 * 1024
MAX_NAME_LENGTH = 100
MAX_QUANTITY = 1_000_000_000
MAX_PRICE = Decimal("1000000000")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_QUOTE_QUANTITY = 1_000_000
MAX_OFFSET = 1_000_000_000
MAX_ITEM_ID = 1_000_000_000
_DIGITS = re.compile(r"[0-9]{1,18}")


class ApiError(Exception):
    """An error response: HTTP status, a stable machine-readable code and a message."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def item_to_json(item: Item) -> dict[str, Any]:
    """Money is serialised as a string with two decimals, never as a float."""
    return {"id": item.id, "name": item.name, "quantity": item.quantity, "price": str(pricing.to_cents(item.price))}


# --- request parsing ------------------------------------------------------------------------


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


async def read_json_object(request: Request) -> dict[str, Any]:
    """Read the body (at most ``MAX_BODY_BYTES``) as one JSON object, or raise a 4xx ``ApiError``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "payload_too_large", f"request body exceeds {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError, bad UTF-8 and NaN/Infinity; RecursionError absurd nesting.
        raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "request body must be a JSON object")
    return data


def query_int(request: Request, name: str, *, default: int | None, minimum: int, maximum: int) -> int:
    """An integer query parameter within ``[minimum, maximum]``; 400 when missing or out of range."""
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise ApiError(400, "invalid_query", f"query parameter {name!r} is required")
        return default
    if not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise ApiError(
            400, "invalid_query", f"query parameter {name!r} must be an integer between {minimum} and {maximum}"
        )
    return int(raw)


def _unknown_fields(data: dict[str, Any], allowed: set[str], errors: dict[str, str]) -> None:
    for key in sorted(set(data) - allowed):
        errors[key] = "unknown field"


def _name_field(data: dict[str, Any], errors: dict[str, str]) -> str | None:
    value = data.get("name")
    if not isinstance(value, str) or not value.strip():
        errors["name"] = "must be a non-empty string"
        return None
    name = value.strip()
    if len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"must be at most {MAX_NAME_LENGTH} characters"
        return None
    return name


def _int_field(data: dict[str, Any], key: str, minimum: int, maximum: int, errors: dict[str, str]) -> int | None:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        errors[key] = f"must be an integer between {minimum} and {maximum}"
        return None
    return value


def _price_field(data: dict[str, Any], errors: dict[str, str]) -> Decimal | None:
    value = data.get("price")
    # Not math.isfinite(value) on ints: a 400-digit JSON integer overflows float conversion.
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if is_number and not (isinstance(value, float) and not math.isfinite(value)):
        price = Decimal(str(value))
        exponent = price.as_tuple().exponent
        if Decimal(0) <= price <= MAX_PRICE and isinstance(exponent, int) and exponent >= -2:
            return price
    errors["price"] = f"must be a number between 0 and {MAX_PRICE} with at most 2 decimal places"
    return None


def _validation_error(errors: dict[str, str]) -> ApiError:
    return ApiError(422, "validation_failed", "request body has invalid fields", fields=errors)


def validate_new_item(data: dict[str, Any]) -> tuple[str, int, Decimal]:
    """Check a create-item body; one 422 lists every invalid field at once."""
    errors: dict[str, str] = {}
    _unknown_fields(data, {"name", "quantity", "price"}, errors)
    name = _name_field(data, errors)
    quantity = _int_field(data, "quantity", 0, MAX_QUANTITY, errors)
    price = _price_field(data, errors)
    if errors or name is None or quantity is None or price is None:
        raise _validation_error(errors)
    return name, quantity, price


def validate_reservation(data: dict[str, Any]) -> int:
    errors: dict[str, str] = {}
    _unknown_fields(data, {"quantity"}, errors)
    quantity = _int_field(data, "quantity", 1, MAX_QUANTITY, errors)
    if errors or quantity is None:
        raise _validation_error(errors)
    return quantity


# --- endpoints ------------------------------------------------------------------------------


class InventoryApi:
    """The endpoints, bound to one store and one metrics registry."""

    def __init__(self, store: InventoryStore, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics

    async def items(self, request: Request) -> Response:
        """``/items`` is one route for both methods, so a 405 there lists every allowed method."""
        if request.method == "POST":
            return await self.create_item(request)
        return await self.list_items(request)

    async def list_items(self, request: Request) -> Response:
        limit = query_int(request, "limit", default=DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
        offset = query_int(request, "offset", default=0, minimum=0, maximum=MAX_OFFSET)
        items, total = self.store.list_items(limit=limit, offset=offset)
        return JSONResponse(
            {"items": [item_to_json(item) for item in items], "total": total, "limit": limit, "offset": offset}
        )

    async def create_item(self, request: Request) -> Response:
        name, quantity, price = validate_new_item(await read_json_object(request))
        item = self.store.create(name, quantity, price)
        return JSONResponse(item_to_json(item), status_code=201, headers={"Location": f"/items/{item.id}"})

    async def get_item(self, request: Request) -> Response:
        item = self.store.get(request.path_params["item_id"])
        return JSONResponse(item_to_json(item))

    async def reserve(self, request: Request) -> Response:
        item_id: int = request.path_params["item_id"]
        quantity = validate_reservation(await read_json_object(request))
        item = self.store.reserve(item_id, quantity)
        return JSONResponse(item_to_json(item))

    async def quote(self, request: Request) -> Response:
        item_id = query_int(request, "item", default=None, minimum=1, maximum=MAX_ITEM_ID)
        quantity = query_int(request, "qty", default=None, minimum=1, maximum=MAX_QUOTE_QUANTITY)
        result = pricing.quote(self.store.get(item_id).price, quantity)
        return JSONResponse(
            {
                "item": item_id,
                "qty": result.quantity,
                "unit_price": str(result.unit_price),
                "discount_rate": str(result.discount_rate),
                "subtotal": str(result.subtotal),
                "discount": str(result.discount),
                "total": str(result.total),
            }
        )

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        if self.store.ready:
            return JSONResponse({"status": "ready"})
        reason = self.store.not_ready_reason or "store is not ready"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)

    async def metrics_endpoint(self, request: Request) -> Response:
        body, content_type = self.metrics.render()
        return Response(body, headers={"Content-Type": content_type})


# --- security headers -----------------------------------------------------------------------

#: Sent with every response: a JSON API needs no content, frames or forms from anywhere
#: (what ZAP's baseline and stillme's passive scan check; see docs/dast.md).
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; form-action 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), geolocation=(), microphone=()"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"require-corp"),
]


class SecurityHeadersMiddleware:
    """Pure ASGI: adds :data:`SECURITY_HEADERS` to every response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- error handling -------------------------------------------------------------------------


async def error_response(request: Request, exc: Exception) -> Response:
    """Every handled error becomes ``{"error": code, "detail": message, ...}`` with its status."""
    if isinstance(exc, ApiError):
        return JSONResponse(error_body(exc.code, exc.detail, **exc.extra), status_code=exc.status)
    if isinstance(exc, NotFound):
        return JSONResponse(error_body("item_not_found", str(exc), item=exc.item_id), status_code=404)
    if isinstance(exc, InsufficientStock):
        body = error_body(
            "insufficient_stock", str(exc), item=exc.item_id, requested=exc.requested, available=exc.available
        )
        return JSONResponse(body, status_code=409)
    if isinstance(exc, HTTPException):  # Starlette's own 404 (no route) and 405 (wrong method)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, exc.detail), status_code=exc.status_code, headers=exc.headers)
    raise exc  # pragma: no cover - only registered for the types above


async def internal_error(request: Request, exc: Exception) -> Response:
    """Unexpected failures: a JSON 500 that reveals nothing (Starlette still re-raises, for logging)."""
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


def create_app(store: InventoryStore | None = None, *, registry: CollectorRegistry | None = None) -> Starlette:
    """Build the application around ``store`` (a fresh empty one by default).

    Each app gets its own Prometheus registry unless one is passed, so several
    apps can live in one process (as they do in the tests) without colliding.
    """
    store = store if store is not None else InventoryStore()
    metrics = Metrics(registry)
    metrics.track_items(lambda: len(store))
    api = InventoryApi(store, metrics)
    routes = [
        Route("/items", api.items, methods=["GET", "POST"]),
        Route("/items/{item_id:int}", api.get_item, methods=["GET"]),
        Route("/items/{item_id:int}/reserve", api.reserve, methods=["POST"]),
        Route("/quote", api.quote, methods=["GET"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/readyz", api.readyz, methods=["GET"]),
        Route("/metrics", api.metrics_endpoint, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(MetricsMiddleware, metrics=metrics, routes=routes),
        ],
        exception_handlers={
            ApiError: error_response,
            NotFound: error_response,
            InsufficientStock: error_response,
            HTTPException: error_response,
            Exception: internal_error,
        },
    )
    app.state.store = store
    app.state.metrics = metrics
    return app


app = create_app()
