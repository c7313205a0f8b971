"""Passive rules on headers that leak what runs the site: Server (10036), X-Powered-By (10037),
X-Backend-Server (10039), X-ChromeLogger-Data (10052), X-Debug-Token (10056) and X-AspNet-Version (10061).

The Server header is a finding (10036-2) only when it carries a version
(a digit), as at ZAP's default threshold.  No pytest here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..page import Exchange
from .base import HIGH, LOW, MEDIUM, Hit, PassiveRule, alert_type

__all__ = ["RULES"]

# -- 10036 Server, 10037 X-Powered-By, and other leaking headers ---------------------------------

_DIGIT = re.compile(r"\d")


def _server(ex: Exchange) -> Iterator[Hit]:
    for value in ex.values("server"):
        if _DIGIT.search(value):
            yield Hit("10036-2", evidence=value)


SERVER = PassiveRule(
    "10036",
    "HTTP Server Response Header",
    (
        alert_type(
            "10036-2",
            'Server Leaks Version Information via "Server" HTTP Response Header Field',
            LOW,
            HIGH,
            497,
            13,
            "The Server header names the server's version, which points attackers at its known vulnerabilities.",
            "Configure the server (or the proxy in front of it) to send no Server header, or one without a version.",
            "https://httpd.apache.org/docs/current/mod/core.html#servertokens",
        ),
    ),
    _server,
)


def _powered_by(ex: Exchange) -> Iterator[Hit]:
    values = ex.values("x-powered-by")
    if values:
        others = "\n".join(f"X-Powered-By: {v}" for v in values[1:])
        yield Hit("10037", evidence=f"X-Powered-By: {values[0]}", other=others)


POWERED_BY = PassiveRule(
    "10037",
    'Server Leaks Information via "X-Powered-By" HTTP Response Header Field(s)',
    (
        alert_type(
            "10037",
            'Server Leaks Information via "X-Powered-By" HTTP Response Header Field(s)',
            LOW,
            MEDIUM,
            497,
            13,
            "X-Powered-By names the framework behind the site, and often its version.",
            "Configure the application and server to send no X-Powered-By header.",
            "https://owasp.org/www-project-web-security-testing-guide/",
        ),
    ),
    _powered_by,
)


def _header_leak(ref: str, header: str) -> PassiveRule:
    names = {
        "10039": ("X-Backend-Server Header Information Leak", LOW, "names the server behind a proxy"),
        "10052": ("X-ChromeLogger-Data (XCOLD) Header Information Leak", MEDIUM, "carries server-side debug logs"),
        "10056": ("X-Debug-Token Information Leak", LOW, "links to the Symfony profiler of this request"),
        "10061": ("X-AspNet-Version Response Header", LOW, "names the ASP.NET version"),
    }
    name, risk, what = names[ref]

    def check(ex: Exchange) -> Iterator[Hit]:
        for value in ex.values(header):
            yield Hit(ref, param=header, evidence=value)
            return

    return PassiveRule(
        ref,
        name,
        (
            alert_type(
                ref,
                name,
                risk,
                MEDIUM,
                497 if ref != "10052" else 200,
                13,
                f"The {header} header {what}: information an attacker can use.",
                f"Stop sending the {header} header in production.",
            ),
        ),
        check,
    )


RULES: tuple[PassiveRule, ...] = (
    SERVER,
    POWERED_BY,
    _header_leak("10039", "X-Backend-Server"),
    _header_leak("10052", "X-ChromeLogger-Data"),
    _header_leak("10056", "X-Debug-Token"),
    _header_leak("10061", "X-AspNet-Version"),
)
