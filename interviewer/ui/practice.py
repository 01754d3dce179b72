"""The interview screen: question panels, grades, follow-ups and the session summary.

How answers are typed is `interviewer.ui.answer_input`'s business; `interviewer.ui.screen`
puts the two together for the session loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.bank.library import Question
from interviewer.bank.rubric import MAX_LEVEL
from interviewer.grading.grade import KEY_POINT_MARKS, Grade, GraderInfo, Outcome
from interviewer.session.driver import Exchange, SessionSummary
from interviewer.session.runner import Banner
from interviewer.ui.cells import score_text
from interviewer.ui.console import console, err_console, lit, plain

END_MARK = "."
UNGRADED_TEXT = {
    "endpoint_error": "the grading endpoint failed",
    "unparseable": "the grader's reply could not be read",
    "truncated": "the grader's reply was cut off (token limit)",
    "refused": "the grader refused to grade",
    "invalid": "the grader's reply did not fit the grade format",
    "language": "the answer is in another language than the question",
    "no_reference": "this follow-up has nothing to grade against",
}


def _score_style(score: float) -> str:
    return "ok" if score >= 70 else "warn" if score >= 40 else "bad"


def render_header(banner: Banner) -> None:
    """Announce the session: its banks, how many questions, who grades, how to answer."""
    info = banner.grader
    grader = (
        "[warn]offline estimate[/warn] — connect a model for full grading"
        " ([accent]interviewer endpoints add[/accent])"
        if info.kind == "offline"
        else f"[accent]{lit(info.label)}[/accent]"
    )
    banks = ", ".join(lit(b) for b in banner.banks) or "—"
    hint = " [accent]/hint[/accent] reveals a key point (then worth half)," if banner.hints else ""
    console.print(
        Panel(
            Text.from_markup(
                f"{banner.count} question(s) from {banks} · grader: {grader}"
                f" · follow-ups: {banner.follow_ups}\n"
                f"End an answer with a line containing only [accent]{END_MARK}[/accent]"
                f" (or Ctrl-D). On a line of its own:{hint} [accent]/skip[/accent],"
                " [accent]/quit[/accent]."
            )
            + (Text(f"\nWarning: {banner.warning}", style="bad") if banner.warning else Text()),
            title=f"interviewer · {lit(banner.title)}",
            border_style="accent",
        )
    )


def render_question(question: Question, index: int, total: int, extra: str = "") -> None:
    subtitle = lit(f"{question.topic} · {question.difficulty} · {question.id}")
    console.print(
        Panel(
            plain(question.question),
            title=f"Question {index}/{total}{extra}",
            subtitle=subtitle,
            border_style="accent",
        )
    )


def render_follow_up(text: str, number: int, total: int) -> None:
    console.print(Panel(plain(text), title=f"Follow-up {number}/{total}", border_style="accent"))


def render_skipped(follow_up: bool) -> None:
    """Say what /skip did."""
    if follow_up:
        console.print("[muted]Follow-up skipped: nothing saved for it.[/muted]")
        return
    console.print(
        "[muted]Skipped: saved as not known, so it comes back soon in `interviewer due`.[/muted]"
    )


@contextmanager
def grading_status(info: GraderInfo) -> Iterator[None]:
    """A spinner while an LLM grades (none for the instant offline grader)."""
    if info.kind == "offline" or not console.is_terminal:
        yield
        return
    with console.status(f"Grading with {lit(info.label)}…"):
        yield


def _levels_bar(level: int) -> str:
    return "■" * level + "□" * (MAX_LEVEL - level)


def render_grade(grade: Grade, final_score: float | None, hints_used: int, penalty: float) -> None:
    score = grade.score
    label = " (offline estimate)" if grade.estimate else ""
    line = Text.from_markup(f"[{_score_style(score)}]Score {score_text(score)}/100[/]{label}")
    if hints_used and final_score is not None:
        line.append_text(
            Text.from_markup(
                f"  [muted]{hints_used} hinted key point(s) at most partial →[/muted]"
                f" [{_score_style(final_score)}]{score_text(final_score)}[/]"
            )
        )
    console.print(line)

    criteria = Table(show_header=True, header_style="muted", box=None, pad_edge=False)
    criteria.add_column("criterion")
    criteria.add_column("level", no_wrap=True)
    criteria.add_column("why", overflow="fold")
    for c in grade.criteria:
        criteria.add_row(
            f"{lit(c.name)} [muted]×{c.weight:g}[/muted]",
            f"{_levels_bar(c.score)} {c.score}/{MAX_LEVEL}",
            plain(c.comment),
        )
    console.print(criteria)

    points = Table(show_header=False, box=None, pad_edge=False)
    points.add_column(no_wrap=True)
    points.add_column(overflow="fold")
    for kp in grade.key_points:
        body = Text(kp.text)
        if kp.quote:
            body.append(f"  «{kp.quote}»", style="muted")
        if kp.claimed:
            body.append(f"  (graded {kp.claimed}; no quote found in the answer)", style="muted")
        # Each status has a theme style of the same name.
        points.add_row(Text(f"{KEY_POINT_MARKS[kp.status]} {kp.status}", style=kp.status), body)
    console.print(Panel(points, title="Key points", border_style="muted"))

    if grade.factual_errors:
        console.print("[bad]Factual errors:[/bad]")
        for err in grade.factual_errors:
            console.print(Text(f"  • {err}"))
    if grade.feedback:
        console.print(Panel(plain(grade.feedback), title="Feedback", border_style="ok"))
    if grade.reference_issues:
        console.print("[warn]Problems noticed in the reference answer:[/warn]")
        for issue in grade.reference_issues:
            console.print(Text(f"  • {issue}"))
    if grade.dropped_quotes:
        console.print(
            f"[muted]{grade.dropped_quotes} quote(s) the grader attributed to your answer were"
            " not in it and were dropped.[/muted]"
        )


def render_exchange(exchange: Exchange, penalty: float) -> None:
    """Show the result of one answer: the grade, or why it is ungraded."""
    outcome = exchange.outcome
    if outcome is None:
        return
    for notice in outcome.notices:
        err_console.print(plain(notice, style="warn"))
    if outcome.grade is None:
        reason = outcome.ungraded_reason or "invalid"
        detail = f": {outcome.ungraded_detail}" if outcome.ungraded_detail else ""
        body = Text(f"Ungraded — {UNGRADED_TEXT.get(reason, reason)}{detail}\n")
        body.append(
            "Your answer is saved; grade it later with `interviewer regrade`.", style="muted"
        )
        if exchange.follow_up_note:
            body.append(f"\n{exchange.follow_up_note}", style="muted")
        console.print(Panel(body, border_style="ungraded", title="ungraded"))
        return
    render_grade(outcome.grade, exchange.final_score, exchange.hints_used, penalty)
    if exchange.raised_parent is not None:
        before, after = exchange.raised_parent
        console.print(
            f"[muted]A key point recovered here raises the question's score:[/muted]"
            f" {before:g} → [{_score_style(after)}]{after:g}[/]"
        )
    if outcome.info.kind == "llm":
        render_usage(outcome)
    if len(outcome.samples) > 1:
        spread = max(outcome.samples) - min(outcome.samples)
        console.print(
            f"[muted]{len(outcome.samples)} grades aggregated: "
            + ", ".join(score_text(s) for s in outcome.samples)
            + f" (spread {spread:g})[/muted]"
        )


def render_usage(outcome: Outcome) -> None:
    """Tokens and time one grade cost, as the server reported them (or estimated)."""
    usage = outcome.usage
    source = "estimated" if usage.estimated else "reported by the server"
    console.print(
        Text(
            f"{outcome.info.label} · {usage.prompt_tokens:,} prompt +"
            f" {usage.completion_tokens:,} completion tokens ({source})"
            f" · {outcome.duration_ms / 1000:.1f} s",
            style="muted",
        )
    )


def render_reference(question: Question) -> None:
    console.print(Panel(plain(question.reference), title="Reference answer", border_style="muted"))
    if question.reference_notes:
        notes = plain(question.reference_notes)
        console.print(Panel(notes, title="Correction / completion", border_style="warn"))


def _score_cell(exchange: Exchange) -> Text:
    if exchange.kind == "skip":
        return Text("skipped", style="muted")
    if not exchange.graded:
        return Text("ungraded", style="ungraded")
    score = exchange.final_score if exchange.final_score is not None else 0.0
    cell = Text(score_text(score), style=_score_style(score))
    before = exchange.score_before_follow_ups
    if before is not None:
        # Credit for key points recovered on a follow-up (docs/grading.md).
        cell = Text.assemble((score_text(before), _score_style(before)), " → ", cell)
    return cell


def render_summary(exchanges: list[Exchange], summary: SessionSummary) -> None:
    """The end-of-session table: every question, its score, hints, follow-ups, time."""
    table = Table(title="Session summary", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("question", style="accent")
    table.add_column("topic")
    table.add_column("score", justify="right")
    table.add_column("hints", justify="right")
    table.add_column("follow-ups")
    table.add_column("time", justify="right")
    for i, ex in enumerate(exchanges, 1):
        follow = Text()
        for f in ex.follow_ups:
            follow.append_text(_score_cell(f))
            follow.append(" ")
        table.add_row(
            str(i),
            plain(ex.question.id),
            plain(ex.question.topic),
            _score_cell(ex),
            str(ex.hints_used or ""),
            follow,
            f"{ex.time_taken_ms / 1000:.0f}s",
        )
    console.print(table)
    mean = score_text(summary.mean_score)
    parts = [
        f"answered {summary.answered}",
        f"skipped {summary.skipped}",
        f"mean score {mean}",
    ]
    if summary.follow_ups:
        fmean = summary.mean_follow_up_score
        parts.append(
            f"follow-ups {summary.follow_ups} (mean {score_text(fmean)})"
            if fmean is not None
            else f"follow-ups {summary.follow_ups}"
        )
    if summary.ungraded:
        parts.append(f"[ungraded]ungraded {summary.ungraded}[/ungraded] (`interviewer regrade`)")
    outcomes = [
        e.outcome
        for ex in exchanges
        for e in (ex, *ex.follow_ups)
        if e.outcome is not None and e.outcome.info.kind == "llm"
    ]
    if outcomes:
        tokens = sum(o.usage.prompt_tokens + o.usage.completion_tokens for o in outcomes)
        estimated = any(o.usage.estimated for o in outcomes)
        parts.append(f"{tokens:,} tokens{' (partly estimated)' if estimated else ''}")
    console.print(" · ".join(parts))
    console.print(f"[muted]Saved as session {summary.session_id}.[/muted]")


def ask_language(offered: dict[str, int], default: str) -> str:
    """Ask once which language to practise in (the answer is saved to the config)."""
    from rich.prompt import Prompt

    from interviewer.bank.languages import language_name

    choices = ", ".join(f"{code} = {language_name(code)} ({n})" for code, n in offered.items())
    console.print(f"[accent]Which language do you want to practise in?[/accent] {choices}")
    try:
        return Prompt.ask("Language", choices=list(offered), default=default, console=console)
    except EOFError:
        return default
