"""A failing request as a ``curl`` command and as a short Python snippet (both redacted by the caller)."""

from __future__ import annotations

import re
import shlex

from .model import Request
from .targets import _headers, _url

__all__ = ["curl", "python_snippet"]

_LARGE = 2000
_RUN = re.compile(rb"(.)\1{999,}", re.DOTALL)


def _sh(text: str) -> str:
    """Shell quoting that survives control characters (bash's $'...' for those)."""
    if all(c >= " " or c == "\t" for c in text):
        return shlex.quote(text)
    escaped = "".join(
        c
        if c >= " " and c not in "\\'"
        else {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(
            c, f"\\x{ord(c):02x}" if ord(c) < 256 else c
        )
        for c in text
    )
    return f"$'{escaped}'"


def _body_expression(request: Request) -> str:
    """The body as a short Python expression (large deliberate bodies as the code that makes them)."""
    body = request.body or b""
    if request.body_mode == "deep":
        half = body.count(b"[")
        return f'b"[" * {half} + b"]" * {half}'
    run = _RUN.search(body) if len(body) > _LARGE else None
    if run is not None:
        return f"{body[: run.start()]!r} + {run.group(1)!r} * {run.end() - run.start()} + {body[run.end() :]!r}"
    return repr(body)


def curl(request: Request, base_url: str) -> str:
    """The request as one curl command line."""
    words = ["curl", "-sS", "-i"]
    if request.method != "GET" or request.body is not None:
        words += ["-X", request.method]
    words.append(_sh(base_url + _url(request)))
    for name, value in _headers(request):
        words += ["-H", _sh(f"{name}: {value}")]
    prefix = ""
    if request.body is not None:
        body = request.body
        if len(body) > _LARGE or b"\x00" in body:
            code = f"import sys; sys.stdout.buffer.write({_body_expression(request)})"
            prefix = f"python3 -c {_sh(code)} | "
            words += ["--data-binary", "@-"]
        else:
            words += ["--data-binary", _sh(body.decode("utf-8", "backslashreplace"))]
    return prefix + " ".join(words)


def _call_args(request: Request) -> str:
    args = [repr(request.method), repr(_url(request))]
    headers = _headers(request)
    if headers:
        args.append(f"headers={dict(headers)!r}")
    if request.body is not None:
        args.append(f"content={_body_expression(request)}")
    return ", ".join(args)


def python_snippet(request: Request, *, kind: str, base_url: str, app_ref: str) -> str:
    """A few lines of Python with httpx that send the request to the same target."""
    call = _call_args(request)
    if kind == "url":
        return "\n".join(
            [
                "import httpx",
                f"with httpx.Client(base_url={base_url!r}) as c:",
                f"    response = c.request({call})",
                "    print(response.status_code, response.text[:500])",
            ]
        )
    module, _, attr = app_ref.partition(":")
    imported = f"from {module} import {attr} as app" if app_ref else "app = ...  # the app under test"
    if kind == "asgi":
        return "\n".join(
            [
                "import asyncio, httpx",
                imported,
                "async def main():",
                "    transport = httpx.ASGITransport(app=app)",
                f"    async with httpx.AsyncClient(transport=transport, base_url={base_url!r}) as c:",
                f"        response = await c.request({call})",
                "        print(response.status_code, response.text[:500])",
                "asyncio.run(main())",
            ]
        )
    return "\n".join(
        [
            "import httpx",
            imported,
            f"with httpx.Client(transport=httpx.WSGITransport(app=app), base_url={base_url!r}) as c:",
            f"    response = c.request({call})",
            "    print(response.status_code, response.text[:500])",
        ]
    )
