"""One HTTP exchange as the passive rules see it, and its HTML parsed once for all of them.

:class:`Exchange` holds the request line, the status, the response headers
(in order, repeated ones kept: two ``X-Frame-Options`` headers are a finding)
and the body; its properties answer the questions ZAP's rules ask (is it
HTML, text, JavaScript; a redirect, a client or server error).  :class:`Page`
is what a single pass of the standard library's HTML parser collects: links
and sources to crawl, forms, comments, scripts and meta elements.  No pytest here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Exchange", "Form", "Page", "parse_page"]

#: Elements whose attribute names a URL the crawl follows, as ZAP's spider does.
_URL_ATTRS = {
    "a": "href",
    "area": "href",
    "link": "href",
    "frame": "src",
    "iframe": "src",
    "script": "src",
    "img": "src",
    "base": "href",
}


@dataclass
class Form:
    """A form: where it goes, how, its fields (name, type, value), and its start tag as written."""

    action: str
    method: str
    start_tag: str
    has_parent: bool
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    #: Input ids (ZAP matches anti-CSRF token names against ids too).
    ids: list[str] = field(default_factory=list)


@dataclass
class Page:
    """What the rules and the crawl need from an HTML document."""

    links: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    #: Each script element as start tag plus content (ZAP's suspicious-comments rule reads them whole).
    scripts: list[str] = field(default_factory=list)
    #: (src, integrity) of script elements, (href, integrity) of stylesheet links.
    resources: list[tuple[str, str, str]] = field(default_factory=list)
    metas: list[dict[str, str]] = field(default_factory=list)
    base: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.depth = 0
        self.form: Form | None = None
        self.script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        attr = _URL_ATTRS.get(tag)
        if attr and values.get(attr):
            if tag == "base":
                self.page.base = self.page.base or values[attr]
            else:
                self.page.links.append(values[attr])
        if tag == "input" or tag == "button" or tag == "select" or tag == "textarea":
            self._field(tag, values)
        elif tag == "form":
            self.form = Form(
                action=values.get("action", ""),
                method=(values.get("method") or "GET").upper(),
                start_tag=self.get_starttag_text() or "<form>",
                has_parent=self.depth > 0,
            )
            self.page.forms.append(self.form)
        elif tag == "meta":
            self.page.metas.append({k.lower(): v for k, v in values.items()})
            refresh = values.get("http-equiv", "").lower() == "refresh" and "url=" in values.get("content", "").lower()
            if refresh:
                self.page.links.append(values["content"].split("=", 1)[1].strip().strip("'\""))
        elif tag == "script":
            self.script = [self.get_starttag_text() or "<script>"]
            if values.get("src"):
                self.page.resources.append(("script", values["src"], values.get("integrity", "")))
        elif tag == "link" and "stylesheet" in values.get("rel", "").lower() and values.get("href"):
            self.page.resources.append(("link", values["href"], values.get("integrity", "")))
        if tag not in _VOID:
            self.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "script" and self.script is not None:
            self.script.append("</script>")
            self.page.scripts.append("".join(self.script))
            self.script = None
        if tag not in _VOID and self.depth > 0:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.script is not None:
            self.script.append(data)

    def handle_comment(self, data: str) -> None:
        self.page.comments.append(f"<!--{data}-->")

    def _field(self, tag: str, values: dict[str, str]) -> None:
        if self.form is None:
            return
        kind = values.get("type", "text" if tag == "input" else tag).lower()
        if values.get("id"):
            self.form.ids.append(values["id"])
        name = values.get("name", "")
        if name and kind not in ("submit", "button", "reset", "image", "file"):
            self.form.fields.append((name, kind, values.get("value", "")))


_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


def parse_page(text: str) -> Page:
    """Links, forms, comments, scripts and metas of an HTML document (broken HTML parses as far as it goes)."""
    parser = _Parser()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # the stdlib parser gives up on some malformed markup
        pass
    return parser.page


@dataclass
class Exchange:
    """One request and its response."""

    method: str
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    #: Set by the crawl: the page, once parsed (HTML responses only).
    _page: Page | None = None
    _text: str | None = None

    @functools.cached_property
    def _by_name(self) -> dict[str, list[str]]:
        table: dict[str, list[str]] = {}
        for name, value in self.headers:
            table.setdefault(name.lower(), []).append(value)
        return table

    def values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        return self._by_name.get(name.lower(), [])

    def first(self, name: str) -> str | None:
        found = self._by_name.get(name.lower())
        return found[0] if found else None

    def has(self, name: str) -> bool:
        return name.lower() in self._by_name

    @functools.cached_property
    def content_type(self) -> str:
        return (self.first("content-type") or "").lower()

    @functools.cached_property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def secure(self) -> bool:
        return self.url.startswith("https:")

    @property
    def is_html(self) -> bool:
        return "html" in self.content_type

    @property
    def is_javascript(self) -> bool:
        ct = self.content_type
        return "javascript" in ct or "ecmascript" in ct

    @property
    def is_css(self) -> bool:
        return "css" in self.content_type

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def is_font(self) -> bool:
        ct = self.content_type
        return ct.startswith("font/") or "font-woff" in ct or "opentype" in ct

    @property
    def is_text(self) -> bool:
        ct = self.content_type
        return ct.startswith("text/") or any(kind in ct for kind in ("json", "xml", "javascript", "html"))

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status < 400

    @property
    def is_client_error(self) -> bool:
        return 400 <= self.status < 500

    @property
    def is_server_error(self) -> bool:
        return 500 <= self.status < 600

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.body.decode(_charset(self.content_type), errors="replace")
        return self._text

    @property
    def page(self) -> Page:
        if self._page is None:
            self._page = parse_page(self.text) if self.is_html and self.body else Page()
        return self._page

    def status_line(self) -> str:
        return f"HTTP/1.1 {self.status} {self.reason}".rstrip()

    def header_block(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in self.headers)


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key == "charset" and value:
            candidate = value.strip("'\" ")
            try:
                "".encode(candidate)
            except LookupError:
                break
            return candidate
    return "utf-8"


def same_origin(a: str, b: str) -> bool:
    """Scheme, host and port equal (default ports filled in)."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, (pa.hostname or "").lower(), _port(pa)) == (pb.scheme, (pb.hostname or "").lower(), _port(pb))


def _port(parts: Any) -> int:
    try:
        port = parts.port
    except ValueError:
        return -1
    return port or (443 if parts.scheme == "https" else 80)
