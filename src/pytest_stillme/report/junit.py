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
from typing import Any

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


def _parse(path: Path) -> tuple[Any, list[dict[str, str]]]:
    """Parse one file into a junitparser ``JUnitXml``, and each suite's attributes as the file declares them.

    :class:`JUnitError` on any bad input.  The declared attributes are read from
    defusedxml's own tree: junitparser recounts a suite's totals as soon as its
    cases are walked (and a bare ``<testsuite>`` root's at once).

    JUnit files come from other jobs: defusedxml reads each first and refuses
    a DTD, entities and external references, whatever XML library junitparser
    then builds its elements with.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import parse as safe_parse
    from junitparser import JUnitXml, JUnitXmlError

    if not path.is_file():
        raise JUnitError(path, "no such file" if not path.exists() else "not a file")
    try:
        root = safe_parse(str(path), forbid_dtd=True).getroot()
        xml = JUnitXml.fromfile(str(path))
    except DefusedXmlException as exc:
        raise JUnitError(
            path, f"refused: the XML declares {type(exc).__name__} (DTDs and entities are not read)"
        ) from None
    except SyntaxError as exc:  # ElementTree's ParseError and lxml's XMLSyntaxError both are
        raise JUnitError(path, f"not XML ({exc})") from None
    except JUnitXmlError:
        raise JUnitError(path, "not JUnit XML (the root element is neither <testsuites> nor <testsuite>)") from None
    except OSError as exc:
        raise JUnitError(path, f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. an unknown encoding in the XML declaration
        raise JUnitError(path, f"not XML ({exc})") from None
    suites = [root] if root.tag == "testsuite" else [e for e in root if e.tag == "testsuite"]
    return xml, [dict(s.attrib) for s in suites]


def _count(path: Path, suite: Any, attrs: dict[str, str]) -> tuple[JUnitTotals, list[str]]:
    """Count a suite's cases (nested suites included) the way pytest counts them.

    A case that failed and then errored in teardown is one test, one failure
    and one error, as in pytest's own totals.  A suite with no cases falls back
    to its declared attributes (some producers only write totals).
    """
    from junitparser import Error, Failure, Skipped

    counts: Counter[str] = Counter()
    failed: list[str] = []
    case_time = 0.0
    declared = _declared(path, attrs)
    try:
        declared_time = float(attrs["time"]) if attrs.get("time") not in (None, "") else None
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
    except (TypeError, ValueError) as exc:  # a non-numeric time="..." and the like
        raise JUnitError(path, f"malformed JUnit attribute ({exc})") from None
    time = float(declared_time) if declared_time is not None else case_time
    if not counts["tests"]:
        counts.update(declared)
    return (
        JUnitTotals(counts["tests"], counts["failures"], counts["errors"], counts["skipped"], round(time, 3)),
        failed,
    )


def _declared(path: Path, attrs: dict[str, str]) -> dict[str, int]:
    result: dict[str, int] = {}
    for key in ("tests", "failures", "errors", "skipped"):
        raw = attrs.get(key)
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
        xml, declared = _parse(path)
        for suite, attrs in zip(xml, declared, strict=False):
            totals, failed = _count(path, suite, attrs)
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
    from junitparser import JUnitXml

    suites = _load(paths)
    labels = _labels(list(dict.fromkeys(s.source for s in suites)))
    names = Counter(s.suite.name or "" for s in suites)
    merged = JUnitXml()
    total = JUnitTotals()
    for item in suites:
        suite = item.suite
        name = suite.name or ""
        if names[name] > 1:
            suite.name = f"{name} ({labels[item.source]})".strip()
        totals = item.totals
        # pytest's way of counting (see _count), which a producer's own attributes may not follow.
        suite.tests, suite.failures, suite.errors, suite.skipped = (
            totals.tests,
            totals.failures,
            totals.errors,
            totals.skipped,
        )
        suite.time = round(totals.time, 3)
        merged.add_testsuite(suite)
        total = total + totals
    merged.tests, merged.failures, merged.errors, merged.skipped = (
        total.tests,
        total.failures,
        total.errors,
        total.skipped,
    )
    merged.time = round(total.time, 3)
    with atomic_writer(output, "wb") as handle:
        merged.write(handle)
    return total
