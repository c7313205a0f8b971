"""A finding on one line, as every writer shows it: redacted, folded, cut.

The gate's details, the terminal, JUnit and Markdown all take a finding's
one-line text from :func:`finding_line`, so it reads the same everywhere and
never leaks a secret (:mod:`.redact`).  No pytest here.
"""

from __future__ import annotations

from .findings import Finding
from .redact import redact_finding

__all__ = ["finding_line"]


def finding_line(finding: Finding, limit: int = 200) -> str:
    """``[high] bandit B602: subprocess call with shell=True at src/app.py:14``."""
    shown = redact_finding(finding)
    folded = " ".join(shown.message.split())
    message = folded if len(folded) <= limit else folded[: limit - 3] + "..."
    return f"[{shown.severity.label}] {shown.tool} {shown.rule.id}: {message} at {shown.location.describe()}"
