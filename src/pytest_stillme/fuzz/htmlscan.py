"""What the fuzzer reads in HTML: the page's structure, its links and its forms (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Form", "PageLinks", "scan_links", "structure"]

_MAX_TAGS = 20_000


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if len(self.items) < _MAX_TAGS:
            self.items.append((tag, tuple(sorted(name for name, _ in attrs))))


def structure(html: str) -> list[tuple[str, tuple[str, ...]]]:
    """The page's elements in order, each as (tag, sorted attribute names): its shape without its text."""
    parser = _Structure()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser copes with nearly anything; a page it cannot read has no shape
        return parser.items
    return parser.items


@dataclass
class Form:
    """A form: where it goes, how, and its fields with their default values."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class PageLinks:
    links: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = PageLinks()
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ("a", "area") and values.get("href"):
            self.found.links.append(values["href"])
        elif tag == "form":
            self._form = Form(values.get("action", ""), (values.get("method") or "get").upper())
            self.found.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "button", "select") and values.get("name"):
            kind = values.get("type", "").lower()
            if kind in ("submit", "image", "reset", "file") and tag != "button":
                return
            self._form.fields.setdefault(values["name"], values.get("value", ""))
            if tag == "select":
                self._select = values["name"]
        elif (
            tag == "option"
            and self._form is not None
            and self._select
            and values.get("value")
            and not self._form.fields.get(self._select)
        ):
            self._form.fields[self._select] = values["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def scan_links(html: str) -> PageLinks:
    """The links and forms of a page."""
    parser = _Links()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a page html.parser cannot read gives what it read so far
        return parser.found
    return parser.found
