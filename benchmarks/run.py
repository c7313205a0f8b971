"""Run every benchmark script in this folder (``bench_*.py``) in turn; exit 1 if any of them failed.

Usage: ``python benchmarks/run.py [NAME ...]`` (names like ``session`` or ``bench_sarif.py`` pick scripts;
default: all).  Each script runs with this interpreter and its default options; its output is shown as it
comes, and a combined summary follows: exit status, time, and the lines that reported a missed target.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Outcome:
    """How one script went."""

    name: str
    returncode: int
    seconds: float
    missed: list[str] = field(default_factory=list)


def discover(selected: list[str]) -> list[Path]:
    """The scripts to run, in name order; ``selected`` filters by name with or without ``bench_`` and ``.py``."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if not selected:
        return scripts
    wanted = {name.removesuffix(".py").removeprefix("bench_") for name in selected}
    return [script for script in scripts if script.stem.removeprefix("bench_") in wanted]


def run_script(script: Path) -> Outcome:
    """Run one script, echoing its output, and keep the lines that mention a missed target."""
    print(f"==> {script.name}", flush=True)
    start = time.perf_counter()
    missed: list[str] = []
    with subprocess.Popen(
        [sys.executable, str(script)],
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if "MISSED" in line:
                missed.append(line.strip())
    seconds = time.perf_counter() - start
    print()
    return Outcome(script.name, proc.returncode, seconds, missed)


def main(argv: list[str] | None = None) -> int:
    selected = sys.argv[1:] if argv is None else argv
    scripts = discover(selected)
    if not scripts:
        print(f"no benchmark scripts matching {selected or 'bench_*.py'} in {HERE}", file=sys.stderr)
        return 2
    outcomes = [run_script(script) for script in scripts]

    print("==> summary")
    width = max(len(outcome.name) for outcome in outcomes)
    for outcome in outcomes:
        status = "ok" if outcome.returncode == 0 else f"FAILED (exit {outcome.returncode})"
        print(f"  {outcome.name.ljust(width)}  {outcome.seconds:6.1f} s  {status}")
        for line in outcome.missed:
            print(f"  {' ' * width}    {line}")
    failed = [outcome.name for outcome in outcomes if outcome.returncode != 0]
    total = sum(outcome.seconds for outcome in outcomes)
    print(f"  {len(outcomes) - len(failed)} of {len(outcomes)} benchmarks passed in {total:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
