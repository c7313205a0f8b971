"""The bundled example service passes the passive scan as shipped: it sets the right security headers."""

from __future__ import annotations

from pathlib import Path

from pytest_stillme.dast.passive import discover, run
from pytest_stillme.scanners.api import ScanRequest
from pytest_stillme.service import ServiceTarget

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "service"
#: A JSON API links to nothing: the crawl starts from its endpoints (404s and 422s included).
SEEDS = ("/", "/items", "/items/1", "/items/1/reserve", "/quote?item=1&qty=2", "/healthz", "/readyz", "/metrics")


def test_the_example_service_passes_as_shipped() -> None:
    target = ServiceTarget(app_ref="inventory.app:app")
    options = {"seeds": SEEDS}
    found = discover(ScanRequest(root=EXAMPLE, options=options, service=target))
    result = run(ScanRequest(root=EXAMPLE, options=options, targets=found.targets, service=target))
    assert result.errors == ()
    assert result.warnings == ()
    assert result.findings == ()
    assert {s.source for s in result.sources} == {t.name for t in found.targets}
