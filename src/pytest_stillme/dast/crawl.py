"""A bounded same-origin crawl, as ZAP's spider walks a site: links, forms, redirects, robots.txt, sitemap.xml.

Starts from the seeds (``/`` by default) plus ``/robots.txt`` and
``/sitemap.xml``, which ZAP's spider reads too, and follows what HTML pages
link to (``a``, ``area``, ``link``, ``frame``, ``iframe``, ``script``,
``img``, meta refresh), where redirects point, the paths robots.txt lists,
the URLs a sitemap lists, and the forms (submitted with their default
values, text fields filled in, as ZAP's spider does; POST forms only with
``forms="all"``).  Only the target's origin is visited.  Each exchange is
handed to ``on_exchange`` as it arrives, redirects included (they are not
followed by the client, so each response is seen).

Bounded in requests (``max_pages``), link depth, time (``timeout`` for the
whole crawl, ``request_timeout`` for one request) and body size, with at
most ``concurrency`` requests in flight.  A target that does not answer the
first request is ``unreachable``; requests that fail later are ``failures``
(the caller decides: the scan is then incomplete).  No pytest here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

from .page import Exchange, same_origin

__all__ = ["CrawlLimits", "CrawlResult", "crawl"]

USER_AGENT = "Mozilla/5.0 (compatible; stillme-passive-scan)"
#: What a text field is filled with when a form is submitted (ZAP's spider uses "ZAP").
FILLER = "stillme"


@dataclass(frozen=True)
class CrawlLimits:
    max_pages: int = 200
    max_depth: int = 10
    timeout: float = 120.0
    request_timeout: float = 10.0
    concurrency: int = 4
    forms: str = "all"
    max_body: int = 2_000_000


@dataclass
class CrawlResult:
    requests: int = 0
    #: Why the target could not be scanned at all ("" when it answered).
    unreachable: str = ""
    #: Requests that failed after the first one answered: (method URL, reason).
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: Which bound stopped the crawl before it ran out of URLs ("" when it did not).
    stopped: str = ""
    #: URLs found but not visited because of a bound.
    left: int = 0


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    depth: int
    body: str = ""


async def crawl(
    client: Any,
    base_url: str,
    seeds: tuple[str, ...],
    limits: CrawlLimits,
    on_exchange: Callable[[Exchange], None],
) -> CrawlResult:
    """Crawl ``base_url``'s origin with ``client`` (an ``httpx.AsyncClient``); see the module docstring."""
    result = CrawlResult()
    deadline = time.monotonic() + limits.timeout
    queue: asyncio.Queue[_Request] = asyncio.Queue()
    seen: set[tuple[str, str, str]] = set()

    def enqueue(request: _Request) -> None:
        key = (request.method, request.url, request.body)
        if key in seen or not same_origin(request.url, base_url) or request.depth > limits.max_depth:
            return
        seen.add(key)
        queue.put_nowait(request)

    origin = _origin(base_url)
    first = _Request("GET", urljoin(base_url + "/", seeds[0].lstrip("/")) if seeds else base_url, 0)
    enqueue(first)
    for seed in seeds[1:]:
        enqueue(_Request("GET", urljoin(base_url + "/", seed.lstrip("/")), 0))
    enqueue(_Request("GET", origin + "/robots.txt", 0))
    enqueue(_Request("GET", origin + "/sitemap.xml", 0))

    # The first request alone: a target that does not answer is one clear error, not a page of failures.
    ex = await _fetch(client, first, limits, deadline, result)
    if ex is None:
        result.unreachable = result.failures.pop()[1] if result.failures else "no answer"
        return result
    queue.get_nowait()
    queue.task_done()
    _after(ex, first, limits, enqueue, on_exchange)

    async def worker() -> None:
        while True:
            request = await queue.get()
            try:
                if result.requests >= limits.max_pages:
                    result.stopped = result.stopped or f"max_pages ({limits.max_pages} requests)"
                    result.left += 1
                    continue
                if time.monotonic() > deadline:
                    result.stopped = result.stopped or f"timeout ({limits.timeout:g} s)"
                    result.left += 1
                    continue
                exchange = await _fetch(client, request, limits, deadline, result)
                if exchange is not None:
                    _after(exchange, request, limits, enqueue, on_exchange)
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(max(1, limits.concurrency))]
    try:
        await queue.join()
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return result


