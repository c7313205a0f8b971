"""A small synchronous client for the inventory service, built on httpx.

Every call goes through :meth:`InventoryClient._send`, and every non-2xx answer
through :func:`raise_for_error`, so retries, fallbacks or fault injection can
be added in one place, or from outside by passing an ``httpx`` transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any

import httpx

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 5.0


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
    """The service could not be reached or failed (5xx, connection error, timeout)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


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


def _payload(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _message(response: httpx.Response, payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("detail"), str):
        return f"{response.status_code}: {payload['detail']}"
    return f"{response.status_code}: {response.reason_phrase or 'error'}"


def raise_for_error(response: httpx.Response) -> None:
    """Turn a non-2xx response into the matching typed exception."""
    if response.is_success:
        return
    payload = _payload(response)
    message = _message(response, payload)
    status = response.status_code
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
    or a wrapper that injects faults or retries around ``httpx.HTTPTransport``.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, transport=transport, timeout=timeout)

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

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange; transport failures become :class:`ServiceUnavailable`."""
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable(f"{method} {path}: timed out") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"{method} {path}: {exc.__class__.__name__}: {exc}") from exc

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        raise_for_error(response)
        payload = _payload(response)
        if payload is None:
            raise ClientError(f"{method} {path}: response is not JSON", status_code=response.status_code)
        return payload

    def list_items(self, *, limit: int | None = None, offset: int | None = None) -> ItemPage:
        params = {key: value for key, value in (("limit", limit), ("offset", offset)) if value is not None}
        data = self._call("GET", "/items", params=params)
        try:
            return ItemPage(
                items=[Item.from_json(entry) for entry in data["items"]],
                total=int(data["total"]),
                limit=int(data["limit"]),
                offset=int(data["offset"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ClientError(f"malformed item page in response: {data!r}") from exc

    def create_item(self, name: str, quantity: int, price: Decimal | float | int) -> Item:
        body = {"name": name, "quantity": quantity, "price": _json_number(price)}
        return Item.from_json(self._call("POST", "/items", json=body))

    def get_item(self, item_id: int) -> Item:
        return Item.from_json(self._call("GET", f"/items/{int(item_id)}"))

    def reserve(self, item_id: int, quantity: int) -> Item:
        return Item.from_json(self._call("POST", f"/items/{int(item_id)}/reserve", json={"quantity": quantity}))

    def quote(self, item_id: int, qty: int) -> Quote:
        data = self._call("GET", "/quote", params={"item": item_id, "qty": qty})
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
        """Readiness: ``True`` on 200, ``False`` on 503; other failures raise."""
        response = self._send("GET", "/readyz")
        if response.status_code == 503:
            return False
        raise_for_error(response)
        return True


def _json_number(value: Decimal | float | int) -> float | int:
    """JSON has no decimal type: send whole numbers as int, anything else as float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
