"""The coverage total from a stored artifact, for ``stillme gate`` after the tests ran elsewhere.

CI jobs hand coverage on as files: coverage.py's data file (``.coverage``),
its Cobertura XML or its JSON report.  The format is told by the content, not
the name (artifacts get renamed), and every problem becomes a
:class:`~pytest_stillme.core.gate.Coverage` with no total and a reason, so the
gate fails closed instead of the command crashing.  coverage is imported
only when a data file needs it.
"""

from __future__ import annotations

import io
import json
import math
import os
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..core.gate import Coverage

__all__ = ["coverage_fail_under", "read_coverage_file"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_UNKNOWN = (
    "not a coverage file (expected coverage.py's .coverage data file, "
    "a coverage.xml Cobertura report or a coverage.json report)"
)


def read_coverage_file(path: str | os.PathLike[str]) -> Coverage:
    """The total coverage in percent, or ``total=None`` with ``problem="<file>: <what is wrong>"``."""
    path = Path(path)
    source = str(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        return _bad(source, "no such file")
    except IsADirectoryError:
        return _bad(source, "is a directory, not a coverage file")
    except OSError as exc:
        return _bad(source, f"cannot read: {exc.strerror or exc}")
    if not head:
        return _bad(source, "empty file")
    if head.startswith(_SQLITE_MAGIC):
        return _from_data_file(path)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return _from_xml(path)
    if text.startswith(b"{"):
        return _from_json(path)
    if text.startswith(b"!coverage.py"):
        return _bad(source, "a coverage 4.x data file; use coverage 5 or later (or pass coverage.xml/coverage.json)")
    return _bad(source, _UNKNOWN)


def _bad(source: str, problem: str) -> Coverage:
    return Coverage(total=None, source=source, problem=f"{source}: {problem}")


def _ok(source: str, total: float) -> Coverage:
    return Coverage(total=max(0.0, min(100.0, total)), source=source)


def _coverage_errors() -> tuple[type[BaseException], ...]:
    try:
        from coverage.exceptions import CoverageException
    except ImportError:  # pragma: no cover - coverage < 6.2
        from coverage.misc import CoverageException
    return (CoverageException, sqlite3.Error, OSError, ValueError, ImportError)


def _from_data_file(path: Path) -> Coverage:
    """Let coverage.py compute its own total, honouring the project's config (include, omit...) in cwd."""
    source = str(path)
    try:
        import coverage
    except ImportError:
        return _bad(source, "a coverage.py data file, but coverage is not installed (pip install coverage)")
    problem = _not_coverage_db(path)
    if problem:
        return _bad(source, problem)
    errors = _coverage_errors()
    try:
        cov = coverage.Coverage(data_file=str(path))
        cov.load()
        if not cov.get_data().measured_files():
            return _bad(source, "no coverage data in the file (did the tests run under coverage?)")
        total = cov.report(file=io.StringIO())
    except errors as exc:
        hint = ""
        if type(exc).__name__ in ("NoSource", "NoCode"):
            hint = (
                " (coverage needs the measured sources: check them out, or pass the coverage.xml/.json made with them)"
            )
        return _bad(source, f"coverage cannot report on it: {_one_line(exc)}{hint}")
    return _ok(source, float(total))


def _not_coverage_db(path: Path) -> str:
    """Look before coverage opens it: coverage would add its tables to any SQLite file it is given."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'coverage_schema'"
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return f"an SQLite file that cannot be read ({exc})"
    if not row or not row[0]:
        return "an SQLite database, but not a coverage.py data file (no coverage_schema table)"
    return ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _from_xml(path: Path) -> Coverage:
    """Cobertura: coverage.py's total combines lines and branches, so recompute it from the counts."""
    source = str(path)
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    root: ET.Element | None = None
    try:
        # defusedxml: a coverage report comes from another job; no DTD, no entities.
        for event, elem in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            if root is None:
                root = elem
            elif event == "end" and elem is not root:
                elem.clear()  # keep memory flat on big reports; only the root's attributes matter
    except ET.ParseError as exc:
        return _bad(source, f"not well-formed XML ({exc})")
    except DefusedXmlException as exc:
        return _bad(source, f"refused: the XML declares {type(exc).__name__} (DTDs and entities are not read)")
    except OSError as exc:
        return _bad(source, f"cannot read: {exc.strerror or exc}")
    if root is None or root.tag != "coverage":
        tag = root.tag if root is not None else "nothing"
        return _bad(source, f"not a Cobertura coverage report (root element <{tag}>, expected <coverage>)")
    attrs = root.attrib
    try:
        if "lines-valid" in attrs and "lines-covered" in attrs:
            lines_valid, lines_covered = int(attrs["lines-valid"]), int(attrs["lines-covered"])
            branches_valid = int(attrs.get("branches-valid") or 0)
            branches_covered = int(attrs.get("branches-covered") or 0)
            valid = lines_valid + branches_valid
            if lines_valid <= 0 or valid <= 0:
                return _bad(source, "no lines measured (lines-valid is 0)")
            return _ok(source, 100.0 * (lines_covered + branches_covered) / valid)
        if "line-rate" in attrs:
            rate = float(attrs["line-rate"])
            if not math.isfinite(rate) or not 0.0 <= rate <= 1.0:
                return _bad(source, f"line-rate {attrs['line-rate']!r} is not a fraction from 0 to 1")
            return _ok(source, rate * 100.0)
    except ValueError:
        return _bad(source, "malformed line-rate/lines-valid/lines-covered attributes on <coverage>")
    return _bad(source, "the <coverage> element has no line-rate or lines-valid/lines-covered attributes")


def _from_json(path: Path) -> Coverage:
    source = str(path)
    try:
        with path.open(encoding="utf-8-sig") as handle:
            data: Any = json.load(handle)
    except (ValueError, UnicodeDecodeError) as exc:
        return _bad(source, f"not valid JSON ({exc})")
    except OSError as exc:
        return _bad(source, f"cannot read: {exc.strerror or exc}")
    totals = data.get("totals") if isinstance(data, dict) else None
    if not isinstance(totals, dict):
        return _bad(source, "not a coverage.py JSON report (no 'totals' object)")
    percent = totals.get("percent_covered")
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not math.isfinite(percent):
        return _bad(source, "totals.percent_covered is missing or not a number")
    if totals.get("num_statements") == 0:
        return _bad(source, "no statements measured (totals.num_statements is 0)")
    if not 0.0 <= percent <= 100.0:
        return _bad(source, f"totals.percent_covered {percent!r} is not a percentage")
    return _ok(source, float(percent))


def coverage_fail_under() -> float | None:
    """coverage.py's own ``[report] fail_under`` from the config in cwd, the gate's fallback minimum.

    The pytest plugin falls back on it when ``gate.coverage`` is not set, so
    ``stillme gate`` must too to reach the same verdict.  ``None`` when unset,
    zero, coverage is missing or its config cannot be read.
    """
    try:
        import coverage
    except ImportError:
        return None
    try:
        value = coverage.Coverage().get_option("report:fail_under")
    except _coverage_errors():
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None
