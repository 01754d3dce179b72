"""Rendering of bank listings, single questions and validation results.

`bank list` is run often and should start about as fast as the CLI itself, so its table is
drawn without building rich renderables whenever the output is plain or a common colour
terminal: the fast path writes the very bytes rich would (tests compare the two) and hands
every other case (other encodings and colour systems, forced colour, a table wider than the
terminal) to rich.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    # Type names only: `bank list` renders index rows and must not import the bank models.
    from rich.console import Console

    from interviewer.bank.index import BankRow, QuestionRow
    from interviewer.bank.library import Library, Question

Row = tuple[str, str, str, str, str]
HEADERS = ("id", "bank", "topic", "level", "question")
# SGR codes of the theme styles used here (ui/console.py), as rich writes them for a
# 256-colour or true-colour terminal.
ACCENT, MUTED, HEADER, TITLE = "36", "38;5;244", "1", "3"
COLUMN_STYLES = (ACCENT, MUTED, "", "", "")
# Rich's HEAVY_HEAD box: top, header row, header rule, body row, bottom.
TOP, HEAD, RULE, BODY, BOTTOM = "┏━┳┓", "┃┃┃", "┡━╇┩", "│││", "└─┴┘"
# Settings that change what rich writes; when one is set, rich draws the table itself.
RICH_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE")


def render_question_list(library: Library, questions: list[Question]) -> None:
    """Print a table of questions; an empty result is said in words, not an empty table."""
    banks = [(b.info.id, len(b.questions)) for b in library.banks]
    rows = [(q.id, q.bank, q.topic, q.difficulty, q.question.splitlines()[0]) for q in questions]
    _render_rows(banks, rows)


def render_index_rows(banks: Iterable[BankRow], questions: Iterable[QuestionRow]) -> None:
    """Print the questions of a bank index, looking exactly like render_question_list."""
    _render_rows(
        [(b.id, b.question_count) for b in banks],
        [(q.id, q.bank, q.topic, q.difficulty, q.first_line) for q in questions],
    )


def _render_rows(banks: Sequence[tuple[str, int]], rows: Sequence[Row]) -> None:
    if not rows:
        from interviewer.ui.console import err_console

        err_console.print("[warn]No question matches these filters.[/warn]")
        return
    stream = sys.stdout
    colour = plain_colour(stream, os.environ)
    text = None
    if colour is not None:
        text = format_rows(banks, rows, width=terminal_width(os.environ), colour=colour)
    if text is None:
        from interviewer.ui.console import console

        print_rows(console, banks, rows)
    else:
        stream.write(text)
        stream.flush()


def plain_colour(stream: TextIO, environ: Mapping[str, str]) -> bool | None:
    """Whether the fast path writes colour (True) or not (False); None: leave it to rich.

    Mirrors rich's own detection for the cases the fast path covers: a non-terminal gets no
    colour; a terminal gets colour when rich would pick 256 or true colours.
    """
    if sys.platform == "win32" or any(name in environ for name in RICH_ENV):
        return None
    if not (getattr(stream, "encoding", None) or "utf-8").lower().startswith("utf"):
        return None
    isatty = getattr(stream, "isatty", None)
    try:
        terminal = bool(isatty()) if isatty is not None else False
    except ValueError:
        return None
    if not terminal:
        return False
    term = environ.get("TERM", "").strip().lower()
    if term in ("dumb", "unknown"):
        return None
    if environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return True
    return True if term.rpartition("-")[2] in ("256color", "kitty") else None


def terminal_width(environ: Mapping[str, str]) -> int:
    """The console width as rich computes it: $COLUMNS, else the terminal's, else 80."""
    columns = environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns) or 80
    for fd in (0, 1, 2):
        try:
            return os.get_terminal_size(fd).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80


def _room(rows: Sequence[Row], width: int) -> tuple[list[int], int]:
    """Minimum widths of the first four columns and the cells left for the question."""
    widths = [max(len(r[i]) for r in rows) for i in range(3)] + [6]
    # One line per question: the text is cut to the room left by the other columns
    # (measured in terminal cells, so CJK text is cut correctly), at least 20 cells.
    room = max(20, width - sum(widths) - 3 * (len(widths) + 1) - 1)
    return widths, room


