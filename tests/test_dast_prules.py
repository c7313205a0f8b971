"""Each passive rule on single exchanges: it fires where ZAP's rule of the same id fires, and only there."""

from __future__ import annotations

import time

import pytest

from pytest_stillme.dast.page import Exchange
from pytest_stillme.dast.prules import RULES, by_id

HTML = ("Content-Type", "text/html")
JSON = ("Content-Type", "application/json")
SAFE = [
    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Permissions-Policy", "camera=()"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Strict-Transport-Security", "max-age=31536000"),
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
]
NOW = int(time.time())
UNSAFE_CSP = "default-src 'self' 'unsafe-inline' 'unsafe-eval'; frame-ancestors 'none'; form-action 'self'"


def ex(
    headers: list[tuple[str, str]],
    body: str = "<html><body>x</body></html>",
    status: int = 200,
    url: str = "http://127.0.0.1/",
    method: str = "GET",
) -> Exchange:
    return Exchange(method, url, status, "OK", headers, body.encode())


def refs(plugin: str, exchange: Exchange) -> list[str]:
    return [hit.ref for hit in by_id()[plugin].check(exchange)]


def safe(*extra: tuple[str, str], drop: str = "") -> list[tuple[str, str]]:
    return [h for h in SAFE if h[0].lower() != drop.lower()] + list(extra)


