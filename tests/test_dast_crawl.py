"""The passive scan's crawl: what it follows, what it never leaves, and its bounds."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pytest_stillme.dast.page import parse_page
from pytest_stillme.dast.passive import scan_url

from .dast_support import HTML, Site

BASE = "http://127.0.0.1"


def test_links_sources_forms_redirects_robots_and_sitemap_are_followed() -> None:
    site = Site(
        {
            "/": (
                200,
                [HTML],
                '<base href="/b/"><a href="page">rel</a><a href="/abs#frag">abs</a><a href="mailto:x@y">m</a>'
                '<a href="javascript:void(0)">j</a><a href="http://example.org/offsite-only">off</a>'
                '<link rel="stylesheet" href="/s.css"><iframe src="/frame"></iframe><script src="/app.js"></script>'
                '<img src="/logo.png"><meta http-equiv="refresh" content="0; url=/refreshed">'
                '<form action="/search"><input name="q"><input type="checkbox" name="all"></form>'
                '<form action="/login" method="post"><input name="user" value="ann"><input type="password" '
                'name="pw"><input type="hidden" name="t" value=""></form>',
            ),
            "/go": (302, [("Location", "/landing")], ""),
            "/away": (302, [("Location", "http://example.org/elsewhere-only")], ""),
            "/robots.txt": (200, [("Content-Type", "text/plain")], "User-agent: *\nDisallow: /secret\nAllow: /x*\n"),
            "/sitemap.xml": (
                200,
                [("Content-Type", "application/xml")],
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                "<url><loc>http://127.0.0.1/from-sitemap</loc></url>"
                "<url><loc>http://example.org/sitemap-offsite-only</loc></url></urlset>",
            ),
            "/from-sitemap": (200, [HTML], '<a href="/go">go</a> <a href="/away">away</a>'),
        }
    )
    scan, result = scan_url(BASE, site)
    requested = set(site.requests)
    for expected in [
        ("GET", "/b/page"),
        ("GET", "/abs"),
        ("GET", "/s.css"),
        ("GET", "/frame"),
        ("GET", "/app.js"),
        ("GET", "/logo.png"),
        ("GET", "/refreshed"),
        ("GET", "/search?q=stillme&all=on"),
        ("POST", "/login"),
        ("GET", "/secret"),
        ("GET", "/from-sitemap"),
        ("GET", "/go"),
        ("GET", "/landing"),
        ("GET", "/away"),
    ]:
        assert expected in requested, expected
    assert not any("offsite-only" in path or "elsewhere" in path for _, path in requested)
    assert not any(path.startswith("/x") for _, path in requested)  # robots.txt wildcards are not paths
    assert result.failures == []
    assert result.unreachable == ""
    assert result.stopped == ""
    assert scan.exchanges == len(site.requests)


def test_forms_policy() -> None:
    pages = {"/": (200, [HTML], '<form action="/g"><input name="a"></form><form method="post" action="/p"></form>')}
    get_only = Site(pages)
    scan_url(BASE, get_only, forms="get")
    assert ("GET", "/g?a=stillme") in get_only.requests
    assert ("POST", "/p") not in get_only.requests
    none = Site(pages)
    scan_url(BASE, none, forms="none")
    assert not any(path.startswith(("/g", "/p")) for _, path in none.requests)


def test_depth_and_page_bounds() -> None:
    chain = {f"/p{n}": (200, [HTML], f'<a href="/p{n + 1}">n</a>') for n in range(20)}
    chain["/"] = (200, [HTML], '<a href="/p0">0</a>')
    shallow = Site(chain)
    _, result = scan_url(BASE, shallow, max_depth=2)
    assert {p for _, p in shallow.requests if p.startswith("/p")} == {"/p0", "/p1"}
    assert result.stopped == ""
    few = Site(chain)
    _, result = scan_url(BASE, few, max_pages=5)
    assert len(few.requests) == 5
    assert result.stopped == "max_pages (5 requests)"
    assert result.left > 0


def test_app_errors_are_answers_and_hangs_are_failures() -> None:
    class Broken(Site):
        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("path") == "/boom":
                self.requests.append(("GET", "/boom"))
                raise RuntimeError("boom")
            if scope.get("path") == "/hang":
                await asyncio.Event().wait()
            await super().__call__(scope, receive, send)

    site = Broken({"/": (200, [HTML], '<a href="/boom">b</a><a href="/hang">h</a>')})
    scan, result = scan_url(BASE, site, request_timeout=0.2)
    assert ("GET", "/boom") in site.requests
    assert [where for where, _ in result.failures] == ["GET http://127.0.0.1/hang"]
    assert "no complete answer within 0.2 s" in result.failures[0][1]
    # The exception became a 500 the rules saw: 90022 Application Error Disclosure.
    assert any(a.plugin_id == "90022" for a in scan.alerts())


def test_unsafe_or_broken_sitemaps_are_ignored() -> None:
    site = Site(
        {
            "/sitemap.xml": (
                200,
                [("Content-Type", "application/xml")],
                '<?xml version="1.0"?><!DOCTYPE u [<!ENTITY e "/bomb">]><urlset><url><loc>&e;</loc></url></urlset>',
            ),
        }
    )
    _, result = scan_url(BASE, site)
    assert result.failures == []
    assert not any("bomb" in path for _, path in site.requests)


def test_the_html_parser_collects_what_rules_need() -> None:
    page = parse_page(
        "<html><body><!-- TODO: x --><form id='f' action='/a' method='POST'><input id='csrf' name='n' value='v'>"
        "<input type='submit' name='go'><select name='s'></select></form>"
        "<script src='https://cdn.example/x.js' integrity='sha384-abc'></script><script>var a = 1;</script>"
        "<link rel='stylesheet' href='https://cdn.example/x.css'><meta http-equiv='X-Frame-Options' content='DENY'>"
    )
    (form,) = page.forms
    assert (form.action, form.method, form.has_parent) == ("/a", "POST", True)
    assert form.fields == [("n", "text", "v"), ("s", "select", "")]
    assert form.ids == ["csrf"]
    assert page.comments == ["<!-- TODO: x -->"]
    assert page.scripts[1] == "<script>var a = 1;</script>"
    assert page.resources == [
        ("script", "https://cdn.example/x.js", "sha384-abc"),
        ("link", "https://cdn.example/x.css", ""),
    ]
    assert page.metas[0]["http-equiv"] == "X-Frame-Options"
    assert parse_page("<form><input name='a'></form>").forms[0].has_parent is False


_MARKUP = st.lists(
    st.sampled_from(
        [
            "<",
            ">",
            "</",
            "<!--",
            "-->",
            "<a href='/x'>",
            "<form action=",
            "<script>",
            "</script>",
            '"',
            "'",
            '<input name=a value="b">',
            "<meta http-equiv=refresh content='0;url=/y'>",
            "text",
            "&amp;",
        ]
    ),
    max_size=30,
).map("".join)


@given(st.one_of(_MARKUP, st.text(max_size=300)))
def test_the_tokenizer_takes_any_text(text: str) -> None:
    page = parse_page(text)
    assert all(isinstance(link, str) for link in page.links)
    assert all(form.method for form in page.forms)
