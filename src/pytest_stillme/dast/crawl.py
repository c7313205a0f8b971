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

import queue as queues
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

from .clients import FetchError
from .page import Exchange, same_origin

__all__ = ["CrawlLimits", "CrawlResult", "Fetch", "crawl"]

USER_AGENT = "Mozilla/5.0 (compatible; stillme-passive-scan)"
#: What a text field is filled with when a form is submitted (ZAP's spider uses "ZAP").
FILLER = "stillme"
#: ``fetch(method, url, body, headers) -> Exchange``, raising :class:`FetchError` when there is no answer.
Fetch = Callable[[str, str, bytes, dict[str, str]], Exchange]


@dataclass(frozen=True)
class CrawlLimits:
    max_pages: int = 200
    max_depth: int = 10
    timeout: float = 120.0
    concurrency: int = 4
    forms: str = "all"


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


class _Crawl:
    """The frontier and the counters, shared by the crawl's threads under one lock."""

    def __init__(
        self, base_url: str, fetch: Fetch, limits: CrawlLimits, on_exchange: Callable[[Exchange], None]
    ) -> None:
        self.base_url = base_url
        self.origin = _origin(base_url)
        self.prefix = self.origin + "/"
        self.fetch = fetch
        self.limits = limits
        self.on_exchange = on_exchange
        self.deadline = time.monotonic() + limits.timeout
        self.result = CrawlResult()
        self.seen: set[tuple[str, str, str]] = set()
        self.frontier: queues.Queue[_Request | None] = queues.Queue()
        self.lock = threading.Lock()

    def enqueue(self, request: _Request) -> None:
        key = (request.method, request.url, request.body)
        if key in self.seen or request.depth > self.limits.max_depth:
            return
        # The common case by prefix; anything else (case, default ports) by parsing.
        url = request.url
        if not (url.startswith(self.prefix) or url == self.origin or same_origin(url, self.base_url)):
            return
        self.seen.add(key)
        self.frontier.put(request)

    def claim(self) -> bool:
        """Count a request about to be sent; False (and the bound noted) when a bound forbids it."""
        with self.lock:
            if self.result.requests >= self.limits.max_pages:
                self.result.stopped = self.result.stopped or f"max_pages ({self.limits.max_pages} requests)"
                self.result.left += 1
                return False
            if time.monotonic() > self.deadline:
                self.result.stopped = self.result.stopped or f"timeout ({self.limits.timeout:g} s)"
                self.result.left += 1
                return False
            self.result.requests += 1
            return True

    def visit(self, request: _Request) -> Exchange | None:
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        body = b""
        if request.method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = request.body.encode()
        try:
            exchange = self.fetch(request.method, request.url, body, headers)
        except FetchError as exc:
            with self.lock:
                self.result.failures.append((f"{request.method} {request.url}", str(exc)))
            return None
        with self.lock:  # the rules and the frontier are not thread-safe: one exchange at a time
            _after(exchange, request, self.limits, self.enqueue, self.on_exchange, self.origin)
        return exchange

    def worker(self) -> None:
        while True:
            request = self.frontier.get()
            try:
                if request is None:
                    return
                if self.claim():
                    self.visit(request)
            finally:
                self.frontier.task_done()


def crawl(
    fetch: Fetch,
    base_url: str,
    seeds: tuple[str, ...],
    limits: CrawlLimits,
    on_exchange: Callable[[Exchange], None],
) -> CrawlResult:
    """Crawl ``base_url``'s origin through ``fetch``; see the module docstring."""
    state = _Crawl(base_url, fetch, limits, on_exchange)
    first = _Request("GET", urljoin(base_url + "/", seeds[0].lstrip("/")) if seeds else base_url, 0)
    state.seen.add((first.method, first.url, first.body))
    for seed in seeds[1:]:
        state.enqueue(_Request("GET", urljoin(base_url + "/", seed.lstrip("/")), 0))
    state.enqueue(_Request("GET", state.origin + "/robots.txt", 0))
    state.enqueue(_Request("GET", state.origin + "/sitemap.xml", 0))

    # The first request alone: a target that does not answer is one clear error, not a page of failures.
    state.claim()
    if state.visit(first) is None:
        state.result.unreachable = state.result.failures.pop()[1] if state.result.failures else "no answer"
        return state.result
    workers = max(1, limits.concurrency)
    if workers == 1:
        while not state.frontier.empty():
            request = state.frontier.get_nowait()
            if request is not None and state.claim():
                state.visit(request)
        return state.result
    threads = [threading.Thread(target=state.worker, name=f"stillme-crawl-{n}", daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    state.frontier.join()  # every URL found, visited or counted as left by a bound
    for _ in threads:
        state.frontier.put(None)
    for thread in threads:
        thread.join()
    return state.result


def _after(
    ex: Exchange,
    request: _Request,
    limits: CrawlLimits,
    enqueue: Callable[[_Request], None],
    on_exchange: Callable[[Exchange], None],
    origin: str,
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
            url = _link(base, link, origin)
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


def _link(base: str, link: str, origin: str) -> str:
    text = link.strip()
    if not text or text.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return ""
    if text.startswith("/") and not text.startswith("//") and "/." not in text:
        return origin + text.split("#", 1)[0]  # an absolute path: most links, no parsing needed
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
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

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
