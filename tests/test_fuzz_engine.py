"""The fuzzer against real in-process apps: every planted defect found, a clean app clean, requests minimal."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_stillme.fuzz.checks import default_registry
from pytest_stillme.fuzz.declare import endpoint
from pytest_stillme.fuzz.engine import FuzzOptions
from pytest_stillme.fuzz.model import FuzzError
from pytest_stillme.fuzz.report import describe_result, to_finding
from pytest_stillme.fuzz.run import FuzzResult, run_fuzz

from .fuzz_support import PLANTED, clean_app, clean_flask_app, flask_app, planted_app

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = FuzzOptions(examples=15, timeout=1.0, seed=7)


def fuzz(app: Any, **kwargs: Any) -> FuzzResult:
    options = kwargs.pop("options", OPTIONS)
    return run_fuzz(app, options=options, registry=default_registry(), root=ROOT, **kwargs)


def kinds(result: FuzzResult) -> set[tuple[str, str, str]]:
    """(check, method, path) of every finding."""
    return {(f.check.name, f.exchange.endpoint.method, f.exchange.endpoint.path) for f in result.found}


@pytest.fixture(scope="module")
def planted() -> FuzzResult:
    return fuzz(planted_app())


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_every_planted_defect_is_found_in_process(planted: FuzzResult, kind: str) -> None:
    method, path = PLANTED[kind]
    assert (kind, method, path) in kinds(planted), sorted(kinds(planted))


def test_discovery_found_routes_handler_parameters_and_forms_without_a_document(planted: FuzzResult) -> None:
    by_label = {e.label: e for e in planted.endpoints}
    assert {"GET /search", "GET /product", "POST /comment", "POST /upload"} <= set(by_label)
    assert [p.slot for p in by_label["GET /search"].params] == ["query:q"]
    assert by_label["POST /comment"].body == "form"
    assert by_label["POST /upload"].body == "json"
    # The crawl gave the link's value as the parameter's example.
    assert by_label["GET /product"].param("query:id").example == "1"  # type: ignore[union-attr]
    assert by_label["GET /search"].source is not None


def test_a_clean_app_has_no_findings() -> None:
    result = fuzz(clean_app())
    assert result.found == []
    assert result.requests > 500


def test_wsgi_app_in_debug_mode_raising_through_the_transport_is_found_not_a_crash() -> None:
    result = fuzz(flask_app(debug=True))
    found = kinds(result)
    assert ("debug-mode", "GET", "/") in found
    assert ("sql-error", "GET", "/find") in found
    assert ("sql-boolean", "GET", "/find") in found
    assert ("xss-reflection", "GET", "/hello") in found
    errors = [f for f in result.found if f.check.name == "server-error"]
    assert errors
    assert all(f.exchange.reply.exception is not None for f in errors)
    raised = {f.exchange.reply.exception.type for f in errors if f.exchange.reply.exception}
    # /items/<id> out of range; on Python 3.10 sqlite3 raises ValueError (not sqlite3.Error) for a NUL in /find.
    assert "IndexError" in raised
    assert raised <= {"IndexError", "ValueError" if sys.version_info < (3, 11) else "IndexError"}


def test_a_clean_wsgi_app_has_no_findings() -> None:
    assert fuzz(clean_flask_app()).found == []


def test_each_failure_is_shrunk_to_a_minimal_request() -> None:
    async def length(request: Request) -> Response:
        if len(request.query_params.get("name", "")) >= 5:
            raise ValueError("too long")
        return JSONResponse({})

    app = Starlette(routes=[Route("/len", length)])
    options = FuzzOptions(examples=100, seed=3, sweep=False)
    result = fuzz(app, options=options, endpoints=[endpoint("GET", "/len", params={"name": st.text()})])
    (found,) = result.found
    assert found.shrunk
    assert found.exchange.request.query == (("name", "00000"),)


def test_a_request_that_blocks_its_thread_is_a_timeout_finding_and_fuzzing_goes_on() -> None:
    release = threading.Event()

    async def blocking(request: Request) -> Response:
        if request.query_params.get("q", "") != "test":
            release.wait(30)  # blocks the event loop: no timeout inside Python can cancel it
        return JSONResponse({})

    async def crash(request: Request) -> Response:
        raise RuntimeError("boom")

    app = Starlette(routes=[Route("/block", blocking), Route("/crash", crash)])
    declared = [endpoint("GET", "/block", params={"q": "test"}), endpoint("GET", "/crash")]
    try:
        result = fuzz(app, options=FuzzOptions(examples=5, timeout=0.2, seed=1), endpoints=declared)
    finally:
        release.set()
    assert ("timeout", "GET", "/block") in kinds(result)
    assert ("server-error", "GET", "/crash") in kinds(result)
    assert any("blocked" in note for note in result.notes)


def test_an_awaiting_request_is_cancelled_at_its_timeout() -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(30)
        return JSONResponse({})

    app = Starlette(routes=[Route("/slow", slow)])
    result = fuzz(
        app, options=FuzzOptions(examples=3, timeout=0.2, seed=1, sweep=False), endpoints=[endpoint("GET", "/slow")]
    )
    assert kinds(result) == {("timeout", "GET", "/slow")}
    assert result.elapsed < 25


def test_findings_point_at_the_handler_and_say_how_to_reproduce(planted: FuzzResult) -> None:
    found = next(f for f in planted.found if f.check.name == "sql-error")
    finding = to_finding(found, planted, ROOT)
    assert finding.category == "fuzz"
    assert finding.tool == "stillme-fuzz"
    assert finding.location.path == "tests/fuzz_support.py"
    source = Path(ROOT / finding.location.path).read_text().splitlines()[finding.location.line - 1]
    assert "async def product" in source
    assert finding.location.method == "GET"
    assert finding.location.param == "id"
    assert "curl -sS -i" in finding.evidence
    assert "/product?id=" in finding.evidence
    assert "httpx.ASGITransport" in finding.evidence
    assert f"seed: {planted.seed}" in finding.evidence
    assert finding.message.startswith("GET /product [id]: ")
    text = describe_result(planted, [finding])
    assert "[high] sql-error: GET /product [id]" in text


def test_secrets_in_headers_are_masked_in_every_shown_text() -> None:
    async def leak(request: Request) -> Response:
        raise RuntimeError("boom")

    app = Starlette(routes=[Route("/leak", leak)])
    result = fuzz(
        app,
        options=FuzzOptions(examples=2, seed=1, sweep=False, headers={"Authorization": "Bearer s3cr3tT0ken!!"}),
        endpoints=[endpoint("GET", "/leak", params={"api_key": "k3yk3yk3y"})],
    )
    finding = to_finding(result.found[0], result, ROOT)
    shown = finding.evidence + describe_result(result, [finding])
    assert "s3cr3tT0ken" not in shown
    assert "k3yk3yk3y" not in shown
    assert "Authorization" in shown


def test_nothing_to_fuzz_is_an_error_that_says_what_to_do() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with pytest.raises(FuzzError, match="nothing to fuzz") as info:
        fuzz(app)
    assert "fuzz.endpoint" in info.value.hint


def test_declared_endpoints_and_exclusions_choose_what_is_fuzzed(planted: FuzzResult) -> None:
    options = FuzzOptions(examples=3, seed=1, exclude=("/product",), exclude_methods=("POST",))
    result = fuzz(
        planted_app(),
        options=options,
        endpoints=[
            endpoint("GET", "/product", params={"id": "1"}),
            endpoint("GET", "/greet", params={"name": "x"}),
            endpoint("POST", "/upload", json={"name": "x"}),
        ],
    )
    assert [e.label for e in result.endpoints] == ["GET /greet"]
    assert kinds(result) == {("xss-reflection", "GET", "/greet")}
