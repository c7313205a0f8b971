"""The demo pipeline (``make demo``) against the same stages run as plain tools, one after another.

Comparable stages only: the unit and integration tests (pytest with pytest-cov, without the
plugin), and the security stage (``bandit -r`` over the files the plugin's Bandit scans: src,
tests, smoke; ``ruff check``, ``mypy``; pip-audit too when PyPI's vulnerability service answers,
in both columns), then ``coverage combine/html/xml``.
Chaos, fuzz, passive DAST and the deployment check have no plain counterpart here (chaos and
fuzz tests need the plugin's fixtures; their own benchmarks compare them with wrk, schemathesis
and a plain httpx loop), so they are timed by stage for information only.

Target: the pipeline's comparable stages, merge and gate included, within 1.2x of the plain tools.

    python benchmarks/bench_demo.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "service"
PIPELINE = ROOT / "examples" / "pipeline.py"
BIN = Path(sys.executable).parent
TARGET = 1.2
COMPARABLE = "unit,integration,security"


def copy_example(into: Path) -> Path:
    project = into / "service"
    shutil.copytree(
        EXAMPLE,
        project,
        ignore=shutil.ignore_patterns("artifacts", ".hypothesis", ".*_cache", ".coverage*", "__pycache__"),
    )
    return project


def run(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def pipeline(project: Path, stages: str, env: dict[str, str]) -> tuple[float, dict[str, float], bool]:
    """Wall seconds of the pipeline, its per-stage seconds, and whether it audited dependencies."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(PIPELINE), "--project", str(project), "--stages", stages],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the pipeline failed (exit {done.returncode}):\n{done.stdout[-4000:]}")
    per_stage = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^(\S+)\s+(?:passed|FAILED)?\s+([\d.]+)$", done.stdout, re.MULTILINE)
    }
    return seconds, per_stage, "dependency audit NOT RUN" not in done.stdout


def plain(project: Path, env: dict[str, str], audit: bool) -> float:
    """The same work with the tools a team would call instead, one after another."""
    artifacts = project / "artifacts-plain"
    shutil.rmtree(artifacts, ignore_errors=True)
    (artifacts / "coverage").mkdir(parents=True)
    py = [sys.executable, "-m"]
    pytest_plain = [
        *py,
        "pytest",
        "-q",
        "-p",
        "no:stillme",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-W",
        "ignore::pytest.PytestUnknownMarkWarning",
        "--cov=inventory",
        "--cov-report=",
    ]
    total = 0.0
    for stage, selection in (
        ("unit", ["tests", "-m", "not chaos and not integration", "--ignore=tests/test_fuzz.py"]),
        ("integration", ["tests", "-m", "integration"]),
    ):
        stage_env = dict(env, COVERAGE_FILE=str(artifacts / "coverage" / f".coverage.{stage}"))
        total += run([*pytest_plain, *selection, f"--junitxml={artifacts / f'junit-{stage}.xml'}"], project, stage_env)
    total += run(
        [str(BIN / "bandit"), "-q", "-r", "src", "tests", "smoke", "-f", "json", "-o", str(artifacts / "bandit.json")],
        project,
        env,
    )
    if audit:
        total += run([*py, "pip_audit", "-f", "json", "-o", str(artifacts / "pip-audit.json"), "."], project, env)
    total += run(
        [str(BIN / "ruff"), "check", "--output-format=sarif", f"--output-file={artifacts / 'ruff.sarif'}"], project, env
    )
    total += run([*py, "mypy", "--no-error-summary"], project, env)
    data = f"--data-file={artifacts / '.coverage'}"
    coverage = [*py, "coverage"]
    total += run(
        [*coverage, "combine", "--keep", "-q", data, *map(str, (artifacts / "coverage").glob(".coverage.*"))],
        project,
        env,
    )
    total += run([*coverage, "html", "-q", data, "-d", str(artifacts / "htmlcov")], project, env)
    total += run([*coverage, "xml", "-q", data, "-o", str(artifacts / "coverage.xml")], project, env)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as scratch:
        project = copy_example(Path(scratch))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project / "src"), env.get("PYTHONPATH", "")]))
        # One warm-up of each (mypy's and ruff's caches, pyc files), as a CI cache would give.
        _, _, audit = pipeline(project, COMPARABLE, env)
        plain(project, env, audit)
        ours: list[float] = []
        alternative: list[float] = []
        for _ in range(args.repeat):
            ours.append(pipeline(project, COMPARABLE, env)[0])
            alternative.append(plain(project, env, audit))
        whole, stages, _ = pipeline(project, "unit,integration,chaos,security,fuzz,dast,deploy", env)
    ours_median, alt_median = statistics.median(ours), statistics.median(alternative)
    ratio = ours_median / alt_median
    verdict = "OK" if ratio <= TARGET else "MISSED"
    print(
        f"comparable stages ({COMPARABLE}{', pip-audit in both' if audit else ', pip-audit in neither: no service'}):"
    )
    print(f"  pipeline (merge and gate included)  {ours_median:7.2f} s   runs {', '.join(f'{s:.2f}' for s in ours)}")
    print(
        f"  plain tools one after another       {alt_median:7.2f} s   runs {', '.join(f'{s:.2f}' for s in alternative)}"
    )
    print(f"demo (comparable stages) vs plain tools  {ratio:.2f}x  <= {TARGET:.2f}x  {verdict}")
    print(
        f"whole demo, every stage: {whole:.1f} s wall; by stage (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
    )
    print(f"{args.repeat} repeats on {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
