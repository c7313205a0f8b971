"""Merge the JUnit XML of several test sessions into one file, and count what they hold.

A CI pipeline runs unit, integration, chaos and security sessions in separate
jobs; each pytest run writes ``<testsuites><testsuite name="pytest">``.  One
merged file keeps every suite (renamed after its source file when names
clash, so "pytest (unit)" and "pytest (integration)" stay apart) with totals
recomputed from the test cases, so no producer's arithmetic is trusted.

Parsing goes through junitparser; bad input (missing, not XML, not JUnit)
raises :class:`JUnitError` naming the file, never a parser traceback.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from .atomic import atomic_writer

__all__ = ["JUnitError", "JUnitResults", "JUnitTotals", "merge_junit", "read_junit", "read_junit_totals"]


class JUnitError(Exception):
    """A JUnit file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class JUnitTotals:
    """Test counts over one or more JUnit files; a case counts once per outcome kind."""

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    time: float = 0.0

    @property
    def passed(self) -> int:
        return max(self.tests - self.failures - self.errors - self.skipped, 0)

    @property
    def ok(self) -> bool:
        """True when something ran and nothing failed or errored."""
        return self.tests > 0 and not self.failures and not self.errors

    def __add__(self, other: JUnitTotals) -> JUnitTotals:
        return JUnitTotals(
            self.tests + other.tests,
            self.failures + other.failures,
            self.errors + other.errors,
            self.skipped + other.skipped,
            round(self.time + other.time, 3),
        )

    def describe(self) -> str:
        """``120 tests: 115 passed, 2 failed, 0 errors, 3 skipped in 12.3 s``."""
        return (
            f"{self.tests} tests: {self.passed} passed, {self.failures} failed, "
            f"{self.errors} errors, {self.skipped} skipped in {self.time:.1f} s"
        )


@dataclass(frozen=True)
class JUnitResults:
    """Totals plus the failed and errored cases by name (for the gate's details)."""

    totals: JUnitTotals
    #: ``classname::name: message`` of each failed or errored case, in file order.
    failed: tuple[str, ...] = ()


@dataclass
class _Suite:
    source: Path
    suite: Any  # junitparser.TestSuite
    totals: JUnitTotals
    failed: list[str]


def _etree() -> Any:
    """The ElementTree module junitparser builds its elements with (lxml or the stdlib)."""
    from junitparser import junitparser as jp

    return cast(Any, jp).etree


