"""One-off GET requests for the health and metrics checks (httpx: a few requests, not load).

Redirects are not followed (a probe that answers 301 is not healthy, and
following it could leave the allowed host), cookies are not kept, and the
body is read up to a limit.  A failure is an :class:`Answer` with a problem,
never an exception.  No pytest here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Answer", "fetch", "new_client"]

#: Bytes of a body kept for a message (a readiness probe's reason, a broken exposition line).
EXCERPT = 200


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


def new_client(*, fresh_connections: bool = False) -> Any:
    """An ``httpx.Client`` for probes; with ``fresh_connections`` each request opens its own (as a probe does)."""
    import httpx

    limits = httpx.Limits(max_keepalive_connections=0) if fresh_connections else httpx.Limits()
    return httpx.Client(follow_redirects=False, limits=limits, trust_env=False)


def fetch(client: Any, url: str, timeout: float, *, limit: int = 16 * 1024 * 1024) -> Answer:
    """GET ``url``; the answer (body up to ``limit`` bytes), or why there was none."""
    import httpx

    start = time.perf_counter()
    try:
        with client.stream("GET", url, timeout=httpx.Timeout(timeout)) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    return Answer(
                        response.status_code,
                        time.perf_counter() - start,
                        problem=f"the answer is larger than {limit} bytes",
                    )
            seconds = time.perf_counter() - start
            return Answer(response.status_code, seconds, b"".join(chunks), response.headers.get("content-type", ""))
    except httpx.TimeoutException:
        return Answer(seconds=time.perf_counter() - start, problem=f"no answer within {timeout * 1000:.0f} ms")
    except httpx.ConnectError as exc:
        return Answer(seconds=time.perf_counter() - start, problem=f"cannot connect: {exc}")
    except httpx.HTTPError as exc:
        return Answer(seconds=time.perf_counter() - start, problem=f"{type(exc).__name__}: {exc}")
