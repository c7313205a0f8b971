"""The built-in checks on single responses, and the target check for debug mode.

Each looks at one exchange and is cheap (a few compiled regular expressions
over at most the first 256 KiB of the body): they run on every request.
The differential checks live in :mod:`.probes`.
"""

from __future__ import annotations

import importlib
import re
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.findings import Severity
from .checks import Check
from .model import Exchange, Failure
from .payloads import CMD_MARKER, HEADER_MARKER, TEMPLATE_MARKER

__all__ = ["app_frame", "response_checks", "slow_check", "target_checks"]

_SCAN = 256 * 1024

_TRACES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "python traceback",
        re.compile(
            r"Traceback \(most recent call last\)|File &quot;[^&]+&quot;, line \d+|"
            r"File \"[^\"]+\", line \d+, in "
        ),
    ),
    ("Starlette debug page", re.compile(r"<title>Starlette Debugger</title>")),
    ("Werkzeug debugger", re.compile(r"// Werkzeug Debugger</title>|<div class=\"debugger\">")),
    ("Django debug page", re.compile(r"because you have <code>DEBUG = True</code>")),
    ("Java stack trace", re.compile(r"\bat [\w$.]+\([\w$]+\.java:\d+\)|java\.lang\.\w+(Exception|Error)\b")),
    (".NET error page", re.compile(r"Server Error in '[^']*' Application|\bat [\w.<>`]+ in [^\n]+\.cs:line \d+")),
    (
        "PHP error",
        re.compile(r"<b>(Fatal error|Parse error|Warning)</b>:.{0,300} on line <b>\d+</b>|PHP (Fatal|Parse) error"),
    ),
    ("Node.js stack trace", re.compile(r"\n\s+at [^\n]{1,200}\((/[^)\n]+\.m?js):\d+:\d+\)")),
    ("Ruby backtrace", re.compile(r"\.rb:\d+:in `")),
    ("Go panic", re.compile(r"goroutine \d+ \[running\]:")),
)

_SQL_ERRORS = re.compile(
    r"sqlite3?\.\w*Error|SQLITE_ERROR|unrecognized token: |near \\?\"[^\"\n]{0,80}\\?\": syntax error|"
    r"no such column: |unterminated quoted string|You have an error in your SQL syntax|"
    r"check the manual that corresponds to your (MySQL|MariaDB) server version|MySQLSyntaxErrorException|"
    r"syntax error at or near|PG::SyntaxError|psycopg2?\.errors\.|invalid input syntax for (type )?\w+|"
    r"Unclosed quotation mark after the character string|Incorrect syntax near|SqlException|"
    r"ORA-\d{5}|quoted string not properly terminated|SQLSTATE\[|java\.sql\.SQLException|"
    r"OperationalError: |ProgrammingError: |sqlalchemy\.exc\.",
    re.IGNORECASE,
)
_SQL_EXCEPTIONS = re.compile(r"sqlite3|psycopg|mysql|pymysql|sqlalchemy|OperationalError|ProgrammingError", re.I)
_FILE_CONTENT = re.compile(
    r"root:[x*!]?:0:0:|\bdaemon:[x*!]?:1:1:|\[boot loader\]|; for 16-bit app support|"
    r"-----BEGIN (RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----"
)
_MARKUP = re.compile(r"<[A-Za-z!/][^<>]*>?")
_PLAIN = re.compile(r"[A-Za-z0-9 _.,:@+-]*")
_LIBRARY = tuple(
    {str(Path(p)) for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_paths().get(key))}
    | {str(Path(__file__).resolve().parent.parent)}
)


def _body(exchange: Exchange) -> str:
    return exchange.reply.body[:_SCAN].decode("utf-8", "replace")


def _around(text: str, start: int, end: int, width: int = 120) -> str:
    left = max(0, start - width)
    return ("..." if left else "") + text[left : end + width] + ("..." if end + width < len(text) else "")


def _blame(exchange: Exchange, needle: str | tuple[str, ...]) -> str:
    """The parameter to name: the one whose value carries ``needle``, else the only one with odd characters."""
    needles = (needle,) if isinstance(needle, str) else needle
    strings = exchange.request.strings()
    tests: tuple[Callable[[str], bool], ...] = (
        lambda v: any(n in v for n in needles),
        lambda v: not _PLAIN.fullmatch(v),
        lambda v: True,
    )
    for test in tests:
        slots = {slot for slot, value in strings if test(value)}
        if len(slots) == 1:
            return exchange.param_label(slots.pop())
    return ""


def _library(file: str) -> bool:
    return file.startswith(_LIBRARY) or "site-packages" in file or "dist-packages" in file or file.startswith("<")


