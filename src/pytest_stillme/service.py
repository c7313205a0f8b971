"""The service under test: a loopback URL, or an ASGI/WSGI app served in process.

``--stillme-target`` (DAST, deployment checks) and the ``fuzz`` fixture name
what they send requests to in the same two ways:

* a base URL, which must be on loopback (``127.0.0.0/8``, ``::1``,
  ``localhost``) unless the user allowed other hosts explicitly: stillme
  generates attack payloads and load, and must never point them at a host
  nobody meant;
* an import string ``module:attribute`` naming an ASGI or WSGI app, served on
  an ephemeral loopback port for as long as it is needed (uvicorn for ASGI,
  the standard library's WSGI server for WSGI), so no server has to be
  started by hand.

No pytest here: the scanners and the ``stillme`` command use it too.
"""

from __future__ import annotations

import importlib
import inspect
import ipaddress
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

__all__ = [
    "ServiceTarget",
    "TargetError",
    "app_kind",
    "check_loopback",
    "is_loopback_host",
    "load_app",
    "open_target",
    "parse_target",
    "serve_app",
]

ALLOW_HINT = "set allow_remote = true in [tool.stillme] (or STILLME_ALLOW_REMOTE=1) if you own that host"


class TargetError(ValueError):
    """A target that cannot be used: the message says why and what to do."""


def is_loopback_host(host: str) -> bool:
    """``127.0.0.0/8``, ``::1`` (with or without brackets) and the name ``localhost``."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def check_loopback(url: str, *, allow_remote: bool = False, what: str = "target") -> str:
    """Validate a base URL; return it without a trailing slash. Refuse other hosts unless allowed."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"invalid {what} URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"invalid {what} URL {url!r}: expected http://HOST[:PORT][/PATH]")
    if port == 0:
        raise TargetError(f"invalid {what} URL {url!r}: port 0")
    if not allow_remote and not is_loopback_host(parts.hostname):
        raise TargetError(
            f"refusing {what} {url!r}: {parts.hostname} is not a loopback address, and stillme sends "
            f"attack payloads and load; use 127.0.0.1, [::1] or localhost, or {ALLOW_HINT}"
        )
    return text.rstrip("/")


@dataclass(frozen=True)
class ServiceTarget:
    """What ``--stillme-target`` named: exactly one of ``url`` and ``app_ref``."""

    url: str = ""
    app_ref: str = ""

    def describe(self) -> str:
        return self.url or f"app {self.app_ref} (served in process)"


def parse_target(text: str, *, allow_remote: bool = False) -> ServiceTarget:
    """A loopback URL (others only when allowed) or a ``module:attribute`` import string."""
    value = text.strip()
    if not value:
        raise TargetError("empty target: give a URL such as http://127.0.0.1:8000 or an app as module:attribute")
    if "://" in value:
        return ServiceTarget(url=check_loopback(value, allow_remote=allow_remote))
    module, sep, attr = value.partition(":")
    if not sep or not module or not attr or not all(p.isidentifier() for p in (*module.split("."), *attr.split("."))):
        raise TargetError(
            f"invalid target {text!r}: expected a URL (http://127.0.0.1:8000) or an import string "
            "module:attribute naming an ASGI or WSGI app (inventory.app:app)"
        )
    return ServiceTarget(app_ref=value)


def load_app(ref: str, root: Path | None = None) -> Any:
    """Import ``module:attribute`` (the root and its ``src/`` first on ``sys.path``, as pytest's rootdir)."""
    module_name, _, attr = ref.partition(":")
    added: list[str] = []
    for folder in (root, root / "src" if root else None):
        if folder is not None and folder.is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
            added.append(str(folder))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise TargetError(f"cannot import {module_name!r} for target {ref!r}: {type(exc).__name__}: {exc}") from None
    finally:
        for entry in added:
            if entry in sys.path:
                sys.path.remove(entry)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"target {ref!r}: module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise TargetError(f"target {ref!r} is a {type(obj).__name__}, not an ASGI or WSGI app")
    return obj


def app_kind(app: Any) -> str:
    """``"asgi"`` for an ASGI app (an async callable of three arguments), else ``"wsgi"``."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    if inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(app):
        return "asgi"
    return "wsgi"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr: the session's output stays the user's."""


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI or WSGI app on ``127.0.0.1`` at a free port; yield its base URL."""
    if app_kind(app) == "asgi":
        with _serve_asgi(app) as url:
            yield url
    else:
        with _serve_wsgi(app) as url:
            yield url


@contextmanager
def _serve_wsgi(app: Callable[..., Any]) -> Iterator[str]:
    server = _ThreadingWSGIServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, name="stillme-wsgi", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def _serve_asgi(app: Any) -> Iterator[str]:
    try:
        import uvicorn
    except ImportError:
        raise TargetError(
            "serving an ASGI app in process needs uvicorn: pip install uvicorn (or give a URL target)"
        ) from None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="auto", log_level="error", access_log=False, ws="none")
    started = threading.Event()
    failure: list[BaseException] = []

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().startup(sockets=sockets)
            finally:
                started.set()

    server = _Server(config)

    def run() -> None:
        import asyncio

        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
        finally:
            started.set()

    thread = threading.Thread(target=run, name="stillme-asgi", daemon=True)
    thread.start()
    started.wait(timeout=60)
    if failure or server.should_exit or not server.started:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        why = f": {failure[0]}" if failure else ""
        raise TargetError(f"the ASGI app could not be started{why}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def open_target(target: ServiceTarget, root: Path | None = None) -> Iterator[str]:
    """The target's base URL for the duration: a URL as given, an app served on loopback."""
    if target.url:
        yield target.url
        return
    app = load_app(target.app_ref, root)
    with serve_app(app) as url:
        yield url
