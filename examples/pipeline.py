"""The whole pipeline on the bundled example, one pytest session per stage, as CI runs it.

``make demo`` runs it.  Each stage is the session a CI job would run (see ``.github/workflows/``):
it writes ``junit-<stage>.xml`` and ``sarif/<stage>.sarif`` and gates its own findings.  Then,
like the final CI job, it merges the stages' JUnit and SARIF, combines their coverage into
``coverage.xml`` and ``htmlcov/``, writes the Markdown summary, and ends with the verdict of
``stillme gate`` over everything as its exit status.  A stage that fails does not stop the others
(a CI run shows every job), and a stage that did not finish (interrupted, usage or internal error)
fails the pipeline even when its reports say nothing.

    python examples/pipeline.py                      # every stage
    python examples/pipeline.py --stages security    # some of them
    python examples/pipeline.py --project DIR        # another copy of the example (the planted-vulnerability test)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PROJECT = HERE / "service"

#: What a stage's pytest session is given beyond the common options (JUnit, SARIF, gate).
#: ``cover``: the stage runs the example's tests and so measures coverage (combined at the end).
#: ``service``: the stage needs the service running on loopback (its URL replaces ``{url}``).


@dataclass(frozen=True)
class Stage:
    name: str
    what: str
    args: tuple[str, ...]
    cover: bool = False
    service: bool = False


STAGES: tuple[Stage, ...] = (
    Stage(
        "unit",
        "unit tests with coverage",
        ("tests", "-m", "not chaos and not integration", "--ignore=tests/test_fuzz.py"),
        cover=True,
    ),
    Stage("integration", "integration tests (300 s limit each)", ("tests", "-m", "integration"), cover=True),
    Stage("chaos", "chaos tests: faults and stress, in their own worker", ("tests", "-m", "chaos"), cover=True),
    Stage(
        "security",
        "Bandit, pip-audit (the declared dependencies), ruff, mypy",
        (
            # Scanner items only: naming src (where no test file lives) spares the session importing the tests
            # only to deselect them; the scanners' scope is their own (Bandit: the whole project, .gitignore out).
            "src",
            "-m",
            "stillme_scan",
            "--stillme-scan=bandit",
            "--stillme-scan=pip-audit",
            "--stillme-scan=ruff",
            "--stillme-scan=mypy",
        ),
    ),
    Stage("fuzz", "the fuzz fixture against the app, in process and on a socket", ("tests/test_fuzz.py",), cover=True),
    Stage(
        "dast",
        "passive DAST (ZAP's passive rules) against the app served on loopback",
        ("src", "-m", "stillme_scan", "--stillme-scan=passive", "--stillme-target=inventory.app:app"),
    ),
    Stage(
        "deploy",
        "the running service: health, metrics, smoke tests, load against the SLOs",
        ("smoke", "--stillme-deploy", "--stillme-target={url}"),
        service=True,
    ),
)
STAGE_NAMES = tuple(stage.name for stage in STAGES)


@dataclass
class Outcome:
    stage: Stage
    status: int
    seconds: float
    log: Path
    reports: list[Path] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Statuses 0 and 1 are verdicts (1: a test or the stage's gate failed); 6 is a rollback verdict."""
        return self.status in (0, 1, 6)

    @property
    def word(self) -> str:
        return {0: "passed", 1: "FAILED", 6: "ROLLBACK"}.get(self.status, f"DID NOT FINISH (exit {self.status})")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    project = Path(args.project).resolve()
    artifacts = project / "artifacts"
    stages = [s for s in STAGES if s.name in args.stages]
    _fresh(artifacts)
    env = _environment(project, artifacts)
    print(f"pipeline over {project} ({len(stages)} stages); logs and reports in {_shown(artifacts)}", flush=True)
    started = time.perf_counter()
    notes: list[str] = []
    outcomes = [_run_stage(_audit_plan(stage, args, notes), project, artifacts, env) for stage in stages]
    print("merging reports ...", flush=True)
    merge_started = time.perf_counter()
    merged = _merge(outcomes, project, artifacts, env)
    merge_seconds = time.perf_counter() - merge_started
    verdict = _gate(merged, project, artifacts, env, gate_coverage=any(o.stage.cover for o in outcomes))
    total = time.perf_counter() - started
    _print_table(outcomes, merge_seconds, total)
    _print_artifacts(artifacts, merged)
    for note in notes:
        print(f"NOTE: {note}")
    unfinished = [o for o in outcomes if not o.finished]
    for outcome in unfinished:
        print(f"stage {outcome.stage.name} did not finish (exit {outcome.status}): see {_shown(outcome.log)}")
    status = verdict if verdict != 0 else (1 if unfinished else 0)
    print(f"pipeline {'PASSED' if status == 0 else 'FAILED'} in {total:.1f} s (exit {status})")
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stages",
        type=lambda raw: [_stage_name(part) for part in raw.split(",") if part.strip()],
        default=list(STAGE_NAMES),
        help=f"comma-separated, in pipeline order regardless: {','.join(STAGE_NAMES)} (default: all)",
    )
    parser.add_argument(
        "--project", default=str(DEFAULT_PROJECT), help="the example's directory (default: the bundled one)"
    )
    parser.add_argument(
        "--vuln-db",
        metavar="DIR",
        default=os.environ.get("PIPELINE_VULN_DB"),
        help="audit dependencies against this local OSV snapshot instead of PyPI's service (PIPELINE_VULN_DB)",
    )
    parser.add_argument(
        "--require-audit",
        action="store_true",
        default=os.environ.get("PIPELINE_REQUIRE_AUDIT", "") not in ("", "0"),
        help="run pip-audit even when PyPI's vulnerability service does not answer (it then fails the stage, "
        "closed); by default the demo leaves it out and says so (PIPELINE_REQUIRE_AUDIT=1)",
    )
    return parser


