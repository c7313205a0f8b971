"""Fuzz findings as :class:`~pytest_stillme.core.findings.Finding` and as the failing test's text.

Each finding says its check, severity, endpoint and parameter, and carries
in its evidence everything needed to reproduce it: the minimal request as a
``curl`` command and as Python, the seed, and an excerpt of the response.
All of it passes through the one redaction (``core/redact.py``).  On an
in-process app the location is the handler's source file and line (so code
scanning shows it in the code); on a URL target it is the URL with method
and parameter.  The fingerprint is the check (group), method, path,
parameter and dedupe key: it survives new seeds, ports and line moves.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..core.findings import Finding, Location, Rule
from ..core.redact import redact_finding, redact_text
from .builtin import app_frame
from .engine import Found
from .reproduce import curl, python_snippet
from .run import FuzzResult

__all__ = ["TOOL", "describe_result", "to_finding"]

TOOL = "stillme-fuzz"


def _relative(file: str, root: Path | None) -> str:
    if root is None or not file:
        return ""
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return ""


def _location(found: Found, result: FuzzResult, root: Path | None) -> Location:
    endpoint = found.exchange.endpoint
    param = found.failure.param
    if found.check.kind == "target":
        # A property of the whole app: the file of its routes, no line.
        files = [_relative(e.source.file, root) for e in result.endpoints if e.source is not None]
        return Location(path=next((f for f in files if f), ""))
    if result.kind == "url":
        return Location(url=result.base_url + endpoint.path, method=endpoint.method, param=param)
    source = endpoint.source
    path = _relative(source.file, root) if source is not None else ""
    if path and source is not None:
        return Location(path=path, line=source.line, url=endpoint.path, method=endpoint.method, param=param)
    return Location(url=endpoint.path, method=endpoint.method, param=param)


def _how(found: Found) -> str:
    if found.check.kind == "target":
        return "a property of the app"
    if found.check.kind == "probe":
        return "a differential probe"
    return "minimal: shrunk by hypothesis" if found.shrunk else "the first request that showed it"


def evidence(found: Found, result: FuzzResult, root: Path | None = None) -> str:
    """How to reproduce it, and what came back (not yet redacted)."""
    if found.check.kind == "target":
        return found.failure.message
    request = found.exchange.request
    reply = found.exchange.reply
    base = result.base_url
    lines = [f"request ({_how(found)}):"]
    if result.kind != "url":
        lines.append(f"  # in process; with the app served on {base}:")
    lines.append("  " + curl(request, base))
    lines.append("python:")
    snippet = python_snippet(
        request, kind=result.kind, base_url=base if result.kind == "url" else "http://localhost", app_ref=result.app_ref
    )
    lines += ["  " + line for line in snippet.splitlines()]
    lines.append(f"response: {reply.describe()}")
    if reply.exception is not None:
        error = reply.exception
        lines.append(f"  raised {error.describe()}")
        frames = [app_frame(error.frames)] + ([error.frames[-1]] if error.frames else [])
        for file, line, name in dict.fromkeys(f for f in frames if f[0]):
            lines.append(f"    at {_relative(file, root) or file}:{line} in {name}()")
    shown = reply.excerpt(400)
    if reply.body:
        lines += ["  " + line for line in shown.splitlines()[:12]]
    extra = found.failure.evidence
    if (
        extra
        and extra.strip(".") not in shown
        and extra != reply.describe()
        and (reply.exception is None or extra != reply.exception.describe())
    ):
        lines.append("evidence:")
        lines += ["  " + line for line in extra.splitlines()[:8]]
    lines.append(
        f"seed: {result.seed} (pytest --hypothesis-seed={result.seed} repeats this call's generated requests; "
        "the example database replays earlier failures first)"
    )
    return "\n".join(lines)


def to_finding(found: Found, result: FuzzResult, root: Path | None) -> Finding:
    """The ledger's finding for one distinct fuzz finding (redacted)."""
    chk = found.check
    endpoint = found.exchange.endpoint
    failure = found.failure
    where = "app" if chk.kind == "target" else endpoint.label + (f" [{failure.param}]" if failure.param else "")
    parts = (TOOL, chk.dedupe_group, endpoint.method, endpoint.path, failure.param, failure.key)
    fingerprint = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    finding = Finding(
        tool=TOOL,
        rule=Rule(
            id=chk.name,
            name=chk.title or chk.name,
            short_description=chk.title or chk.name,
            help=chk.fix,
            cwe=chk.cwe,
            tags=("fuzz", "security"),
        ),
        category="fuzz",
        severity=chk.severity,
        message=f"{where}: {failure.message}",
        location=_location(found, result, root),
        evidence=evidence(found, result, root),
        fix=chk.fix,
        confidence=chk.confidence,
        fingerprint=fingerprint,
    )
    return redact_finding(finding)


def describe_result(result: FuzzResult, findings: list[Finding]) -> str:
    """The failing test's text: a summary line, then every distinct finding in full."""
    head = (
        f"stillme fuzz: {len(findings)} finding(s) on {result.target}: {len(result.endpoints)} endpoint(s), "
        f"{result.requests} requests in {result.elapsed:.1f} s, seed {result.seed}"
    )
    blocks = [head]
    order = sorted(findings, key=lambda f: (-int(f.severity), f.message))
    for finding in order:
        at = finding.location
        where = f"{at.path}:{at.line}" if at.path and at.line else at.describe()
        block = [
            "",
            f"[{finding.severity.label}] {finding.rule.id}: {finding.message}",
            f"    at {where}" + (f" (CWE-{', CWE-'.join(map(str, finding.rule.cwe))})" if finding.rule.cwe else ""),
        ]
        block += ["    " + line for line in finding.evidence.splitlines()]
        if finding.fix:
            block.append(f"    fix: {finding.fix}")
        blocks.append("\n".join(block))
    blocks += [f"note: {note}" for note in result.notes]
    return redact_text("\n".join(blocks))
