"""Rendering of bank listings, single questions and validation results.

`bank list` draws a rich table on a terminal. When its output goes to a pipe or a file it
prints plain aligned columns instead: nothing there shows colour or box lines, and leaving
out rich's console and table keeps the command about as quick to start as the CLI itself.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    # Type names only: `bank list` renders index rows and must not import the bank models.
    from rich.console import Console

    from interviewer.bank.index import BankRow, QuestionRow
    from interviewer.bank.library import Library, Question

Row = tuple[str, str, str, str, str]
BankCount = tuple[str, int, str]  # bank id, its number of questions, its language
HEADERS = ("id", "bank", "topic", "level", "question")
# The level column is as wide as its longest value ("medium") even when no row has it.
LEVEL_WIDTH = 6
# A question is never cut shorter than this many terminal cells.
MIN_QUESTION_CELLS = 20
# What lies between two plain columns.
GAP = "  "


def render_question_list(library: Library, questions: list[Question]) -> None:
    """Print a table of questions; an empty result is said in words, not an empty table."""
    banks = [(b.info.id, len(b.questions), b.info.language) for b in library.banks]
    rows = [(q.id, q.bank, q.topic, q.difficulty, q.question.splitlines()[0]) for q in questions]
    _render_rows(banks, rows)


def render_index_rows(banks: Iterable[BankRow], questions: Iterable[QuestionRow]) -> None:
    """Print the questions of a bank index, looking exactly like render_question_list."""
    _render_rows(
        [(b.id, b.question_count, b.language) for b in banks],
        [(q.id, q.bank, q.topic, q.difficulty, q.first_line) for q in questions],
    )


def _render_rows(banks: Sequence[BankCount], rows: Sequence[Row]) -> None:
    if not rows:
        from interviewer.ui.console import err_console

        err_console.print("[warn]No question matches these filters.[/warn]")
        return
    if wants_plain(sys.stdout, os.environ):
        sys.stdout.write(plain_rows(banks, rows, width=terminal_width(os.environ)))
        sys.stdout.flush()
        return
    from interviewer.ui.console import console

    print_rows(console, banks, rows)


def wants_plain(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether the listing is written as plain columns: output that is not a terminal.

    FORCE_COLOR and TTY_COMPATIBLE=1 make rich treat any output as a terminal; then the
    table is drawn by rich as well, so a pager that shows colours gets the usual look.
    """
    if environ.get("FORCE_COLOR") or environ.get("TTY_COMPATIBLE") == "1":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return not (isatty is not None and isatty())
    except ValueError:  # a closed stream
        return True


def terminal_width(environ: Mapping[str, str]) -> int:
    """The line width rich would use: $COLUMNS, else the terminal's, else 80."""
    columns = environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns) or 80
    for fd in (0, 1, 2):
        try:
            return os.get_terminal_size(fd).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80


def question_room(widths: Sequence[int], width: int, overhead: int) -> int:
    """The cells left for the question on a ``width``-cell line, at least MIN_QUESTION_CELLS.

    ``widths`` are the first four columns' widths, ``overhead`` the cells that borders,
    padding and gaps take. One line per question: a longer one is cut to this room.
    """
    return max(MIN_QUESTION_CELLS, width - sum(widths) - overhead)


def banks_line(
    banks: Sequence[BankCount], rows: Sequence[Row] = (), *, width: int | None = None
) -> str:
    """The lines under the listing: every loaded bank and its size, then how the questions
    shown divide by language and by topic (most first); wrapped to ``width`` when given
    (plain output; rich wraps its own)."""
    lines = ["Banks: " + ", ".join(f"{bank_id} ({count})" for bank_id, count, _ in banks)]
    language_of = {bank_id: language for bank_id, _, language in banks}
    languages = Counter(language_of.get(row[1]) or "?" for row in rows)
    topics = Counter(row[2] for row in rows)
    if languages:
        lines.append("Languages: " + ", ".join(f"{k} ({n})" for k, n in languages.most_common()))
    if topics:
        lines.append("Topics: " + ", ".join(f"{k} ({n})" for k, n in topics.most_common()))
    if width is not None:
        lines = [textwrap.fill(line, width, subsequent_indent="  ") for line in lines]
    return "\n".join(lines)


