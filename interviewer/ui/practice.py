"""The interview screen: question panels, answer input, grades, follow-ups and the summary.

Answers are read line by line from stdin so that a session can be typed, pasted or piped.
A line holding only ``.`` ends an answer; end of input ends the answer and the session.
Commands typed on a line of their own: ``/skip``, ``/hint``, ``/quit``, ``/help``.
"""

from __future__ import annotations

import codecs
import io
import os
import select
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.bank.library import Question
from interviewer.bank.rubric import MAX_LEVEL
from interviewer.grading.grade import KEY_POINT_MARKS, Grade, GraderInfo, Outcome
from interviewer.session.driver import Exchange, SessionSummary
from interviewer.ui.console import console, err_console

END_MARK = "."
UNGRADED_TEXT = {
    "endpoint_error": "the grading endpoint failed",
    "unparseable": "the grader's reply could not be read",
    "truncated": "the grader's reply was cut off (token limit)",
    "refused": "the grader refused to grade",
    "invalid": "the grader's reply did not fit the grade format",
}


@dataclass
class AnswerInput:
    """What the candidate did at an answer prompt."""

    action: Literal["answer", "skip", "quit"]
    text: str = ""
    hints_used: int = 0
    eof: bool = False
    timed_out: bool = False
    interrupted: bool = False


def interactive() -> bool:
    return sys.stdin.isatty()


class _StdinLines:
    """Line reader on stdin that can wait with a deadline.

    ``select`` on the file descriptor tells whether input is ready, but Python's buffered
    ``sys.stdin`` may already hold lines the descriptor no longer shows, so with a deadline we
    read the descriptor ourselves and keep our own buffer. Without a deadline, or where stdin
    has no selectable descriptor (Windows, an in-memory stream under test), this is plain
    ``readline``.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        # Set when input was not valid UTF-8; the caller says so once.
        self.replaced = False

    def _fileno(self) -> int | None:
        try:
            fd = sys.stdin.fileno()
            select.select([fd], [], [], 0)
        except (AttributeError, ValueError, OSError):
            return None
        return fd

    def readline(self, deadline: float | None = None) -> str | None:
        """Return the next line ('' at end of input) or None when the deadline passed.

        A process reads either always with a deadline (mock) or never (practice): the two
        paths buffer separately, so mixing them could reorder input.
        """
        stdin = sys.stdin
        if isinstance(stdin, io.TextIOWrapper) and stdin.errors == "strict":
            # Undecodable input must reach _clean, not end the session with a traceback.
            stdin.reconfigure(errors="surrogateescape")
        fd = self._fileno() if deadline is not None else None
        if fd is None:
            if self._buffer:
                line, self._buffer = self._take()
                return self._clean(line)
            return self._clean(sys.stdin.readline())
        while "\n" not in self._buffer and not self._eof:
            assert deadline is not None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                self._eof = True
                self._buffer += self._decoder.decode(b"", final=True)
            else:
                self._buffer += self._decoder.decode(chunk)
        line, self._buffer = self._take()
        return self._clean(line)

    def _take(self) -> tuple[str, str]:
        head, sep, tail = self._buffer.partition("\n")
        return head + sep, tail

    def _clean(self, text: str) -> str:
        """Turn bytes that were not UTF-8 (surrogate escapes) into U+FFFD, and remember it.

        Such text cannot be stored or sent anywhere as UTF-8; the rest of the answer is kept.
        """
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            self.replaced = True
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return text


_stdin = _StdinLines()


def _score_style(score: float) -> str:
    return "ok" if score >= 70 else "warn" if score >= 40 else "bad"


def render_header(
    info: GraderInfo, count: int, mode: str, follow_ups: int, warning: str | None = None
) -> None:
    """Announce the session: how many questions, who grades, how to answer; ``warning`` says
    why this grader's grades are not to be trusted."""
    grader = (
        "[warn]offline estimate[/warn] — connect a model for full grading"
        " ([accent]interviewer endpoints add[/accent])"
        if info.kind == "offline"
        else f"[accent]{info.label}[/accent]"
    )
    text = Text.from_markup(
        f"{count} question(s) · grader: {grader} · follow-ups: {follow_ups}\n"
        f"End an answer with a line containing only [accent]{END_MARK}[/accent]"
        " (or Ctrl-D). On a line of its own: [accent]/hint[/accent] reveals a key point"
        " (costs points), [accent]/skip[/accent], [accent]/quit[/accent]."
    )
    if warning:
        text.append(f"\nWarning: {warning}", style="bad")
    console.print(
        Panel(
            text,
            title=f"interviewer · {mode}",
            border_style="accent",
        )
    )


