"""The generic scanner items: a scanner plugs in with one registry entry and gets items, caching and xdist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_stillme.adapter.chunks import SharedChunks as _SharedDir
from pytest_stillme.adapter.chunks import split as _split
from pytest_stillme.scanners.api import Target

#: A scanner of ``data/*.txt``: a line "BAD" is a finding, "ERROR" an error of that file,
#: a file called crash.txt makes the run raise.  Each run logs its targets and its process.
FAKE_SCANNER = """\
import json, os, time
from pathlib import Path

from pytest_stillme.core.findings import Finding, Location, Rule, ScannerError, Severity
from pytest_stillme.scanners.api import ScanResult, SourceResult
from pytest_stillme.scanners.api import Discovery, Target, ToolIdentity


def discover(request):
    files = sorted((request.root / "data").glob("*.txt"))
    return Discovery(tuple(Target(f"data/{f.name}", f"data/{f.name}") for f in files), (), "fake on data/")


def identify(request):
    return ToolIdentity("1.0", "fake-" + os.environ.get("FAKE_TOOL_CONFIG", ""))


def run(request):
    with open("calls.log", "a") as log:
        log.write(json.dumps({"pid": os.getpid(), "targets": [t.name for t in request.targets]}) + "\\n")
    time.sleep(float(os.environ.get("FAKE_SCAN_SLEEP", "0")))
    sources = []
    for target in request.targets:
        if target.name.endswith("crash.txt"):
            raise RuntimeError("the fake scanner broke")
        if target.name.endswith("wrongtype.txt"):
            return "not a ScanResult"
        if target.name.endswith("silent.txt"):
            continue
        findings, errors = [], []
        for number, line in enumerate((request.root / target.path).read_text().splitlines(), start=1):
            if line == "BAD":
                findings.append(Finding("fake", Rule("F1", "bad-line"), "sast", Severity.HIGH, "a bad line",
                                        Location(path=target.name, line=number), evidence=f"{line} {number}"))
            elif line == "ERROR":
                errors.append(ScannerError("fake", "cannot read this", "fix it", target.name))
        sources.append(SourceResult(target.name, tuple(findings), tuple(errors), target.path))
    return ScanResult("fake", "1.0", tuple(sources))


def run_whole(request):
    finding = Finding("whole", Rule("W1"), "deps", Severity.CRITICAL, "vulnerable thing",
                      Location(package="thing", version="1.0"))
    return ScanResult("whole", "2.0", (SourceResult("environment", (finding,)),), warnings=("the data is 40 days old",))
"""

#: A third-party scanner registers through stillme's hook, from a conftest.py, as a plugin would.
CONFTEST = """\
import pytest
from pytest_stillme.core.settings import Setting, integer
from pytest_stillme.scanners.api import ScannerSpec


@pytest.hookimpl(optionalhook=True)
def pytest_stillme_register(registry):
    registry.add_scanner(ScannerSpec("fake", "sast", run="fakescanner:run", discover="fakescanner:discover",
                                     identify="fakescanner:identify", per_file=True,
                                     settings=(Setting("fake.level", integer(minimum=0), 1, "how picky"),)))
    registry.add_scanner(ScannerSpec("whole", "deps", run="fakescanner:run_whole"))
