"""Adoption trial: pytest-stillme on a project nobody here wrote, Flask's tutorial app flaskr.

The trial of ``docs/adoption-flaskr.md``, repeated from Flask's source distribution: flaskr and its own
tests are unpacked, the ``[tool.stillme]`` table of ``tests/adoption/stillme.toml`` and the fuzz test
of ``tests/adoption/flaskr_fuzz.py`` are added, and ``pytest --stillme-gate`` runs with every scanner
that fits (bandit, pip-audit, ruff, mypy, passive DAST) as a real subprocess of this interpreter,
under flaskr's own ``filterwarnings = ["error"]``.  What it promises: the gate fails (exit status 1)
on the one real defect, found by fuzzing (an id past SQLite's integers is a 500), and on nothing
else; flaskr's own tests all pass; SARIF and JUnit say the same; no warning of the plugin's own.
With the fix the document proposes, the same fuzzing passes the gate.

Flask's sdist is downloaded once with pip into pytest's cache (a file lock guards it: the suite runs
under pytest-xdist); the test is skipped, with pip's message, when the package index cannot be reached.
The last tests are the regressions of the two fixes the trial made in ``src/``: a stillme warning
that the session's filters turn into an error fails its item as plain text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from collections import Counter
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ADOPTION = Path(__file__).resolve().parent / "adoption"
#: flaskr's own test modules, as Flask ships them (their node ids are read from a collection).
HOST_TESTS = ("tests/test_auth.py", "tests/test_blog.py", "tests/test_db.py", "tests/test_factory.py")
SCANNERS = ("bandit", "pip-audit", "ruff", "mypy", "passive")
#: The fix the document proposes: ids bounded to SQLite's signed 64-bit integers, so larger ones are a 404.
ROUTE = "<int:id>"
BOUNDED_ROUTE = "<int(max=9223372036854775807):id>"
#: What pip says when the package index cannot be reached (then the trial is skipped, not failed).
NETWORK_ERRORS = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
    r"Name or service not known|Network is unreachable|Connection refused|ConnectTimeout|Read timed out|"
    r"ProxyError|Max retries exceeded|No route to host|Could not fetch URL|SSLError|CERTIFICATE_VERIFY_FAILED"
)
#: Anything the interpreter or pytest would print of a warning: none may show in the trial's sessions.
WARNING_TEXT = re.compile(r"\b\w*Warning\b|warnings summary")
GATE_ROW = re.compile(
    r"^(?P<check>\S+(?: \S+)*)\s{2,}(?P<figure>.+?)\s{2,}(?P<threshold>.+?)\s{2,}(?P<result>pass|FAIL)$"
)


# -- Flask's sdist, once per machine ---------------------------------------------------------------


def _cache_dir(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if cache is not None:
        return Path(cache.mkdir("stillme-adoption-flask"))
    return tmp_path_factory.getbasetemp() / "stillme-adoption-flask"


def _download_flask_sdist(folder: Path, flask_version: str) -> Path:
    """Flask's sdist (the version this interpreter has) in ``folder``; skip when the index is unreachable."""
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".lock")):
        found = sorted(folder.glob(f"flask-{flask_version}.tar.gz"))
        if found:
            return found[0]
        partial = folder / "partial"
        shutil.rmtree(partial, ignore_errors=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            "--disable-pip-version-check",
            "--timeout",
            "20",
            "--retries",
            "1",
            "--dest",
            str(partial),
            f"flask=={flask_version}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        got = sorted(partial.glob("flask-*.tar.gz"))
        if done.returncode != 0 or not got:
            output = f"{done.stdout}\n{done.stderr}".strip()
            if NETWORK_ERRORS.search(output):
                lines = [line for line in output.splitlines() if line.strip()]
                pytest.skip(f"the package index cannot be reached: pip download says: {' | '.join(lines[-3:])}")
            pytest.fail(f"pip download of flask=={flask_version} failed (exit {done.returncode}):\n{output}")
        target = folder / got[0].name
        got[0].replace(target)  # complete, then in place: a reader never sees half a file
        shutil.rmtree(partial, ignore_errors=True)
        return target


@pytest.fixture(scope="module")
def flask_sdist(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _download_flask_sdist(_cache_dir(pytestconfig, tmp_path_factory), version("flask"))


def _unpack_tutorial(sdist: Path, dest: Path) -> Path:
    """``examples/tutorial`` of the sdist (flaskr, its tests and pyproject.toml) as ``dest``."""
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if "/examples/tutorial/" in f"{m.name}/"]
        for member in members:
            unsafe = member.name.startswith("/") or ".." in Path(member.name).parts
            if unsafe or not (member.isfile() or member.isdir()):
                raise AssertionError(f"unexpected member in {sdist.name}: {member.name}")
        unpacked = dest.parent / "unpacked"
        if hasattr(tarfile, "data_filter"):
            archive.extractall(unpacked, members=members, filter="data")
        else:  # pragma: no cover - Python without extraction filters (checked above instead)
            archive.extractall(unpacked, members=members)
    (tutorial,) = unpacked.glob("*/examples/tutorial")
    shutil.move(str(tutorial), str(dest))
    shutil.rmtree(unpacked)
    return dest


# -- the adoption: what a team adds to flaskr --------------------------------------------------------


def _runtime_pins(root: str = "flask") -> dict[str, str]:
    """flaskr's runtime closure (flask and what it requires here), pinned at this interpreter's versions."""
    pins: dict[str, str] = {}
    todo = [root]
    while todo:
        name = str(canonicalize_name(todo.pop()))
        if name in pins:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        pins[name] = dist.version
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return pins


def _adopt(flaskr: Path) -> dict[str, str]:
    """Add the trial's configuration, fuzz test, DAST target, lock file and OSV snapshot; return the pins."""
    pyproject = flaskr / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert 'filterwarnings = ["error"]' in text, "flaskr's own strict warnings setting, which the trial keeps"
    assert "[tool.stillme" not in text
    pyproject.write_text(text + (ADOPTION / "stillme.toml").read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copy(ADOPTION / "flaskr_fuzz.py", flaskr / "tests" / "test_fuzz.py")
    shutil.copy(ADOPTION / "dast_app.py", flaskr / "tests" / "dast_app.py")
    shutil.copytree(ADOPTION / "osv", flaskr / ".osv")
    pins = _runtime_pins()
    lock = "".join(f"{name}=={pin}\n" for name, pin in sorted(pins.items()))
    (flaskr / "requirements.lock").write_text(lock, encoding="utf-8")
    return pins


def _environment(flaskr: Path, cache: Path) -> dict[str, str]:
    """This environment without the outer session's pytest, xdist, coverage and stillme variables."""
    drop = ("PYTEST_", "STILLME_", "COV_CORE_", "COVERAGE_", "HYPOTHESIS_", "MYPY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONPATH"] = str(flaskr)  # flaskr on the path without installing it
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # mypy's cache of Flask's and the standard library's modules, kept with the sdist: it saves seconds a run
    env["MYPY_CACHE_DIR"] = str(cache / "mypy")
    env.pop("ZAP_API_KEY", None)
    return env


def _pytest(flaskr: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", *args]
    env = _environment(flaskr, cache)
    return subprocess.run(command, cwd=flaskr, env=env, capture_output=True, text=True, timeout=600, check=False)


# -- reading what the session wrote ---------------------------------------------------------------


def _gate_rows(output: str) -> dict[str, tuple[str, str]]:
    """The terminal's gate table: check -> (figure, result)."""
    section = output[output.rindex("= stillme gate =") :]
    rows = {}
    for line in section.splitlines()[2:]:
        match = GATE_ROW.match(line.rstrip())
        if match is None:
            break
        rows[match["check"]] = (match["figure"], match["result"])
    return rows


def _figure_total(figure: str) -> int:
    """``10 medium, 20 low`` -> 30; ``0`` -> 0."""
    return sum(int(part.split()[0]) for part in figure.split(", "))


def _junit(path: Path) -> dict[str, str]:
    """node (``classname::name``) -> outcome: passed, failure, error or skipped."""
    root = ET.parse(path).getroot()  # written by pytest on this machine: a trusted file
    outcomes = {}
    for case in root.iter("testcase"):
        tags = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = tags.pop() if tags else "passed"
    return outcomes


def _sarif_runs(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == "2.1.0"
    assert "sarif" in data["$schema"]
    runs: dict[str, dict[str, Any]] = {run["tool"]["driver"]["name"]: run for run in data["runs"]}
    for name, run in runs.items():
        assert all(inv["executionSuccessful"] for inv in run["invocations"]), f"{name} did not run to the end"
        rules = {rule["id"] for rule in run["tool"]["driver"].get("rules", [])}
        assert {r["ruleId"] for r in run["results"]} <= rules, f"{name}: a result without its rule"
    return runs


def _host_tests(flaskr: Path, cache: Path) -> set[str]:
    """flaskr's own tests as JUnit names them, collected from the tree as Flask ships it."""
    done = _pytest(flaskr, cache, "--collect-only", "-q", "-p", "no:stillme", "-p", "no:cacheprovider", *HOST_TESTS)
    assert done.returncode == 0, done.stdout + done.stderr
    nodes = set()
    for line in done.stdout.splitlines():
        if "::" in line:
            path, _, name = line.partition("::")
            nodes.add(f"{path.removesuffix('.py').replace('/', '.')}::{name}")
    assert nodes, done.stdout
    return nodes


def _affected(pins: dict[str, str]) -> set[tuple[str, str]]:
    """(package, advisory id) of every record of the trial's OSV snapshot that affects a pinned version."""
    hits = set()
    for path in sorted((ADOPTION / "osv").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        for affected in record["affected"]:
            name = str(canonicalize_name(affected["package"]["name"]))
            if name not in pins:
                continue
            try:
                pinned = Version(pins[name])
            except InvalidVersion:
                continue
            for span in affected.get("ranges", []):
                low: Version | None = None
                for event in span["events"]:
                    if "introduced" in event:
                        low = Version(event["introduced"]) if event["introduced"] != "0" else Version("0")
                    elif "fixed" in event and low is not None:
                        if low <= pinned < Version(event["fixed"]):
                            hits.add((name, record["id"]))
                        low = None
                if low is not None and low <= pinned:
                    hits.add((name, record["id"]))
    return hits


# -- the trial ------------------------------------------------------------------------------------


def test_flaskr_adopts_the_gate_which_finds_the_real_defect_and_only_it(flask_sdist: Path, tmp_path: Path) -> None:
    cache = flask_sdist.parent
    flaskr = _unpack_tutorial(flask_sdist, tmp_path / "flaskr")
    host_tests = _host_tests(flaskr, cache)
    pins = _adopt(flaskr)

    # 1. flaskr as shipped, with the gate and every scanner, as CI runs it.
    done = _pytest(
        flaskr,
        cache,
        "--stillme-gate",
        "--cov=flaskr",
        "--junitxml=artifacts/junit.xml",
        *(f"--stillme-scan={name}" for name in SCANNERS),
        "--stillme-fuzz-seed=1",
        "-ra",
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # README: 1 = a test or the gate failed
    assert not WARNING_TEXT.search(output), WARNING_TEXT.search(output)

    outcomes = _junit(flaskr / "artifacts" / "junit.xml")
    failed = {node for node, outcome in outcomes.items() if outcome != "passed"}
    assert failed == {"tests.test_fuzz::test_fuzz_as_author", "stillme::gate"}, output
    assert host_tests <= {node for node, outcome in outcomes.items() if outcome == "passed"}
    assert "tests.test_fuzz::test_fuzz_as_visitor" in outcomes
    for scanner in SCANNERS:  # each scanner's status item ran, and passed: the scan was complete
        assert outcomes[f"stillme::{scanner}"] == "passed", output
    assert f"{len(outcomes) - len(failed)} passed" in output
    assert "requirements.lock::pip-audit" in outcomes

    rows = _gate_rows(output)
    assert {check for check, (_, result) in rows.items() if result == "FAIL"} == {"fuzz findings"}, output
    assert rows["scanner errors"][0] == "0"
    assert rows["coverage"][0].endswith("%")
    assert "stillme gate FAILED" in output

    runs = _sarif_runs(flaskr / "artifacts" / "stillme.sarif")
    assert set(SCANNERS) | {"stillme-fuzz"} <= set(runs), sorted(runs)
    results = {name: run["results"] for name, run in runs.items()}

    # fuzz: the defect, at its place in flaskr's code, on the three routes that take a post id
    fuzz = results["stillme-fuzz"]
    assert rows["fuzz findings"][0] == f"{len(fuzz)} high"
    assert {r["ruleId"] for r in fuzz} == {"server-error"}
    assert all("OverflowError" in r["message"]["text"] for r in fuzz), fuzz
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in fuzz} == {"flaskr/blog.py"}
    endpoints = {f"{r['properties']['method']} {r['properties']['url']}" for r in fuzz}
    assert endpoints == {"GET /{id}/update", "POST /{id}/update", "POST /{id}/delete"}, endpoints

    # bandit: the hard-coded default SECRET_KEY, low, below the sast threshold
    bandit = results["bandit"]
    assert ("B106", "flaskr/__init__.py") in {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in bandit
    }
    assert rows["sast findings"][0] == f"{len(bandit)} low"

    # ruff and mypy: clean with Flask's import style
    assert results["ruff"] == []
    assert results["mypy"] == []
    assert rows["lint findings"][0] == "0"

    # pip-audit: the pinned runtime closure against the snapshot, offline
    assert {"flask", "werkzeug", "jinja2"} <= set(pins)
    expected = _affected(pins)
    audited = {r["ruleId"] for r in results["pip-audit"]}
    assert len(audited) == len(expected), (audited, expected)
    assert _figure_total(rows["deps findings"][0]) == len(results["pip-audit"])

    # passive DAST: the security headers flaskr does not send, and forms without CSRF tokens; nothing high
    passive = results["passive"]
    rules = {r["ruleId"] for r in passive}
    assert {"10020-1", "10021", "10038-1", "10063-1", "10202"} <= rules, rules
    assert not any(rule.startswith("10036") for rule in rules)  # in process: no test server's Server header
    assert all(r["level"] in ("warning", "note") for r in passive)
    assert _figure_total(rows["dast findings"][0]) == len(passive)
    levels = Counter(r["level"] for r in passive)
    assert rows["dast findings"][0] == ", ".join(
        f"{n} {sev}" for n, sev in ((levels["warning"], "medium"), (levels["note"], "low")) if n
    )

    # 2. the fix the document proposes: the same fuzzing (the failures replayed first) passes the gate
    blog = flaskr / "flaskr" / "blog.py"
    source = blog.read_text(encoding="utf-8")
    assert source.count(ROUTE) == 2
    blog.write_text(source.replace(ROUTE, BOUNDED_ROUTE), encoding="utf-8")
    fixed = _pytest(
        flaskr,
        cache,
        "--stillme-gate",
        "--stillme-coverage=off",
        "--stillme-fuzz-seed=1",
        "--stillme-sarif=artifacts/fixed.sarif",
        "tests/test_fuzz.py::test_fuzz_as_author",
    )
    fixed_output = fixed.stdout + fixed.stderr
    assert fixed.returncode == 0, fixed_output
    assert "stillme gate PASSED" in fixed_output
    assert "2 passed" in fixed_output  # the fuzz test that failed, and stillme::gate
    assert not WARNING_TEXT.search(fixed_output), WARNING_TEXT.search(fixed_output)
    assert _sarif_runs(flaskr / "artifacts" / "fixed.sarif")["stillme-fuzz"]["results"] == []


# -- the fixes the trial made in src/ -------------------------------------------------------------

#: A page without any security header: the passive scan's 10021 and others, WARN by default.
BARE_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"<html><body><p>bare</p></body></html>"]
"""


def test_a_zap_baseline_warn_under_filterwarnings_error_fails_its_item_as_plain_text(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(bareapp=BARE_APP)
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n\n'
        '[tool.stillme]\ntarget = "bareapp:app"\n\n[tool.stillme.passive]\nin_process = true\n'
    )
    result = pytester.runpytest("--stillme-scan=passive", "--stillme-gate", "--stillme-coverage=off")
    output = result.stdout.str()
    result.stdout.fnmatch_lines(["*10021::passive: zap-baseline rates these alerts WARN*", "WARN-NEW: X-Content-Type*"])
    assert "pluggy/_" not in output  # no trace through pytest's hooks
    assert "_pytest/runner.py" not in output
    assert "FAILED 10021::passive" in output
    assert re.search(r"scanner errors\s+0\s+0\s+pass", output), output
    assert result.ret == 1
    # without the error filter the same alerts are the warnings zap-baseline's WARN means
    pytester.makepyprojecttoml('[tool.stillme]\ntarget = "bareapp:app"\n\n[tool.stillme.passive]\nin_process = true\n')
    quiet = pytester.runpytest("--stillme-scan=passive", "--stillme-gate", "--stillme-coverage=off")
    assert quiet.ret == 0
    # (the category's name is left out of the line when another library replaced warnings.formatwarning,
    # as importing bandit.core does: the item and the alert are what this promises)
    quiet.stdout.fnmatch_lines(["*warnings summary*", "10021::passive", "*WARN-NEW: X-Content-Type*"])


#: A scanner whose run is complete but says something worth a warning (as a stale OSV snapshot does).
WARNING_SCANNER = """\
from pytest_stillme.scanners.api import ScanResult, SourceResult


def run(request):
    return ScanResult("warner", "1.0", (SourceResult("environment", ()),), warnings=("the data is 40 days old",))
"""
WARNING_CONFTEST = """\
import pytest
from pytest_stillme.scanners.api import ScannerSpec


@pytest.hookimpl(optionalhook=True)
def pytest_stillme_register(registry):
    registry.add_scanner(ScannerSpec("warner", "deps", run="warnscanner:run"))
"""


def test_a_scanner_warning_under_filterwarnings_error_fails_its_item_but_is_no_scanner_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(warnscanner=WARNING_SCANNER)
    pytester.makeconftest(WARNING_CONFTEST)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n')
    result = pytester.runpytest("--stillme-scan=warner", "--stillme-gate", "--stillme-coverage=off")
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*warner: the data is 40 days old", "*(a warning, made an error by this session's warning filters)"]
    )
    assert "report a bug" not in output
    assert "StillmeScanWarning: warner" not in output
    assert re.search(r"scanner errors\s+0\s+0\s+pass", output), output  # the scan was complete
    assert "FAILED stillme::warner" in output
    assert result.ret == 1
