"""Accepted findings: ``.stillme-suppressions.toml`` entries with a reason and an expiry date.

No pytest here, so the ``stillme`` command shares it.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .gate import Suppression

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["DEFAULT_SUPPRESSIONS", "SuppressionsError", "load_suppressions"]

from .config.declared import DEFAULT_SUPPRESSIONS


class SuppressionsError(Exception):
    """A suppressions file that cannot be used; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def load_suppressions(path: Path) -> tuple[Suppression, ...]:
    """Read the suppressions file: ``[[suppress]]`` entries with a reason and an expiry date."""
    if not path.is_file():
        raise SuppressionsError([f"{path}: suppressions file not found (create it or unset 'suppressions')"])
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise SuppressionsError([f"{path}: cannot read suppressions: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise SuppressionsError(
            [f"{path}: cannot read suppressions: not UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8"]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SuppressionsError([f"{path}: cannot read suppressions: invalid TOML: {exc}"]) from None
    entries = data.get("suppress", [])
    problems: list[str] = []
    unknown = sorted(set(data) - {"suppress"})
    if unknown:
        problems.append(f"{path}: unknown table(s) {', '.join(unknown)} (expected [[suppress]] entries)")
    if not isinstance(entries, list):
        raise SuppressionsError([f"{path}: 'suppress' must be an array of tables ([[suppress]])"])
    result: list[Suppression] = []
    allowed = {"fingerprint", "rule", "location", "line", "reason", "expires"}
    for index, entry in enumerate(entries, start=1):
        where = f"{path.name}, entry {index}"
        place = f"{path}: [[suppress]] entry {index}"
        if not isinstance(entry, dict):
            problems.append(f"{place}: must be a table")
            continue
        extra = sorted(set(entry) - allowed)
        if extra:
            problems.append(f"{place}: unknown key(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{place}: 'reason' is required (why is this finding accepted?)")
        expires = _parse_date(entry.get("expires"))
        if expires is None:
            problems.append(f"{place}: 'expires' is required as a date (YYYY-MM-DD)")
        fingerprint, rule, location = (entry.get(k, "") for k in ("fingerprint", "rule", "location"))
        line = entry.get("line", 0)
        if not all(isinstance(v, str) for v in (fingerprint, rule, location)):
            problems.append(f"{place}: fingerprint, rule and location must be strings")
            continue
        if not isinstance(line, int) or isinstance(line, bool) or line < 0:
            problems.append(
                f"{place}: 'line' must be a whole number, 0 or more (0, like leaving it out, matches any line)"
            )
            continue
        if not fingerprint and not rule:
            problems.append(f"{place}: give a 'fingerprint', or a 'rule' (with an optional 'location')")
        if reason and expires and (fingerprint or rule):
            result.append(
                Suppression(
                    reason=reason.strip(),
                    expires=expires,
                    fingerprint=fingerprint,
                    rule=rule,
                    location=location,
                    line=line,
                    origin=where,
                )
            )
    if problems:
        raise SuppressionsError(problems)
    return tuple(result)


def _parse_date(raw: Any) -> date | None:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            return None
    return None
