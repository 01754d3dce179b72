"""Rendering the outcome of importing an article: where the bank went and what was skipped."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interviewer.bank.drafts import Draft


def render_draft(source: Path, draft: Draft, dest: Path, *, installed: bool) -> None:
    """Say how many questions were found, where the bank was written, and every notice.

    Notices go to stderr with the article's name and line, in the form editors jump to.
    """
    from interviewer.ui.console import console, err_console

    count = len(draft.bank.questions)
    what = "imported" if installed else "drafted"
    console.print(
        f"[ok]✓[/ok] {source}: {count} question(s) {what} as bank "
        f"[accent]{draft.bank.info.id}[/accent] → {dest}",
        highlight=False,
    )
    for notice in draft.notices:
        err_console.print(f"[warn]{source}:{notice.line}:[/warn] ", end="")
        err_console.print(notice.text, markup=False, highlight=False)
    if not installed:
        console.print(
            f"[muted]Check the draft, then run `interviewer bank import {dest}`.[/muted]",
            highlight=False,
        )