def render_question(question: Question, index: int, total: int, extra: str = "") -> None:
    subtitle = f"{question.topic} · {question.difficulty} · {question.id}"
    console.print(
        Panel(
            question.question,
            title=f"Question {index}/{total}{extra}",
            subtitle=subtitle,
            border_style="accent",
        )
    )


def render_follow_up(text: str, number: int, total: int) -> None:
    console.print(Panel(text, title=f"Follow-up {number}/{total}", border_style="accent"))


def read_answer(
    hint: Callable[[int], str | None] | None = None,
    *,
    hint_penalty: float = 0.0,
    prompt: str = "Your answer",
    deadline: float | None = None,
) -> AnswerInput:
    """Read one multi-line answer; handle /hint, /skip, /quit, end of input and time-up.

    With a ``deadline`` (monotonic seconds), the lines typed so far are submitted when time
    runs out, as in a real interview.
    """
    console.print(f"[muted]{prompt} (end with a line '{END_MARK}'):[/muted]")
    lines: list[str] = []
    hints_used = 0
    while True:
        replaced_before = _stdin.replaced
        try:
            raw = _stdin.readline(deadline)
        except KeyboardInterrupt:
            # Ctrl-C ends the session, but what was typed so far is handed back to be saved.
            return AnswerInput("quit", "\n".join(lines).strip(), hints_used, interrupted=True)
        if _stdin.replaced and not replaced_before:
            err_console.print(
                "[warn]Your input is not valid UTF-8: bytes that could not be read are kept"
                " as �. Set your terminal (or the file you pipe in) to UTF-8.[/warn]"
            )
        if raw is None:
            text = "\n".join(lines).strip()
            console.print("[warn]Time is up for this question.[/warn]")
            return AnswerInput("answer" if text else "skip", text, hints_used, timed_out=True)
        if raw == "":
            return AnswerInput(
                action="answer" if any(s.strip() for s in lines) else "quit",
                text="\n".join(lines).strip(),
                hints_used=hints_used,
                eof=True,
            )
        line = raw.rstrip("\r\n")
        command = line.strip().lower()
        if command == END_MARK:
            if any(s.strip() for s in lines):
                return AnswerInput("answer", "\n".join(lines).strip(), hints_used)
            err_console.print(
                "[warn]An empty answer can't be graded: type your answer, /skip or /quit.[/warn]"
            )
            continue
        if command in ("/skip", "/quit"):
            action: Literal["skip", "quit"] = "skip" if command == "/skip" else "quit"
            return AnswerInput(action, "\n".join(lines).strip(), hints_used)
        if command == "/hint":
            if hint is None:
                console.print("[muted]Hints are off in this mode.[/muted]")
                continue
            revealed = hint(hints_used)
            if revealed is None:
                console.print("[muted]No more hints for this question.[/muted]")
            else:
                hints_used += 1
                console.print(
                    f"[warn]Hint {hints_used}:[/warn] {revealed} "
                    f"[muted](−{hint_penalty:g} points)[/muted]",
                )
            continue
        if command == "/help":
            console.print(
                f"[muted]'{END_MARK}' ends the answer · /hint · /skip · /quit · Ctrl-D ends[/muted]"
            )
            continue
        lines.append(line)