def _parse(path: Path) -> Any:
    """Parse one file into a junitparser ``JUnitXml``; :class:`JUnitError` on any bad input."""
    from junitparser import JUnitXml, JUnitXmlError

    etree = _etree()

    def parse(source: str) -> Any:
        if etree.__name__.startswith("lxml"):
            # No entity expansion and no network for files that come from elsewhere.
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            return etree.parse(source, parser)
        return etree.parse(source)

    if not path.is_file():
        raise JUnitError(path, "no such file" if not path.exists() else "not a file")
    try:
        xml = JUnitXml.fromfile(str(path), parse_func=parse)
    except SyntaxError as exc:  # ElementTree's ParseError and lxml's XMLSyntaxError both are
        raise JUnitError(path, f"not XML ({exc})") from None
    except JUnitXmlError:
        raise JUnitError(path, "not JUnit XML (the root element is neither <testsuites> nor <testsuite>)") from None
    except OSError as exc:
        raise JUnitError(path, f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. an unknown encoding in the XML declaration
        raise JUnitError(path, f"not XML ({exc})") from None
    return xml


def _count(path: Path, suite: Any) -> tuple[JUnitTotals, list[str]]:
    """Count a suite's cases (nested suites included) the way pytest counts them.

    A case that failed and then errored in teardown is one test, one failure
    and one error, as in pytest's own totals.  A suite with no cases falls back
    to its declared attributes (some producers only write totals).
    """
    from junitparser import Error, Failure, Skipped

    counts: Counter[str] = Counter()
    failed: list[str] = []
    case_time = 0.0
    try:
        for case in suite:
            counts["tests"] += 1
            results = case.result
            kinds = {type(r) for r in results}
            if Failure in kinds:
                counts["failures"] += 1
            if Error in kinds:
                counts["errors"] += 1
            if Skipped in kinds and not kinds & {Failure, Error}:
                counts["skipped"] += 1
            if kinds & {Failure, Error}:
                name = "::".join(p for p in (case.classname, case.name) if p) or "(unnamed test)"
                message = next((r.message for r in results if isinstance(r, (Failure, Error)) and r.message), "")
                first_line = message.strip().splitlines()[0] if message.strip() else ""
                failed.append(f"{name}: {first_line}" if first_line else name)
            case_time += case.time or 0.0
        declared_time = suite.time if suite._elem.get("time") is not None else None
    except (TypeError, ValueError) as exc:  # a non-numeric time="..." and the like
        raise JUnitError(path, f"malformed JUnit attribute ({exc})") from None
    time = float(declared_time) if declared_time is not None else case_time
    if not counts["tests"]:
        counts.update(_declared(path, suite))
    return (
        JUnitTotals(counts["tests"], counts["failures"], counts["errors"], counts["skipped"], round(time, 3)),
        failed,
    )


def _declared(path: Path, suite: Any) -> dict[str, int]:
    result: dict[str, int] = {}
    for key in ("tests", "failures", "errors", "skipped"):
        raw = suite._elem.get(key)
        if raw in (None, ""):
            continue
        try:
            result[key] = int(raw)
        except ValueError:
            raise JUnitError(path, f"malformed JUnit attribute {key}={raw!r} on <testsuite>") from None
    return result


def _load(paths: Sequence[str | os.PathLike[str]]) -> list[_Suite]:
    suites: list[_Suite] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        key = path.resolve()
        if key in seen:  # the same file twice would count every test twice
            continue
        seen.add(key)
        xml = _parse(path)
        for suite in xml:
            totals, failed = _count(path, suite)
            suites.append(_Suite(path, suite, totals, failed))
    return suites


def read_junit(paths: Sequence[str | os.PathLike[str]]) -> JUnitResults:
    """Totals and failed cases over several JUnit files (a file given twice counts once)."""
    totals = JUnitTotals()
    failed: list[str] = []
    for suite in _load(paths):
        totals = totals + suite.totals
        failed.extend(suite.failed)
    return JUnitResults(totals, tuple(failed))


def read_junit_totals(paths: Sequence[str | os.PathLike[str]]) -> JUnitTotals:
    """Totals over several JUnit files, recomputed from their test cases."""
    return read_junit(paths).totals


def _labels(paths: Sequence[Path]) -> dict[Path, str]:
    """A short distinct label per file: its stem, else parent/stem, else a number.

    Artifacts downloaded by CI often share a file name (``junit-unit/junit.xml``,
    ``junit-integration/junit.xml``), so the folder breaks the tie.
    """
    stems = Counter(p.stem for p in paths)
    labels: dict[Path, str] = {}
    for path in paths:
        label = path.stem if stems[path.stem] == 1 else f"{path.parent.name}/{path.stem}".lstrip("/")
        labels[path] = label
    counts = Counter(labels.values())
    seen: Counter[str] = Counter()
    for path in paths:
        label = labels[path]
        if counts[label] > 1:
            seen[label] += 1
            labels[path] = f"{label} {seen[label]}"
    return labels


def merge_junit(paths: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str]) -> JUnitTotals:
    """Merge the suites of several JUnit files into one ``<testsuites>`` file, written atomically.

    Every suite is kept as it was (cases, properties, output); only a suite
    name used more than once gets its source file's label appended, and every
    suite's totals and the root's are recomputed.  All inputs are read before
    the output is written, so the output may be one of the inputs.
    """
    suites = _load(paths)
    labels = _labels(list(dict.fromkeys(s.source for s in suites)))
    names = Counter(s.suite.name or "" for s in suites)
    etree = _etree()
    root = etree.Element("testsuites")
    total = JUnitTotals()
    for item in suites:
        elem = item.suite._elem
        name = item.suite.name or ""
        if names[name] > 1:
            elem.set("name", f"{name} ({labels[item.source]})".strip())
        totals = item.totals
        elem.set("tests", str(totals.tests))
        elem.set("failures", str(totals.failures))
        elem.set("errors", str(totals.errors))
        elem.set("skipped", str(totals.skipped))
        elem.set("time", f"{totals.time:.3f}")
        elem.tail = "\n"
        root.append(elem)
        total = total + totals
    root.set("tests", str(total.tests))
    root.set("failures", str(total.failures))
    root.set("errors", str(total.errors))
    root.set("skipped", str(total.skipped))
    root.set("time", f"{total.time:.3f}")
    root.text = "\n"
    body = etree.tostring(root, encoding="unicode")
    with atomic_writer(output) as handle:
        handle.write('<?xml version="1.0" encoding="utf-8"?>\n')
        handle.write(body)
        handle.write("\n")
    return total
