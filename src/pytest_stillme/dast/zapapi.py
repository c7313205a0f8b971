"""The one adapter around the ``zaproxy`` client (``zapv2.ZAPv2``): every call bounded, every failure named.

The client sends each call through its proxy setting (ZAP's own port) to
``http://zap/JSON/...`` and has no timeout of its own, so each call runs in a
daemon thread that is given up after ``call_timeout`` seconds.  With
``validate_status_code`` the client raises on ZAP's error answers (HTTP 400
with ``{"code": "bad_api_key", "message": ...}``, HTTP 500 with
``internal_error``); they are read back into :class:`ZapCallError` with a
kind the driver turns into its own message: ``unreachable``, ``bad_key``,
``not_zap``, ``timeout`` or ``api_error`` (with ZAP's ``code`` and
``detail``).  Only the client's public, generated API is used.  No pytest here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ZapCallError", "ZapClient"]

T = TypeVar("T")
_STATUS_MARK = "response: "


class ZapCallError(Exception):
    """A ZAP API call that gave no answer: ``kind`` says which way it failed."""

    def __init__(self, kind: str, what: str, message: str, *, code: str = "", detail: str = "") -> None:
        super().__init__(f"{what}: {message}")
        self.kind = kind
        self.what = what
        self.message = message
        self.code = code
        self.detail = detail


class ZapClient:
    """ZAP's API at ``address`` (``http://127.0.0.1:8080``), authenticated with ``key`` when given."""

    def __init__(self, address: str, key: str, *, call_timeout: float = 60.0) -> None:
        from zapv2 import ZAPv2  # type: ignore[import-untyped]

        self.address = address
        self.call_timeout = call_timeout
        self.zap: Any = ZAPv2(
            proxies={"http": address, "https": address}, apikey=key or None, validate_status_code=True
        )

    def call(self, what: str, func: Callable[[Any], T]) -> T:
        """``func(zap)`` in a daemon thread, bounded; any failure is a :class:`ZapCallError` naming ``what``."""
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = func(self.zap)
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc

        thread = threading.Thread(target=target, name="stillme-zap-call", daemon=True)
        thread.start()
        thread.join(self.call_timeout)
        if thread.is_alive():
            raise ZapCallError("timeout", what, f"ZAP did not answer within {self.call_timeout:g} s")
        if "error" in box:
            raise _classify(what, box["error"], self.address) from None
        value: T = box["value"]
        return value


def _classify(what: str, exc: BaseException, address: str) -> ZapCallError:
    import requests

    if isinstance(exc, (requests.exceptions.ProxyError, requests.exceptions.ConnectionError)):
        return ZapCallError("unreachable", what, f"nothing answers at {address} ({_reason(exc)})")
    if isinstance(exc, requests.exceptions.Timeout):
        return ZapCallError("timeout", what, f"ZAP did not answer ({_reason(exc)})")
    if isinstance(exc, ValueError) and "json" in type(exc).__name__.lower() + str(exc).lower():
        return ZapCallError("not_zap", what, f"{address} answered, but not with ZAP's JSON API")
    text = str(exc)
    if _STATUS_MARK in text and "status code" in text:
        status = _status(text)
        body = text.split(_STATUS_MARK, 1)[1]
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            code = data["code"]
            message = str(data.get("message") or code)
            detail = str(data.get("detail") or "")
            kind = "bad_key" if code == "bad_api_key" else "api_error"
            shown = f"{message} ({code}{': ' + detail if detail else ''})"
            return ZapCallError(kind, what, f"ZAP refused the call: {shown}", code=code, detail=detail)
        snippet = " ".join(body.split())[:200]
        return ZapCallError(
            "not_zap" if status in (404, 405) else "api_error",
            what,
            f"{address} answered HTTP {status or '?'} without ZAP's JSON error: {snippet or 'an empty body'}",
        )
    if isinstance(exc, requests.exceptions.RequestException):
        return ZapCallError("unreachable", what, _reason(exc))
    return ZapCallError("api_error", what, f"{type(exc).__name__}: {text[:300]}")


def _status(text: str) -> int:
    head = text.split(_STATUS_MARK, 1)[0]
    digits = "".join(ch if ch.isdigit() else " " for ch in head.rsplit(":", 1)[-1]).split()
    return int(digits[0]) if digits else 0


def _reason(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, without the long repr chain."""
    inner: BaseException | None = exc
    seen = 0
    while inner is not None and seen < 8:
        if inner.__context__ is None and not inner.args:
            break
        nested = next((a for a in inner.args if isinstance(a, BaseException)), None)
        if nested is None:
            break
        inner = nested
        seen += 1
    text = str(inner or exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return " ".join(text.split())[:200]
