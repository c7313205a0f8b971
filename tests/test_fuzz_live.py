"""The fuzzer over real sockets: uvicorn on 127.0.0.1 (``service.serve_app``) serving the planted and the clean app."""

from __future__ import annotations

import contextlib
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_stillme.fuzz.checks import default_registry
from pytest_stillme.fuzz.engine import FuzzOptions
from pytest_stillme.fuzz.model import FuzzError
from pytest_stillme.fuzz.report import to_finding
from pytest_stillme.fuzz.reproduce import python_snippet
from pytest_stillme.fuzz.run import FuzzResult, run_fuzz
from pytest_stillme.service import serve_app

from .fuzz_support import PLANTED, clean_app, planted_app

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = FuzzOptions(examples=10, timeout=1.0, seed=11)
#: Over the wire, a server stands between the app and the fuzzer: uvicorn refuses a header with CR/LF and
#: answers 500 for an app that sent nothing, so those two defects show as server errors there.
AS_SERVER_ERRORS = {"header-injection", "dropped-connection"}


@pytest.fixture(scope="module")
def live_planted() -> Iterator[tuple[str, FuzzResult]]:
    with serve_app(planted_app()) as url:
        yield url, run_fuzz(url, options=OPTIONS, registry=default_registry(), root=ROOT)


def kinds(result: FuzzResult) -> set[tuple[str, str, str]]:
    return {(f.check.name, f.exchange.endpoint.method, f.exchange.endpoint.path) for f in result.found}


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_every_planted_defect_is_found_over_a_real_loopback_server(
    live_planted: tuple[str, FuzzResult], kind: str
) -> None:
    _, result = live_planted
    method, path = PLANTED[kind]
    expected = "server-error" if kind in AS_SERVER_ERRORS else kind
    assert (expected, method, path) in kinds(result), sorted(kinds(result))


def test_a_url_target_finding_has_a_url_location_and_a_python_snippet_that_reproduces_it(
    live_planted: tuple[str, FuzzResult],
) -> None:
    url, result = live_planted
    found = next(f for f in result.found if f.check.name == "file-disclosure")
    finding = to_finding(found, result, ROOT)
    assert finding.location.url == f"{url}/files"
    assert (finding.location.method, finding.location.param) == ("GET", "name")
    assert not finding.location.path
    assert f"curl -sS -i '{url}/files?name=" in finding.evidence
    snippet = python_snippet(found.exchange.request, kind="url", base_url=url, app_ref="")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(snippet, "<snippet>", "exec"), {})
    assert printed.getvalue().startswith("200 ")
    assert "root:" in printed.getvalue()


def test_a_clean_app_over_the_wire_has_no_findings() -> None:
    with serve_app(clean_app()) as url:
        result = run_fuzz(url, options=OPTIONS, registry=default_registry(), root=ROOT)
    assert result.found == []
    assert {"GET /search", "GET /greet", "POST /comment"} <= {e.label for e in result.endpoints}


def test_a_url_outside_loopback_is_refused_before_any_request() -> None:
    with pytest.raises(FuzzError, match="not a loopback address") as info:
        run_fuzz("http://example.com:8080", options=OPTIONS, registry=default_registry())
    assert "allow_remote" in str(info.value)


def test_an_unreachable_url_is_an_error_that_says_to_start_the_service() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FuzzError, match="cannot reach") as info:
        run_fuzz(f"http://127.0.0.1:{port}", options=OPTIONS, registry=default_registry())
    assert "start the service" in info.value.hint