def _audit_plan(stage: Stage, args: argparse.Namespace, notes: list[str]) -> Stage:
    """The security stage as this machine can run it: pip-audit needs a vulnerability database.

    The plugin fails closed when it cannot audit; a demo on a machine that cannot reach PyPI's
    vulnerability service would then fail for a reason that has nothing to do with the example.
    So the demo asks the service first and, when it does not answer, leaves pip-audit out of
    the stage, loudly (a NOTE at the end and in the log), unless ``--require-audit`` or
    ``--vuln-db`` is given.  The CI workflow (``ci-security.yml``) always audits.
    """
    if stage.name != "security":
        return stage
    if args.vuln_db:
        return replace(stage, args=(*stage.args, f"--stillme-vuln-db={Path(args.vuln_db).resolve()}"))
    if args.require_audit:
        return stage
    problem = _vulnerability_service_problem()
    if problem is None:
        return stage
    notes.append(
        f"dependency audit NOT RUN: PyPI's vulnerability service did not answer from this machine ({problem}); "
        "the security stage ran Bandit, ruff and mypy only. Audit offline with --vuln-db DIR (an OSV export), "
        "or make its absence fail the run with --require-audit."
    )
    kept = tuple(arg for arg in stage.args if arg != "--stillme-scan=pip-audit")
    return replace(stage, what=stage.what.replace("pip-audit (the declared dependencies), ", ""), args=kept)


def _vulnerability_service_problem() -> str | None:
    """``None`` when PyPI answers a vulnerability query (the JSON of one release, as pip-audit asks), else why not."""
    url = "https://pypi.org/pypi/pip/24.0/json"
    try:
        with urllib.request.urlopen(url, timeout=10.0) as answer:
            if "vulnerabilities" in json.loads(answer.read()):
                return None
            return f"{url} answered without a vulnerabilities field"
    except (OSError, ValueError) as exc:
        return f"{url}: {exc}"


