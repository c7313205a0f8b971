"""The fuzzer's plain data: what to fuzz (endpoints, parameters), what was sent and what came back.

An :class:`Endpoint` is a method and a path template (``/items/{item_id}``)
with its :class:`Param` list; a :class:`Request` is one concrete request built
from it; a :class:`Reply` is what the target answered (or did not: a timeout,
a dropped connection, an exception raised through the transport); an
:class:`Exchange` is the pair, which is what every check looks at.  A check
reports a :class:`Failure`.

No pytest, hypothesis or httpx here: the engine, the checks and the reports share it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "LOCATIONS",
    "AppError",
    "Endpoint",
    "Exchange",
    "Failure",
    "FuzzError",
    "Param",
    "Reply",
    "Request",
    "SourceRef",
    "template_params",
]

#: Where a parameter goes; ``body`` is a whole JSON body that is not an object.
LOCATIONS = ("path", "query", "header", "cookie", "form", "json", "body")
#: What a parameter holds, as far as discovery could tell.
KINDS = ("string", "integer", "number", "boolean", "array", "object", "any")

_TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.\-]*)(?::([A-Za-z_]+))?\}")
_CONVERTER_KINDS = {"int": "integer", "float": "number", "path": "path", "uuid": "uuid", "str": "string"}


class FuzzError(Exception):
    """The fuzzer could not do its job (bad input, unreachable target): a message that says what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


def template_params(path: str) -> list[tuple[str, str]]:
    """The ``{name}`` / ``{name:int}`` parameters of a path template, with their kind."""
    return [(m.group(1), _CONVERTER_KINDS.get(m.group(2) or "", "string")) for m in _TEMPLATE.finditer(path)]


def plain_template(path: str) -> str:
    """``/items/{item_id:int}`` as ``/items/{item_id}``: converters are the framework's business."""
    return _TEMPLATE.sub(lambda m: "{" + m.group(1) + "}", path)


@dataclass(frozen=True)
class SourceRef:
    """Where a route's handler is: an absolute file, its line, its name."""

    file: str
    line: int
    name: str = ""


@dataclass(frozen=True)
class Param:
    """One parameter of an endpoint.

    ``example`` is a plain example value or a hypothesis strategy (``has_example``
    says whether one was given at all); ``kind`` guides the values generated
    around it.
    """

    name: str
    location: str
    example: Any = None
    has_example: bool = False
    kind: str = "string"
    required: bool = True
    enum: tuple[Any, ...] = ()
    #: Where it was learned: declared, openapi, routes, hints, crawl.
    origin: str = "declared"

    def __post_init__(self) -> None:
        if self.location not in LOCATIONS:
            raise ValueError(f"unknown parameter location {self.location!r} (use {', '.join(LOCATIONS)})")

    @property
    def label(self) -> str:
        """How findings name it: ``q`` for query parameters, ``header X-Token``, ``json price``."""
        if self.location in ("query", "form"):
            return self.name
        if self.location == "body":
            return "body"
        return f"{self.location} {self.name}"

    @property
    def slot(self) -> str:
        """A key unique within an endpoint."""
        return f"{self.location}:{self.name}"


@dataclass(frozen=True)
class Endpoint:
    """A method and a path template, with its parameters and (when known) its handler."""

    method: str
    path: str
    params: tuple[Param, ...] = ()
    #: The body's shape: "" (none), "json" (an object of ``json`` params or one ``body`` param), "form".
    body: str = ""
    source: SourceRef | None = None
    origin: str = "declared"
    operation_id: str = ""
    #: Statuses the test declared as expected (``expect=``): others are findings, these never are.
    expect: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        if not self.path.startswith("/"):
            object.__setattr__(self, "path", "/" + self.path)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def param(self, slot: str) -> Param | None:
        return next((p for p in self.params if p.slot == slot), None)

    def with_params(self, params: tuple[Param, ...], **changes: Any) -> Endpoint:
        return replace(self, params=params, **changes)


