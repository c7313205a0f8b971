"""A small synchronous client for the inventory service, built on httpx, that survives a bad network.

Every call goes through :meth:`InventoryClient._request`, which applies the
:class:`RetryPolicy`, and every non-2xx answer through :func:`raise_for_error`.

- Retries with exponential backoff and full jitter, never past the policy's
  total time: idempotent calls (GET) on any transport failure (refused,
  timed out, cut short), on 429, 502, 503 and 504, and on a garbled 2xx body;
  other calls (POST) only when the request cannot have reached the service
  (connection refused or connect timeout) or on 429.  A ``Retry-After``
  header is honoured when it is not longer than the policy's ``max_wait``.
- Timeouts per attempt (``timeout``, httpx's) and per call (``RetryPolicy.total``).
- Fallbacks: ``get_item(..., stale_ok=True)`` serves the last copy of the item
  this client saw when the service is unavailable, and ``quote(...,
  estimate_ok=True)`` prices locally from that copy (``Quote.estimated``).

The network layer can be replaced (``transport=``) to inject faults; the
pause between attempts (``sleep=``) and its jitter (``rng=``) can be too.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any

import httpx

from inventory import pricing

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 5.0
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Failures that happen before the request leaves: safe to retry whatever the method.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
#: How many items the fallback cache keeps.
CACHE_SIZE = 1024


class InventoryError(Exception):
    """Base class of every error this client raises."""


class ClientError(InventoryError):
    """The service rejected the request (a 4xx), or answered with something unusable."""

    def __init__(self, message: str, *, status_code: int | None = None, payload: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.payload = payload

    @property
    def code(self) -> str | None:
        """The service's machine-readable error code (``"validation_failed"``...), when it sent one."""
        if isinstance(self.payload, dict) and isinstance(self.payload.get("error"), str):
            return str(self.payload["error"])
        return None

    @property
    def fields(self) -> dict[str, str]:
        """Per-field validation messages of a 422."""
        if isinstance(self.payload, dict) and isinstance(self.payload.get("fields"), dict):
            return {str(key): str(value) for key, value in self.payload["fields"].items()}
        return {}


class ItemNotFound(ClientError):
    """No item has the requested id (404)."""


class OutOfStock(ClientError):
    """A reservation asked for more than is in stock (409)."""

    @property
    def available(self) -> int | None:
        value = self.payload.get("available") if isinstance(self.payload, dict) else None
        return value if isinstance(value, int) else None


class ServiceUnavailable(InventoryError):
    """The service could not be reached or failed (5xx, connection error, timeout), after any retries."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RateLimited(ServiceUnavailable):
    """The service said 429 Too Many Requests, and kept saying it (or asked to wait too long)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status_code=429)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry: ``attempts`` in all, exponential backoff with full jitter.

    ``backoff`` is the longest first pause, doubled per attempt up to
    ``max_wait``; a ``Retry-After`` longer than ``max_wait`` ends the retries.
    No new attempt starts once ``total`` seconds have passed since the first.
    """

    attempts: int = 3
    backoff: float = 0.05
    max_wait: float = 2.0
    total: float = 10.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.backoff, self.max_wait, self.total) < 0:
            raise ValueError("backoff, max_wait and total must not be negative")

    def pause(self, attempt: int, rng: random.Random, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; None when the server asks for too long."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        return rng.uniform(0.0, min(self.max_wait, self.backoff * 2 ** (attempt - 1)))


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    quantity: int
    price: Decimal

    @classmethod
    def from_json(cls, data: Any) -> Item:
        try:
            return cls(
                id=int(data["id"]),
                name=str(data["name"]),
                quantity=int(data["quantity"]),
                price=Decimal(str(data["price"])),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ClientError(f"malformed item in response: {data!r}") from exc


@dataclass(frozen=True)
class ItemPage:
    items: list[Item]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Quote:
    item: int
    qty: int
    unit_price: Decimal
    discount_rate: Decimal
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    #: True when priced locally from a cached item because the service was unavailable.
    estimated: bool = False


@dataclass
class CallStats:
    """What the client went through: attempts made, retries among them, fallbacks served."""

    attempts: int = 0
    retries: int = 0
    fallbacks: int = 0
    waited: float = 0.0
    reasons: list[str] = field(default_factory=list)


def _payload(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _message(response: httpx.Response, payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("detail"), str):
        return f"{response.status_code}: {payload['detail']}"
    return f"{response.status_code}: {response.reason_phrase or 'error'}"


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is not used by this service)."""
    raw = response.headers.get("Retry-After")
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def raise_for_error(response: httpx.Response) -> None:
    """Turn a non-2xx response into the matching typed exception."""
    if response.is_success:
        return
    payload = _payload(response)
    message = _message(response, payload)
    status = response.status_code
    if status == 429:
        raise RateLimited(message, retry_after=_retry_after(response))
    if status >= 500:
        raise ServiceUnavailable(message, status_code=status)
    if status == 404 and isinstance(payload, dict) and payload.get("error") == "item_not_found":
        raise ItemNotFound(message, status_code=status, payload=payload)
    if status == 409 and isinstance(payload, dict) and payload.get("error") == "insufficient_stock":
        raise OutOfStock(message, status_code=status, payload=payload)
    raise ClientError(message, status_code=status, payload=payload)