"""


@pytest.fixture
def fake(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(fakescanner=FAKE_SCANNER)
    pytester.makeconftest(CONFTEST)
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n')
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "clean.txt").write_text("fine\n")
    (pytester.path / "data" / "bad.txt").write_text("fine\nBAD\n")
    return pytester


def calls(project: pytest.Pytester) -> list[dict[str, object]]:
    log = project.path / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_one_registry_entry_gives_items_status_and_gate(fake: pytest.Pytester) -> None:
    result = fake.runpytest("--stillme-scan", "fake", "--stillme-gate", "-v", "-p", "no:randomly")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "data/bad.txt::fake FAILED*",
            "data/clean.txt::fake PASSED*",
            "stillme::fake PASSED*",
            "stillme::gate FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(["sast findings*1 high*FAIL*", "*[[]high[]] fake F1: a bad line at data/bad.txt:2*"])
    assert [c["targets"] for c in calls(fake)] == [["data/bad.txt", "data/clean.txt"]]  # one run for both


def test_cache_is_keyed_on_content_and_identity(fake: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.runpytest("--stillme-scan", "fake")
    (fake.path / "calls.log").unlink()
    assert fake.runpytest("--stillme-scan", "fake").parseoutcomes() == {"failed": 1, "passed": 2}
    assert calls(fake) == []
    (fake.path / "data" / "clean.txt").write_text("fine\nBAD\n")
    result = fake.runpytest("--stillme-scan", "fake")
    assert [c["targets"] for c in calls(fake)] == [["data/clean.txt"]]
    assert result.parseoutcomes() == {"failed": 2, "passed": 1}
    (fake.path / "calls.log").unlink()
    monkeypatch.setenv("FAKE_TOOL_CONFIG", "another")  # the tool's identity changes
    fake.runpytest("--stillme-scan", "fake")
    assert [c["targets"] for c in calls(fake)] == [["data/bad.txt", "data/clean.txt"]]


def test_errors_of_files_and_of_the_run(fake: pytest.Pytester) -> None:
    (fake.path / "data" / "broken.txt").write_text("ERROR\n")
    (fake.path / "data" / "silent.txt").write_text("fine\n")
    result = fake.runpytest("--stillme-scan", "fake", "--stillme-gate", "--stillme-fail-on", "sast=off")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*_ data/broken.txt (fake) _*", "not scanned:", "  fake (data/broken.txt): cannot read this - fix it"]
    )
    result.stdout.fnmatch_lines(
        ["*_ data/silent.txt (fake) _*", "not scanned:", "*the tool reported nothing about this file*"]
    )
    result.stdout.fnmatch_lines(
        ["*_ stillme::fake _*", "fake on data/ (1.0):", "fake could not scan 1 of its targets: see their items"]
    )
    result.stdout.fnmatch_lines(["scanner errors*FAIL*"])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("crash.txt", "*internal error while running fake: RuntimeError: the fake scanner broke - report it as a bug*"),
        (
            "wrongtype.txt",
            "*internal error while running fake: TypeError: fakescanner:run returned str, not ScanResult*",
        ),
    ],
)
def test_a_broken_scanner_fails_clearly(fake: pytest.Pytester, name: str, message: str) -> None:
    (fake.path / "data" / name).write_text("x\n")
    result = fake.runpytest("--stillme-scan", "fake", "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*_ stillme::fake _*", "fake failed:", message])
    assert "Traceback" not in result.stdout.str()


def test_scanner_without_discovery_is_one_status_item(fake: pytest.Pytester) -> None:
    result = fake.runpytest("--stillme-scan", "whole", "--stillme-gate", "-v")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["stillme::whole FAILED*", "stillme::gate FAILED*"])
    result.stdout.fnmatch_lines(["*1 finding(s) at or above the gate's threshold outside the collected files:*"])
    result.stdout.fnmatch_lines(["deps findings*1 critical*FAIL*"])
    result.stdout.fnmatch_lines(["*warnings summary*", "stillme::whole", "*whole: the data is 40 days old*"])


def test_xdist_shares_chunks_between_workers(fake: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(64):
        (fake.path / "data" / f"f{index:02d}.txt").write_text("fine\n" * (index % 5 + 1))
    # Each run takes a second: both workers are scanning at once whatever order xdist hands items out in.
    monkeypatch.setenv("FAKE_SCAN_SLEEP", "1.0")
    result = fake.runpytest_subprocess("--stillme-scan", "fake", "-n", "2")
    assert result.parseoutcomes() == {"failed": 1, "passed": 66}
    runs = calls(fake)
    scanned = [t for c in runs for t in c["targets"]]  # type: ignore[attr-defined]
    assert sorted(scanned) == sorted(set(scanned))
    assert len(scanned) == 66
    assert len(runs) == 2  # a chunk per worker
    assert len({c["pid"] for c in runs}) == 2  # both workers scanned
    cache = json.loads((fake.path / ".pytest_cache" / "v" / "stillme" / "scan-fake").read_text())
    assert len(cache["entries"]) == 66  # written by the controller from both workers' entries


def test_split_balances_by_size_and_keeps_order() -> None:
    targets = [Target(f"t{i}") for i in range(10)]
    sizes = {t.name: (100 if i == 0 else 10) for i, t in enumerate(targets)}
    groups = _split(targets, sizes, 2)
    assert [t for g in groups for t in g] == targets
    assert [len(g) for g in groups] == [1, 9]
    assert len(_split(targets, {}, 4)) == 4
    assert _split([], {}, 3) == []
    assert len(_split(targets[:2], {}, 5)) <= 2


def test_shared_dir_claims_once_and_survives_a_dead_claimant(tmp_path: Path) -> None:
    one, two = _SharedDir(tmp_path), _SharedDir(tmp_path)
    assert one.claim("c1")
    assert not two.claim("c1")
    one.publish("c1", {"tool": "x"})
    assert two.wait("c1", timeout=1) == {"tool": "x"}
    assert not two.claim("c1")  # done: nobody scans it again
    # A claimant that died holding the lock: the system released it, the waiter takes over the chunk.
    code = (
        "import sys; from pytest_stillme.adapter.chunks import SharedChunks; from pathlib import Path; "
        "assert SharedChunks(Path(sys.argv[1])).claim('c2')"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    assert two.wait("c2", timeout=30) is None
    assert not one.claim("c2")  # the waiter holds it now, until it publishes
    two.publish("c2", {"tool": "y"})
    assert one.wait("c2", timeout=1) == {"tool": "y"}
    # A live claimant that never publishes: the wait ends at its timeout.
    assert one.claim("c3")
    assert two.wait("c3", timeout=0.2) is None


def test_one_process_runs_a_tool_process_per_free_core(fake: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without xdist a per-file scan is cut into as many runs as cores are free, run side by side."""
    import pytest_stillme.adapter.scanning.run as scan_run

    for index in range(64):
        (fake.path / "data" / f"f{index:02d}.txt").write_text("fine\n")
    monkeypatch.setattr(scan_run, "free_cores", lambda: 2)
    result = fake.runpytest("--stillme-scan", "fake", "-p", "no:xdist")
    assert result.parseoutcomes() == {"failed": 1, "passed": 66}
    runs = calls(fake)
    scanned = [t for c in runs for t in c["targets"]]  # type: ignore[attr-defined]
    assert len(runs) == 2
    assert sorted(scanned) == sorted(set(scanned))
    assert len(scanned) == 66
    monkeypatch.setattr(scan_run, "free_cores", lambda: 1)
    (fake.path / "calls.log").unlink()
    fake.runpytest("--stillme-scan", "fake", "-p", "no:xdist", "-p", "no:cacheprovider")
    assert len(calls(fake)) == 1  # a busy machine: one run
