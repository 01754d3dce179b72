"""Self-contained HTML pages: escaping, the page shell and the styles every page shares.

Used by the batch report and the history export. A page carries its CSS inline and fetches
nothing (no script, font or image from the network), so it can be mailed or archived as one
file; every text that came from a user, an input file or a model goes through ``escape``.
"""

from __future__ import annotations

import html

# Fonts that cover Latin and CJK text on every common desktop, without fetching any.
FONT_STACK = (
    'system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",'
    "sans-serif"
)
BASE_CSS = (
    f"body{{font-family:{FONT_STACK};margin:2rem auto;padding:0 1rem;line-height:1.45}}\n"
    "h1{font-size:1.6rem}\n"
)


def escape(text: object) -> str:
    """``text`` as HTML text or attribute value (quotes escaped too)."""
    return html.escape(str(text), quote=True)


def page(title: str, body: str, *, css: str = "") -> str:
    """A whole HTML document: ``title`` (escaped here), the base styles, ``css``, ``body``."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>{BASE_CSS}{css}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
