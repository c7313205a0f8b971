"""pip-audit as a scanner: the real pip-audit against local OSV snapshots the tests write, and every way it fails."""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_stillme.core.findings import Finding, Location, Severity
from pytest_stillme.readers.osv_snapshot import load_snapshot
from pytest_stillme.readers.pip_audit import (
    PipAuditOutputError,
    Vulnerability,
    build_findings,
    merge_aliases,
    parse_pip_audit_json,
)
from pytest_stillme.scanners.pip_audit.audit import AuditResult, AuditTarget, PipAuditOptions, audit
from pytest_stillme.scanners.pip_audit.osv_server import OsvServer

from .test_osv import CVSS31_CRITICAL, CVSS31_MEDIUM, now_text, osv_record, write_snapshot

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pip_audit") is None, reason="pip-audit is not installed (pip install pip-audit)"
)

REQUIREMENTS = """\
# pinned, as pip-compile writes them
-r sub/dev.txt
--index-url https://pypi.example.org/simple
demo-web \\
    ==1.1
Demo.Labelled[extra]==0.5 ; python_version >= "3"   # a comment
clean-pkg==1.0
demo-old==3.0
"""

DEV = """\
demo-lib==2.0
"""


def snapshot_records() -> list[dict[str, Any]]:
    web_pysec = osv_record(
        "PYSEC-2099-1",
        "demo-web",
        fixed="1.2.0",
        aliases=("GHSA-aaaa-bbbb-cccc", "CVE-2099-0001"),
        summary="Remote code execution in demo-web",
    )
    web_ghsa = osv_record(
        "GHSA-aaaa-bbbb-cccc",
        "demo-web",
        fixed="1.2.0",
        aliases=("CVE-2099-0001",),
        vectors=(("CVSS_V3", CVSS31_CRITICAL),),
        label="CRITICAL",
        cwe=("CWE-94",),
    )
    web_ghsa["affected"][0]["ranges"].append(
        {"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.0.1"}]}
    )
    return [
        web_pysec,
        web_ghsa,
        osv_record("PYSEC-2099-2", "demo-lib", introduced=None, versions=("2.0",), summary="no severity anywhere"),
        osv_record("GHSA-llll-llll-llll", "demo-labelled", fixed="0.6", label="MODERATE"),
        osv_record("PYSEC-2099-3", "demo-old", fixed="9", withdrawn="2024-01-01T00:00:00Z"),
        osv_record("PYSEC-2099-4", "unrelated", fixed="9", vectors=(("CVSS_V3", CVSS31_MEDIUM),)),
    ]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    (tmp_path / "sub" / "dev.txt").write_text(DEV)
    write_snapshot(tmp_path / "osv", snapshot_records())
    return tmp_path


def by_package(result: AuditResult) -> dict[str, Finding]:
    return {f.location.package: f for f in result.findings}