async def _fetch(
    client: Any, request: _Request, limits: CrawlLimits, deadline: float, result: CrawlResult
) -> Exchange | None:
    import httpx

    result.requests += 1
    headers = {"User-Agent": USER_AGENT}
    content = None
    if request.method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        content = request.body.encode()

    async def exchange() -> Exchange:
        async with client.stream(request.method, request.url, headers=headers, content=content) as response:
            chunks: list[bytes] = []
            size = 0
            # Decoded chunks, counted as they come: a compressed body cannot grow past max_body in memory.
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= limits.max_body:
                    break
            return Exchange(
                method=request.method,
                url=request.url,
                status=response.status_code,
                reason=response.reason_phrase,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
                body=b"".join(chunks)[: limits.max_body],
            )

    timeout = max(0.001, min(limits.request_timeout, deadline - time.monotonic()))
    try:
        return await asyncio.wait_for(exchange(), timeout)
    except (httpx.HTTPError, OSError, asyncio.TimeoutError) as exc:
        if isinstance(exc, asyncio.TimeoutError):
            reason = f"no complete answer within {timeout:g} s"
        else:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        result.failures.append((f"{request.method} {request.url}", reason))
        return None


def _after(
    ex: Exchange,
    request: _Request,
    limits: CrawlLimits,
    enqueue: Callable[[_Request], None],
    on_exchange: Callable[[Exchange], None],
) -> None:
    on_exchange(ex)
    depth = request.depth + 1
    location = ex.first("location")
    if ex.is_redirect and location:
        enqueue(_Request("GET", _clean(urljoin(ex.url, location)), request.depth))
    if not (200 <= ex.status < 300) or not ex.body:
        return
    path = urlsplit(ex.url).path
    if ex.is_html:
        page = ex.page
        base = urljoin(ex.url, page.base) if page.base else ex.url
        for link in page.links:
            url = _link(base, link)
            if url:
                enqueue(_Request("GET", url, depth))
        if limits.forms != "none":
            for form in page.forms:
                submitted = _form_request(base, form.action, form.method, form.fields, depth, limits.forms)
                if submitted is not None:
                    enqueue(submitted)
    elif path == "/robots.txt":
        for line in ex.text.splitlines():
            key, _, value = line.partition(":")
            value = value.split("#", 1)[0].strip()
            if key.strip().lower() in ("allow", "disallow") and value.startswith("/") and "*" not in value:
                enqueue(_Request("GET", _clean(urljoin(ex.url, value.rstrip("$"))), depth))
    elif path == "/sitemap.xml" or (path.endswith(".xml") and "xml" in ex.content_type):
        for url in _sitemap_urls(ex.body):
            enqueue(_Request("GET", _clean(url), depth))


def _link(base: str, link: str) -> str:
    text = link.strip()
    if not text or text.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return ""
    url = _clean(urljoin(base, text))
    return url if url.startswith(("http://", "https://")) else ""


def _clean(url: str) -> str:
    return urldefrag(url)[0]


def _form_request(
    base: str, action: str, method: str, fields: list[tuple[str, str, str]], depth: int, policy: str
) -> _Request | None:
    values = []
    for name, kind, value in fields:
        if kind in ("checkbox", "radio") and not value:
            value = "on"
        elif not value and kind not in ("hidden",):
            value = FILLER
        values.append((name, value))
    target = _clean(urljoin(base, action.strip())) if action.strip() else _clean(base)
    if not target.startswith(("http://", "https://")):
        return None
    if method == "POST":
        if policy != "all":
            return None
        return _Request("POST", target, depth, urlencode(values))
    query = urlencode(values)
    url = target.split("?", 1)[0] + (f"?{query}" if query else "")
    return _Request("GET", url, depth)


def _sitemap_urls(body: bytes) -> list[str]:
    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
    from defusedxml.ElementTree import ParseError, fromstring  # type: ignore[import-untyped]

    try:
        root = fromstring(body, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError):
        return []
    urls = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "loc" and element.text:
            urls.append(element.text.strip())
    return urls[:10_000]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
