"""The ``stillme`` command: merge artifacts and gate on them after the tests ran in other jobs.

CI runs unit, integration and security sessions as separate jobs; this
command folds their JUnit and SARIF files together and reaches the same
verdict the pytest plugin would from the same data (same settings, same
:func:`~pytest_stillme.core.gate.evaluate`).  It never imports pytest, so it starts
fast, and bad input is one ``stillme: error:`` line and exit status 2, never
a traceback.

Exit statuses: 0 passed (or done), 1 the gate failed, 2 bad input, usage or config.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__

if TYPE_CHECKING:
    from .core.config import Settings
    from .core.findings import Finding
    from .core.gate import Check, Coverage, Verdict
    from .core.ledger import Ledger
    from .report.junit import JUnitResults, JUnitTotals

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input the command itself found (not a config, report or JUnit error)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status instead of exiting (for tests and embedding)."""
    parser = _parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, --version and argparse's own usage errors
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    try:
        status: int = args.handler(args)
    except _input_errors() as exc:
        for line in _error_lines(exc):
            print(f"stillme: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("stillme: error: not enough memory to read the inputs (is one of them not a report?)", file=sys.stderr)
        return EXIT_USAGE
    return status


def _input_errors() -> tuple[type[BaseException], ...]:
    """Every error that means bad input; anything else is a bug and keeps its traceback."""
    from .core.config import ConfigError
    from .readers.base import ReportError
    from .report.junit import JUnitError

    return (UsageError, ConfigError, JUnitError, ReportError, OSError)


#: The plugin's option names, as config reports them, and what they are called here.
_CLI_OPTIONS = {"--stillme-env": "--env", "--stillme-coverage": "--coverage-min", "--stillme-fail-on": "--fail-on"}
_OPTION_NAMES = re.compile("|".join(re.escape(k) for k in _CLI_OPTIONS))


def _error_lines(exc: BaseException) -> list[str]:
    from .core.config import ConfigError

    if isinstance(exc, ConfigError):
        # Settings name the plugin's options; say the ones this command takes.
        return [_OPTION_NAMES.sub(lambda m: _CLI_OPTIONS[m.group(0)], p) for p in exc.problems] or [str(exc)]
    if isinstance(exc, OSError) and exc.filename is not None:
        return [f"{exc.filename}: {exc.strerror or exc}"]
    return [" ".join(str(exc).split()) or type(exc).__name__]


# --------------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    from .core.config import ENVIRONMENTS

    parser = argparse.ArgumentParser(
        prog="stillme",
        description="Merge JUnit and SARIF artifacts, gate on them and summarise them for CI.",
        epilog="Exit status: 0 passed, 1 the gate failed, 2 bad input, usage or configuration.",
    )
    parser.add_argument("--version", action="version", version=f"stillme {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    merge = commands.add_parser("merge", help="merge JUnit or SARIF files of several jobs into one file")
    kinds = merge.add_subparsers(dest="kind", required=True, metavar="KIND")
    junit = kinds.add_parser("junit", help="merge JUnit XML files (one suite per session, totals recomputed)")
    junit.add_argument("-o", "--output", required=True, metavar="OUT.xml", help="the merged file to write")
    junit.add_argument("inputs", nargs="+", metavar="IN.xml", help="JUnit files to merge")
    junit.set_defaults(handler=_cmd_merge_junit)
    sarif = kinds.add_parser("sarif", help="merge SARIF files (findings deduplicated, one run per tool)")
    sarif.add_argument("-o", "--output", required=True, metavar="OUT.sarif", help="the merged file to write")
    sarif.add_argument("inputs", nargs="+", metavar="IN.sarif", help="SARIF files to merge")
    sarif.add_argument(
        "--root",
        default=".",
        metavar="DIR",
        help="project root: its pyproject.toml ([tool.stillme]) and base of relative paths (default .)",
    )
    sarif.add_argument(
        "--prefix",
        metavar="DIR",
        help="put DIR/ before the inputs' relative source paths: for sessions run in a subfolder of the "
        "repository (code scanning places paths from the repository's root)",
    )
    sarif.add_argument(
        "--automation-id",
        metavar="PREFIX",
        help="prefix of each run's automationDetails.id (default: automation_id setting, else stillme)",
    )
    sarif.set_defaults(handler=_cmd_merge_sarif)

    inputs = argparse.ArgumentParser(add_help=False)
    group = inputs.add_argument_group("inputs")
    group.add_argument(
        "--sarif",
        action="append",
        default=[],
        metavar="FILE",
        help="SARIF file of findings (repeatable): stillme's own or any tool's",
    )
    group.add_argument(
        "--junit",
        action="append",
        default=[],
        metavar="FILE",
        help="JUnit XML file (repeatable): adds a 'tests' check that fails on failed or errored tests",
    )
    group.add_argument(
        "--coverage", metavar="FILE", help="coverage total from .coverage, coverage.xml or coverage.json"
    )
    policy = inputs.add_argument_group("policy (overrides [tool.stillme] and STILLME_* variables)")
    policy.add_argument(
        "--root", default=".", metavar="DIR", help="project root: its pyproject.toml and suppressions file (default .)"
    )
    policy.add_argument("--env", choices=ENVIRONMENTS, help="policy profile (default: STILLME_ENV, else development)")
    policy.add_argument("--coverage-min", metavar="PERCENT", help="minimum total coverage in percent, or off")
    policy.add_argument(
        "--fail-on",
        action="append",
        default=[],
        metavar="CATEGORY=SEVERITY",
        help="lowest severity that fails a category, e.g. sast=medium or deps=off (repeatable)",
    )

    gate = commands.add_parser(
        "gate",
        parents=[inputs],
        help="evaluate the gate over stored artifacts",
        description="Evaluate the gate over SARIF, coverage and JUnit files. "
        "Exit status 0 passed, 1 failed, 2 bad input or configuration.",
    )
    gate.add_argument("--markdown", metavar="FILE", help="also write the Markdown summary to FILE")
    gate.set_defaults(handler=_cmd_gate)

    summary = commands.add_parser(
        "summary",
        parents=[inputs],
        help="write a Markdown job summary",
        description="Write the gate as Markdown (for $GITHUB_STEP_SUMMARY). "
        "Exit status 0 whatever the verdict, 2 on bad input.",
    )
    summary.add_argument("--title", default="stillme", help="heading of the summary (default stillme)")
    where = summary.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="FILE", help="write the summary to FILE (default: print it)")
    where.add_argument("--github", action="store_true", help="append to the file named by $GITHUB_STEP_SUMMARY")
    summary.set_defaults(handler=_cmd_summary)

    settings = commands.add_parser(
        "settings",
        help="list every setting: its [tool.stillme] key, ini key, environment variable, option and default",
        description="Every setting stillme and its scanners and stages declare, as a Markdown table.",
    )
    settings.set_defaults(handler=_cmd_settings)
    return parser


def _cmd_settings(args: argparse.Namespace) -> int:
    from .report.settings_table import settings_table

    sys.stdout.write(settings_table())
    return EXIT_OK


# --------------------------------------------------------------------------- merge


def _cmd_merge_junit(args: argparse.Namespace) -> int:
    from .report.junit import merge_junit

    totals = merge_junit([Path(p) for p in args.inputs], Path(args.output))
    print(f"stillme: merged {len(args.inputs)} JUnit files into {args.output}: {totals.describe()}")
    return EXIT_OK


def _cmd_merge_sarif(args: argparse.Namespace) -> int:
    from .report.sarif import write_sarif

    root = _root(args.root)
    settings = _settings(root, {})
    ledger = _read_sarifs(args.inputs, root, settings)
    findings = ledger.findings if not args.prefix else [_prefixed(f, args.prefix) for f in ledger.findings]
    stats = write_sarif(
        args.output,
        findings,
        tools=ledger.tools,
        errors=ledger.errors,
        root=root,
        automation_prefix=args.automation_id or settings.automation_id,
    )
    dropped = f", {stats.dropped} left out" if stats.dropped else ""
    errors = f", {len(ledger.errors)} scanner errors" if ledger.errors else ""
    print(
        f"stillme: merged {len(args.inputs)} SARIF files into {stats.path}: "
        f"{stats.results} results in {stats.runs} runs{dropped}{errors}"
    )
    for note in stats.notes:
        print(f"stillme: {note}")
    return EXIT_OK


def _prefixed(finding: Finding, prefix: str) -> Finding:
    """The finding with ``prefix/`` before its path, when the path is a relative source path.

    A URL finding's path, and a package's when no file declares it, are the made-up ones SARIF
    needs (``dast/items``, ``deps/jinja2``): they name no file, so they stay as they are.
    """
    loc = finding.location
    path = loc.path
    made_up = bool(loc.url) or (bool(loc.package) and path.startswith(f"{finding.category}/{loc.package}"))
    if not path or made_up or "://" in path or path.startswith("/"):
        return finding
    joined = f"{prefix.strip('/')}/{path}" if prefix.strip("/") else path
    return dataclasses.replace(finding, location=dataclasses.replace(finding.location, path=joined))


# --------------------------------------------------------------------------- gate and summary


def _cmd_gate(args: argparse.Namespace) -> int:
    from .report.console import format_verdict

    verdict, tests = _evaluate(args)
    for text, _bad in format_verdict(verdict, details=not verdict.passed):
        print(text)
    if args.markdown:
        from .report.atomic import write_text_atomic
        from .report.markdown import render_markdown

        write_text_atomic(args.markdown, render_markdown(verdict, tests=tests, sarif_path=_sarif_label(args)))
        print(f"stillme: wrote the summary to {args.markdown}")
    return EXIT_OK if verdict.passed else EXIT_FAILED


def _cmd_summary(args: argparse.Namespace) -> int:
    from .report.markdown import render_markdown

    target: str | None = args.output
    if args.github:
        target = os.environ.get("GITHUB_STEP_SUMMARY", "").strip() or None
        if target is None:
            raise UsageError("--github: $GITHUB_STEP_SUMMARY is not set (is this a GitHub Actions step?)")
    if args.sarif or args.coverage:
        verdict, tests = _evaluate(args)
    else:  # only test results: nothing to gate, just report them
        verdict, tests = None, (_read_junit(args.junit).totals if args.junit else None)
    text = render_markdown(verdict, tests=tests, sarif_path=_sarif_label(args), title=args.title)
    if target is None:
        sys.stdout.write(text)
    elif args.github:
        # The step summary is appended to, as every step of the job shares it.
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        from .report.atomic import write_text_atomic

        write_text_atomic(target, text)
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> tuple[Verdict, JUnitTotals | None]:
    """The verdict the plugin would reach, plus a 'tests' check when JUnit files are given."""
    from .core.config import parse_fail_on
    from .core.gate import evaluate
    from .readers.coverage import coverage_fail_under

    root = _root(args.root)
    try:
        fail_on = parse_fail_on(args.fail_on)
    except ValueError as exc:
        raise UsageError(str(exc).replace("--stillme-fail-on", "--fail-on")) from None
    options = {"stillme_env": args.env, "stillme_coverage": args.coverage_min, "stillme_fail_on": fail_on}
    settings = _settings(root, options)
    # The plugin falls back on coverage's own fail_under (via pytest-cov); so must we.
    fallback = None if settings.coverage_explicit else coverage_fail_under()
    policy = settings.policy(coverage_fallback=fallback)
    if not (args.sarif or args.junit or args.coverage):
        raise UsageError(
            "nothing to judge: give the session's reports with --sarif, --junit and/or --coverage "
            "(a gate over no input would pass whatever happened)"
        )
    ledger = _read_sarifs(args.sarif, root, settings)
    coverage = _read_coverage(args.coverage)
    verdict = evaluate(policy, ledger, coverage)
    tests = None
    if args.junit:
        results = _read_junit(args.junit)
        verdict = verdict.with_check(_tests_check(results))
        tests = results.totals
    return verdict, tests


def _root(raw: str) -> Path:
    root = Path(raw)
    if not root.is_dir():
        raise UsageError(f"{raw}: --root is not a directory")
    return root


def _settings(root: Path, options: dict[str, Any]) -> Settings:
    from .builtin import builtin_registry
    from .core.config import load_pyproject, load_settings

    table, name = load_pyproject(root)
    registry = builtin_registry()
    return load_settings(
        root=root,
        declared=tuple(registry.settings.values()),
        scanners=tuple(registry.scanners),
        # Scanners and stages of other plugins are unknown here: their tables are theirs to check.
        lenient_tables=True,
        pyproject=table,
        pyproject_name=name or "pyproject.toml",
        ini=None,
        options=options,
        environ=os.environ,
    )


def _read_sarifs(paths: Sequence[str], root: Path, settings: Settings) -> Ledger:
    """Fold SARIF files into one ledger: findings by fingerprint, every tool, every failed run."""
    from .core.ledger import Ledger
    from .readers.detect import read_report

    ledger = Ledger()
    for path in paths:
        # SARIF first of all, but a Bandit, pip-audit or Trivy JSON report is read too.
        result = read_report(
            path,
            root=root,
            tool_categories=settings.tool_categories,
            default_category=settings.report_category,
            max_bytes=int(settings.get("max_report_size")),
            honour_suppressions=bool(settings.get("report_suppressions", True)),
        )
        for tool, version in result.tools.items():
            ledger.note_tool(tool, version)
        ledger.extend(result.findings)
        ledger.extend(result.suppressed)
        for error in result.errors:
            ledger.add_error(error)
    return ledger


def _read_coverage(path: str | None) -> Coverage:
    """The coverage total; a file given but unusable is bad input, no file a failed check."""
    from .core.gate import Coverage as _Coverage
    from .readers.coverage import read_coverage_file

    if not path:
        return _Coverage(None, problem="no coverage file given (--coverage)")
    coverage = read_coverage_file(Path(path))
    if coverage.total is None:
        raise UsageError(coverage.problem)
    return coverage


def _read_junit(paths: Sequence[str]) -> JUnitResults:
    from .report.junit import read_junit

    return read_junit([Path(p) for p in paths])


def _tests_check(results: JUnitResults) -> Check:
    """Failed or errored tests fail the gate; so does a set of JUnit files with no test at all."""
    from .core.gate import Check

    totals = results.totals
    details = list(results.failed)
    if not totals.tests:
        details.insert(0, "the JUnit files hold no test cases: did the test sessions collect anything?")
    figure = f"{totals.tests} run, {totals.failures} failed, {totals.errors} errors"
    return Check("tests", figure, "0 failed, 0 errors", totals.ok, tuple(details))


def _sarif_label(args: argparse.Namespace) -> str | None:
    return ", ".join(args.sarif) if args.sarif else None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


if __name__ == "__main__":  # python -m pytest_stillme.cli, where the stillme script is not on PATH
    sys.exit(main())
