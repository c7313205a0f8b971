"""The checks one by one: what each flags, what it must not flag, and the registry users extend."""

from __future__ import annotations

import html
import json
import random
import sqlite3
from typing import Any

import pytest

from pytest_stillme.core.findings import Severity
from pytest_stillme.fuzz.builtin import app_frame, debug_mode, response_checks, slow_check
from pytest_stillme.fuzz.checks import Check, CheckRegistry, check, default_registry
from pytest_stillme.fuzz.model import AppError, Endpoint, Exchange, Failure, FuzzError, Param, Reply, Request
from pytest_stillme.fuzz.payloads import CMD_MARKER, HEADER_MARKER, TEMPLATE_MARKER
from pytest_stillme.fuzz.probes import Probe, sql_boolean, sql_union, xss_structure

ENDPOINT = Endpoint("GET", "/search", (Param("q", "query"), Param("page", "query")))
CHECKS = {c.name: c for c in response_checks(slow=1.0)}


def exchange(
    body: str = "",
    *,
    status: int = 200,
    kind: str = "text/html",
    values: dict[str, Any] | None = None,
    headers: tuple[tuple[str, str], ...] = (),
    endpoint: Endpoint = ENDPOINT,
    **reply: Any,
) -> Exchange:
    request = Request("GET", "/search", values=values or {"query:q": "x", "query:page": "1"})
    all_headers = ((("content-type", kind),) if kind else ()) + headers
    return Exchange(endpoint, request, Reply(status=status, headers=all_headers, body=body.encode(), **reply))


def run(name: str, ex: Exchange) -> list[Failure]:
    return CHECKS[name].run(ex)


def test_server_error_names_the_exception_at_the_apps_own_frame() -> None:
    frames = (("/app/shop.py", 12, "search"), (json.decoder.__file__, 355, "raw_decode"))
    ex = exchange(status=500, exception=AppError("json.decoder.JSONDecodeError", "Expecting value", frames))
    (failure,) = run("server-error", ex)
    assert "JSONDecodeError" in failure.message
    assert "search() at shop.py:12" in failure.message
    assert failure.key == "json.decoder.JSONDecodeError@/app/shop.py:12"
    assert app_frame(frames) == frames[0]
    assert run("server-error", exchange(status=503))[0].key == "503"
    assert run("server-error", exchange(status=404)) == []
    expected = Endpoint("GET", "/search", ENDPOINT.params, expect=frozenset({503}))
    assert run("server-error", exchange(status=503, endpoint=expected)) == []
    assert run("unexpected-status", exchange(status=404, endpoint=expected))[0].key == "404"


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ('Traceback (most recent call last):\n  File "/app/x.py", line 3, in f\nValueError', "python traceback"),
        ("<title>Starlette Debugger</title>", "Starlette debug page"),
        ("<title>ValueError // Werkzeug Debugger</title>", "Werkzeug debugger"),
        ("You're seeing this error because you have <code>DEBUG = True</code> in", "Django debug page"),
        ("java.lang.NullPointerException\n\tat com.shop.Cart.add(Cart.java:42)", "Java stack trace"),
    ],
)
def test_stack_traces_and_debug_pages_are_found(body: str, what: str) -> None:
    (failure,) = run("stack-trace", exchange(body, status=500))
    assert what in failure.message


def test_ordinary_pages_are_not_stack_traces() -> None:
    assert run("stack-trace", exchange("<p>File not found, line 3 of the poem</p>")) == []


def test_sql_error_text_blames_the_parameter_that_carried_the_quote() -> None:
    ex = exchange(
        '{"error": "near \\"\'\\": syntax error"}',
        status=400,
        kind="application/json",
        values={"query:q": "shoe'", "query:page": "1"},
    )
    (failure,) = run("sql-error", ex)
    assert failure.param == "q"
    raised = exchange(status=500, exception=AppError("sqlite3.OperationalError", "unrecognized token", ()))
    assert run("sql-error", raised)[0].message.startswith("the app raised a database error")
    assert run("sql-error", exchange("<p>no syntax here</p>")) == []


def test_markup_reflected_unescaped_in_html_is_xss_and_escaped_is_not() -> None:
    value = '"><stillme-x>'
    reflected = exchange(f"<p>Hello {value}</p>", values={"query:q": value})
    (failure,) = run("xss-reflection", reflected)
    assert failure.param == "q"
    assert run("xss-reflection", exchange(f"<p>Hello {html.escape(value)}</p>", values={"query:q": value})) == []
    as_json = exchange(f'{{"q": "{value}"}}', kind="application/json", values={"query:q": value})
    assert run("xss-reflection", as_json) == []


def test_file_content_in_a_response_is_a_disclosure() -> None:
    ex = exchange("root:x:0:0:root:/root:/bin/bash\n", kind="text/plain", values={"query:q": "../../etc/passwd"})
    (failure,) = run("file-disclosure", ex)
    assert failure.param == "q"
    assert run("file-disclosure", exchange("/etc/passwd not found", values={"query:q": "/etc/passwd"})) == []


@pytest.mark.parametrize(
    ("name", "marker", "payload"),
    [
        ("template-injection", TEMPLATE_MARKER, "{{7777*7777}}"),
        ("command-injection", CMD_MARKER, ";echo stillme$((123*457))"),
    ],
)
def test_evaluated_markers_are_injections_but_echoes_are_not(name: str, marker: str, payload: str) -> None:
    assert run(name, exchange(f"result: {marker}", values={"query:q": payload}))[0].param == "q"
    assert run(name, exchange(f"you sent {payload}", values={"query:q": payload})) == []
    assert run(name, exchange(f"you sent {marker}", values={"query:q": marker})) == []


