"""Each result as a plain dict with SARIF's property names, fast enough for 100,000 of them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ...core.findings import Finding, Severity
from ...core.redact import redact_finding, redact_text, redact_url
from .plan import _LABEL, _LEVEL, _URI_SAFE, _Context, _score
from .rules import _first_text, _rule_id, _score_text


def _url_uri(url: str, category: str) -> str:
    """``http://127.0.0.1:8000/api/x?q`` as ``dast/api/x``: a path, never a scheme.

    Scheme, host and port are left out, as in the finding's fingerprint: a
    service under test gets another port (or host name) on every run, and
    the alert's file should not move with it.  The full URL is in the
    message and in the result's properties.
    """
    text = url.strip().replace("\\", "/").split("#", 1)[0].split("?", 1)[0]
    if "://" in text:
        text = text.split("://", 1)[1]
        rest = text.partition("/")[2]
    elif text.startswith("//"):
        rest = text[2:].partition("/")[2]
    elif text.startswith("/"):
        rest = text
    else:
        rest = text.partition("/")[2]  # "localhost:8000/x": a host without a scheme
    return _pseudo_uri(category, rest) if rest.strip("/.") else _pseudo_uri(category, "(root)")


def _pseudo_uri(*parts: str) -> str:
    """A made-up relative path for what has no file; '.' and '..' segments are dropped so it stays put."""
    segments = [s for part in parts for s in part.replace("\\", "/").split("/") if s not in ("", ".", "..")]
    return quote("/".join(segments), safe=_URI_SAFE)


def _message(finding: Finding) -> str:
    """The result's text: never empty, with the URL or the package and version in it."""
    loc = finding.location
    rule = finding.rule
    text = _first_text(finding.message, rule.short_description, rule.name, rule.id)
    if loc.url:
        if loc.url not in text:
            where = redact_text(loc.describe())
            text = f"{text} ({where})" if text else where
        else:
            text = text.replace(loc.url, redact_url(loc.url))
    elif loc.package:
        package = f"{loc.package} {loc.version}".strip()
        if loc.package not in text or (loc.version and loc.version not in text):
            text = f"{text} ({package})" if text else package
    return text or "(no message)"


def _result(finding: Finding, ctx: _Context) -> dict[str, Any]:
    """One result as a plain dict with SARIF property names."""
    finding = redact_finding(finding)
    loc = finding.location
    score = _score_text(_score(finding))
    uri = ctx.paths.uri(loc.path) if loc.path else ""
    line = loc.line if uri else 0
    outside = bool(loc.path) and not uri
    if not uri:
        if loc.url:
            uri = _url_uri(loc.url, finding.category)
        elif loc.package:
            uri = _pseudo_uri(finding.category, loc.package)
        if "/" not in uri:
            uri = _pseudo_uri(finding.category, finding.tool or "unknown")
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
    if line > 0:
        region: dict[str, Any] = {"startLine": line}
        if loc.column > 0:
            region["startColumn"] = loc.column
        if loc.end_line > line:
            region["endLine"] = loc.end_line
        if finding.evidence:
            region["snippet"] = {"text": finding.evidence}
        physical["region"] = region
    properties: dict[str, Any] = {
        "category": finding.category,
        "severity": _LABEL[finding.severity],
        "security-severity": score,
        "tool": finding.tool,
    }
    if finding.severity is Severity.UNKNOWN and finding.score is None:
        del properties["security-severity"]
    if finding.confidence:
        properties["confidence"] = finding.confidence
    if finding.fix:
        properties["fix"] = finding.fix
    if finding.evidence and line <= 0:
        properties["evidence"] = finding.evidence
    # The uri of a URL or package is a made-up path: keep the real thing for readers (and for ingest).
    if loc.url:
        properties["url"] = redact_url(loc.url)
        if loc.method:
            properties["method"] = loc.method.upper()
        if loc.param:
            properties["param"] = loc.param
    if loc.package:
        properties["package"] = loc.package
        if loc.version:
            properties["version"] = loc.version
    rule_id = _rule_id(finding, ctx.merged)
    message = _message(finding)
    location: dict[str, Any] = {"physicalLocation": physical}
    if outside:
        # Not a file of the repository: say where in the message and a logical location, never as a uri.
        shown = ctx.paths.portable(loc.path) + (f":{loc.line}" if loc.line else "")
        message = f"{message} (at {shown}, outside the repository)"
        location["logicalLocations"] = [{"fullyQualifiedName": shown, "kind": "resource"}]
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": ctx.rule_index[rule_id],
        "level": _LEVEL[finding.severity],
        "message": {"text": message},
        "locations": [location],
        # GitHub tracks an alert by primaryLocationLineHash: derived from the stable fingerprint, it
        # survives line moves and exists for results without a line (DAST, dependencies).
        "partialFingerprints": {
            "stillme/v1": finding.fingerprint,
            "primaryLocationLineHash": f"{finding.fingerprint[:16]}:1",
        },
        "properties": properties,
    }
    if finding.suppressed_by:
        kind, sep, justification = finding.suppressed_by.partition(": ")
        if not sep or kind not in ("inSource", "external"):
            kind, justification = "external", finding.suppressed_by
        result["suppressions"] = [{"kind": kind, "status": "accepted", "justification": justification}]
    return result