def fake_pip_audit(tmp_path: Path, body: str) -> list[str]:
    """A stand-in for pip-audit: a Python script with this body."""
    script = tmp_path / "fake_pip_audit.py"
    script.write_text(textwrap.dedent(body))
    return [sys.executable, str(script)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- the real pip-audit against a snapshot --------------------------------------------


def test_requirements_audited_against_local_snapshot(project: Path) -> None:
    result = audit(
        [AuditTarget.requirements("requirements.txt")],
        root=project,
        vuln_db=project / "osv",
        unknown_severity=Severity.CRITICAL,
    )
    assert result.all_errors == ()
    assert result.warnings == ()
    assert result.tool == "pip-audit"
    assert result.version == importlib.metadata.version("pip-audit")
    [source] = result.sources
    assert (source.source, source.path) == ("requirements.txt", str(project / "requirements.txt"))
    found = by_package(result)
    assert sorted(found) == ["demo-labelled", "demo-lib", "demo-web"]  # withdrawn and clean ones: nothing

    web = found["demo-web"]  # PYSEC + GHSA + CVE of one vulnerability: one finding
    assert web.rule.id == "PYSEC-2099-1"
    assert (web.severity, web.score, web.category) == (Severity.CRITICAL, 9.8, "deps")
    assert web.location == Location(path="requirements.txt", line=4, package="demo-web", version="1.1")
    assert "GHSA-aaaa-bbbb-cccc" in web.message
    assert "CVE-2099-0001" in web.message
    assert "Remote code execution in demo-web" in web.message
    assert "CVSS 3.1 score 9.8" in web.message
    assert "fixed in 1.2.0, 2.0.1" in web.message
    assert web.fix == "upgrade demo-web to 1.2.0 or later"
    assert web.rule.cwe == (94,)
    assert web.rule.help_uri == "https://osv.dev/vulnerability/PYSEC-2099-1"
    assert web.evidence == "demo-web==1.1"

    lib = found["demo-lib"]  # declared in the included file; no severity anywhere: unknown, mapped, said
    assert lib.location == Location(path="sub/dev.txt", line=1, package="demo-lib", version="2.0")
    assert lib.severity is Severity.CRITICAL
    assert lib.score is None
    assert "severity unknown" in lib.message
    assert "counted as critical" in lib.message
    assert "severity-unknown" in lib.rule.tags
    assert "no fixed version known" in lib.message

    labelled = found["demo-labelled"]
    assert labelled.severity is Severity.MEDIUM
    assert labelled.location.line == 6
    assert "MODERATE" in labelled.message


def test_pyproject_and_environment_targets(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "shop"
            version = "1"
            dependencies = [
                "demo-web==1.1",
                'clean-pkg==1.0',
            ]

            [project.optional-dependencies]
            test = ["shop[tools]"]
            tools = [
              "demo-lib==2.0",  # pinned tool
            ]
            """
        )
    )
    (project / "empty").mkdir()
    (project / "empty" / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    installed = importlib.metadata.version("packaging")
    write_snapshot(
        project / "osv",
        [osv_record("GHSA-pppp-pppp-pppp", "packaging", introduced=None, versions=(installed,), label="LOW")],
    )
    result = audit(
        [
            AuditTarget.pyproject("pyproject.toml", extras=["test"]),
            AuditTarget.pyproject("empty/pyproject.toml"),
            AuditTarget.environment(),
        ],
        root=project,
        vuln_db=project / "osv",
    )
    assert result.all_errors == ()
    pyproject, empty, environment = result.sources
    assert pyproject.source == "pyproject.toml[test]"
    assert {(f.location.package, f.location.path, f.location.line) for f in pyproject.findings} == {
        ("demo-web", "pyproject.toml", 5),
        ("demo-lib", "pyproject.toml", 12),
    }
    lib = next(f for f in pyproject.findings if f.location.package == "demo-lib")
    assert lib.severity is Severity.UNKNOWN  # never guessed: the gate fails on it at any threshold
    assert (empty.source, empty.findings, empty.errors) == ("empty/pyproject.toml", (), ())
    assert environment.source == "environment"
    [packaging] = environment.findings
    assert packaging.location == Location(package="packaging", version=installed)  # no declaring file
    assert packaging.severity is Severity.LOW


def test_online_service_with_severity_lookup(project: Path) -> None:
    """Against an 'online' OSV API (here a loopback one): pip-audit asks it, the severities come from /vulns/{id}."""
    snapshot = load_snapshot(project / "osv")
    with OsvServer(snapshot) as online:
        result = audit([AuditTarget.requirements("requirements.txt")], root=project, service="osv", osv_api=online.url)
    assert result.all_errors == ()
    found = by_package(result)
    assert (found["demo-web"].severity, found["demo-web"].score) == (Severity.CRITICAL, 9.8)
    assert found["demo-labelled"].severity is Severity.MEDIUM
    assert "severity unknown (no CVSS vector or advisory severity on OSV)" in found["demo-lib"].message
    with OsvServer(snapshot) as online:
        no_lookup = audit(
            [AuditTarget.requirements("sub/dev.txt")],
            root=project,
            service="osv",
            osv_api=online.url,
            severity_lookup=False,
        )
    assert "severity look-up is off" in no_lookup.findings[0].message


def test_snapshot_stale_is_a_warning_and_broken_records_are_errors(project: Path) -> None:
    write_snapshot(project / "osv", [osv_record("PYSEC-2099-9", "clean-pkg", fixed="2", modified=now_text(400))])
    for path in (project / "osv" / "vulns").rglob("*.json"):
        data = json.loads(path.read_text())
        data["modified"] = now_text(400)
        path.write_text(json.dumps(data))
    (project / "osv" / "vulns" / "broken.json").write_text('{"id": "PYSEC-X", "affected": [{"package": 1}]}')
    result = audit([AuditTarget.requirements("sub/dev.txt")], root=project, vuln_db=project / "osv")
    [warning] = result.warnings
    assert "was last updated" in warning
    assert "400 days ago, more than 30" in warning
    [error] = result.errors
    assert "unreadable OSV record vulns/broken.json: affected[0].package: expected an object" in error.message
    assert [f.location.package for f in result.findings] == ["demo-lib"]  # the readable records still count
    fresh_enough = audit(
        [AuditTarget.requirements("sub/dev.txt")],
        root=project,
        vuln_db=load_snapshot(project / "osv"),
        max_snapshot_age_days=None,
    )
    assert fresh_enough.warnings == ()


def test_a_record_found_broken_while_serving_fails_the_audit(project: Path) -> None:
    record = osv_record("PYSEC-2099-8", "demo-lib", fixed="3")
    record["affected"][0]["ranges"][0]["events"] = [{"introduced": "0", "fixed": "3"}]
    write_snapshot(project / "osv", [record])
    result = audit([AuditTarget.requirements("sub/dev.txt")], root=project, vuln_db=project / "osv")
    [error] = result.errors
    assert "vulns/demo-lib/PYSEC-2099-8.json: affected[0].ranges[0].events[0]: expected exactly one" in error.message


def test_missing_snapshot_is_an_error(project: Path) -> None:
    result = audit([AuditTarget.requirements("requirements.txt")], root=project, vuln_db=project / "nope")
    [error] = result.errors
    assert "does not exist" in error.message
    assert "PyPA advisory database" in error.hint
    assert result.sources == ()


def test_skip_reason_fails_closed(project: Path) -> None:
    (project / "url.txt").write_text("demo-lib==2.0\nhttps://example.invalid/pkg-1.0.tar.gz\n")
    result = audit([AuditTarget.requirements("url.txt")], root=project, vuln_db=project / "osv")
    [error] = result.all_errors
    assert "could not be audited: could not deduce package version from URL requirement" in error.message
    assert error.target == "url.txt"
    assert [f.location.package for f in result.findings] == ["demo-lib"]


def test_editable_requirements_fail_unless_skip_editable(project: Path) -> None:
    (project / "dev.txt").write_text("-e .\n-e git+https://example.invalid/x.git#egg=yolo\ndemo-lib==2.0\n")
    strict = audit([AuditTarget.requirements("dev.txt")], root=project, vuln_db=project / "osv")
    assert len(strict.all_errors) == 2
    assert "skip_editable" in strict.all_errors[0].hint
    relaxed = audit([AuditTarget.requirements("dev.txt")], root=project, vuln_db=project / "osv", skip_editable=True)
    assert relaxed.all_errors == ()
    assert [f.location.package for f in relaxed.findings] == ["demo-lib"]
    assert any("yolo was not audited" in w for w in relaxed.warnings)


def test_unreadable_includes_and_pyproject_entries_are_errors(project: Path) -> None:
    (project / "lock.txt").write_text("-r missing.txt\ndemo-lib==2.0\n")
    (project / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["demo-lib==2.0", "bad ~~ spec"]\n')
    result = audit(
        [AuditTarget.requirements("lock.txt"), AuditTarget.pyproject(extras=["nope"])],
        root=project,
        vuln_db=project / "osv",
    )
    lock, pyproject = result.sources
    assert [e.message for e in lock.errors] == ["lock.txt:1: cannot read missing.txt: No such file or directory"]
    messages = sorted(e.message for e in pyproject.errors)
    assert len(messages) == 2
    assert "no optional-dependencies group 'nope'" in messages[0]
    assert "not a valid requirement 'bad ~~ spec'" in messages[1]
    assert [f.location.package for f in result.findings] == ["demo-lib", "demo-lib"]


def test_missing_requirements_file(project: Path) -> None:
    result = audit([AuditTarget.requirements("nope.txt")], root=project, vuln_db=project / "osv")
    [error] = result.all_errors
    assert error.message == "the requirements file nope.txt does not exist"


# -- fail closed: pip-audit itself -------------------------------------------------------


def test_unreachable_service(project: Path) -> None:
    port = free_port()
    result = audit(
        [AuditTarget.requirements("requirements.txt")],
        root=project,
        service="osv",
        osv_api=f"http://127.0.0.1:{port}/v1",
        timeout=30,
    )
    [error] = result.all_errors
    assert "could not be reached" in error.message
    assert "Connection refused" in error.message or "ConnectionError" in error.message
    assert "snapshot" in error.hint
    assert result.findings == ()


def test_timeout_kills_pip_audit_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    command = fake_pip_audit(
        tmp_path,
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(60)
        """,
    )
    start = time.monotonic()
    result = audit([AuditTarget.environment()], root=tmp_path, timeout=1.5, pip_audit_cmd=command)
    assert time.monotonic() - start < 20
    [error] = result.all_errors
    assert "did not finish within 1.5 s and was stopped" in error.message
    assert "timeout" in error.hint
    child = int(pid_file.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("pip-audit's child process outlived the timeout")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("import sys; sys.stderr.write('/usr/bin/python: No module named pip_audit\\n'); sys.exit(1)", "not installed"),
        (
            "import sys; print('Traceback ... garbage'); sys.stderr.write('boom\\n'); sys.exit(2)",
            "failed (exit status 2): boom",
        ),
        ("print('Found 2 known vulnerabilities')", "output is not its JSON report (exit status 0)"),
        ('print(\'{"dependencies": [{"name": "x", "version": "1", "vu\')', "not its JSON report"),
        ("print('{\"dependencies\": 5}')", "unexpected shape: dependencies: expected an array"),
        (
            'import sys; print(\'{"dependencies": [{"name": "x", "version": "1", "vulns": []}]}\'); sys.exit(1)',
            "exited with status 1 without reporting a vulnerability",
        ),
        ('print(\'{"dependencies": [], "fixes": []}\')', "audited no dependency at all"),
        (
            "import sys; sys.stderr.write('requests.exceptions.ConnectionError: Max retries exceeded\\n');"
            'print(\'{"dependencies": [{"name": "x", "version": "1", "vulns": []}]}\')',
            "could not be reached: requests.exceptions.ConnectionError",
        ),
    ],
    ids=[
        "not-installed",
        "crashed",
        "plain-text",
        "truncated",
        "bad-shape",
        "exit-1-no-vulns",
        "audited-nothing",
        "network",
    ],
)
def test_pip_audit_failures_are_errors(tmp_path: Path, body: str, expected: str) -> None:
    result = audit([AuditTarget.environment()], root=tmp_path, pip_audit_cmd=fake_pip_audit(tmp_path, body))
    [error] = result.all_errors
    assert expected in error.message
    assert error.tool == "pip-audit"
    assert error.hint
    assert result.findings == ()


