"""Rendering of bank listings, single questions and validation results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from interviewer.ui.console import console, err_console

if TYPE_CHECKING:
    # Type names only: `bank list` renders index rows and must not import the bank models.
    from interviewer.bank import Library, Question
    from interviewer.bank_index import BankRow, QuestionRow


def render_question_list(library: Library, questions: list[Question]) -> None:
    """Print a table of questions; an empty result is said in words, not an empty table."""
    banks = [(b.info.id, len(b.questions)) for b in library.banks]
    rows = [(q.id, q.bank, q.topic, q.difficulty, q.question.splitlines()[0]) for q in questions]
    _render_rows(banks, rows)


def render_index_rows(banks: Iterable[BankRow], questions: Iterable[QuestionRow]) -> None:
    """Print the questions of a bank index, looking exactly like render_question_list."""
    _render_rows(
        [(b.id, b.count) for b in banks],
        [(q.id, q.bank, q.topic, q.difficulty, q.first_line) for q in questions],
    )


def _render_rows(
    banks: Sequence[tuple[str, int]], rows: Sequence[tuple[str, str, str, str, str]]
) -> None:
    if not rows:
        err_console.print("[warn]No question matches these filters.[/warn]")
        return
    table = Table(title=f"{len(rows)} question(s)", title_justify="left")
    widths = [max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)]
    widths += [max(len(r[2]) for r in rows), 6]
    for name, width, style in zip(
        ("id", "bank", "topic", "level"), widths, ("accent", "muted", "", ""), strict=True
    ):
        table.add_column(name, style=style, no_wrap=True, min_width=width)
    # One line per question: the text is cut to the room left by the other columns
    # (measured in terminal cells, so CJK text is cut correctly), at least 20 cells.
    room = max(20, console.width - sum(widths) - 3 * (len(widths) + 1) - 1)
    table.add_column("question", no_wrap=True)
    for qid, bank, topic, difficulty, first_line in rows:
        text = Text(first_line)
        text.truncate(room, overflow="ellipsis")
        table.add_row(qid, bank, topic, difficulty, text)
    console.print(table)
    listed = ", ".join(f"{bank_id} ({count})" for bank_id, count in banks)
    console.print(f"[muted]Banks: {listed}[/muted]")


def render_question(q: Question) -> None:
    """Print a question, its reference answer, corrections and key points."""
    from rich.panel import Panel

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