CASES = [
    # 10038 CSP missing: HTML only, not on redirects; a META policy counts.
    ("10038", ex(safe(HTML, drop="Content-Security-Policy")), ["10038-1"]),
    ("10038", ex(safe(HTML, drop="Content-Security-Policy"), status=404), ["10038-1"]),
    ("10038", ex(safe(HTML, drop="Content-Security-Policy"), status=302), []),
    ("10038", ex([JSON], body="{}"), []),
    ("10038", ex([HTML], body='<meta http-equiv="Content-Security-Policy" content="default-src \'self\'">'), []),
    ("10038", ex(safe(HTML, ("X-WebKit-CSP", "default-src *"))), ["10038-2"]),
    # 10055 CSP policy problems.
    ("10055", ex(safe(HTML)), []),
    (
        "10055",
        ex([HTML, ("Content-Security-Policy", "default-src *; frame-ancestors 'none'; form-action 'self'")]),
        ["10055-4"],
    ),
    ("10055", ex([HTML, ("Content-Security-Policy", "default-src 'self'")]), ["10055-13"]),
    (
        "10055",
        ex(
            [
                HTML,
                (
                    "Content-Security-Policy",
                    "default-src 'self' 'unsafe-inline' 'unsafe-eval'; frame-ancestors 'none'; form-action 'self'",
                ),
            ]
        ),
        ["10055-5", "10055-6", "10055-12"],
    ),
    # 10020 anti-clickjacking: 200 HTML with a body; CSP frame-ancestors wins; META is non-compliant.
    ("10020", ex([HTML]), ["10020-1"]),
    ("10020", ex([HTML], status=500), []),
    ("10020", ex([HTML, ("Content-Security-Policy", "frame-ancestors 'none'")]), []),
    ("10020", ex([HTML, ("X-Frame-Options", "ALLOW-FROM x")]), ["10020-4"]),
    ("10020", ex([HTML, ("X-Frame-Options", "DENY"), ("X-Frame-Options", "DENY")]), ["10020-2"]),
    (
        "10020",
        ex([HTML, ("X-Frame-Options", "DENY")], body='<meta http-equiv="X-Frame-Options" content="DENY">'),
        ["10020-3"],
    ),
    # 10021 nosniff: any non-empty non-error, non-redirect response.
    ("10021", ex([JSON], body="{}"), ["10021"]),
    ("10021", ex([JSON, ("X-Content-Type-Options", "sniff")], body="{}"), ["10021"]),
    ("10021", ex([JSON], body="{}", status=404), []),
    ("10021", ex([JSON], body=""), []),
    # 10035 HSTS: HTTPS only.
    ("10035", ex([HTML], url="http://127.0.0.1/"), []),
    ("10035", ex([HTML], url="https://127.0.0.1/"), ["10035-1"]),
    ("10035", ex([HTML, ("Strict-Transport-Security", "max-age=0")], url="https://127.0.0.1/"), ["10035-2"]),
    ("10035", ex([HTML, ("Strict-Transport-Security", "includeSubDomains")], url="https://127.0.0.1/"), ["10035-5"]),
    ("10035", ex([("Location", "https://127.0.0.1/x")], status=301, url="https://127.0.0.1/"), []),
    # 10036 Server with a version; 10037 X-Powered-By; header leaks.
    ("10036", ex([("Server", "uvicorn")]), []),
    ("10036", ex([("Server", "nginx/1.25.3")]), ["10036-2"]),
    ("10037", ex([("X-Powered-By", "PHP/8.2")]), ["10037"]),
    ("10056", ex([("X-Debug-Token", "a1b2")]), ["10056"]),
    ("10061", ex([("X-AspNet-Version", "4.0.30319")]), ["10061"]),
    # 10063 Permissions-Policy: HTML and JavaScript, not redirects; Feature-Policy is deprecated.
    ("10063", ex([HTML]), ["10063-1"]),
    ("10063", ex([("Content-Type", "application/javascript")], body="var a;"), ["10063-1"]),
    ("10063", ex([JSON], body="{}"), []),
    ("10063", ex([HTML, ("Feature-Policy", "camera 'none'")]), ["10063-2"]),
    # 90004 site isolation: 2xx only; CORP skipped beside CORS headers; COEP/COOP on documents.
    ("90004", ex([JSON], body="{}"), ["90004-1"]),
    ("90004", ex([JSON, ("Access-Control-Allow-Origin", "https://a.example")], body="{}"), []),
    ("90004", ex([HTML]), ["90004-1", "90004-2", "90004-3"]),
    ("90004", ex([HTML], status=404), []),
    (
        "90004",
        ex(safe(HTML, ("Cross-Origin-Resource-Policy", "same-site"), drop="Cross-Origin-Resource-Policy")),
        ["90004-1"],
    ),
    # 10098 CORS wildcard; 10015 cache control (HTTPS, Informational); 10019; 10105.
    ("10098", ex([JSON, ("Access-Control-Allow-Origin", "*")], body="{}"), ["10098"]),
    ("10015", ex([HTML], url="https://127.0.0.1/"), ["10015"]),
    ("10015", ex(safe(HTML), url="https://127.0.0.1/"), []),
    ("10015", ex([HTML], url="http://127.0.0.1/"), []),
    ("10019", ex([], body="x"), ["10019"]),
    ("10105", ex([("WWW-Authenticate", 'Basic realm="x"')], status=401), ["10105"]),
    ("10105", ex([("WWW-Authenticate", 'Basic realm="x"')], status=401, url="https://127.0.0.1/"), []),
    # Cookies: HttpOnly, Secure (HTTPS only), SameSite; deleted cookies are skipped.
    ("10010", ex([("Set-Cookie", "a=1; Path=/")]), ["10010"]),
    ("10010", ex([("Set-Cookie", "a=1; HttpOnly")]), []),
    ("10010", ex([("Set-Cookie", "a=; Max-Age=0")]), []),
    ("10010", ex([("Set-Cookie", "a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT")]), []),
    ("10011", ex([("Set-Cookie", "a=1")], url="https://127.0.0.1/"), ["10011"]),
    ("10011", ex([("Set-Cookie", "a=1")]), []),
    ("10054", ex([("Set-Cookie", "a=1")]), ["10054-1"]),
    ("10054", ex([("Set-Cookie", "a=1; SameSite=None; Secure")]), ["10054-2"]),
    ("10054", ex([("Set-Cookie", "a=1; SameSite=Maybe")]), ["10054-3"]),
    ("10054", ex([("Set-Cookie", "a=1; SameSite=lax")]), []),
    # Content: 90022, 10023, 2, 10096, 10027, 10202, 10017, 90003.
    ("90022", ex([HTML], status=500), ["90022"]),
    ("90022", ex([HTML], body="<p>You have an error in your SQL syntax near</p>"), ["90022"]),
    ("90022", ex([HTML], body="<p>You have an error in your SQL syntax</p>", status=404), []),
    ("10023", ex([HTML], body="<h1>Internal Server Error</h1>", status=500), ["10023"]),
    ("10023", ex([("Content-Type", "text/javascript")], body="// internal server error"), []),
    ("2", ex([HTML], body="backend at 10.0.3.7:8080 and 192.168.1.20"), ["2"]),
    ("2", ex([HTML], body="10.0.3.7", url="http://10.0.3.7/"), []),
    ("2", ex([HTML], body="version 1.10.0.3 and 127.0.0.1"), []),
    ("10096", ex([JSON], body=f'{{"created": {NOW}}}'), ["10096"]),
    ("10096", ex([JSON], body='{"quantity": 1000000000}'), []),  # 2001: outside ten years around now
    ("10096", ex([JSON, ("ETag", str(NOW))], body="{}"), []),  # ETag is not a disclosure
    (
        "10027",
        ex([HTML], body="<!-- TODO: remove before release --><script>var q = 'SELECT 1';</script>"),
        ["10027", "10027"],
    ),
    ("10027", ex([HTML], body="<p>todo list</p><!-- layout -->"), []),
    ("10202", ex([HTML], body="<div><form method='post' action='/x'><input name='a'></form></div>"), ["10202"]),
    ("10202", ex([HTML], body="<div><form><input type='hidden' name='csrfmiddlewaretoken'></form></div>"), []),
    ("10017", ex([HTML], body="<script src='https://cdn.example/a.js'></script>"), ["10017"]),
    ("10017", ex([HTML], body="<script src='/a.js'></script>"), []),
    ("90003", ex([HTML], body="<link rel='stylesheet' href='https://cdn.example/a.css'>"), ["90003"]),
    ("90003", ex([HTML], body="<script src='https://cdn.example/a.js' integrity='sha384-x'></script>"), []),
]


@pytest.mark.parametrize(("plugin", "exchange", "expected"), CASES)
def test_rule(plugin: str, exchange: Exchange, expected: list[str]) -> None:
    assert refs(plugin, exchange) == expected


def test_a_safe_response_raises_nothing_anywhere() -> None:
    page = ex(safe(HTML), url="https://127.0.0.1/")
    assert [(r.plugin_id, h.ref) for r in RULES for h in r.check(page)] == []


def test_every_rule_is_zap_shaped() -> None:
    for rule in RULES:
        assert rule.plugin_id.isdigit()
        for alert in rule.alerts:
            assert alert.ref.split("-")[0] == rule.plugin_id
            assert 0 <= alert.risk <= 3
            assert 1 <= alert.confidence <= 3
            assert alert.cwe > 0
            assert alert.name
            assert alert.description
            assert alert.solution


def test_the_prefilters_cover_every_message() -> None:
    from pytest_stillme.dast.prules.content import _APP_ERRORS, _APP_TRIGGERS, _ten_digits

    assert all(any(trigger in message for trigger in _APP_TRIGGERS) for message in _APP_ERRORS)
    assert _ten_digits(b"at 1700000000.")
    assert not _ten_digits(b"123456789 and 12345")