def format_rows(
    banks: Sequence[tuple[str, int]], rows: Sequence[Row], *, width: int, colour: bool
) -> str | None:
    """The question table exactly as :func:`print_rows` draws it, or None to let rich draw.

    Column widths follow rich's table layout for unwrappable columns: each column is as wide
    as its widest cell (at least its minimum); a table wider than the terminal is reduced
    evenly, the first four columns grow back to their minimum, and the console crops the
    lines that are still too long.
    """
    from rich.cells import cell_len, set_cell_size

    widths, room = _room(rows, width)
    cells: list[list[str]] = []
    for row in rows:
        first = row[4]
        if cell_len(first) > room:
            first = set_cell_size(first, room - 1) + "…"
        cells.append([*row[:4], first])
    minimums: list[int | None] = [*widths, None]
    limit = width - (len(HEADERS) + 1)  # the room inside the borders
    natural = [
        max(cell_len(header), *(cell_len(c[i]) for c in cells)) + 2
        for i, header in enumerate(HEADERS)
    ]

    def measure(i: int, room_i: int) -> int:
        if room_i < 1:
            return 0
        size = min(natural[i], room_i) if room_i > 2 else room_i
        minimum = minimums[i]
        return size if minimum is None else max(size, minimum + 2)

    columns = [measure(i, limit) for i in range(len(HEADERS))]
    if sum(columns) > limit:
        excess, remaining, reduced = sum(columns) - limit, len(columns), []
        for value in columns:
            cut = min(value, round(excess / remaining)) if value else 0
            excess, remaining = excess - cut, remaining - (1 if value else 0)
            reduced.append(value - cut)
        columns = [measure(i, room_i) for i, room_i in enumerate(reduced)]
    if min(columns) < 3:
        return None  # a terminal this narrow is rare; rich handles it.
    listed = ", ".join(f"{bank_id} ({count})" for bank_id, count in banks)
    footer = f"Banks: {listed}"
    if cell_len(footer) > width:
        return None  # rich wraps a long footer at word boundaries.
    table_width = sum(columns) + len(columns) + 1

    def fit(text: str, size: int) -> str:
        return set_cell_size(text, size - 1) + "…" if cell_len(text) > size else text

    Segments = list[tuple[str, str]]

    def line(box: str, values: Sequence[str], styles: Sequence[str]) -> Segments:
        segments: Segments = [(box[0], "")]
        for i, (value, size, code) in enumerate(zip(values, columns, styles, strict=True)):
            if i:
                segments.append((box[1], ""))
            inner = set_cell_size(fit(value, size - 2), size - 2)
            segments += [(" ", code), (inner, code), (" ", code)]
        return [*segments, (box[2], "")]

    def rule(box: str) -> Segments:
        return [(box[0] + box[2].join(box[1] * size for size in columns) + box[3], "")]

    def render(segments: Segments) -> str:
        if table_width <= width:  # nothing to crop: skip measuring every segment
            return "".join(
                f"\x1b[{code}m{text}\x1b[0m" if colour and code and text else text
                for text, code in segments
            )
        # The console crops a line longer than the terminal, segment by segment.
        out, used = [], 0
        for text, code in segments:
            size = cell_len(text)
            if used + size >= width:
                text = set_cell_size(text, width - used)
                out.append(f"\x1b[{code}m{text}\x1b[0m" if colour and code and text else text)
                break
            out.append(f"\x1b[{code}m{text}\x1b[0m" if colour and code and text else text)
            used += size
        return "".join(out)

    title = f"{len(rows)} question(s)"
    lines = [[(set_cell_size(title, table_width), TITLE)], rule(TOP)]
    lines.append(line(HEAD, HEADERS, [HEADER] * len(HEADERS)))
    lines.append(rule(RULE))
    lines.extend(line(BODY, row, COLUMN_STYLES) for row in cells)
    lines.append(rule(BOTTOM))
    lines.append([(footer, MUTED)])
    return "\n".join(render(segments) for segments in lines) + "\n"


def print_rows(console: Console, banks: Sequence[tuple[str, int]], rows: Sequence[Row]) -> None:
    """Draw the question table with rich (the reference look of the fast path)."""
    from rich.table import Table
    from rich.text import Text

    widths, room = _room(rows, console.width)
    table = Table(title=f"{len(rows)} question(s)", title_justify="left")
    for name, width, style in zip(
        ("id", "bank", "topic", "level"), widths, ("accent", "muted", "", ""), strict=True
    ):
        table.add_column(name, style=style, no_wrap=True, min_width=width)
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

    from interviewer.ui.console import console

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
    from interviewer.ui.console import console, err_console

    for path, error, count in results:
        if error:
            err_console.print("[bad]✗[/bad] ", end="")
            err_console.print(error, markup=False)
        else:
            console.print(f"[ok]✓[/ok] {path} ({count} questions)")
