"""Benchmark: the Bandit collector (``pytest --stillme-scan bandit``) against ``bandit -r`` on a large real tree.

Usage: ``python benchmarks/bench_bandit.py [--repeat 3] [--tree DIR --paths django] [--package SPEC] [--json PATH]``

By default it installs Django (``--package "django==5.2.*"``, without its
dependencies) into a temporary folder with ``pip install --target`` and scans
its ``django`` package; ``--tree`` points at a folder that already holds the
package (copied to the temporary folder first).  The folder gets a ``pyproject.toml`` that points
``[tool.stillme.bandit] paths`` at the package and ``testpaths`` at an empty
``tests`` folder (so pytest collects no Django module as a test).  Every
command is a fresh subprocess run in that folder; each round runs every case
once, and a case's figure is the median wall time of its rounds.  Memory is the
peak resident size of the largest process of the command (pytest, an xdist
worker or Bandit), from ``wait4``.

The targets are on wall time (``ratio``); ``cpu ratio`` (user + system time of the command
and its children) is shown alongside because it does not depend on what else the machine runs.

Cases, each against ``python -m bandit -r PACKAGE -f json -q --exit-zero``:

- ``cold``: ``pytest -q --stillme-scan bandit`` with an empty pytest cache.  Target <= 1.1x.
- ``warm``: the same again, nothing changed.  Target <= 0.1x.
- ``one file``: one file of the package changed (a comment appended).  Target <= 0.2x.
- ``-n 2 cold``: ``-n 2`` with an empty cache.  Target <= 0.7x.
- ``2 halves``: no target, a reference: the files split by hand (by size) over two Bandit
  processes running at once, the best any two-process scan can do on this machine.

Before timing, the collector's findings (from its cache) are checked against
the CLI's: the same (test id, file, line) set, or the script stops.  Exits 1
when a target is missed, 2 when a command fails or the findings differ.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TARGETS = {"cold": 1.1, "warm": 0.1, "one file": 0.2, "-n 2 cold": 0.7}
#: Reference, no target: the same files split by hand over two Bandit processes at once, i.e. the
#: best any two-process scan can do on this machine.
HALVES = """
import json, subprocess, sys
halves = json.load(open(sys.argv[1]))
procs = [subprocess.Popen([sys.executable, "-m", "bandit", "-f", "json", "-o", f"{sys.argv[1]}.{i}", "-q",
                           "--exit-zero", *half]) for i, half in enumerate(halves)]
sys.exit(max(p.wait() for p in procs))
"""
PYTEST = ("-m", "pytest", "-q", "-p", "no:hypothesispytest", "--stillme-scan", "bandit")
ENV_DROP_PREFIXES = ("PYTEST_", "STILLME_", "COV_CORE_")


@dataclass
class Run:
    seconds: float
    cpu: float
    mib: float


@dataclass
class Case:
    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def mib(self) -> float:
        return max(r.mib for r in self.runs)


class Failed(Exception):
    """A command that did not do its job: the benchmark means nothing then."""


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_DROP_PREFIXES)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure(argv: Sequence[str], cwd: Path, ok: Sequence[int] = (0,)) -> Run:
    """Wall time, CPU time and peak memory (largest process of the tree) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        tail = output.decode(errors="replace")[-3000:]
        raise Failed(f"{' '.join(argv)} exited with {proc.returncode}:\n{tail}")
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 / 1024 / 1024 if sys.platform == "darwin" else 1 / 1024
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * scale)


def prepare(args: argparse.Namespace, scratch: Path) -> tuple[Path, str]:
    tree = scratch / "tree"
    package = args.paths
    if args.tree:
        # A copy: the benchmark writes a pyproject.toml and edits a file, never in the user's folder.
        shutil.copytree(Path(args.tree) / package, tree / package)
    else:
        print(f"installing {args.package} into {tree} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(tree), args.package],
            check=True,
        )
    if not (tree / package).is_dir():
        raise Failed(f"{tree / package} is not a folder")
    (tree / "tests").mkdir(exist_ok=True)
    (tree / "pyproject.toml").write_text(
        f'[tool.stillme.bandit]\npaths = ["{package}"]\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
    )
    return tree, package


def cli_findings(report: Path) -> set[tuple[str, str, int]]:
    data = json.loads(report.read_text())
    return {(r["test_id"], os.path.normpath(r["filename"]), r["line_number"]) for r in data["results"]}


