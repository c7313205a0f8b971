"""ZAP reports and k6 summaries through ``--stillme-report``: detected by content, judged by the gate."""

from __future__ import annotations

import json

import pytest

from .dast_support import json_report, xml_report
from .slo_support import k6_export


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    return pytester


def test_a_zap_json_report_is_read_and_gated(project: pytest.Pytester) -> None:
    (project.path / "zap.json").write_text(json.dumps(json_report("http://127.0.0.1:5000")))
    result = project.runpytest("--stillme-gate", "--stillme-report=zap.json", "--stillme-fail-on=dast=medium")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["dast findings*medium*FAIL*"])
    sarif = json.loads((project.path / "artifacts" / "stillme.sarif").read_text())
    assert any(run["tool"]["driver"]["name"].lower().startswith("zap") for run in sarif["runs"])


def test_a_zap_xml_report_is_read(project: pytest.Pytester) -> None:
    (project.path / "zap.xml").write_bytes(xml_report(json_report("http://127.0.0.1:5000")))
    result = project.runpytest("--stillme-gate", "--stillme-report=zap.xml")
    result.stdout.fnmatch_lines(["dast findings*"])
    assert "not a report" not in result.stdout.str()


@pytest.mark.parametrize(("failed", "p95", "passes"), [(0, 120.0, True), (300, 900.0, False)])
def test_a_k6_summary_is_judged_against_the_slos(
    project: pytest.Pytester, failed: int, p95: float, passes: bool
) -> None:
    (project.path / "k6.json").write_text(json.dumps(k6_export(requests=1000, failed=failed, p95=p95)))
    result = project.runpytest("--stillme-gate", "--stillme-report=k6.json")
    assert (result.ret == 0) is passes, result.stdout.str()
    if not passes:
        result.stdout.fnmatch_lines(["slo findings*FAIL*"])
