"""One HTTP exchange as the passive rules see it, and its HTML parsed once for all of them.

:class:`Exchange` holds the request line, the status, the response headers
(in order, repeated ones kept: two ``X-Frame-Options`` headers are a finding)
and the body; its properties answer the questions ZAP's rules ask (is it
HTML, text, JavaScript; a redirect, a client or server error).  :class:`Page`
is what one pass of a small tokenizer collects: links and sources to crawl,
forms, comments, scripts and meta elements.  No pytest here.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
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


#: Comments, script elements (kept whole: markup inside a script is not markup), other tags.
_TOKEN = re.compile(
    r"<(?:!--(?P<comment>.*?)(?:-->|$)"
    r"|(?P<script>script\b[^>]*>)(?P<code>.*?)(?:</script\s*>|$)"
    r"|(?P<end>/)?(?P<tag>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>[^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*)>)",
    re.DOTALL | re.IGNORECASE,
)
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
#: Tags the parse needs: everything else is skipped by one dictionary lookup.
_WANTED = frozenset({*_URL_ATTRS, "form", "input", "button", "select", "textarea", "meta"})


def _attributes(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        name = match.group(1).lower()
        value = match.group(2) if match.group(2) is not None else match.group(3) or match.group(4) or ""
        values.setdefault(name, html.unescape(value) if "&" in value else value)
    return values


def parse_page(text: str) -> Page:
    """Links, forms, comments, scripts and metas of an HTML document, in one pass of one regular expression.

    A tokenizer, not a tree builder: as lenient as browsers (and ZAP's Jericho parser) with broken markup,
    and several times faster than the standard library's parser on the pages a crawl sees.
    """
    page = Page()
    form: Form | None = None
    seen_element = False
    for match in _TOKEN.finditer(text):
        comment = match.group("comment")
        if comment is not None:
            whole = match.group(0)
            page.comments.append(whole if whole.endswith("-->") else whole + "-->")
            continue
        script = match.group("script")
        if script is not None:
            values = _attributes(script[6:-1])
            page.scripts.append(f"<{script}{match.group('code')}</script>")
            if values.get("src"):
                page.links.append(values["src"])
                page.resources.append(("script", values["src"], values.get("integrity", "")))
            seen_element = True
            continue
        tag = match.group("tag").lower()
        if match.group("end"):
            if tag == "form":
                form = None
            continue
        if tag not in _WANTED:
            seen_element = True
            continue
        values = _attributes(match.group("attrs"))
        attr = _URL_ATTRS.get(tag)
        if attr and values.get(attr):
            if tag == "base":
                page.base = page.base or values[attr]
            else:
                page.links.append(values[attr])
        if tag == "form":
            form = Form(
                action=values.get("action", ""),
                method=(values.get("method") or "GET").upper(),
                start_tag=match.group(0),
                has_parent=seen_element,
            )
            page.forms.append(form)
        elif tag in ("input", "button", "select", "textarea"):
            if form is not None:
                _field(form, tag, values)
        elif tag == "meta":
            page.metas.append(values)
            if values.get("http-equiv", "").lower() == "refresh" and "url=" in values.get("content", "").lower():
                page.links.append(values["content"].split("=", 1)[1].strip().strip("'\""))
        elif tag == "link" and "stylesheet" in values.get("rel", "").lower() and values.get("href"):
            page.resources.append(("link", values["href"], values.get("integrity", "")))
        seen_element = True
    return page


def _field(form: Form, tag: str, values: dict[str, str]) -> None:
    kind = values.get("type", "text" if tag == "input" else tag).lower()
    if values.get("id"):
        form.ids.append(values["id"])
    name = values.get("name", "")
    if name and kind not in ("submit", "button", "reset", "image", "file"):
        form.fields.append((name, kind, values.get("value", "")))


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
