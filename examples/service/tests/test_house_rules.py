"""House rules as findings: checks that report what they see to the stillme gate.

These checks do not fail the test that runs them; they record findings through
pytest-stillme's ``stillme_findings`` fixture, and the gate judges them against
the thresholds in ``[tool.stillme.gate]`` (dast: high). Both rules here are
low-severity hardening advice (the same as ZAP's passive rules 10036 and 10021),
so they show in the SARIF report and the summary without failing the gate.
"""

from __future__ import annotations

import httpx
import pytest
from pytest_stillme import Finding, Location, Rule, Severity

SERVER_HEADER = Rule(
    "HR-10036",
    "server-header-disclosure",
    short_description="Server header discloses the software",
    help="Remove or blank the Server header (uvicorn: --no-server-header / server_header=False).",
    cwe=(497,),
)
NOSNIFF = Rule(
    "HR-10021",
    "missing-x-content-type-options",
    short_description="X-Content-Type-Options header missing",
    help="Send 'X-Content-Type-Options: nosniff' with every response.",
    cwe=(693,),
)

PATHS = ["/healthz", "/items", "/metrics"]


@pytest.mark.parametrize("path", PATHS)
def test_response_headers(path: str, live_http: httpx.Client, live_url: str, stillme_findings) -> None:  # type: ignore[no-untyped-def]
    response = live_http.get(path)
    assert response.status_code == 200
    url = f"{live_url}{path}"
    if "server" in response.headers:
        stillme_findings.add(
            Finding(
                tool="inventory-house-rules",
                rule=SERVER_HEADER,
                category="dast",
                severity=Severity.LOW,
                message=f"{url} answers with 'Server: {response.headers['server']}'",
                location=Location(url=url, method="GET"),
                evidence=f"Server: {response.headers['server']}",
                fix=SERVER_HEADER.help,
            )
        )
    if response.headers.get("x-content-type-options", "").lower() != "nosniff":
        stillme_findings.add(
            Finding(
                tool="inventory-house-rules",
                rule=NOSNIFF,
                category="dast",
                severity=Severity.LOW,
                message=f"{url} has no 'X-Content-Type-Options: nosniff' header",
                location=Location(url=url, method="GET"),
                fix=NOSNIFF.help,
            )
        )
