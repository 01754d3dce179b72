"""What `interviewer eval` shows: the agreement table on stdout, notes on stderr."""

from __future__ import annotations

import json

from rich.table import Table

from interviewer.evaluation.render import (
    COMPARISON_HEAD,
    comparison_rows,
    headers,
    notes,
    table_rows,
)
from interviewer.evaluation.summary import Evaluation
from interviewer.ui.console import console, err_console


def render_start(file: str, grader: str, to_grade: int, done: int) -> None:
    """Where grading starts from (stderr)."""
    already = f", {done} already in the results" if done else ""
    err_console.print(
        f"Grading {to_grade} answers from {file} with {grader}{already}.",
        markup=False,
        highlight=False,
        soft_wrap=True,  # one line, whatever the path's length
    )


def render_evaluation(ev: Evaluation) -> None:
    """The figures as a table, the human ceiling beside them, then the comparison."""
    table = Table(title=f"Agreement with human scores: {ev.file}")
    for i, head in enumerate(headers(ev)):
        table.add_column(head, justify="left" if i == 0 else "right", no_wrap=True)
    for row in table_rows(ev):
        table.add_row(*row)
    console.print(table)
    if ev.comparison is not None:
        compared = Table(title=f"Compared with {ev.compare_file} ({ev.comparison.n} answers)")
        for i, head in enumerate(COMPARISON_HEAD):
            compared.add_column(head, justify="left" if i == 0 else "right", no_wrap=True)
        for row in comparison_rows(ev):
            compared.add_row(*row)
        console.print(compared)
    for note in notes(ev):
        console.print(note, style="muted", markup=False, highlight=False)


def render_json(ev: Evaluation) -> None:
    """The figures as one JSON object on stdout (plain, no colour codes)."""
    print(json.dumps(ev.as_json(), ensure_ascii=False, allow_nan=False))
