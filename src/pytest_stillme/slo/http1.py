"""The HTTP/1.1 the load engine speaks: requests built once, responses framed incrementally.

A load generator spends its CPU per request on the client library's
machinery (request objects, header maps, timers, hooks), and a generator
that saturates its own core measures itself.  The engine therefore builds
each endpoint's request bytes once, and per answer only frames the response:
status line, the three headers that decide framing and reuse
(``Content-Length``, ``Transfer-Encoding``, ``Connection``), and the body's
length (Content-Length, chunked, or until the server closes), which it skips
without keeping it.  One request is in flight per connection (no
pipelining).  Anything that is not HTTP/1.x framing is a
:class:`ProtocolError`, never a guess.  No pytest, no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_HEAD", "ProtocolError", "Response", "ResponseParser", "build_request"]

#: Bytes of a response's status line and headers before it is refused.
MAX_HEAD = 64 * 1024
_NO_BODY = frozenset({204, 304})


class ProtocolError(ValueError):
    """The server's bytes are not an HTTP/1.x response."""


@dataclass(frozen=True)
class Response:
    status: int
    #: Whether the connection may carry the next request.
    keep_alive: bool
    #: Bytes of the body (decoded from chunks when chunked).
    length: int


def build_request(
    method: str, target: str, host: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
) -> bytes:
    """The bytes of one request; ``target`` is the path and query, ``host`` the Host header."""
    given = list(headers)
    for name, value in given:
        if not name or any(c in name for c in "\r\n: ") or "\r" in value or "\n" in value:
            raise ValueError(f"invalid header {name!r}")
    names = {name.lower() for name, _ in given}
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [
        f"{n}: {v}"
        for n, v in (("Host", host), ("User-Agent", "pytest-stillme"), ("Accept", "*/*"))
        if n.lower() not in names
    ]
    lines += [f"{name}: {value}" for name, value in given if name.lower() != "content-length"]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# Parser states.
_HEAD, _FIXED, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE = range(7)


class ResponseParser:
    """Frames one response at a time from the bytes a connection receives.

    Call :meth:`start` before each request (``head=True`` for a HEAD
    request, whose answer has no body), then :meth:`feed` what arrives until
    it returns a :class:`Response`; :meth:`eof` when the server closed.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = _HEAD
        self._head_only = False
        self._status = 0
        self._keep_alive = True
        self._remaining = 0
        self._length = 0

    def start(self, *, head: bool = False) -> None:
        self._state = _HEAD
        self._head_only = head
        self._length = 0

    def feed(self, data: bytes) -> Response | None:
        """Take more bytes; the response once it is complete, else ``None``."""
        buf = self._buf
        buf += data
        while True:
            state = self._state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise ProtocolError(f"response head larger than {MAX_HEAD} bytes")
                    return None
                head = bytes(buf[:end])
                del buf[: end + 4]
                if self._parse_head(head):
                    continue  # an interim 1xx answer: the real one follows
                if self._state != _HEAD:
                    continue
                return self._done()
            if state == _FIXED:
                take = min(self._remaining, len(buf))
                del buf[:take]
                self._remaining -= take
                if self._remaining:
                    return None
                return self._done()
            if state == _CHUNK_SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > 1024:
                        raise ProtocolError("chunk size line too long")
                    return None
                line = bytes(buf[:end]).split(b";", 1)[0].strip()
                del buf[: end + 2]
                try:
                    size = int(line, 16)
                except ValueError:
                    raise ProtocolError(f"invalid chunk size {line[:20]!r}") from None
                if size < 0:
                    raise ProtocolError("negative chunk size")
                if size == 0:
                    self._state = _TRAILERS
                else:
                    self._remaining = size
                    self._length += size
                    self._state = _CHUNK_DATA
                continue
            if state == _CHUNK_DATA:
                take = min(self._remaining, len(buf))
                del buf[:take]
                self._remaining -= take
                if self._remaining:
                    return None
                self._state = _CHUNK_END
                continue
            if state == _CHUNK_END:
                if len(buf) < 2:
                    return None
                if buf[:2] != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")
                del buf[:2]
                self._state = _CHUNK_SIZE
                continue
            if state == _TRAILERS:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise ProtocolError("trailers too long")
                    return None
                del buf[: end + 2]
                if end == 0:
                    return self._done()
                continue
            # _UNTIL_CLOSE: the body ends when the connection does.
            self._length += len(buf)
            buf.clear()
            return None

    def eof(self) -> Response | None:
        """The server closed the connection: the response, if closing completes it, else ``None``."""
        if self._state == _UNTIL_CLOSE:
            self._keep_alive = False
            return self._done()
        return None

    @property
    def idle(self) -> bool:
        """No response begun: nothing received since the last one."""
        return self._state == _HEAD and not self._buf

    def _done(self) -> Response:
        response = Response(self._status, self._keep_alive, self._length)
        self._state = _HEAD
        return response

    def _parse_head(self, head: bytes) -> bool:
        """Read the status line and headers; ``True`` for an interim (1xx) response to skip."""
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:60]!r}")
        status = int(parts[1])
        if status < 100:
            raise ProtocolError(f"invalid status {status}")
        if 100 <= status < 200 and status != 101:
            return True
        version_10 = parts[0] == b"HTTP/1.0"
        length: int | None = None
        chunked = False
        connection = b""
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise ProtocolError(f"invalid header line {line[:60]!r}")
            key = name.strip().lower()
            if key == b"content-length":
                try:
                    new = int(value.strip())
                except ValueError:
                    raise ProtocolError(f"invalid Content-Length {value.strip()[:20]!r}") from None
                if new < 0 or (length is not None and new != length):
                    raise ProtocolError("conflicting or negative Content-Length")
                length = new
            elif key == b"transfer-encoding":
                chunked = value.strip().lower().endswith(b"chunked")
            elif key == b"connection":
                connection = value.strip().lower()
        self._status = status
        if version_10:
            self._keep_alive = b"keep-alive" in connection
        else:
            self._keep_alive = b"close" not in connection
        if self._head_only or status in _NO_BODY:
            self._state = _HEAD
        elif chunked:
            self._state = _CHUNK_SIZE
        elif length is not None:
            self._remaining = length
            self._length = length
            self._state = _FIXED if length else _HEAD
        else:
            self._state = _UNTIL_CLOSE
            self._keep_alive = False
        return False