@contextmanager
def grading_status(info: GraderInfo) -> Iterator[None]:
    """A spinner while an LLM grades (none for the instant offline grader)."""
    if info.kind == "offline" or not console.is_terminal:
        yield
        return
    with console.status(f"Grading with {info.label}…"):
        yield


def _levels_bar(level: int) -> str:
    return "■" * level + "□" * (MAX_LEVEL - level)


def render_grade(grade: Grade, final_score: float | None, hints_used: int, penalty: float) -> None:
    score = grade.score
    label = " (offline estimate)" if grade.estimate else ""
    line = Text.from_markup(f"[{_score_style(score)}]Score {score:g}/100[/]{label}")
    if hints_used and final_score is not None:
        line.append_text(
            Text.from_markup(
                f"  [muted]− {hints_used} hint(s) × {penalty:g} →[/muted]"
                f" [{_score_style(final_score)}]{final_score:g}[/]"
            )
        )
    console.print(line)

    criteria = Table(show_header=True, header_style="muted", box=None, pad_edge=False)
    criteria.add_column("criterion")
    criteria.add_column("level", no_wrap=True)
    criteria.add_column("why", overflow="fold")
    for c in grade.criteria:
        criteria.add_row(
            f"{c.name} [muted]×{c.weight:g}[/muted]",
            f"{_levels_bar(c.score)} {c.score}/{MAX_LEVEL}",
            c.comment,
        )
    console.print(criteria)

    points = Table(show_header=False, box=None, pad_edge=False)
    points.add_column(no_wrap=True)
    points.add_column(overflow="fold")
    for kp in grade.key_points:
        body = Text(kp.text)
        if kp.quote:
            body.append(f"  «{kp.quote}»", style="muted")
        # Each status has a theme style of the same name.
        points.add_row(Text(f"{KEY_POINT_MARKS[kp.status]} {kp.status}", style=kp.status), body)
    console.print(Panel(points, title="Key points", border_style="muted"))

    if grade.factual_errors:
        console.print("[bad]Factual errors:[/bad]")
        for err in grade.factual_errors:
            console.print(Text(f"  • {err}"))
    if grade.feedback:
        console.print(Panel(grade.feedback, title="Feedback", border_style="ok"))
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
        err_console.print(f"[warn]{notice}[/warn]")
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
    if outcome.info.kind == "llm":
        render_usage(outcome)
    if len(outcome.samples) > 1:
        spread = max(outcome.samples) - min(outcome.samples)
        console.print(
            f"[muted]{len(outcome.samples)} samples: "
            + ", ".join(f"{s:g}" for s in outcome.samples)
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
    console.print(Panel(question.reference, title="Reference answer", border_style="muted"))
    if question.reference_notes:
        console.print(
            Panel(question.reference_notes, title="Correction / completion", border_style="warn")
        )


def ask_next() -> str:
    """After a grade in a terminal: Enter for next, r for the reference, q to quit."""
    console.print("[muted][Enter] next · [r] reference answer · [q] quit[/muted] ", end="")
    return (_stdin.readline() or "").strip().lower()


def _score_cell(exchange: Exchange) -> Text:
    if exchange.kind == "skip":
        return Text("skipped", style="muted")
    if not exchange.graded:
        return Text("ungraded", style="ungraded")
    score = exchange.final_score if exchange.final_score is not None else 0.0
    return Text(f"{score:g}", style=_score_style(score))


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
            ex.question.id,
            ex.question.topic,
            _score_cell(ex),
            str(ex.hints_used or ""),
            follow,
            f"{ex.time_taken_ms / 1000:.0f}s",
        )
    console.print(table)
    mean = f"{summary.mean_score:g}" if summary.mean_score is not None else "—"
    parts = [
        f"answered {summary.answered}",
        f"skipped {summary.skipped}",
        f"mean score {mean}",
    ]
    if summary.follow_ups:
        fmean = summary.mean_follow_up_score
        parts.append(
            f"follow-ups {summary.follow_ups} (mean {fmean:g})"
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