def app_frame(frames: tuple[tuple[str, int, str], ...]) -> tuple[str, int, str]:
    """The innermost frame in the app's own code (not the standard library, an installed package or stillme)."""
    for frame in reversed(frames):
        if not _library(frame[0]):
            return frame
    return frames[-1] if frames else ("", 0, "")


def _in_request(exchange: Exchange, marker: str) -> bool:
    return any(marker in value for _, value in exchange.request.strings())


def server_error(exchange: Exchange) -> Failure | None:
    """Server error (5xx), or an exception raised through the transport."""
    reply = exchange.reply
    if reply.exception is not None:
        error = reply.exception
        frame = app_frame(error.frames)
        where = f" in {frame[2]}() at {frame[0].rsplit('/', 1)[-1]}:{frame[1]}" if frame[0] else ""
        status = f"answered {reply.status} after" if reply.status else "raised"
        return exchange.fail(
            f"{status} an unhandled {error.describe()}{where}",
            evidence=error.describe(),
            key=f"{error.type}@{frame[0]}:{frame[1]}",
        )
    if reply.status >= 500 and reply.status not in exchange.endpoint_expect:
        return exchange.fail(f"answered {reply.status}", evidence=reply.excerpt(), key=str(reply.status))
    return None


def stack_trace(exchange: Exchange) -> Failure | None:
    """A traceback, debug page or framework error page in the response body."""
    if not exchange.reply.body:
        return None
    text = _body(exchange)
    for name, pattern in _TRACES:
        match = pattern.search(text)
        if match:
            return exchange.fail(
                f"the response shows a {name}", evidence=_around(text, match.start(), match.end()), key=name
            )
    return None


def sql_error(exchange: Exchange) -> Failure | None:
    """Database error text in the response (or a database exception raised by the app)."""
    text = _body(exchange)
    match = _SQL_ERRORS.search(text) if text else None
    error = exchange.reply.exception
    if match is None and not (error is not None and _SQL_EXCEPTIONS.search(error.type)):
        return None
    param = _blame(exchange, ("'", '"', "`", "\\"))
    if match is not None:
        return exchange.fail(
            f"the response shows database error text ({match.group(0).strip()})",
            param=param,
            evidence=_around(text, match.start(), match.end()),
        )
    assert error is not None
    return exchange.fail(
        f"the app raised a database error ({error.describe()})", param=param, evidence=error.describe()
    )


def xss_reflection(exchange: Exchange) -> list[Failure]:
    """Input with markup reflected unescaped in an HTML page."""
    reply = exchange.reply
    if not reply.body or not reply.is_html:
        return []
    text = _body(exchange)
    found: dict[str, Failure] = {}
    for slot, value in exchange.request.strings():
        if "<" not in value or slot in found:
            continue
        tokens = [value] + [t for t in _MARKUP.findall(value) if len(t) >= 4]
        for token in tokens:
            at = text.find(token)
            if at >= 0 and _MARKUP.search(token):
                label = exchange.param_label(slot)
                found[slot] = exchange.fail(
                    f"input {token[:60]!r} is reflected unescaped in the HTML page",
                    param=label,
                    evidence=_around(text, at, at + len(token)),
                )
                break
    return list(found.values())


def file_disclosure(exchange: Exchange) -> Failure | None:
    """File content in the response: /etc/passwd, win.ini, a private key (path traversal)."""
    text = _body(exchange)
    match = _FILE_CONTENT.search(text) if text else None
    if match is None:
        return None
    param = _blame(exchange, ("..", "passwd", "win.ini", "file:"))
    return exchange.fail(
        f"the response shows file content ({match.group(0)})",
        param=param,
        evidence=_around(text, match.start(), match.end()),
    )


def _marker_check(marker: str, what: str, needle: tuple[str, ...]) -> Any:
    def run(exchange: Exchange) -> Failure | None:
        text = _body(exchange)
        at = text.find(marker) if text else -1
        if at < 0 or _in_request(exchange, marker):
            return None
        return exchange.fail(
            f"the response shows {marker}, the result of an injected {what}",
            param=_blame(exchange, needle),
            evidence=_around(text, at, at + len(marker)),
        )

    return run


def header_injection(exchange: Exchange) -> Failure | None:
    """Input with CR/LF became a header of the response (response splitting)."""
    for name, value in exchange.reply.headers:
        if name.lower() == HEADER_MARKER.lower() or "\r" in value or "\n" in value or "stillme=1" in value:
            return exchange.fail(
                f"input with CR/LF reached the response headers ({name}: {value[:80]!r})",
                param=_blame(exchange, ("\r", "\n")),
                evidence=f"{name}: {value[:200]}",
            )
    return None


def dropped_connection(exchange: Exchange) -> Failure | None:
    """The connection was closed without a response (a crashed worker, an app that never answered)."""
    if exchange.reply.error == "dropped":
        return exchange.fail("the connection was closed without a response", evidence=exchange.reply.describe())
    return None


