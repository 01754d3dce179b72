"""Screens for history, one attempt in full, sessions, exports and regrades."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.ui.cells import bar, local_time, one_line, score_style, score_text
from interviewer.ui.console import console, err_console

if TYPE_CHECKING:
    from interviewer.history.records import (
        AttemptDetail,
        AttemptRecord,
        GradeRecord,
        SessionRecord,
    )
    from interviewer.history.regrade import RegradeItem, RegradeResult

SHORT_REASON = {"endpoint_error": "endpoint", "unparseable": "unreadable"}


def _status(attempt: AttemptRecord) -> Text:
    status = attempt.status
    if status == "graded":
        score = attempt.score
        extra = f" ({attempt.grade_count} grades)" if attempt.grade_count > 1 else ""
        return Text(f"{score_text(score)}{extra}", style=score_style(score))
    if status == "skipped":
        return Text("skipped", style="muted")
    if status == "pending":
        return Text("not graded", style="ungraded")
    reason = attempt.grade.ungraded_reason if attempt.grade else None
    return Text(f"ungraded: {SHORT_REASON.get(reason or '', reason)}", style="ungraded")


# --------------------------------------------------------------------------- history


def render_path(path: str) -> None:
    console.print(path, markup=False, highlight=False, soft_wrap=True)


def render_attempts(attempts: list[AttemptRecord], *, title: str) -> None:
    """A table of attempts; an empty result is said in words."""
    if not attempts:
        err_console.print(
            "[warn]No attempts match.[/warn] Practise with `interviewer practice`, or widen"
            " the filters."
        )
        return
    table = Table(title=title, title_justify="left")
    table.add_column("id", justify="right", style="accent", no_wrap=True)
    table.add_column("when", no_wrap=True)
    table.add_column("session", style="muted", no_wrap=True)
    table.add_column("question", no_wrap=True)
    table.add_column("topic")
    table.add_column("level")
    table.add_column("score", no_wrap=True)
    table.add_column("answer", no_wrap=True, overflow="ellipsis", min_width=10)
    preview = max(10, console.width - 96)
    for a in attempts:
        qid = a.question_id if a.kind != "follow_up" else f"↳ {a.question_id}"
        table.add_row(
            str(a.id),
            local_time(a.created_at),
            a.session_id[:8] if a.mode == "practice" else f"{a.session_id[:8]} {a.mode}",
            qid,
            a.topic or "",
            a.difficulty or "",
            _status(a),
            one_line(a.prompt + " → " + a.answer if a.prompt else a.answer, preview),
        )
    console.print(table)
    console.print("[muted]`interviewer history show ID` shows an attempt in full.[/muted]")


def render_history(attempts: list[AttemptRecord], *, limit: int, ungraded: bool) -> None:
    """The attempts `interviewer history` found, titled by what was asked for."""
    title = (
        f"{len(attempts)} most recent attempt(s)"
        if len(attempts) == limit
        else f"{len(attempts)} attempt(s)"
    )
    if ungraded:
        title += " without a grade"
    render_attempts(attempts, title=title)


def render_sessions(sessions: list[SessionRecord]) -> None:
    if not sessions:
        err_console.print("[warn]No sessions yet.[/warn] Start one with `interviewer practice`.")
        return
    table = Table(title=f"{len(sessions)} session(s)", title_justify="left")
    table.add_column("session", style="accent", no_wrap=True)
    table.add_column("started", no_wrap=True)
    table.add_column("mode")
    table.add_column("grader")
    table.add_column("answers", justify="right")
    table.add_column("skipped", justify="right")
    table.add_column("follow-ups", justify="right")
    table.add_column("mean", justify="right")
    table.add_column("", no_wrap=True)
    for s in sessions:
        grader = s.grader or "?"
        if s.model:
            grader = f"{s.model} @ {s.endpoint or '?'}"
        table.add_row(
            s.id[:8],
            local_time(s.started_at),
            s.mode,
            grader,
            str(s.answers),
            str(s.skips),
            str(s.follow_ups),
            Text(score_text(s.mean_score), style=score_style(s.mean_score)),
            bar(s.mean_score, 12),
        )
    console.print(table)
    console.print("[muted]`interviewer history --session ID` lists a session's attempts.[/muted]")


def _grade_panel(label: str, grade: GradeRecord) -> Panel:
    parts: list[RenderableType] = []
    # Provenance first, inside the panel: a subtitle would be cut when panels sit side by side.
    provenance = f"{local_time(grade.created_at)} · {grade.grader_label}"
    if grade.prompt_version:
        provenance += f" · prompt {grade.prompt_version}"
    if grade.prompt_tokens or grade.completion_tokens:
        est = " est." if grade.tokens_estimated else ""
        provenance += f" · {grade.prompt_tokens}+{grade.completion_tokens} tokens{est}"
    parts.append(Text(provenance, style="muted"))
    if grade.graded:
        headline = Text(score_text(grade.score), style=f"bold {score_style(grade.score)}")
        final, raw = grade.final_score, grade.score
        if final is not None and raw is not None and round(final, 1) != round(raw, 1):
            # Hints only lower a final score; a point recovered on a follow-up only raises it.
            why = "after hints" if final < raw else "after follow-ups"
            headline.append(f" → {score_text(final)} {why}", style="muted")
        parts.append(headline)
        if grade.note:
            parts.append(Text(grade.note))
    else:
        reason = Text(f"ungraded: {grade.ungraded_reason}", style="ungraded")
        if grade.ungraded_detail:
            reason.append(f"\n{grade.ungraded_detail}", style="muted")
        parts.append(reason)
    full = grade.grade
    if full is not None:
        # Loaded with the grade above, so listing attempts never pays for the grade model.
        from interviewer.grading.grade import KEY_POINT_MARKS

        for kp in full.key_points:
            line = Text(f"{KEY_POINT_MARKS[kp.status]} ", style=kp.status)
            line.append(kp.text)
            if kp.quote:
                line.append(f" — “{one_line(kp.quote, 60)}”", style="muted")
            parts.append(line)
        if full.criteria:
            parts.append(
                Text(", ".join(f"{c.name} {c.score}/4" for c in full.criteria), style="muted")
            )
        for error in full.factual_errors:
            parts.append(Text(f"factual error: {error}", style="bad"))
        if full.feedback:
            parts.append(Text(full.feedback))
        if full.estimate:
            parts.append(Text("offline estimate", style="muted"))
    return Panel(
        Group(*parts),
        title=f"{label} (#{grade.id})",
        title_align="left",
        border_style="accent" if grade.graded else "ungraded",
    )


GRADES_PER_ROW = 3


def render_dispute(detail: AttemptDetail) -> None:
    """What `history dispute` recorded, and the score that counts now."""
    a = detail.attempt
    models = [g for g in detail.grades if g.graded and not g.human]
    before = f" (the grader gave {score_text(models[-1].effective_score)})" if models else ""
    console.print(
        f"Recorded your grade {score_text(a.score)} for attempt {a.id} ({a.question_id})"
        f"{before}; it now counts for statistics and reviews.",
        markup=False,
        highlight=False,
    )


def _label(grade: GradeRecord, number: int, count: int) -> str:
    if grade.human:
        return "Your grade"
    if count == 1:
        return "Grade"
    return "Latest grade" if number == count else f"Grade {number}"


def _grades_view(detail: AttemptDetail) -> RenderableType:
    """Every grade, oldest first, side by side (rows of three when there are many)."""
    if not detail.grades:
        return Text("Not graded yet: `interviewer regrade` grades it.", style="ungraded")
    count = len(detail.grades)
    panels = [_grade_panel(_label(g, i, count), g) for i, g in enumerate(detail.grades, 1)]
    width = min(count, GRADES_PER_ROW)
    grid = Table.grid(expand=True, padding=(0, 1))
    for _ in range(width):
        grid.add_column(ratio=1)
    for start in range(0, count, width):
        row: list[RenderableType] = list(panels[start : start + width])
        row += [Text("")] * (width - len(row))
        grid.add_row(*row)
    return grid


def render_attempt(detail: AttemptDetail, *, reference: bool = True) -> None:
    """An attempt in full: question, answer, every grade side by side, then follow-ups."""
    a = detail.attempt
    question = detail.question
    text = a.question_text or (question.question if question else f"({a.question_id})")
    title = f"[accent]Attempt {a.id}[/accent] · {a.question_id}"
    body = Text(text)
    if a.kind == "follow_up" and a.prompt:
        # A follow-up answers the follow-up question, not the main one it grew out of.
        body = Text(a.prompt).append(f"\n\nFollow-up to: {text}", style="muted")
        parent = f" (attempt {a.parent_id})" if a.parent_id is not None else ""
        title = f"[accent]Attempt {a.id}[/accent] · follow-up to {a.question_id}{parent}"
    meta = (
        f"{a.bank or '?'} · {a.topic or '?'} · {a.difficulty or '?'} · {a.mode} session"
        f" {a.session_id[:8]} · {local_time(a.created_at)}"
    )
    console.print(Panel(body, title=title, subtitle=meta))
    _render_exchange(detail)
    if reference and question is not None:
        console.print(
            Panel(question.full_reference, title="Reference answer", border_style="muted")
        )
    for number, follow_up in enumerate(detail.follow_ups, 1):
        _render_follow_up(follow_up, str(number))


def _render_exchange(detail: AttemptDetail) -> None:
    a = detail.attempt
    if a.kind == "skip":
        console.print(Text("Skipped (counts as forgotten for review).", style="muted"))
        return
    info = []
    if a.time_taken_ms is not None:
        info.append(f"{a.time_taken_ms / 1000:.0f} s")
    if a.hints_used:
        info.append(f"{a.hints_used} hint(s)")
    console.print(
        Panel(
            Text(a.answer),
            title="Answer",
            title_align="left",
            subtitle=" · ".join(info) or None,
            subtitle_align="left",
            border_style="muted",
        )
    )
    console.print(_grades_view(detail))


def _render_follow_up(detail: AttemptDetail, number: str) -> None:
    a = detail.attempt
    console.print(
        Text(f"Follow-up {number} (attempt {a.id}): ", style="accent").append(
            a.prompt or "", style="bold"
        )
    )
    _render_exchange(detail)
    for index, child in enumerate(detail.follow_ups, 1):
        _render_follow_up(child, f"{number}.{index}")


def render_export_written(path: Path, fmt: str, counts: dict[str, int]) -> None:
    """Say on stderr what an export wrote (stdout may be a pipe the export did not use)."""
    err_console.print(
        f"Wrote {path} ({fmt}): {counts['sessions']} session(s),"
        f" {counts['questions']} question(s), {counts['follow_ups']} follow-up(s).",
        markup=False,
        highlight=False,
    )


# --------------------------------------------------------------------------- regrade


def render_regrade_plan(attempts: list[AttemptRecord]) -> None:
    render_attempts(attempts, title=f"Would regrade {len(attempts)} attempt(s)")


def render_regrade_item(item: RegradeItem) -> None:
    """One progress line per attempt, on stderr so that stdout stays for the summary."""
    before = score_text(item.before) if item.before is not None else "ungraded"
    if item.status == "graded":
        after = Text(score_text(item.after), style=score_style(item.after))
    else:
        after = Text(f"{item.status}: {one_line(item.detail, 70)}", style="ungraded")
    line = Text(f"attempt {item.attempt_id} {item.question_id}: {before} → ")
    line.append_text(after)
    err_console.print(line)


def render_regrade(result: RegradeResult) -> None:
    if not result.items:
        console.print("Nothing to regrade: every attempt in range has a grade (use --all).")
        return
    failed = sum(1 for i in result.items if i.status != "graded")
    console.print(
        f"Regraded {result.graded} of {len(result.items)} attempt(s)"
        + (f", {failed} still ungraded" if failed else "")
        + f" (session {(result.session_id or '')[:8]}). Earlier grades are kept:"
        " `interviewer history show ID` shows them side by side."
    )
    if result.stopped:
        err_console.print(Text("Stopped early: ", style="bad").append(result.stopped, style=""))