@dataclass(frozen=True)
class Request:
    """One concrete request: everything needed to send it again (and to write it as curl)."""

    method: str
    #: The concrete path, percent-encoded.
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    content_type: str = ""
    #: The value each parameter was given, by ``Param.slot`` (what reflection checks look for).
    values: Mapping[str, Any] = field(default_factory=dict)
    #: How the body was sent: "", "json", "form", or a deliberate fault ("malformed", "wrong-type", ...).
    body_mode: str = ""

    def key(self) -> bytes:
        """A digest of what goes on the wire: equal requests are one request (the cache's key)."""
        hasher = hashlib.blake2b(digest_size=16)
        for part in (
            self.method,
            self.path,
            repr(self.query),
            repr(self.headers),
            repr(self.cookies),
            self.content_type,
        ):
            hasher.update(part.encode("utf-8", "surrogatepass"))
            hasher.update(b"\x1f")
        hasher.update(self.body or b"")
        return hasher.digest()

    def strings(self) -> list[tuple[str, str]]:
        """Every parameter value that is (or contains) text, by slot: what a response may reflect."""
        found: list[tuple[str, str]] = []
        for slot, value in self.values.items():
            _collect_strings(slot, value, found, depth=0)
        return found


def _collect_strings(slot: str, value: Any, found: list[tuple[str, str]], depth: int) -> None:
    if depth > 4:
        return
    if isinstance(value, str):
        found.append((slot, value))
    elif isinstance(value, Mapping):
        for item in list(value.values())[:50]:
            _collect_strings(slot, item, found, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value[:50]:
            _collect_strings(slot, item, found, depth + 1)


@dataclass(frozen=True)
class AppError:
    """An exception the app raised through the transport (an in-process app): a server error."""

    type: str
    message: str
    #: (file, line, function) of each frame, innermost last.
    frames: tuple[tuple[str, int, str], ...] = ()

    def describe(self) -> str:
        text = f"{self.type}: {self.message}" if self.message else self.type
        return text if len(text) <= 300 else text[:297] + "..."


@dataclass(frozen=True)
class Reply:
    """What the target answered; ``status`` is 0 when nothing came back (see ``error``)."""

    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    elapsed: float = 0.0
    #: "" (a response), "timeout", "dropped" (connection closed, no response), or "client: ..." (not sent).
    error: str = ""
    exception: AppError | None = None
    #: The body was cut at the fuzzer's read limit.
    truncated: bool = False

    def header(self, name: str) -> str:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), "")

    @property
    def content_type(self) -> str:
        return self.header("content-type").split(";", 1)[0].strip().lower()

    @property
    def is_html(self) -> bool:
        kind = self.content_type
        return kind in ("text/html", "application/xhtml+xml") or (not kind and self.body.lstrip()[:1] == b"<")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def excerpt(self, limit: int = 300) -> str:
        text = self.text
        return text if len(text) <= limit else text[:limit] + f"... ({len(self.body)} bytes)"

    def describe(self) -> str:
        """One line: ``500 text/html, 1234 bytes, 0.012 s`` or ``timeout after 5.0 s``."""
        if self.error:
            return f"{self.error} after {self.elapsed:.3f} s" if self.error in ("timeout", "dropped") else self.error
        kind = self.content_type or "no content type"
        return f"{self.status} {kind}, {len(self.body)} bytes, {self.elapsed:.3f} s"


@dataclass(frozen=True)
class Exchange:
    """A request and the reply to it: what every check is given."""

    endpoint: Endpoint
    request: Request
    reply: Reply

    def fail(self, message: str, *, param: str = "", evidence: str = "", key: str = "") -> Failure:
        """A failure of this exchange (the check's name is filled in by the registry)."""
        return Failure("", message, param=param, evidence=evidence, key=key)

    @property
    def endpoint_expect(self) -> frozenset[int]:
        return self.endpoint.expect

    def param_label(self, slot: str) -> str:
        param = self.endpoint.param(slot)
        return param.label if param is not None else slot.partition(":")[2]


@dataclass(frozen=True)
class Failure:
    """One problem a check saw in one exchange.

    Two failures with the same check (or check group), endpoint, parameter and
    ``key`` are the same finding; ``key`` tells apart distinct problems one
    check finds at one place (two exception types, two status codes).
    """

    check: str
    message: str
    param: str = ""
    evidence: str = ""
    key: str = ""