def plain_rows(banks: Sequence[BankCount], rows: Sequence[Row], *, width: int) -> str:
    """The listing as plain text: a title, aligned columns and the banks line.

    Columns are aligned in terminal cells (a CJK character takes two), and the question is
    cut with an ellipsis to fit ``width`` like the table cuts it.
    """
    from rich.cells import cell_len, set_cell_size

    widths = [max(cell_len(text) for text in [HEADERS[i], *(r[i] for r in rows)]) for i in range(4)]
    widths[3] = max(widths[3], LEVEL_WIDTH)
    room = question_room(widths, width, len(GAP) * len(widths))

    def line(cells: Sequence[str]) -> str:
        question = cells[4]
        if cell_len(question) > room:
            question = set_cell_size(question, room - 1).rstrip() + "…"
        padded = [
            text + " " * (size - cell_len(text))
            for text, size in zip(cells[:4], widths, strict=True)
        ]
        return GAP.join([*padded, question])

    lines = [f"{len(rows)} question(s)", line(HEADERS), *(line(row) for row in rows)]
    return "\n".join([*lines, banks_line(banks, rows, width=width)]) + "\n"


def print_rows(console: Console, banks: Sequence[BankCount], rows: Sequence[Row]) -> None:
    """Draw the question table with rich, then the banks line."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    from interviewer.ui.console import plain

    widths = [max(cell_len(r[i]) for r in rows) for i in range(3)] + [LEVEL_WIDTH]
    # Each column has a cell of padding either side and a border on its left, plus one.
    room = question_room(widths, console.width, 3 * len(HEADERS) + 1)
    table = Table(title=f"{len(rows)} question(s)", title_justify="left")
    for name, size, style in zip(HEADERS[:4], widths, ("accent", "muted", "", ""), strict=True):
        table.add_column(name, style=style, no_wrap=True, min_width=size)
    table.add_column(HEADERS[4], no_wrap=True)
    for qid, bank, topic, difficulty, first_line in rows:
        text = Text(first_line)
        text.truncate(room, overflow="ellipsis")
        table.add_row(plain(qid), plain(bank), plain(topic), plain(difficulty), text)
    console.print(table)
    console.print(banks_line(banks, rows), style="muted", markup=False)


def render_question(q: Question) -> None:
    """Print a question, its reference answer, corrections and key points."""
    from rich.panel import Panel

    from interviewer.ui.console import console, lit, plain

    meta = f"{q.bank} · {q.topic} · {q.difficulty}"
    if q.tags:
        meta += " · " + ", ".join(q.tags)
    console.print(
        Panel(plain(q.question), title=f"[accent]{lit(q.id)}[/accent]", subtitle=lit(meta))
    )
    console.print(Panel(plain(q.reference), title="Reference answer", border_style="muted"))
    if q.reference_notes:
        notes = Panel(
            plain(q.reference_notes), title="Correction / completion", border_style="warn"
        )
        console.print(notes)
    if q.key_points:
        points = "\n".join(f"{i}. {p}" for i, p in enumerate(q.key_points, 1))
        console.print(Panel(plain(points), title="Key points", border_style="ok"))
    if q.follow_ups:
        follow = "\n".join(f"• {f}" for f in q.follow_up_texts)
        console.print(Panel(plain(follow), title="Follow-up questions", border_style="muted"))


def render_validation(results: list[tuple[Path, str | None, int]]) -> None:
    """Print one line per file: OK with its question count, or the error."""
    from interviewer.ui.console import console, err_console, lit

    for path, error, count in results:
        if error:
            err_console.print("[bad]✗[/bad] ", end="")
            err_console.print(error, markup=False)
        else:
            console.print(f"[ok]✓[/ok] {lit(path)} ({count} questions)")
