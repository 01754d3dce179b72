"""Text made inert for the places the tool writes it: spreadsheet cells and Markdown.

Answers, ids, file names and model replies are untrusted. A CSV cell that starts with ``=``,
``+``, ``-``, ``@`` (or a tab or carriage return before one) is run as a formula by Excel,
LibreOffice and Google Sheets; raw HTML in Markdown is rendered by most viewers. Every CSV
the tool writes passes its cells through ``spreadsheet_cell`` and every Markdown file its
free text through ``markdown_text``.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula: such text gets a leading ``'``.

    Numbers (and text that reads as one, such as ``-3.5``) are left as they are; None is empty.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def markdown_text(text: str) -> str:
    """Text for Markdown outside a code fence: ``&``, ``<`` and ``>`` as entities, so that
    no tag in it is rendered (the entities display as the characters themselves)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def without_surrogates(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate (from a ``\\ud800`` JSON escape without its
    pair) replaced by U+FFFD, so that it can be written as UTF-8. A str never holds a valid
    pair: decoders join those into one character."""
    return _SURROGATE.sub("\ufffd", text)
