"""Rendering of bank listings, single questions and validation results."""

from __future__ import annotations

from pathlib import Path

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.bank import Library, Question
from interviewer.ui.console import console, err_console


def render_question_list(library: Library, questions: list[Question]) -> None:
    """Print a table of questions; an empty result is said in words, not an empty table."""
    if not questions:
        err_console.print("[warn]No question matches these filters.[/warn]")
        return
    table = Table(title=f"{len(questions)} question(s)", title_justify="left")
    widths = [
        max(len(q.id) for q in questions),
        max(len(q.bank) for q in questions),
        max(len(q.topic) for q in questions),
        6,
    ]
    for name, width, style in zip(
        ("id", "bank", "topic", "level"), widths, ("accent", "muted", "", ""), strict=True
    ):
        table.add_column(name, style=style, no_wrap=True, min_width=width)
    # One line per question: the text is cut to the room left by the other columns
    # (measured in terminal cells, so CJK text is cut correctly), at least 20 cells.
    room = max(20, console.width - sum(widths) - 3 * (len(widths) + 1) - 1)
    table.add_column("question", no_wrap=True)
    for q in questions:
        text = Text(q.question.splitlines()[0])
        text.truncate(room, overflow="ellipsis")
        table.add_row(q.id, q.bank, q.topic, q.difficulty, text)
    console.print(table)
    banks = ", ".join(f"{b.info.id} ({len(b.questions)})" for b in library.banks)
    console.print(f"[muted]Banks: {banks}[/muted]")


def render_question(q: Question) -> None:
    """Print a question, its reference answer, corrections and key points."""
    meta = f"{q.bank} · {q.topic} · {q.difficulty}"
    if q.tags:
        meta += " · " + ", ".join(q.tags)
    console.print(Panel(q.question, title=f"[accent]{q.id}[/accent]", subtitle=meta))
    console.print(Panel(q.reference, title="Reference answer", border_style="muted"))
    if q.reference_notes:
        notes = Panel(q.reference_notes, title="Correction / completion", border_style="warn")
        console.print(notes)
    if q.key_points:
        points = "\n".join(f"{i}. {p}" for i, p in enumerate(q.key_points, 1))
        console.print(Panel(points, title="Key points", border_style="ok"))
    if q.follow_ups:
        follow = "\n".join(f"• {f}" for f in q.follow_ups)
        console.print(Panel(follow, title="Follow-up questions", border_style="muted"))


def render_validation(results: list[tuple[Path, str | None, int]]) -> None:
    """Print one line per file: OK with its question count, or the error."""
    for path, error, count in results:
        if error:
            err_console.print("[bad]✗[/bad] ", end="")
            err_console.print(error, markup=False)
        else:
            console.print(f"[ok]✓[/ok] {path} ({count} questions)")