def _stage_name(raw: str) -> str:
    name = raw.strip().lower()
    if name not in STAGE_NAMES:
        raise argparse.ArgumentTypeError(f"unknown stage {raw!r} (use {', '.join(STAGE_NAMES)})")
    return name


def _fresh(artifacts: Path) -> None:
    """Last run's reports must not pass for this run's: the pipeline owns these paths and starts them empty."""
    for name in ("sarif", "logs", "coverage", "htmlcov"):
        shutil.rmtree(artifacts / name, ignore_errors=True)
    for pattern in ("junit*.xml", "*.sarif", "summary.md", "coverage.xml", ".coverage*", "deploy-verdict.json"):
        for path in artifacts.glob(pattern):
            path.unlink()
    for name in ("sarif", "logs", "coverage"):
        (artifacts / name).mkdir(parents=True, exist_ok=True)


def _environment(project: Path, artifacts: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The sessions run with this interpreter; the example's package is found through its pythonpath setting,
    # and the service started for the deploy stage through PYTHONPATH.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project / "src"), env.get("PYTHONPATH", "")]))
    env.pop("COVERAGE_PROCESS_START", None)
    return env


def _run_stage(stage: Stage, project: Path, artifacts: Path, env: dict[str, str]) -> Outcome:
    log = artifacts / "logs" / f"{stage.name}.log"
    junit = artifacts / f"junit-{stage.name}.xml"
    sarif = artifacts / "sarif" / f"{stage.name}.sarif"
    stage_env = dict(env)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if stage.cover:
        stage_env["COVERAGE_FILE"] = str(artifacts / "coverage" / f".coverage.{stage.name}")
        command += ["--cov=inventory", "--cov-report="]
    command += [
        f"--junitxml={junit}",
        f"--override-ini=junit_suite_name={stage.name}",
        "--stillme-gate",
        "--stillme-coverage=off",  # coverage is gated once, over every stage's data combined
        f"--stillme-sarif={sarif}",
    ]
    print(f"  {stage.name:<12} {stage.what} ...", flush=True)
    started = time.perf_counter()
    with _service(project, env, stage.service) as url:
        command += [arg.replace("{url}", url or "") for arg in stage.args]
        with log.open("w", encoding="utf-8") as out:
            out.write("$ " + " ".join(command) + "\n\n")
            out.flush()
            status = subprocess.call(command, cwd=project, env=stage_env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    outcome = Outcome(stage, status, seconds, log, [p for p in (junit, sarif) if p.exists()])
    if status != 0:
        _print_tail(log)
    return outcome


@contextlib.contextmanager
def _service(project: Path, env: dict[str, str], wanted: bool) -> Iterator[str | None]:
    """The example service on a free loopback port for the stages that check a running deployment."""
    if not wanted:
        yield None
        return
    port = _free_port()
    service_env = dict(env, INVENTORY_HOST="127.0.0.1", INVENTORY_PORT=str(port))
    log = (project / "artifacts" / "logs" / "service.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "inventory"], cwd=project, env=service_env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_listening(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_listening(url: str, process: subprocess.Popen[bytes], limit: float = 30.0) -> None:
    """Until the socket accepts (the deploy stage's own health check then judges the answers)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1.0):
                return
        except OSError:
            time.sleep(0.1)
    # Not up: the stage runs anyway and its health checks fail with the details, which is the honest report.


def _merge(outcomes: list[Outcome], project: Path, artifacts: Path, env: dict[str, str]) -> dict[str, Path]:
    merged: dict[str, Path] = {}
    junits = [str(p) for o in outcomes for p in o.reports if p.suffix == ".xml"]
    sarifs = [str(p) for o in outcomes for p in o.reports if p.suffix == ".sarif"]
    if junits:
        merged["junit"] = artifacts / "junit.xml"
        _stillme(["merge", "junit", "-o", str(merged["junit"]), *junits], project)
    if sarifs:
        merged["sarif"] = artifacts / "stillme.sarif"
        _stillme(["merge", "sarif", "-o", str(merged["sarif"]), *sarifs], project)
    data = sorted((artifacts / "coverage").glob(".coverage.*"))
    if data:
        merged["coverage"] = artifacts / ".coverage"
        _combine_coverage(data, merged["coverage"], artifacts, project)
        merged["htmlcov"] = artifacts / "htmlcov" / "index.html"
    return merged


def _combine_coverage(data: list[Path], combined: Path, artifacts: Path, project: Path) -> None:
    """The stages' coverage data into one file, ``htmlcov/`` and ``coverage.xml`` (coverage.py's API, in process)."""
    import coverage

    with _working_directory(project):  # the project's coverage settings ([tool.coverage] in its pyproject)
        cov = coverage.Coverage(data_file=str(combined))
        try:
            cov.combine([str(path) for path in data], keep=True)
            cov.save()
            cov.html_report(directory=str(artifacts / "htmlcov"))
            cov.xml_report(outfile=str(artifacts / "coverage.xml"))
        except coverage.CoverageException as exc:
            print(f"coverage: {exc}")


def _gate(merged: dict[str, Path], project: Path, artifacts: Path, env: dict[str, str], *, gate_coverage: bool) -> int:
    """``stillme gate`` over the merged reports: the pipeline's verdict, and the Markdown summary with it."""
    inputs: list[str] = []
    if "sarif" in merged:
        inputs += ["--sarif", str(merged["sarif"])]
    if "junit" in merged:
        inputs += ["--junit", str(merged["junit"])]
    if "coverage" in merged:
        inputs += ["--coverage", str(merged["coverage"])]
    elif not gate_coverage:
        inputs += ["--coverage-min", "off"]
    if not inputs:
        print("no stage wrote a report: nothing to gate")
        return 2
    markdown = artifacts / "summary.md"
    print()
    return _stillme(["gate", "--root", str(project), *inputs, "--markdown", str(markdown)], project, check=False)


def _stillme(args: list[str], project: Path, *, check: bool = True) -> int:
    """The ``stillme`` command, in this process (it is installed beside the pipeline's pytest)."""
    from pytest_stillme.cli import main as stillme

    sys.stdout.flush()
    with _working_directory(project):
        status = stillme(args)
    sys.stdout.flush()
    if check and status != 0:
        print(f"stillme {' '.join(args[:2])} exited {status}")
    return status


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _print_tail(log: Path, lines: int = 25) -> None:
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    print(f"  --- last {min(lines, len(text))} lines of {_shown(log)} ---")
    for line in text[-lines:]:
        print(f"  | {line}")


def _print_table(outcomes: list[Outcome], merge_seconds: float, total: float) -> None:
    print()
    print(f"{'stage':<12} {'result':<28} {'seconds':>8}")
    for outcome in outcomes:
        print(f"{outcome.stage.name:<12} {outcome.word:<28} {outcome.seconds:>8.1f}")
    print(f"{'merge+gate':<12} {'':<28} {merge_seconds:>8.1f}")
    print(f"{'total':<12} {'':<28} {total:>8.1f}")


def _print_artifacts(artifacts: Path, merged: dict[str, Path]) -> None:
    print()
    print("artifacts:")
    rows = [
        ("JUnit (merged)", merged.get("junit")),
        ("JUnit per stage", artifacts / "junit-<stage>.xml"),
        ("SARIF (merged)", merged.get("sarif")),
        ("SARIF per stage", artifacts / "sarif" / "<stage>.sarif"),
        ("coverage", merged.get("htmlcov")),
        ("summary", artifacts / "summary.md"),
        ("deploy verdict", artifacts / "deploy-verdict.json"),
        ("logs", artifacts / "logs"),
    ]
    for label, path in rows:
        if path is not None and ("<" in path.name or path.exists()):
            print(f"  {label:<16} {_shown(path)}")


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
