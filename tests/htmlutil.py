"""Small HTML inspection helpers for tests (stdlib html.parser only)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[int, list[str]] = {}
        self._open: list[int] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in {"img", "meta", "link", "br", "hr", "input", "source", "path", "circle"}:
            self._open.append(len(self.elements) - 1)
            self.text[len(self.elements) - 1] = []

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self.elements[self._open[i]][0] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for index in self._open:
            self.text[index].append(data)


class Page:
    """Parsed HTML: find elements by tag and attribute, read their text."""

    def __init__(self, html: str | bytes) -> None:
        if isinstance(html, bytes):
            html = html.decode("utf-8")
        self.html = html
        self._c = _Collector()
        self._c.feed(html)

    def find_all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self._c.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def texts(self, tag: str) -> list[str]:
        return [
            " ".join("".join(self._c.text.get(i, [])).split()) for i, (t, _) in enumerate(self._c.elements) if t == tag
        ]

    def meta(self, key: str) -> str | None:
        for attrs in self.find_all("meta"):
            if key in (attrs.get("name"), attrs.get("property")):
                return attrs.get("content")
        return None

    def link(self, rel: str) -> str | None:
        for attrs in self.find_all("link"):
            if attrs.get("rel") == rel:
                return attrs.get("href")
        return None

    def part(self, opening: str, end_tag: str) -> Page | None:
        """The piece from the exact ``opening`` tag text to the next ``end_tag`` (None if absent)."""
        start = self.html.find(opening)
        if start < 0:
            return None
        return Page(self.html[start : self.html.index(end_tag, start)])

    def urls(self) -> list[str]:
        """Every href and src in the page."""
        return [
            value for _, attrs in self._c.elements for key, value in attrs.items() if key in ("href", "src") and value
        ]
