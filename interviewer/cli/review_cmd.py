"""`interviewer review RESULTS`: hand-score the answers that teach the anchor map most."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from interviewer.cli.common import handle_errors

if TYPE_CHECKING:
    from interviewer.batch.review import Review, ReviewRow

HELP = (
    "Hand-score the answers whose score would teach the anchor map most.\n\n"
    "Shows each answer with its question, reference, grade and checklist; type your score"
    " (or Enter to accept the suggestion). Scores are saved at once as anchors in"
    " STEM.anchors.jsonl beside RESULTS and the map (STEM.calibration.json) is refitted;"
    " run review again to resume. Re-run the same `interviewer grade` command afterwards to"
    " refresh the reports and the gradebook (nothing is graded again)."
)

MaxScoreOpt = Annotated[
    float | None,
    typer.Option("--max-score", min=0.001, help="Your scale (0..N) when the run has none."),
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", min=1, help="Stop after this many answers.")
]


@handle_errors
def review(
    results: Annotated[Path, typer.Argument(help="The results file of `interviewer grade`.")],
    max_score: MaxScoreOpt = None,
    limit: LimitOpt = None,
) -> None:
    from interviewer.batch.review import Review
    from interviewer.ui import review as ui

    session = Review.open(results, max_score=max_score)
    queue = session.queue()
    ui.render_intro(session, len(queue))
    seen: set[str] = set()
    shown = 0
    while limit is None or shown < limit:
        pending = [r for r in session.queue() if r.key not in seen]
        if not pending:
            break
        row = pending[0]
        shown += 1
        ui.render_row(session, row, shown)
        if not _ask(session, row):
            break
        seen.add(row.key)
    ui.render_done(
        session, f"Re-run your `interviewer grade ... --out {results}` to refresh the reports."
    )


def _ask(session: Review, row: ReviewRow) -> bool:
    """Read one score; False when the teacher stops (q, or end of input)."""
    from interviewer.ui import review as ui

    while True:
        try:
            typed = input(ui.prompt_text(session, row)).strip()
        except (EOFError, KeyboardInterrupt):  # every score typed so far is saved already
            print()
            return False
        if typed.lower() in ("q", "quit"):
            return False
        if typed.lower() in ("s", "skip"):
            return True
        value = session.suggestion(row) if not typed else _number(typed)
        if value is None:
            print("Type a number, Enter, s or q.")
            continue
        try:
            session.score(row, value)
        except ValueError as exc:
            print(f"Not saved: {exc}.")
            continue
        return True


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def register(app: typer.Typer) -> None:
    app.command("review", help=HELP)(review)
