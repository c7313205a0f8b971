"""One-off requests on a private event loop: the health and metrics checks.

The checks run in a thread of their own, as the load engine does, so they work
the same whether the caller's thread runs an event loop or not.  No pytest here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Answer", "fetch", "run_isolated"]

T = TypeVar("T")

#: Bytes of a body kept for a message (a readiness probe's reason, a broken exposition line).
EXCERPT = 200


def run_isolated(factory: Callable[[], Awaitable[T]]) -> T:
    """Run ``factory()`` to completion on a new event loop in a new thread; re-raise what it raised."""
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(_call(factory)))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name="stillme-check", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


async def _call(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


@dataclass(frozen=True)
class Answer:
    """One answer, or why there was none (``status`` 0 and ``problem`` set)."""

    status: int = 0
    seconds: float = 0.0
    body: bytes = b""
    content_type: str = ""
    problem: str = ""

    def excerpt(self) -> str:
        text = self.body[:EXCERPT].decode("utf-8", "replace").strip()
        return text + ("..." if len(self.body) > EXCERPT else "")

    def describe(self) -> str:
        if self.problem:
            return self.problem
        body = self.excerpt()
        return f"{self.status} in {self.seconds * 1000:.0f} ms" + (f": {body}" if body else "")


async def fetch(session: object, url: str, timeout: float, *, limit: int = 16 * 1024 * 1024) -> Answer:
    """GET ``url`` without following redirects; a failure is an :class:`Answer` with a problem, never an exception."""
    import aiohttp

    assert isinstance(session, aiohttp.ClientSession)
    start = time.perf_counter()
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False) as response:
            body = await response.content.read(limit + 1)
            seconds = time.perf_counter() - start
            if len(body) > limit:
                return Answer(response.status, seconds, problem=f"the answer is larger than {limit} bytes")
            return Answer(response.status, seconds, body, response.headers.get("Content-Type", ""))
    except asyncio.TimeoutError:
        return Answer(seconds=time.perf_counter() - start, problem=f"no answer within {timeout * 1000:.0f} ms")
    except aiohttp.ClientConnectorError as exc:
        return Answer(seconds=time.perf_counter() - start, problem=f"cannot connect: {exc.os_error or exc}")
    except aiohttp.ClientError as exc:
        return Answer(seconds=time.perf_counter() - start, problem=f"{type(exc).__name__}: {exc}")
