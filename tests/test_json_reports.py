"""Reports from tools that ran elsewhere: detected by content, read into findings, never a traceback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_stillme.core.findings import Location, Severity
from pytest_stillme.readers.detect import detect_format, parse_report, read_report
from pytest_stillme.readers.paths import repo_path as report_path
from pytest_stillme.readers.sarif import IngestResult, ReportError

from .test_osv import CVSS31_CRITICAL, osv_record, write_snapshot

#: Shaped like Bandit 1.9's ``-f json`` from a Windows run (``.\\app.py``), plus an error entry.
BANDIT: dict[str, Any] = {
    "errors": [{"filename": ".\\broken.py", "reason": "syntax error while parsing AST from file"}],
    "generated_at": "2026-05-07T14:31:44Z",
    "metrics": {"_totals": {"loc": 12, "nosec": 0}},
    "results": [
        {
            "code": '5 \n6 password = "123456"\n7 \n',
            "col_offset": 11,
            "end_col_offset": 19,
            "filename": ".\\app.py",
            "issue_confidence": "MEDIUM",
            "issue_cwe": {"id": 259, "link": "https://cwe.mitre.org/data/definitions/259.html"},
            "issue_severity": "LOW",
            "issue_text": "Possible hardcoded password: '123456'",
            "line_number": 6,
            "line_range": [6],
            "more_info": "https://bandit.readthedocs.io/en/1.9.4/plugins/b105_hardcoded_password_string.html",
            "test_id": "B105",
            "test_name": "hardcoded_password_string",
        },
        {
            "code": "20 \n21 subprocess.call(cmd,\n22     shell=True)\n",
            "col_offset": 0,
            "filename": "src\\pkg\\run.py",
            "issue_confidence": "HIGH",
            "issue_cwe": {"id": 78, "link": "https://cwe.mitre.org/data/definitions/78.html"},
            "issue_severity": "HIGH",
            "issue_text": "subprocess call with shell=True identified, security issue.",
            "line_number": 21,
            "line_range": [21, 22],
            "more_info": "https://bandit.readthedocs.io/en/1.9.4/plugins/b602_subprocess_popen_with_shell_equals_true.html",
            "test_id": "B602",
            "test_name": "subprocess_popen_with_shell_equals_true",
        },
    ],
}

PIP_AUDIT: dict[str, Any] = {
    "dependencies": [
        {"name": "attrs", "version": "24.2.0", "vulns": []},
        {
            "name": "demo-web",
            "version": "1.1",
            "vulns": [
                {
                    "id": "PYSEC-2099-1",
                    "fix_versions": ["1.2.0"],
                    "aliases": ["GHSA-aaaa-bbbb-cccc", "CVE-2099-0001"],
                    "description": "Remote code execution in demo-web",
                },
                {"id": "GHSA-zzzz-zzzz-zzzz", "fix_versions": [], "description": "Another one"},
            ],
        },
        {"name": "private-thing", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ],
    "fixes": [],
}

TRIVY: dict[str, Any] = {
    "SchemaVersion": 2,
    "CreatedAt": "2026-01-01T00:00:00Z",
    "ArtifactName": "registry.example.org/shop:1.0",
    "ArtifactType": "container_image",
    "Trivy": {"Version": "0.58.1"},
    "Results": [
        {
            "Target": "registry.example.org/shop:1.0 (debian 12.5)",
            "Class": "os-pkgs",
            "Type": "debian",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-0001",
                    "PkgName": "openssl",
                    "InstalledVersion": "3.0.11-1",
                    "FixedVersion": "3.0.13-1",
                    "Status": "fixed",
                    "SeveritySource": "debian",
                    "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-0001",
                    "Title": "openssl: a flaw",
                    "Description": "A flaw in openssl.",
                    "Severity": "HIGH",
                    "CweIDs": ["CWE-125"],
                    "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "V3Score": 7.5}},
                },
                {
                    "VulnerabilityID": "CVE-2024-0002",
                    "PkgName": "zlib1g",
                    "InstalledVersion": "1:1.2.13",
                    "Status": "will_not_fix",
                    "Severity": "UNKNOWN",
                    "CVSS": {"nvd": {"V2Score": 9.3}},
                },
                {
                    "VulnerabilityID": "CVE-2024-0003",
                    "PkgName": "tar",
                    "InstalledVersion": "1.34",
                    "Severity": "UNKNOWN",
                },
            ],
        },
        {
            "Target": "app/requirements.txt",
            "Class": "lang-pkgs",
            "Type": "pip",
            "Packages": [
                {
                    "Name": "Werkzeug",
                    "Identifier": {"PURL": "pkg:pypi/werkzeug@0.11", "UID": "4163de19df046f49"},
                    "Version": "0.11",
                    "Locations": [{"StartLine": 6, "EndLine": 6}],
                }
            ],
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2019-14806",
                    "PkgName": "Werkzeug",
                    "PkgIdentifier": {"PURL": "pkg:pypi/werkzeug@0.11", "UID": "4163de19df046f49"},
                    "InstalledVersion": "0.11",
                    "FixedVersion": "0.15.3",
                    "SeveritySource": "ghsa",
                    "Severity": "HIGH",
                    "CVSS": {
                        "nvd": {"V3Score": 7.5, "V2Score": 5},
                        "ghsa": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "V3Score": 7.4},
                    },
                }
            ],
        },
        {
            "Target": "Dockerfile",
            "Class": "config",
            "Type": "dockerfile",
            "MisconfSummary": {"Successes": 26, "Failures": 1},
            "Misconfigurations": [
                {
                    "Type": "Dockerfile Security Check",
                    "ID": "DS002",
                    "AVDID": "AVD-DS-0002",
                    "Title": "Image user should not be 'root'",
                    "Description": "Running containers with 'root' user can lead to a container escape situation.",
                    "Message": "Specify at least 1 USER command in Dockerfile with non-root user as argument",
                    "Resolution": "Add 'USER <non root user name>' line to the Dockerfile",
                    "Severity": "HIGH",
                    "PrimaryURL": "https://avd.aquasec.com/misconfig/ds002",
                    "Status": "FAIL",
                    "CauseMetadata": {"Provider": "Dockerfile", "Service": "general", "Code": {"Lines": None}},
                },
                {"ID": "DS001", "Title": "passes", "Severity": "MEDIUM", "Status": "PASS"},
            ],
        },
        {
            "Target": "infra/main.tf",
            "Class": "config",
            "Type": "terraform",
            "Misconfigurations": [
                {
                    "ID": "AVD-AWS-0086",
                    "Title": "S3 Access block should block public ACL",
                    "Message": "No public access block so not blocking public acls",
                    "Severity": "HIGH",
                    "Status": "FAIL",
                    "CauseMetadata": {
                        "StartLine": 3,
                        "EndLine": 5,
                        "Code": {
                            "Lines": [
                                {"Number": 3, "Content": 'resource "aws_s3_bucket" "b" {', "IsCause": True},
                                {"Number": 4, "Content": "}", "IsCause": False},
                            ]
                        },
                    },
                }
            ],
        },
        {
            "Target": "config/settings.py",
            "Class": "secret",
            "Secrets": [
                {
                    "RuleID": "aws-access-key-id",
                    "Category": "AWS",
                    "Severity": "CRITICAL",
                    "Title": "AWS Access Key ID",
                    "StartLine": 2,
                    "EndLine": 2,
                    "Match": "AWS_KEY = ********************",
                }
            ],
        },
    ],
}

SARIF: dict[str, Any] = {
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [
        {
            "tool": {"driver": {"name": "Semgrep", "rules": [{"id": "r1"}]}},
            "results": [
                {
                    "ruleId": "r1",
                    "level": "error",
                    "message": {"text": "bad"},
                    "locations": [
                        {"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": 3}}}
                    ],
                }
            ],
        }
    ],
}


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_bandit_json_from_windows(tmp_path: Path) -> None:
    result = read_report(write(tmp_path, "bandit.txt", BANDIT), root=tmp_path)
    assert result.tools == {"bandit": "1.9.4"}
    b105, b602 = result.findings
    assert (b105.tool, b105.rule.id, b105.rule.name, b105.category) == (
        "bandit",
        "B105",
        "hardcoded_password_string",
        "sast",
    )
    assert (b105.severity, b105.confidence, b105.rule.cwe) == (Severity.LOW, "medium", (259,))
    assert b105.location == Location(path="app.py", line=6, column=12)
    assert b105.evidence == 'password = "123456"'
    assert b105.rule.help_uri.endswith("b105_hardcoded_password_string.html")
    assert (b602.severity, b602.confidence) == (Severity.HIGH, "high")
    assert b602.location.path == "src/pkg/run.py"
    assert b602.location.end_line == 22
    assert b602.evidence == "subprocess.call(cmd,"
    [error] = result.errors
    assert error.message == "could not scan broken.py: syntax error while parsing AST from file"
    assert error.target == str(tmp_path / "bandit.txt")


def test_bandit_absolute_paths_and_identical_results(tmp_path: Path) -> None:
    data = copy.deepcopy(BANDIT)
    data["errors"] = []
    data["results"][0]["filename"] = str(tmp_path / "pkg" / "app.py")
    data["results"][1] = copy.deepcopy(data["results"][0])
    result = parse_report(data, source="b.json", root=tmp_path)
    first, second = result.findings
    assert first.location.path == "pkg/app.py"
    assert first.fingerprint != second.fingerprint  # two identical results stay two findings
    assert second.occurrence == 1


def test_pip_audit_json_without_and_with_snapshot(tmp_path: Path) -> None:
    path = write(tmp_path, "audit.json", PIP_AUDIT)
    plain = read_report(path, root=tmp_path)
    assert plain.tools == {"pip-audit": ""}
    web, other = plain.findings
    assert (web.rule.id, web.category, web.severity) == ("PYSEC-2099-1", "deps", Severity.UNKNOWN)
    assert web.location == Location(package="demo-web", version="1.1")
    assert "severity unknown (the report carries none and no OSV snapshot was given): it fails the gate" in web.message
    assert other.rule.id == "GHSA-zzzz-zzzz-zzzz"
    [error] = plain.errors
    assert error.message.startswith("private-thing could not be audited")

    write_snapshot(
        tmp_path / "osv",
        [osv_record("GHSA-aaaa-bbbb-cccc", "demo-web", fixed="1.2.0", vectors=(("CVSS_V3", CVSS31_CRITICAL),))],
    )
    rated = read_report(path, root=tmp_path, vuln_db=tmp_path / "osv")
    web, other = rated.findings
    assert (web.severity, web.score) == (Severity.CRITICAL, 9.8)
    assert other.severity is Severity.UNKNOWN
    broken = read_report(path, root=tmp_path, vuln_db=tmp_path / "missing")
    assert any("does not exist" in e.message for e in broken.errors)


def test_pip_audit_real_sample_shape_without_aliases(tmp_path: Path) -> None:
    """Older pip-audit JSON: no aliases key, a bare list in 1.x."""
    old = [{"name": "pip", "version": "18.1", "vulns": [{"id": "PYSEC-2020-173", "fix_versions": ["19.2"]}]}]
    result = parse_report(old, source="old.json")
    [finding] = result.findings
    assert finding.fix == "upgrade pip to 19.2 or later"


def test_trivy_json(tmp_path: Path) -> None:
    result = read_report(write(tmp_path, "trivy-results.sarif", TRIVY), root=tmp_path)
    assert result.tools == {"trivy": "0.58.1"}
    assert result.errors == ()
    found = {f.rule.id: f for f in result.findings}
    assert sorted(found) == [
        "AVD-AWS-0086",
        "CVE-2019-14806",
        "CVE-2024-0001",
        "CVE-2024-0002",
        "CVE-2024-0003",
        "DS002",
        "aws-access-key-id",
    ]
    openssl = found["CVE-2024-0001"]
    assert (openssl.category, openssl.severity, openssl.score) == ("container", Severity.HIGH, 7.5)
    assert openssl.location == Location(package="openssl", version="3.0.11-1")  # an image target is not a file
    assert "registry.example.org/shop:1.0 (debian 12.5)" in openssl.message
    assert openssl.fix == "upgrade openssl to 3.0.13-1"
    assert openssl.rule.cwe == (125,)
    zlib = found["CVE-2024-0002"]  # UNKNOWN, but a CVSS score: the score decides
    assert (zlib.severity, zlib.score) == (Severity.CRITICAL, 9.3)
    assert "will_not_fix" in zlib.message
    tar = found["CVE-2024-0003"]  # UNKNOWN and nothing else: stays unknown (fails the gate), and said
    assert tar.severity is Severity.UNKNOWN
    assert "severity unknown" in tar.message
    werkzeug = found["CVE-2019-14806"]
    assert werkzeug.location == Location(path="app/requirements.txt", line=6, package="Werkzeug", version="0.11")
    assert werkzeug.score == 7.4  # the score of the severity source (ghsa), not the highest
    docker = found["DS002"]
    assert (docker.category, docker.severity, docker.location.path) == ("container", Severity.HIGH, "Dockerfile")
    assert docker.fix.startswith("Add 'USER")
    terraform = found["AVD-AWS-0086"]
    assert terraform.category == "sast"
    assert terraform.location == Location(path="infra/main.tf", line=3, end_line=5)
    assert terraform.evidence == 'resource "aws_s3_bucket" "b" {'
    secret = found["aws-access-key-id"]
    assert (secret.category, secret.severity, secret.location.line) == ("sast", Severity.CRITICAL, 2)
    assert "****" in secret.evidence


def test_trivy_old_list_format_and_empty_report() -> None:
    old = [
        {"Target": "php-app/composer.lock", "Vulnerabilities": None},
        {
            "Target": "node-app/package-lock.json",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2018-16487",
                    "PkgName": "lodash",
                    "InstalledVersion": "4.17.4",
                    "FixedVersion": ">=4.17.11",
                    "Severity": "HIGH",
                }
            ],
        },
    ]
    [finding] = parse_report(old, source="old.json").findings
    assert finding.location.path == "node-app/package-lock.json"
    clean = parse_report({"SchemaVersion": 2, "ArtifactName": ".", "ArtifactType": "filesystem"}, source="c.json")
    assert clean.findings == ()
    assert clean.tools == {"trivy": ""}


def test_user_categories_win(tmp_path: Path) -> None:
    result = parse_report(TRIVY, source="t.json", tool_categories={"trivy": "deps"})
    assert {f.category for f in result.findings} == {"deps"}
    assert {f.category for f in parse_report(PIP_AUDIT, source="p", tool_categories={"pip": "container"}).findings} == {
        "container"
    }
    with pytest.raises(ValueError, match="unknown category"):
        parse_report(BANDIT, source="b", tool_categories={"bandit": "nope"})


def test_sarif_is_delegated(tmp_path: Path) -> None:
    result = read_report(write(tmp_path, "semgrep.json", SARIF), root=tmp_path)
    assert isinstance(result, IngestResult)
    [finding] = result.findings
    assert (finding.tool, finding.location.path, finding.location.line) == ("Semgrep", "a.py", 3)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "2024-05-01T10:00:00Z  INFO  Vulnerability scanning is enabled\n\nalpine:3.19 (alpine 3.19.1)\n"
            "=============================\nTotal: 2 (UNKNOWN: 0, LOW: 0, MEDIUM: 1, HIGH: 1, CRITICAL: 0)\n\n"
            "┌──────────┬────────────────┬──────────┐\n│ Library  │ Vulnerability  │ Severity │\n",
            "this looks like plain-text output",
        ),
        ('{"SchemaVersion": 2, "ArtifactName": "x", "Results": [{"Target": "a", "Vulnera', "was it truncated"),
        ("", "the file is empty"),
        ('{"name": "x", "dependencies": {"a": "1"}}', "a JSON object with keys dependencies, name"),
        ("[1, 2, 3]", "an array at the top level"),
        ('"just a string"', "a string at the top level"),
        ('{"results": [], "errors": [], "metrics": {}, "generated_at": "x", "x": 1}', None),
    ],
    ids=["trivy-table", "truncated", "empty", "package-json", "array", "string", "empty-bandit"],
)
def test_unrecognised_inputs_are_report_errors(tmp_path: Path, content: str, problem: str | None) -> None:
    path = write(tmp_path, "report.json", content)
    if problem is None:
        assert read_report(path, root=tmp_path).findings == ()
        return
    with pytest.raises(ReportError) as info:
        read_report(path, root=tmp_path)
    assert info.value.path == str(path)
    assert problem in info.value.problem


def test_structural_problems_name_the_json_path() -> None:
    data = copy.deepcopy(TRIVY)
    data["Results"][1]["Vulnerabilities"][0]["Severity"] = "SEVERE"
    with pytest.raises(ReportError, match=r"Results\[1\]\.Vulnerabilities\[0\]\.Severity: unknown severity"):
        parse_report(data, source="t.json")
    bandit = copy.deepcopy(BANDIT)
    bandit["results"][0]["line_number"] = "six"
    with pytest.raises(
        ReportError, match=r"not a valid bandit JSON report: results\[0\]\.line_number: expected an integer"
    ):
        parse_report(bandit, source="b.json")
    with pytest.raises(ReportError, match=r"dependencies\[0\]\.vulns: expected an array"):
        parse_report({"dependencies": [{"name": "x", "version": "1", "vulns": 3}]}, source="p.json")


def test_encodings_and_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "utf16.json"
    path.write_bytes(json.dumps(PIP_AUDIT).encode("utf-16"))  # as PowerShell's > writes it
    assert len(read_report(path).findings) == 2
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(BANDIT).encode())
    assert len(read_report(bom).findings) == 2
    with pytest.raises(ReportError, match="cannot read the report"):
        read_report(tmp_path / "missing.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\x00\xff\xfe\x80garbage")
    with pytest.raises(ReportError, match="not a report"):
        read_report(binary)


def test_detect_format_and_paths() -> None:
    assert [detect_format(x) for x in (SARIF, BANDIT, PIP_AUDIT, TRIVY, {}, [], None)] == [
        "sarif",
        "bandit",
        "pip-audit",
        "trivy",
        "",
        "",
        "",
    ]
    roots = ("/work/repo",)
    assert report_path(".\\app.py", roots) == "app.py"
    assert report_path("/work/repo/src/x.py", roots) == "src/x.py"
    assert report_path("C:\\build\\repo\\x.py", ("C:/build/repo",)) == "x.py"
    assert report_path("c:/BUILD/repo/y.py", ("C:/build/repo",)) == "y.py"
    assert report_path("/elsewhere/x.py", roots) == "/elsewhere/x.py"
    assert report_path("./a/../b.py", roots) == "b.py"
    assert report_path("", roots) == ""


# -- never a traceback ---------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_reports(draw: st.DrawFn) -> Any:
    """A valid report with a few values replaced by arbitrary JSON or removed."""
    report = copy.deepcopy(draw(st.sampled_from([BANDIT, PIP_AUDIT, TRIVY])))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(report) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = report
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_json)
    return report


@settings(max_examples=120, deadline=None)
@given(mutated_reports() | _json)
def test_mutated_and_arbitrary_reports_never_raise_anything_else(data: Any) -> None:
    try:
        result = parse_report(data, source="r.json", root="/work/repo")
    except ReportError as exc:
        assert exc.problem.strip()  # noqa: PT017 - hypothesis explores both outcomes
        return
    for finding in result.findings:
        assert finding.category in ("sast", "deps", "container")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_are_report_errors_or_results(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(raw)
    try:
        read_report(path, root=tmp_path)
    except ReportError as exc:
        assert exc.path == str(path)  # noqa: PT017 - hypothesis explores both outcomes


def test_bandit_report_and_bandit_scanner_agree(tmp_path: Path) -> None:
    """A finding read from a report has the fingerprint the live scanner gives it: suppressions carry over."""
    scanner = pytest.importorskip("pytest_stillme.scanners.bandit.scan")
    data = copy.deepcopy(BANDIT)
    data["errors"] = []
    live = scanner.parse_report(json.dumps(data), root=tmp_path, version="1.9.4")
    live_findings = sorted((f for s in live.sources for f in s.findings), key=lambda f: f.rule.id)
    read = sorted(parse_report(data, source="b.json", root=tmp_path).findings, key=lambda f: f.rule.id)
    assert [(f.fingerprint, f.severity, f.location, f.evidence) for f in read] == [
        (f.fingerprint, f.severity, f.location, f.evidence) for f in live_findings
    ]
