"""One fuzz call from start to end: the target, what to fuzz, the phases, the result.

A URL target is checked before anything is sent: outside loopback it is
refused unless ``allow_remote`` (an explicit setting) says otherwise.  No
pytest here; the fixture in :mod:`.plugin` wraps this.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..service import TargetError, app_kind, check_loopback
from .checks import CheckRegistry
from .discovery import apply_exclusions, apply_expect, attach_sources, merge, served_document
from .engine import Found, FuzzOptions, Progress, Runner
from .model import Endpoint, FuzzError, Request

__all__ = ["FuzzResult", "app_reference", "run_fuzz"]

_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: How long a request may block its worker beyond its timeout, and an app its startup.
_GRACE = 1.0
_STARTUP = 60.0


@dataclass
class FuzzResult:
    """What one fuzz call did and found."""

    target: str
    kind: str
    base_url: str
    app_ref: str = ""
    endpoints: tuple[Endpoint, ...] = ()
    found: list[Found] = field(default_factory=list)
    requests: int = 0
    elapsed: float = 0.0
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0


def app_reference(app: Any, root: Path | None) -> str:
    """``module:attribute`` naming ``app`` in a loaded module of the project (for reproducers), or ""."""
    base = str(root.resolve()) if root is not None else os.getcwd()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if not file.startswith(base) or "site-packages" in file:
            continue
        for attr, value in list(vars(module).items()):
            if value is app and not attr.startswith("_"):
                return f"{name}:{attr}"
    return ""


def _document(openapi: Any, runner: Runner, root: Path | None) -> tuple[dict[str, Any], str]:
    from .openapi import load_document

    if isinstance(openapi, Mapping):
        return dict(openapi), "the given OpenAPI document"
    text = os.fspath(openapi) if isinstance(openapi, (str, os.PathLike)) else None
    if text is None:
        raise FuzzError(f"openapi= takes a dict, a file path or a path on the target, not {type(openapi).__name__}")
    if text.startswith("/") and not Path(text).exists():
        import json

        reply = runner.send(Request("GET", text)).reply
        if reply.status != 200:
            raise FuzzError(f"the target answered {reply.describe()} for the OpenAPI document {text}")
        try:
            data = json.loads(reply.body)
        except ValueError as exc:
            raise FuzzError(f"the OpenAPI document at {text} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise FuzzError(f"the OpenAPI document at {text} is not a JSON object")
        return data, text
    path = Path(text)
    if not path.is_absolute() and root is not None and (root / path).exists():
        path = root / path
    return load_document(path), str(openapi)


def _discover(
    app: Any,
    runner: Runner,
    *,
    openapi: Any,
    endpoints: Sequence[Endpoint] | None,
    options: FuzzOptions,
    root: Path | None,
) -> list[Endpoint]:
    from .crawl import crawl
    from .openapi import endpoints_from_openapi
    from .routes import routes_of

    routes = routes_of(app) if app is not None else []
    skip: set[str] = set()
    if endpoints is not None:
        bad = [e for e in endpoints if not isinstance(e, Endpoint)]
        if bad:
            raise FuzzError(f"endpoints= takes fuzz.endpoint(...) values, not {type(bad[0]).__name__}")
        chosen = list(endpoints)
    elif openapi is not None:
        given, source = _document(openapi, runner, root)
        chosen = endpoints_from_openapi(given, source)
    else:
        document: Mapping[str, Any] | None = None
        source = ""
        maker = getattr(app, "openapi", None) if app is not None else None
        if callable(maker):
            try:
                made = maker()
                if isinstance(made, Mapping):
                    document, source = made, "the app's openapi()"
            except Exception as exc:
                runner.notes.append(f"the app's openapi() failed ({type(exc).__name__}: {exc}); routes used instead")
        if document is None:
            served = served_document(lambda request: runner.send(request).reply)
            if served is not None:
                skip.add(served[0])
                document, source = served[1], f"the document served at {served[0]}"
        from_document = endpoints_from_openapi(document, source) if document is not None else []
        crawled = crawl(lambda request: runner.send(request).reply, pages=options.crawl)
        chosen = merge(from_document, routes, crawled)
    chosen = [e for e in attach_sources(chosen, routes) if e.method in _VERBS and e.path not in skip]
    chosen = apply_exclusions(chosen, options.exclude, options.exclude_methods)
    return apply_expect(chosen, options.expect)


def run_fuzz(
    target: Any,
    *,
    options: FuzzOptions,
    registry: CheckRegistry,
    openapi: Any = None,
    endpoints: Sequence[Endpoint] | None = None,
    allow_remote: bool = False,
    root: Path | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> FuzzResult:
    """Fuzz an ASGI/WSGI app in process, or a base URL (loopback unless ``allow_remote``)."""
    from .targets import open_sender
    from .watch import watched

    if isinstance(target, str):
        try:
            url = check_loopback(target, allow_remote=allow_remote, what="fuzz target")
        except TargetError as exc:
            raise FuzzError(str(exc)) from None
        app, kind, described = None, "url", url
    elif callable(target):
        app, kind, url = target, app_kind(target), ""
        described = f"{type(target).__module__}.{type(target).__qualname__} ({app_kind(target).upper()}, in process)"
    else:
        raise FuzzError(f"fuzz() takes an ASGI or WSGI app or a base URL, not {type(target).__name__}")
    found_target = _target_checks(app, registry) if app is not None else []
    runner = Runner(registry, options)
    heartbeat = runner.heartbeat
    timeout_check = registry.get("timeout") if registry.is_enabled("timeout") else None

    def limit(what: object) -> float:
        return _STARTUP if what == "startup" else options.timeout + _GRACE

    def work(generation: int) -> None:
        heartbeat.begin("startup")
        sender = open_sender(url or app, kind=kind)
        heartbeat.end()
        if generation != heartbeat.generation:
            sender.discard()
            return  # left behind while starting
        runner.bind(sender, generation)
        try:
            if runner.endpoints is None:
                if kind == "url":
                    first = runner.send(Request("GET", "/")).reply
                    if first.error.startswith("client:") or first.error == "timeout":
                        raise FuzzError(
                            f"cannot reach {url}: {first.error.removeprefix('client: ')}",
                            "start the service first (or fuzz the app object in process)",
                        )
                chosen = _discover(app, runner, openapi=openapi, endpoints=endpoints, options=options, root=root)
                if not chosen:
                    raise FuzzError(
                        f"nothing to fuzz on {described}: no OpenAPI document, no routes, no links from /",
                        "declare endpoints with fuzz.endpoint(...) or give openapi=",
                    )
                runner.endpoints = chosen
            runner.run()
        finally:
            if generation == heartbeat.generation:
                sender.close()
            else:
                sender.discard()

    watched(
        work,
        heartbeat=heartbeat,
        limit=limit,
        on_stuck=lambda what: runner.stuck(what, limit(what), timeout_check),
        on_tick=(lambda: progress(runner.progress())) if progress is not None else lambda: None,
    )
    result = FuzzResult(
        target=described,
        kind=kind,
        base_url=url or "http://127.0.0.1:8000",
        app_ref=app_reference(app, root) if app is not None and (runner.found or found_target) else "",
        endpoints=tuple(runner.endpoints or ()),
        found=found_target + list(runner.found.values()),
        requests=runner.requests,
        elapsed=time.monotonic() - runner.start,
        seed=runner.seed,
        notes=runner.notes,
    )
    return result


def _target_checks(app: Any, registry: CheckRegistry) -> list[Found]:
    from .model import Exchange, Reply

    found = []
    for chk in registry.enabled("target"):
        for failure in chk.run(app):
            exchange = Exchange(Endpoint("GET", "/", origin="app"), Request("GET", "/"), Reply())
            found.append(Found(chk, failure, exchange))
    return found
