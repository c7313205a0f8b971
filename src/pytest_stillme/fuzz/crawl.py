"""A bounded crawl from ``/``: the links and forms of HTML answers, as endpoints with parameter names.

Same-origin links only, at most ``pages`` pages, each fetched once.  A link
``/search?q=shoes`` gives ``GET /search`` with a query parameter ``q``
(example ``shoes``); a form gives its action with its fields (query
parameters for GET, a form body for POST), default values as examples.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urljoin, urlsplit

from .htmlscan import scan_links
from .model import Endpoint, Param, Reply, Request

__all__ = ["crawl"]


def _local(base: str, href: str, origin: str) -> tuple[str, list[tuple[str, str]]] | None:
    """A same-origin link as (path, query pairs); None for other hosts, schemes and fragments."""
    href = href.strip()
    if not href or href.startswith(("#", "mailto:", "javascript:", "tel:", "data:")):
        return None
    joined = urljoin(origin + base, href)
    parts = urlsplit(joined)
    if f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    return parts.path or "/", parse_qsl(parts.query, keep_blank_values=True)


def crawl(send: Callable[[Request], Reply], *, pages: int, origin: str = "http://localhost") -> list[Endpoint]:
    """Crawl from ``/`` through ``send``; return the endpoints the pages point at."""
    if pages <= 0:
        return []
    seen: set[str] = set()
    queue: list[str] = ["/"]
    found: dict[tuple[str, str], Endpoint] = {}

    def note(method: str, path: str, params: list[tuple[str, str]], body: str = "") -> None:
        location = "form" if body == "form" else "query"
        new = [
            Param(name, location, example=value, has_example=True, required=False, origin="crawl")
            for name, value in params
            if name
        ]
        key = (method, path)
        known = found.get(key)
        if known is not None:
            slots = {p.slot for p in known.params}
            new = [p for p in new if p.slot not in slots]
            found[key] = known.with_params(known.params + tuple(new))
        else:
            found[key] = Endpoint(method, path, tuple(new), body=body, origin="crawl")

    while queue and len(seen) < pages:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        reply = send(Request(method="GET", path=path))
        if reply.status in (404, 405):
            found.pop(("GET", path), None)  # a link to nowhere (or no index page) is no endpoint
            continue
        note("GET", path, [])
        if reply.status >= 400 or not reply.is_html or not reply.body:
            continue
        links = scan_links(reply.text)
        for href in links.links:
            local = _local(path, href, origin)
            if local is None:
                continue
            target, query = local
            note("GET", target, query)
            if target not in seen and target not in queue:
                queue.append(target)
        for form in links.forms:
            local = _local(path, form.action or path, origin)
            if local is None:
                continue
            target, query = local
            fields = list(form.fields.items())
            if form.method == "POST":
                note("POST", target, fields, body="form")
            else:
                note("GET", target, query + fields)
    return list(found.values())