class InventoryClient:
    """Synchronous client; use it as a context manager or call :meth:`close`.

    ``transport`` replaces the network layer: ``httpx.MockTransport`` in tests,
    or a wrapper that injects faults.  ``retry`` is the :class:`RetryPolicy`
    (``NO_RETRY`` for none); ``sleep`` and ``rng`` drive the pauses between
    attempts.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url
        self.retry = retry if retry is not None else RetryPolicy()
        self.stats = CallStats()
        self._http = httpx.Client(base_url=base_url, transport=transport, timeout=timeout)
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._items: OrderedDict[int, Item] = OrderedDict()

    def __enter__(self) -> InventoryClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    # -- one logical call, with its retries ------------------------------------------------------

    def _wait(self, attempt: int, started: float, reason: str, retry_after: float | None = None) -> bool:
        """Pause before another attempt; False when the policy says to stop instead."""
        if attempt >= self.retry.attempts:
            return False
        pause = self.retry.pause(attempt, self._rng, retry_after)
        if pause is None or time.monotonic() - started + pause > self.retry.total:
            return False
        self.stats.retries += 1
        self.stats.waited += pause
        self.stats.reasons.append(reason)
        self._sleep(pause)
        return True

    def _request(
        self,
        method: str,
        path: str,
        *,
        expect_json: bool = True,
        retry_statuses: frozenset[int] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send, retrying as the policy allows; transport failures become :class:`ServiceUnavailable`."""
        idempotent = method in IDEMPOTENT
        statuses = self.retry.retry_statuses if retry_statuses is None else retry_statuses
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self.stats.attempts += 1
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if (idempotent or isinstance(exc, NOT_SENT)) and self._wait(attempt, started, type(exc).__name__):
                    continue
                if isinstance(exc, httpx.TimeoutException):
                    raise ServiceUnavailable(f"{method} {path}: timed out") from exc
                raise ServiceUnavailable(f"{method} {path}: {exc.__class__.__name__}: {exc}") from exc
            status = response.status_code
            if status in statuses and (idempotent or status == 429):
                reason, retry_after = f"HTTP {status}", _retry_after(response)
            elif expect_json and idempotent and response.is_success and _payload(response) is None:
                reason, retry_after = "garbled body", None  # a reply mangled on the way: ask again
            else:
                return response
            if not self._wait(attempt, started, reason, retry_after):
                return response

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        raise_for_error(response)
        payload = _payload(response)
        if payload is None:
            raise ClientError(f"{method} {path}: response is not JSON", status_code=response.status_code)
        return payload

    def _remember(self, item: Item) -> Item:
        self._items[item.id] = item
        self._items.move_to_end(item.id)
        while len(self._items) > CACHE_SIZE:
            self._items.popitem(last=False)
        return item

    # -- the API ---------------------------------------------------------------------------------

    def list_items(self, *, limit: int | None = None, offset: int | None = None) -> ItemPage:
        params = {key: value for key, value in (("limit", limit), ("offset", offset)) if value is not None}
        data = self._call("GET", "/items", params=params)
        try:
            page = ItemPage(
                items=[Item.from_json(entry) for entry in data["items"]],
                total=int(data["total"]),
                limit=int(data["limit"]),
                offset=int(data["offset"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ClientError(f"malformed item page in response: {data!r}") from exc
        for item in page.items:
            self._remember(item)
        return page

    def create_item(self, name: str, quantity: int, price: Decimal | float | int) -> Item:
        """Not retried after the request may have reached the service: a retry could create it twice."""
        body = {"name": name, "quantity": quantity, "price": _json_number(price)}
        return self._remember(Item.from_json(self._call("POST", "/items", json=body)))

    def get_item(self, item_id: int, *, stale_ok: bool = False) -> Item:
        """The item; with ``stale_ok``, the last copy seen when the service is unavailable."""
        try:
            return self._remember(Item.from_json(self._call("GET", f"/items/{int(item_id)}")))
        except ServiceUnavailable:
            cached = self._items.get(int(item_id))
            if not stale_ok or cached is None:
                raise
            self.stats.fallbacks += 1
            return cached

    def reserve(self, item_id: int, quantity: int) -> Item:
        """Not retried after the request may have reached the service: stock must not go twice."""
        item = Item.from_json(self._call("POST", f"/items/{int(item_id)}/reserve", json={"quantity": quantity}))
        return self._remember(item)

    def quote(self, item_id: int, qty: int, *, estimate_ok: bool = False) -> Quote:
        """The service's quote; with ``estimate_ok``, priced locally from the last copy of the item."""
        try:
            data = self._call("GET", "/quote", params={"item": item_id, "qty": qty})
        except ServiceUnavailable:
            cached = self._items.get(int(item_id))
            if not estimate_ok or cached is None:
                raise
            self.stats.fallbacks += 1
            local = pricing.quote(cached.price, qty)
            return Quote(
                item=cached.id,
                qty=qty,
                unit_price=local.unit_price,
                discount_rate=local.discount_rate,
                subtotal=local.subtotal,
                discount=local.discount,
                total=local.total,
                estimated=True,
            )
        try:
            return Quote(
                item=int(data["item"]),
                qty=int(data["qty"]),
                unit_price=Decimal(data["unit_price"]),
                discount_rate=Decimal(data["discount_rate"]),
                subtotal=Decimal(data["subtotal"]),
                discount=Decimal(data["discount"]),
                total=Decimal(data["total"]),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ClientError(f"malformed quote in response: {data!r}") from exc

    def health(self) -> bool:
        """Liveness: ``True`` when ``/healthz`` says ok; raises when the service is down."""
        data = self._call("GET", "/healthz")
        return isinstance(data, dict) and data.get("status") == "ok"

    def ready(self) -> bool:
        """Readiness: ``True`` on 200, ``False`` on 503 (an answer, not a failure: never retried)."""
        response = self._request("GET", "/readyz", expect_json=False, retry_statuses=frozenset({429, 502, 504}))
        if response.status_code == 503:
            return False
        raise_for_error(response)
        return True


def _json_number(value: Decimal | float | int) -> float | int:
    """JSON has no decimal type: send whole numbers as int, anything else as float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
