"""Turning an HTML article into Markdown-like lines for the article parser.

Only the structure the parser needs survives: headings become ``#`` lines, ``<strong>``
becomes ``**``, list items, table rows and ``<pre>`` blocks become their Markdown forms, and
every block starts a line of its own. Scripts, styles, navigation and footers are dropped.
Each output line remembers the source line it came from, so what the parser reports points
into the HTML file the user has.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCKS = {
    "p", "div", "section", "article", "main", "blockquote", "ul", "ol", "dl", "dt", "dd",
    "table", "thead", "tbody", "figure", "figcaption", "details", "summary", "header",
}  # fmt: skip
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
DROPPED = {"script", "style", "noscript", "template", "nav", "footer", "aside", "svg", "button"}
SPACE = re.compile(r"\s+")


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.origins: list[int] = []
        self._parts: list[str] = []
        self._origin = 1
        self._prefix = ""
        self._dropped = 0
        self._pre = 0
        self._lists: list[list[int]] = []  # per open list: [counter] (-1 for <ul>)
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._rows_in_table = 0
        self.title = ""
        self._in_title = False

    # ------------------------------------------------------------------ output

    def _flush(self, *, blank: bool = True) -> None:
        text = SPACE.sub(" ", "".join(self._parts)).strip()
        if text and text not in ("**", "****"):
            self.lines.append(self._prefix + text)
            self.origins.append(self._origin)
        self._parts, self._prefix = [], ""
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")
            self.origins.append(self._origin)

    def _raw(self, line: str) -> None:
        self.lines.append(line)
        self.origins.append(self.getpos()[0])

    def _start_line(self, prefix: str = "") -> None:
        self._flush()
        self._prefix = prefix
        self._origin = self.getpos()[0]

    # ------------------------------------------------------------------ parser hooks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED:
            self._dropped += 1
            return
        if self._dropped:
            return
        if tag == "title":
            self._in_title = True
        elif tag in HEADINGS:
            self._start_line("#" * HEADINGS[tag] + " ")
        elif tag == "pre":
            self._flush()
            self._pre += 1
            self._raw("```")
            self._parts = []
        elif tag in ("ul", "ol"):
            self._flush(blank=not self._lists)
            self._lists.append([0 if tag == "ol" else -1])
        elif tag == "li":
            self._flush(blank=False)
            depth = max(len(self._lists) - 1, 0)
            marker = "- "
            if self._lists and self._lists[-1][0] >= 0:
                self._lists[-1][0] += 1
                marker = f"{self._lists[-1][0]}. "
            self._prefix = "  " * depth + marker
            self._origin = self.getpos()[0]
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "table":
            self._flush()
            self._rows_in_table = 0
        elif tag == "br":
            if self._pre:
                self._parts.append("\n")
            else:
                self._flush(blank=False)
                self._origin = self.getpos()[0]
        elif tag == "hr":
            self._flush()
            self._raw("---")
            self._raw("")
        elif tag in ("strong", "b"):
            self._text("**")
        elif tag == "code" and not self._pre:
            self._text("`")
        elif tag in BLOCKS:
            self._start_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED:
            self._dropped = max(self._dropped - 1, 0)
            return
        if self._dropped:
            return
        if tag == "title":
            self._in_title = False
        elif tag == "pre" and self._pre:
            self._pre -= 1
            for line in "".join(self._parts).strip("\n").split("\n"):
                self._raw(line.rstrip())
            self._parts = []
            self._raw("```")
            self._raw("")
        elif tag in ("ul", "ol") and self._lists:
            self._flush(blank=False)
            self._lists.pop()
            if not self._lists:
                self._flush()
        elif tag == "li":
            self._flush(blank=False)
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(SPACE.sub(" ", "".join(self._cell)).strip().replace("|", "\\|"))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._raw("| " + " | ".join(self._row) + " |")
            if self._rows_in_table == 0:
                self._raw("|" + "---|" * len(self._row))
            self._rows_in_table += 1
            self._row = None
        elif tag == "table":
            self._raw("")
        elif tag in ("strong", "b"):
            self._text("**")
        elif tag == "code" and not self._pre:
            self._text("`")
        elif tag in HEADINGS or tag in BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._dropped:
            return
        if self._in_title:
            self.title += data
            return
        self._text(data)

    def _text(self, text: str) -> None:
        if self._cell is not None:
            self._cell.append(text)
        elif self._pre or text.strip() or self._parts:
            if not self._parts:
                self._origin = self.getpos()[0]
            self._parts.append(text)

    def close(self) -> None:
        super().close()
        self._flush()


def html_to_lines(html: str) -> tuple[list[str], list[int], str]:
    """The article as Markdown-like lines, the source line of each, and the page title."""
    converter = _Converter()
    converter.feed(html)
    converter.close()
    return converter.lines, converter.origins, SPACE.sub(" ", converter.title).strip()