def timeout(exchange: Exchange) -> Failure | None:
    """No response within the per-request timeout: a hanging request."""
    if exchange.reply.error == "timeout":
        return exchange.fail(f"no response within {exchange.reply.elapsed:.1f} s (the request hangs)")
    return None


def _slow_check(budget: float) -> Any:
    def slow_response(exchange: Exchange) -> Failure | None:
        reply = exchange.reply
        if not reply.error and reply.elapsed > budget:
            return exchange.fail(
                f"answered after {reply.elapsed:.2f} s, over the {budget:g} s budget (ReDoS or unbounded work?)",
                evidence=reply.describe(),
            )
        return None

    return slow_response


def unexpected_status(exchange: Exchange) -> Failure | None:
    """A status outside the responses the test declared as expected for the endpoint."""
    expected = exchange.endpoint_expect
    status = exchange.reply.status
    if expected and status and status not in expected:
        shown = ", ".join(str(s) for s in sorted(expected))
        return exchange.fail(
            f"answered {status}, expected one of {shown}", evidence=exchange.reply.excerpt(), key=str(status)
        )
    return None


def response_checks(*, slow: float | None) -> list[Check]:
    high, medium, critical = Severity.HIGH, Severity.MEDIUM, Severity.CRITICAL
    checks = [
        Check("server-error", high, server_error, "Server error", "handle bad input with a 4xx answer", (755,)),
        Check(
            "stack-trace",
            medium,
            stack_trace,
            "Stack trace or debug page in a response",
            "turn debug mode off and answer errors with a generic message",
            (209,),
        ),
        Check(
            "sql-error",
            high,
            sql_error,
            "Database error text in a response",
            "use parameterised queries and never show database errors",
            (89, 209),
        ),
        Check(
            "xss-reflection",
            high,
            xss_reflection,
            "Input reflected unescaped in HTML",
            "escape every value put into HTML (use an auto-escaping template engine)",
            (79,),
            group="xss",
        ),
        Check(
            "file-disclosure",
            high,
            file_disclosure,
            "File content disclosed (path traversal)",
            "resolve paths and check they stay inside the allowed folder",
            (22,),
        ),
        Check(
            "template-injection",
            high,
            _marker_check(TEMPLATE_MARKER, "template expression", ("7777",)),
            "Server-side template injection",
            "never render user input as a template",
            (1336,),
        ),
        Check(
            "command-injection",
            critical,
            _marker_check(CMD_MARKER, "shell command", ("stillme$",)),
            "OS command injection",
            "pass arguments as a list, never through a shell",
            (78,),
        ),
        Check(
            "header-injection",
            high,
            header_injection,
            "CR/LF injection into response headers",
            "reject or encode CR and LF in values put into headers",
            (113,),
        ),
        Check(
            "dropped-connection",
            high,
            dropped_connection,
            "Connection dropped without a response",
            "find what kills the worker for this request",
            (400,),
        ),
        Check("timeout", high, timeout, "Request hangs", "bound the work a request can cause", (400,), shrink=False),
        Check(
            "unexpected-status",
            medium,
            unexpected_status,
            "Status outside the expected responses",
            "answer with one of the documented statuses",
            (393,),
        ),
    ]
    if slow is not None:
        checks.append(slow_check(slow))
    return checks


def slow_check(budget: float) -> Check:
    """The ``slow-response`` check with a response-time budget in seconds."""
    return Check(
        "slow-response",
        Severity.MEDIUM,
        _slow_check(budget),
        "Response slower than the budget",
        "bound the work a request can cause (regular expressions, loops, sizes)",
        (1333, 400),
        shrink=False,
        confidence="medium",
    )


def debug_mode(app: Any) -> Failure | None:
    """The app runs in debug mode (Flask, Starlette, Django): errors show code and settings."""
    framework = ""
    if getattr(app, "url_map", None) is not None and getattr(app, "debug", False) is True:
        framework = "Flask"
    elif getattr(app, "router", None) is not None and getattr(app, "debug", False) is True:
        framework = "Starlette"
    elif type(app).__module__.startswith("django."):
        try:
            settings = importlib.import_module("django.conf").settings
            framework = "Django" if settings.configured and settings.DEBUG else ""
        except Exception:  # django not importable or settings broken: nothing to say
            framework = ""
    if not framework:
        return None
    return Failure("", f"the {framework} app runs in debug mode (errors show code, settings and a console)")


def target_checks() -> list[Check]:
    return [
        Check(
            "debug-mode",
            Severity.HIGH,
            debug_mode,
            "Debug mode on",
            "turn debug mode off outside development",
            (489, 215),
            kind="target",
        ),
    ]
