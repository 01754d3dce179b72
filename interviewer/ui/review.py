"""What `interviewer review` shows: one answer at a time with its grade, then the map's fit."""

from __future__ import annotations

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.batch.anchors import Calibration
from interviewer.batch.review import Review, ReviewRow
from interviewer.ui.console import console

_STATUS_STYLE = {"covered": "green", "partial": "yellow", "missing": "red", "contradicted": "red"}


def render_intro(review: Review, remaining: int) -> None:
    console.print(
        f"Reviewing {review.results}: {remaining} answer(s) without a hand score,"
        " the most instructive first.",
        markup=False,
        highlight=False,
    )
    console.print(
        "Type your score and Enter; Enter alone accepts the suggestion; s skips; q stops"
        " (every score is saved at once: run review again to go on).",
        markup=False,
        highlight=False,
    )
    render_fit(review.calibration)


def render_row(review: Review, row: ReviewRow, position: int) -> None:
    """The question, reference, answer, the grade and its checklist."""
    anchors = review.anchors_of(row.question_id)
    who = f" · {row.candidate}" if row.candidate else ""
    title = f"#{position}{who} · {anchors} anchor(s) on this question"
    body = Text()
    body.append("Question: ", style="bold")
    body.append(row.question + "\n")
    if row.reference:
        body.append("Reference: ", style="bold")
        body.append(row.reference + "\n")
    body.append("Answer: ", style="bold")
    body.append(row.answer)
    console.print(Panel(body, title=Text(title), title_align="left"))
    checklist = Table(show_header=True, box=None, pad_edge=False)
    checklist.add_column("Key point")
    checklist.add_column("Status")
    for kp in row.grade.get("key_points") or []:
        status = str(kp.get("status"))
        checklist.add_row(
            Text(str(kp.get("text"))), Text(status, style=_STATUS_STYLE.get(status, ""))
        )
    for c in row.grade.get("criteria") or []:
        checklist.add_row(Text(f"{c.get('name')} (level 0–4)"), Text(str(c.get("score"))))
    console.print(checklist)
    feedback = str(row.grade.get("feedback") or "")
    if feedback:
        console.print(Text("Feedback: ", style="bold") + Text(feedback))
    maximum = review.maximum(row)
    suggestion = review.suggestion(row)
    scale = f" of {maximum:g}" if maximum is not None else ""
    console.print(
        f"Grader: {row.score:.1f}/100 → suggested {suggestion}{scale}",
        markup=False,
        highlight=False,
    )


def prompt_text(review: Review, row: ReviewRow) -> str:
    maximum = review.maximum(row)
    top = f"0–{maximum:g}" if maximum is not None else "score"
    return f"Your score ({top}; Enter = {review.suggestion(row)}, s = skip, q = quit): "


def render_fit(calibration: Calibration | None) -> None:
    if calibration is None:
        console.print("No anchors yet: the suggestions are plain rescaling.")
        return
    text = f"Map: {calibration.anchors} anchor(s) on {calibration.questions} question(s)"
    agreement = calibration.agreement
    if agreement is not None:
        error, plain = agreement.errors()
        text += f"; cross-validated error {error} (plain rescaling {plain})"
    console.print(text + ".", markup=False, highlight=False)


def render_done(review: Review, command_hint: str) -> None:
    console.print(f"{review.stored} score(s) saved as anchors.", markup=False, highlight=False)
    render_fit(review.calibration)
    console.print(command_hint, markup=False, highlight=False)
