"""Screens for progress statistics and the review schedule (`stats`, `due`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from interviewer.ui.cells import bar, one_line, score_style, score_text, sparkline
from interviewer.ui.console import console, err_console

if TYPE_CHECKING:
    from interviewer.history.stats import DueItem, ReviewOverview


# --------------------------------------------------------------------------- stats


def _trend_text(trend: dict[str, Any] | None) -> Text:
    if not trend or trend.get("change") is None:
        return Text("—", style="muted")
    change = float(trend["change"])
    arrow = "↑" if change > 2 else "↓" if change < -2 else "→"
    style = "ok" if change > 2 else "bad" if change < -2 else "muted"
    return Text(f"{arrow} {change:+.0f}", style=style)


def _stats_table(title: str, groups: list[dict[str, Any]], keys: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for key in keys:
        table.add_column(key)
    table.add_column("tries", justify="right")
    table.add_column("graded", justify="right")
    table.add_column("ungr.", justify="right")
    table.add_column("skip", justify="right")
    table.add_column("mean", justify="right")
    table.add_column("", no_wrap=True)
    table.add_column("best", justify="right")
    table.add_column("trend", no_wrap=True)
    table.add_column("recent", no_wrap=True)
    for group in groups:
        table.add_row(
            *[str(group[k]) for k in keys],
            str(group["attempts"]),
            str(group["graded"]),
            str(group["ungraded"]) if group["ungraded"] else "",
            str(group["skipped"]) if group["skipped"] else "",
            Text(score_text(group["mean"]), style=score_style(group["mean"])),
            bar(group["mean"], 16),
            score_text(group["best"]),
            _trend_text(group["trend"]),
            sparkline(group["recent"]),
        )
    return table


def render_stats(stats: dict[str, Any]) -> None:
    """Totals with a weekly sparkline, then tables per topic, difficulty and both."""
    totals = stats["totals"]
    if not totals["attempts"]:
        err_console.print(
            "[warn]No practice yet in this range.[/warn] Start with `interviewer practice`."
        )
        return
    weekly = totals["weekly"]
    head = Text("Overall: ", style="bold")
    head.append(f"{totals['attempts']} tries, {totals['graded']} graded")
    if totals["ungraded"]:
        head.append(f", {totals['ungraded']} ungraded", style="ungraded")
    if totals["skipped"]:
        head.append(f", {totals['skipped']} skipped", style="muted")
    head.append(" · mean ")
    head.append(score_text(totals["mean"]), style=score_style(totals["mean"]))
    head.append(f" · best {score_text(totals['best'])} · trend ")
    head.append_text(_trend_text(totals["trend"]))
    console.print(head)
    if weekly:
        line = Text("Weekly mean: ", style="bold")
        line.append_text(sparkline([w["mean"] for w in weekly]))
        line.append(
            f"  {weekly[0]['week']} → {weekly[-1]['week']}"
            f" ({score_text(weekly[0]['mean'])} → {score_text(weekly[-1]['mean'])})",
            style="muted",
        )
        console.print(line)
    console.print(_stats_table("By topic", stats["by_topic"], ["topic"]))
    console.print(_stats_table("By difficulty", stats["by_difficulty"], ["difficulty"]))
    if len(stats["by_topic_difficulty"]) > max(len(stats["by_topic"]), 1):
        console.print(
            _stats_table(
                "By topic and difficulty", stats["by_topic_difficulty"], ["topic", "difficulty"]
            )
        )
    console.print(
        "[muted]Scores are final scores (after hints) of main answers; ungraded answers and"
        " skips are counted but never averaged. Trend: later half minus earlier half.[/muted]"
    )


# --------------------------------------------------------------------------- due


def _relative(moment: datetime, now: datetime) -> str:
    seconds = (moment - now).total_seconds()
    span = abs(seconds)
    if span < 3600:
        amount = f"{max(1, round(span / 60))} min"
    elif span < 86400 * 2:
        amount = f"{round(span / 3600)} h"
    else:
        amount = f"{round(span / 86400)} days"
    return f"in {amount}" if seconds > 0 else f"{amount} overdue"


def _due_text(moment: datetime) -> str:
    """The date a review falls due; with the time when it is a learning step's minute."""
    local = moment.astimezone()
    # Graduated reviews fall due at the start of a day: the date says it all.
    return local.strftime("%Y-%m-%d" if (local.hour, local.minute) == (0, 0) else "%Y-%m-%d %H:%M")


def _due_table(title: str, items: list[DueItem], now: datetime) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("question", style="accent", no_wrap=True)
    table.add_column("topic")
    table.add_column("due", no_wrap=True)
    table.add_column("when", no_wrap=True)
    table.add_column("last", no_wrap=True)
    table.add_column("reviews", justify="right")
    table.add_column("again", justify="right")
    table.add_column("recall", justify="right")
    table.add_column("text", no_wrap=True, overflow="ellipsis", min_width=10)
    preview = max(10, console.width - 96)
    for item in items:
        when = _relative(item.due, now)
        table.add_row(
            item.question_id,
            item.topic or "",
            _due_text(item.due),
            Text(when, style="bad" if item.overdue else "muted"),
            item.last_rating or "",
            str(item.review_count),
            str(item.lapses) if item.lapses else "",
            f"{item.recall:.0%}" if item.recall is not None else "",
            one_line(item.question, preview)
            if item.question
            else Text("not in the loaded banks", style="muted"),
        )
    return table


def render_due(overview: ReviewOverview, *, upcoming_limit: int = 10, new_limit: int = 10) -> None:
    now = overview.now
    if overview.due:
        console.print(_due_table(f"Due now: {len(overview.due)}", overview.due, now))
    else:
        console.print("[ok]Nothing is due for review now.[/ok]")
    if overview.upcoming:
        shown = overview.upcoming[:upcoming_limit]
        title = f"Coming up: {len(overview.upcoming)}"
        if len(shown) < len(overview.upcoming):
            title += f" (next {len(shown)} shown)"
        console.print(_due_table(title, shown, now))
    if overview.new:
        ids = ", ".join(n["question_id"] for n in overview.new[:new_limit])
        more = (
            f" … and {len(overview.new) - new_limit} more" if len(overview.new) > new_limit else ""
        )
        console.print(f"[bold]Never practised:[/bold] {len(overview.new)} question(s): {ids}{more}")
    if overview.due or overview.new:
        console.print(
            "[muted]`interviewer practice --due` asks due questions first, then new ones.[/muted]"
        )