def test_command_not_found(tmp_path: Path) -> None:
    result = audit([AuditTarget.environment()], root=tmp_path, pip_audit_cmd=[str(tmp_path / "no-such-pip-audit")])
    [error] = result.all_errors
    assert "could not be started" in error.message
    assert "pip install pip-audit" in error.hint


def test_skips_allowed_by_name_are_warnings_and_many_skips_one_error(tmp_path: Path) -> None:
    skipped = [{"name": f"private-{n}", "skip_reason": "Dependency not found on PyPI"} for n in range(7)]
    report = {"dependencies": [*skipped, {"name": "ok", "version": "1", "vulns": []}], "fixes": []}
    command = fake_pip_audit(tmp_path, f"print({json.dumps(json.dumps(report))})")
    result = audit([AuditTarget.environment()], root=tmp_path, pip_audit_cmd=command, allow_unaudited=["Private_0"])
    [error] = result.all_errors
    assert error.message.startswith("6 dependencies could not be audited")
    assert "private-6" in error.message
    assert "private-0" not in error.message
    assert result.warnings == (
        "environment: private-0 was not audited (Dependency not found on PyPI); allowed by configuration",
    )


def test_dependencies_the_database_was_never_asked_about(project: Path) -> None:
    report = {"dependencies": [{"name": "demo-lib", "version": "2.0", "vulns": []}], "fixes": []}
    command = fake_pip_audit(project, f"print({json.dumps(json.dumps(report))})")
    result = audit([AuditTarget.environment()], root=project, vuln_db=project / "osv", pip_audit_cmd=command)
    [error] = result.all_errors
    assert "never asked the vulnerability database about: demo-lib 2.0" in error.message


