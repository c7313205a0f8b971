"""The session's target, opened once on first use, and the client smoke tests get for it.

``--stillme-target`` names a loopback URL (other hosts only when
``allow_remote`` is set) or an app as ``module:attribute``, served on a free
loopback port for the whole session (see :mod:`pytest_stillme.service`).
No pytest here.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ..service import TargetError, open_target, parse_target

__all__ = ["NO_TARGET", "SessionTarget", "TargetClient"]

NO_TARGET = (
    "no target: give --stillme-target (or STILLME_TARGET) a loopback URL such as http://127.0.0.1:8000, "
    "or an app as module:attribute (inventory.app:app) to serve it in process"
)


class SessionTarget:
    """The URL of the service under test, resolved (and an app served) on first use."""

    def __init__(self, text: str | None, *, allow_remote: bool = False, root: Path | None = None) -> None:
        self.text = (text or "").strip()
        self.allow_remote = allow_remote
        self.root = root
        self._stack = contextlib.ExitStack()
        self._url = ""
        self._error = ""

    def check(self) -> None:
        """Raise :class:`TargetError` now when the target is missing or not allowed (nothing is started)."""
        if not self.text:
            raise TargetError(NO_TARGET)
        parse_target(self.text, allow_remote=self.allow_remote)

    def url(self) -> str:
        if self._url:
            return self._url
        if self._error:
            raise TargetError(self._error)
        try:
            self.check()
            self._url = self._stack.enter_context(
                open_target(parse_target(self.text, allow_remote=self.allow_remote), self.root)
            )
        except TargetError as exc:
            self._error = str(exc)
            raise
        return self._url

    def describe(self) -> str:
        return self._url or self.text or "(no target)"

    def close(self) -> None:
        self._stack.close()


class TargetClient:
    """What the ``target`` fixture gives a smoke test: the base URL, and an httpx client bound to it.

    ``target.get("/items")`` and the other methods are the client's; redirects
    are not followed (a smoke test should see them).
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self._client: Any = None

    @property
    def client(self) -> Any:
        """An ``httpx.Client`` with ``base_url`` set to the target (created on first use)."""
        if self._client is None:
            try:
                import httpx
            except ImportError:
                raise TargetError(
                    "the target fixture's client needs httpx: pip install 'pytest-stillme[deploy]'"
                ) from None
            self._client = httpx.Client(base_url=self.url, timeout=self.timeout, follow_redirects=False)
        return self._client

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Any:
        return self.client.head(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.client.put(path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.client.patch(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(path, **kwargs)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __repr__(self) -> str:
        return f"TargetClient({self.url!r})"