def test_crlf_that_became_a_header_is_an_injection() -> None:
    values = {"query:q": f"x\r\n{HEADER_MARKER}: 1"}
    assert run("header-injection", exchange(headers=((HEADER_MARKER, "1"),), values=values))[0].param == "q"
    assert run("header-injection", exchange(headers=(("location", "/x\r\nX: 1"),), values=values))
    assert run("header-injection", exchange(headers=(("location", "/x"),), values=values)) == []


def test_timing_and_transport_checks() -> None:
    assert run("slow-response", exchange(elapsed=1.5))
    assert run("slow-response", exchange(elapsed=0.5)) == []
    assert run("timeout", exchange(status=0, error="timeout", elapsed=5.0))
    assert run("dropped-connection", exchange(status=0, error="dropped"))
    assert not CHECKS["timeout"].shrink
    assert not CHECKS["slow-response"].shrink
    assert slow_check(0.1).run(exchange(elapsed=0.2))


def test_debug_mode_of_a_flask_app() -> None:
    from flask import Flask

    app = Flask("debugging")
    assert debug_mode(app) is None
    app.debug = True
    assert debug_mode(app) is not None


def _sqlite_probe(*, vulnerable: bool, noisy: bool = False) -> Probe:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (name TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [("shoe",), ("sock",)])
    param = Param("q", "query")
    endpoint = Endpoint("GET", "/search", (param,))
    noise = random.Random(0)

    def send(target: Param, value: object) -> Exchange:
        try:
            if vulnerable:
                rows = db.execute(f"SELECT name FROM t WHERE name = '{value}'").fetchall()
            else:
                rows = db.execute("SELECT name FROM t WHERE name = ?", (str(value),)).fetchall()
        except sqlite3.Error:
            rows = []
        body = f'{{"rows": {[r[0] for r in rows]!r}, "q": {value!r}, "n": {noise.random() if noisy else 0}}}'
        reply = Reply(200, (("content-type", "application/json"),), body.encode())
        return Exchange(endpoint, Request("GET", "/search", (("q", str(value)),), values={param.slot: value}), reply)

    return Probe(endpoint, param, "shoe", send)


def test_boolean_sql_injection_answering_200_is_found_and_a_parameterised_query_is_not() -> None:
    probe = _sqlite_probe(vulnerable=True)
    failure = sql_boolean(probe)
    assert failure is not None
    assert failure.param == "q"
    assert "boolean-based" in failure.message
    assert probe.shown is not None
    assert "OR" in str(probe.shown.request.query)
    assert sql_boolean(_sqlite_probe(vulnerable=False)) is None
    # A page that changes on every request is noise, not a condition's value.
    assert sql_boolean(_sqlite_probe(vulnerable=True, noisy=True)) is None


def test_union_sql_injection_is_found_by_the_evaluated_concatenation() -> None:
    failure = sql_union(_sqlite_probe(vulnerable=True))
    assert failure is not None
    assert "1 column" in failure.message
    assert sql_union(_sqlite_probe(vulnerable=False)) is None


def _html_probe(escape: bool) -> Probe:
    param = Param("name", "query")
    endpoint = Endpoint("GET", "/hi", (param,))

    def send(target: Param, value: object) -> Exchange:
        text = html.escape(str(value)) if escape else str(value)
        page = f'<html><body><input value="{text}"><p>hi</p></body></html>'
        return Exchange(
            endpoint,
            Request("GET", "/hi", values={param.slot: value}),
            Reply(200, (("content-type", "text/html"),), page.encode()),
        )

    return Probe(endpoint, param, "ann", send)


def test_reflection_that_changes_the_page_structure_is_xss() -> None:
    failure = xss_structure(_html_probe(escape=False))
    assert failure is not None
    assert "structure" in failure.message
    assert xss_structure(_html_probe(escape=True)) is None


def test_the_registry_adds_switches_off_and_rejects_unknown_names() -> None:
    registry = default_registry()
    assert {"server-error", "sql-boolean", "sql-union", "xss-structure", "debug-mode"} <= set(registry.names)

    @check("teapot", severity="low", cwe=1)
    def teapot(ex: Exchange) -> Failure | None:
        """Teapots are not servers."""
        return ex.fail("a teapot") if ex.reply.status == 418 else None

    assert isinstance(teapot, Check)
    assert teapot.title == "Teapots are not servers."
    assert teapot.cwe == (1,)
    registry.add(teapot)
    assert teapot in registry.enabled("response")
    assert teapot.run(exchange(status=418))[0].check == "teapot"
    registry.disable("teapot", "stack-trace")
    assert not registry.is_enabled("teapot")
    assert registry.get("teapot") is teapot
    with pytest.raises(FuzzError, match="unknown fuzz check 'nope'") as info:
        registry.disable("nope")
    assert "server-error" in info.value.hint
    registry.set_severity("sql-error", "critical")
    assert registry.get("sql-error").severity is Severity.CRITICAL  # type: ignore[union-attr]

    def plain(ex: Exchange) -> None:
        return None

    assert CheckRegistry([]).add(plain).name == "plain"
    bad = Check("bad", Severity.LOW, lambda ex: ["not a failure"])
    with pytest.raises(TypeError, match="returned str"):
        bad.run(exchange())