def test_declared_dependencies_pip_audit_left_out(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text('a==1\nb==2\nc==3 ; python_version < "3"\n')
    report = {"dependencies": [{"name": "a", "version": "1", "vulns": []}], "fixes": []}
    command = fake_pip_audit(tmp_path, f"print({json.dumps(json.dumps(report))})")
    result = audit([AuditTarget.requirements("requirements.txt")], root=tmp_path, pip_audit_cmd=command)
    [error] = result.all_errors
    assert error.message == "pip-audit did not audit 1 declared dependencies: b (requirements.txt:2)"


def test_everything_not_found_on_pypi_points_at_the_network(tmp_path: Path) -> None:
    report = {
        "dependencies": [{"name": "a", "skip_reason": "Dependency not found on PyPI and could not be audited: a (1)"}]
    }
    command = fake_pip_audit(tmp_path, f"print({json.dumps(json.dumps(report))})")
    [error] = audit([AuditTarget.environment()], root=tmp_path, pip_audit_cmd=command).all_errors
    assert "proxy" in error.hint


# -- settings, targets, the registry's entry points ----------------------------------------


def test_targets_from_settings() -> None:
    assert AuditTarget.parse("environment") == AuditTarget.environment()
    assert AuditTarget.parse("reqs/prod.txt") == AuditTarget.requirements("reqs/prod.txt")
    assert AuditTarget.parse("pyproject.toml[dev, test]") == AuditTarget.pyproject(
        "pyproject.toml", extras=("dev", "test")
    )
    assert AuditTarget.parse("sub/pyproject.toml").kind == "pyproject"
    with pytest.raises(ValueError, match=r"only apply to a pyproject\.toml"):
        AuditTarget.parse("requirements.txt[x]")
    with pytest.raises(ValueError, match="empty"):
        AuditTarget.parse(" ")
    assert AuditTarget.pyproject(extras=["a"]).source("/x") == "pyproject.toml[a]"


def test_options_from_settings() -> None:
    options = PipAuditOptions.from_options(
        {
            "targets": ("requirements.txt", "environment"),
            "vuln_db": "osv",
            "service": "osv",
            "timeout": 60.0,
            "max_snapshot_age_days": None,
            "allow_unaudited": ("private-pkg",),
            "skip_editable": True,
            "command": ("pip-audit",),
        }
    )
    assert options.targets == (AuditTarget.requirements("requirements.txt"), AuditTarget.environment())
    assert (options.vuln_db, options.service, options.timeout) == ("osv", "osv", 60.0)
    assert (options.unknown_severity, options.max_snapshot_age_days) == (Severity.UNKNOWN, None)
    assert options.command == ("pip-audit",)
    with pytest.raises(ValueError, match=r"pip-audit.targets: extras \[x\] only apply"):
        PipAuditOptions.from_options({"targets": ("requirements.txt[x]",)})


def test_bad_settings_are_named_at_start_up(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        '[tool.stillme.pip-audit]\nservce = "x"\nservice = "nvd"\ntimeout = -1\n'
        'skip_editable = "maybe"\ntargets = [3]\n'
    )
    result = pytester.runpytest("--stillme-scan", "pip-audit")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str()
    for part in (
        "unknown key 'pip-audit.servce' in [tool.stillme.pip-audit]",
        "invalid service 'nvd' for pip-audit.service",
        "invalid timeout -1 for pip-audit.timeout",
        "invalid boolean 'maybe' for pip-audit.skip_editable",
        "invalid path 3 for pip-audit.targets",
    ):
        assert part in text
    assert "Traceback" not in text


def test_bad_arguments_are_the_callers_bug(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown pip-audit service"):
        audit(root=tmp_path, service="nvd")
    with pytest.raises(ValueError, match="timeout must be positive"):
        audit(root=tmp_path, timeout=0)
    with pytest.raises(ValueError, match="a requirements target needs a path"):
        AuditTarget("requirements")


def test_registry_entry_points(project: Path) -> None:
    registry = pytest.importorskip("pytest_stillme.scanners.api")
    from pytest_stillme.scanners.pip_audit.audit import discover, run

    options = {"targets": ["requirements.txt", "sub/dev.txt"], "vuln_db": "osv"}
    found = discover(registry.ScanRequest(root=project, options=options))
    assert [(t.name, t.path) for t in found.targets] == [
        ("requirements.txt", "requirements.txt"),
        ("sub/dev.txt", "sub/dev.txt"),
    ]
    assert "against the OSV snapshot osv" in found.summary
    result = run(registry.ScanRequest(root=project, options=options, targets=(found.targets[1],)))
    assert [s.source for s in result.sources] == ["sub/dev.txt"]
    assert [f.location.package for f in result.findings] == ["demo-lib"]
    bad = discover(registry.ScanRequest(root=project, options={"targets": ["requirements.txt[x]"]}))
    assert "extras [x] only apply" in bad.errors[0].message


# -- pip-audit's JSON: merging and robustness ------------------------------------------------


def test_aliases_chain_into_one_vulnerability() -> None:
    merged = merge_aliases(
        [
            Vulnerability(("GHSA-1", "CVE-1"), ("2.0",)),
            Vulnerability(("PYSEC-1", "CVE-2")),
            Vulnerability(("CVE-2", "CVE-1"), ("2.1",), "text"),
            Vulnerability(("GHSA-9",)),
        ]
    )
    assert [v.ids for v in merged] == [("PYSEC-1", "GHSA-1", "CVE-1", "CVE-2"), ("GHSA-9",)]
    assert merged[0].fix_versions == ("2.0", "2.1")
    assert merged[0].description == "text"


def test_old_list_output_and_fix_versions_below_the_installed_one() -> None:
    audited, skipped = parse_pip_audit_json(
        [{"name": "x", "version": "1.5", "vulns": [{"id": "PYSEC-1", "fix_versions": ["1.2", "1.6", "2.0"]}]}]
    )
    assert skipped == []
    [finding] = build_findings(audited, locate=lambda n, v: Location(package=n, version=v), advisories=lambda ids: [])
    assert "fixed in 1.6, 2.0" in finding.message
    assert finding.fix == "upgrade x to 1.6 or later"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
_vuln = st.fixed_dictionaries(
    {"id": st.text(max_size=8) | _json},
    optional={"aliases": st.lists(st.text(max_size=6)) | _json, "fix_versions": st.lists(st.text(max_size=5)) | _json},
)
_dependency = st.fixed_dictionaries(
    {"name": st.text(max_size=8) | _json},
    optional={
        "version": st.text(max_size=6) | _json,
        "vulns": st.lists(_vuln, max_size=3) | _json,
        "skip_reason": _json,
    },
)


@settings(max_examples=100, deadline=None)
@given(st.fixed_dictionaries({"dependencies": st.lists(_dependency, max_size=4) | _json}) | _json)
def test_arbitrary_pip_audit_json_parses_or_fails_clearly(data: Any) -> None:
    try:
        audited, _ = parse_pip_audit_json(data)
    except PipAuditOutputError as exc:
        assert str(exc).strip()  # noqa: PT017 - hypothesis explores both outcomes
        return
    findings = build_findings(audited, locate=lambda n, v: Location(package=n, version=v), advisories=lambda ids: [])
    assert len(findings) == sum(len(d.vulns) for d in audited)


def test_the_project_under_test_installed_editable_is_skipped_with_a_note(tmp_path: Path) -> None:
    """Its own ``pip install -e .`` is not on PyPI: by default it alone goes unaudited, and says so."""
    from pytest_stillme.readers.pip_audit import SkippedDependency
    from pytest_stillme.scanners.pip_audit import audit as audit_module

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "My_Shop"\nversion = "1"\n')
    skipped = SkippedDependency("my-shop", "Dependency not found on PyPI and could not be audited: my-shop (1)")
    other = SkippedDependency("private-lib", "Dependency not found on PyPI and could not be audited")

    def context(skip_editable: bool | None) -> Any:
        return audit_module._Context(
            root=tmp_path,
            command=[],
            service_args=[],
            timeout=1.0,
            env={},
            skip_editable=bool(skip_editable),
            allow_unaudited=frozenset(),
            project=audit_module._project_name(tmp_path) if skip_editable is None else "",
            server=None,
        )

    default = context(None)
    assert audit_module._allowed(skipped, default, None)
    assert not audit_module._allowed(other, default, None)  # anything else unaudited still fails
    assert default.warnings == [
        "my-shop, the project under test, was not audited (Dependency not found on PyPI and could not be "
        "audited: my-shop (1)): its own dependencies were (set skip_editable = false to fail on it)"
    ]
    assert not audit_module._allowed(skipped, context(False), None)  # skip_editable = false: audited
    # Printed once: one error naming many unaudited packages, not one per package.
    many = [SkippedDependency(f"pkg{i}", "not found on PyPI") for i in range(30)]
    (error,) = audit_module._skip_errors(many, everything=False, source="requirements.txt")
    assert "30 dependencies could not be audited" in error.message
