"""The shared consoles: results go to stdout, diagnostics and errors to stderr."""

from __future__ import annotations

from rich.console import Console
from rich.theme import Theme

THEME = Theme(
    {
        "ok": "green",
        "warn": "yellow",
        "bad": "red",
        "muted": "grey50",
        "accent": "cyan",
        "covered": "green",
        "partial": "yellow",
        "missing": "red",
        "contradicted": "bold red",
        "ungraded": "magenta",
    }
)

console = Console(theme=THEME, highlight=False)
err_console = Console(stderr=True, theme=THEME, highlight=False)


def error(message: str) -> None:
    """Print one error line on stderr (markup in ``message`` is not interpreted).

    Soft wrap keeps it one line whatever the width, so that a pipe, a log or a narrow
    terminal gets the whole message on the line that starts with ``Error:``.
    """
    err_console.print("[bad]Error:[/bad] ", end="", soft_wrap=True)
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)


def notice(message: str) -> None:
    """Print a notice on stderr, so that stdout stays clean for piping (one line, like errors)."""
    err_console.print(f"[warn]{message}[/warn]", soft_wrap=True)