def collector_findings(tree: Path) -> tuple[set[tuple[str, str, int]], int]:
    cache = json.loads((tree / ".pytest_cache" / "v" / "stillme" / "scan-bandit").read_text())
    found = set()
    for entry in cache["entries"].values():
        for finding in entry.get("findings", ()):
            found.add((finding["rule"]["id"], finding["location"]["path"], finding["location"]["line"]))
    return found, len(cache["entries"])


def clear_cache(tree: Path) -> None:
    shutil.rmtree(tree / ".pytest_cache", ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--tree", help="a folder that holds the code to scan (default: install --package)")
    parser.add_argument("--paths", default="django", help="the package folder inside the tree (default django)")
    parser.add_argument("--package", default="django==5.2.*", help="what pip installs when no --tree is given")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="stillme-bench-bandit-"))
    try:
        tree, package = prepare(args, scratch)
        report = scratch / "cli.json"
        cli = [sys.executable, "-m", "bandit", "-r", package, "-f", "json", "-o", str(report), "-q", "--exit-zero"]
        pytest = [sys.executable, *PYTEST]
        # Findings make pytest exit 1: that is a result, not a failure of the command.
        ok = (0, 1)
        changed = next(p for p in sorted((tree / package).rglob("*.py")) if p.stat().st_size > 2000)
        original = changed.read_bytes()

        print("checking that the collector finds what bandit -r finds ...", flush=True)
        measure(cli, tree)  # also writes the byte code of Bandit itself
        clear_cache(tree)
        measure(pytest, tree, ok)
        theirs = cli_findings(report)
        ours, scanned = collector_findings(tree)
        if ours != theirs:
            raise Failed(
                f"findings differ: only CLI {sorted(theirs - ours)[:5]}, only ours {sorted(ours - theirs)[:5]}"
            )
        print(f"same findings: {len(ours)} (test id, file, line) in {scanned} files", flush=True)

        files = sorted(str(p.relative_to(tree)) for p in (tree / package).rglob("*.py"))
        sizes = [(tree / f).stat().st_size for f in files]
        half, total = 0, 0
        while half < len(files) and total < sum(sizes) / 2:
            total += sizes[half]
            half += 1
        halves_file = scratch / "halves.json"
        halves_file.write_text(json.dumps([files[:half], files[half:]]))
        halves = [sys.executable, "-c", HALVES, str(halves_file)]

        names = ("bandit -r", "cold", "warm", "one file", "-n 2 cold", "2 halves")
        cases = {name: Case(name) for name in names}
        for round_ in range(args.repeat):
            print(f"round {round_ + 1}/{args.repeat} ...", flush=True)
            cases["bandit -r"].runs.append(measure(cli, tree))
            clear_cache(tree)
            cases["cold"].runs.append(measure(pytest, tree, ok))
            cases["warm"].runs.append(measure(pytest, tree, ok))
            changed.write_bytes(original + f"\n# changed {time.time()}\n".encode())
            try:
                cases["one file"].runs.append(measure(pytest, tree, ok))
            finally:
                changed.write_bytes(original)
            measure(pytest, tree, ok)  # back in the cache as it was
            clear_cache(tree)
            cases["-n 2 cold"].runs.append(measure([*pytest, "-n", "2"], tree, ok))
            cases["2 halves"].runs.append(measure(halves, tree))

        base = cases["bandit -r"].seconds
        missed = []
        rows: list[dict[str, Any]] = []
        base_cpu = cases["bandit -r"].cpu
        print(f"\n{'case':<11} {'seconds':>8} {'cpu s':>7} {'MiB':>6} {'ratio':>6} {'cpu ratio':>9}  target   result")
        for case in cases.values():
            ratio = case.seconds / base
            target = TARGETS.get(case.name)
            passed = target is None or ratio <= target
            verdict = "-" if target is None else ("ok" if passed else "MISSED")
            limit = f"<= {target:g}x" if target else ""
            figures = (
                f"{case.seconds:>8.2f} {case.cpu:>7.2f} {case.mib:>6.1f} {ratio:>6.3f} {case.cpu / base_cpu:>9.3f}"
            )
            print(f"{case.name:<11} {figures}  {limit:<8} {verdict}")
            if not passed:
                missed.append(f"missed target: {case.name} {ratio:.3f}x > {target:g}x")
            rows.append({**asdict(case), "seconds": case.seconds, "ratio": ratio, "target": target, "passed": passed})
        print(f"\n{len(ours)} findings in {scanned} files; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        for line in missed:
            print(line)
        if args.json:
            Path(args.json).write_text(json.dumps({"cases": rows, "findings": len(ours), "files": scanned}, indent=2))
        return 1 if missed else 0
    except (Failed, subprocess.CalledProcessError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
