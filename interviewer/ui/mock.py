"""Rendering for mock interviews: the clock and the debrief report."""

from __future__ import annotations

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.session.mock import MockReport
from interviewer.ui.cells import score_text
from interviewer.ui.console import console


def _mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def clock(question_left: float, total_left: float) -> str:
    """The countdown shown in a question's title."""
    return f" · ⏱ {_mmss(question_left)} for this question · {_mmss(total_left)} left"


def render_clock_line(left: float) -> None:
    console.print(f"[muted]⏱ {_mmss(left)} left for this question[/muted]")


def render_time_up() -> None:
    console.print("[warn]The interview time is up.[/warn]")


def render_report(report: MockReport) -> None:
    """The debrief: verdict, topics, strengths and weaknesses, answers to revisit."""
    head = Text(report.verdict, style="bold")
    if report.mean_score is not None:
        head.append(f"\nmean score {score_text(report.mean_score)}/100", style="accent")
    head.append(
        f" · answered {report.answered} · skipped {report.skipped}"
        f" · out of time {report.timed_out} · {report.elapsed_s // 60} min"
        f" {report.elapsed_s % 60} s of {report.minutes:g} min",
        style="muted",
    )
    console.print(Panel(head, title="Mock interview report", border_style="accent"))
    if report.topics:
        table = Table(title="By topic", title_justify="left")
        table.add_column("topic")
        table.add_column("mean", justify="right")
        table.add_column("answers", justify="right")
        table.add_column("")
        for t in report.topics:
            bar = "█" * round(t.mean / 10)
            style = (
                "ok"
                if t.topic in report.strengths
                else "bad"
                if t.topic in report.weaknesses
                else "warn"
            )
            table.add_row(t.topic, score_text(t.mean), str(t.answers), Text(bar, style=style))
        console.print(table)
    if report.strengths:
        console.print("[ok]Strengths:[/ok] " + ", ".join(report.strengths))
    if report.weaknesses:
        console.print("[bad]Weaknesses:[/bad] " + ", ".join(report.weaknesses))
    if report.revisit:
        console.print("[accent]Revisit first:[/accent]")
        for i, item in enumerate(report.revisit, 1):
            line = Text(
                f"  {i}. {item['question_id']} ({item['topic']}) — {score_text(item['score'])}"
            )
            if item.get("why"):
                line.append(f" — {item['why']}", style="muted")
            console.print(line)
    if report.ungraded:
        console.print(
            "[ungraded]Ungraded:[/ungraded] "
            + ", ".join(report.ungraded)
            + " — run `interviewer regrade` to grade them."
        )
