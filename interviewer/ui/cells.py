"""Table cells shared by the history, statistics and review screens.

Charts are drawn with block characters so they work in any terminal: bars on a fixed
0-100 scale and sparklines whose heights are comparable from row to row. Scores are
coloured by the same thresholds everywhere.
"""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from interviewer.grading.grade import format_score

SPARK = "▁▂▃▄▅▆▇█"
EIGHTHS = " ▏▎▍▌▋▊▉"


def score_style(score: float | None) -> str:
    """The theme style of a score: ok, warn, bad, or ungraded when there is none."""
    if score is None:
        return "ungraded"
    return "ok" if score >= 70 else "warn" if score >= 40 else "bad"


def bar(score: float | None, width: int = 20) -> Text:
    """A horizontal bar for a 0-100 score, in eighths of a cell."""
    if score is None:
        return Text("—", style="muted")
    filled = max(0.0, min(100.0, score)) / 100 * width
    full = int(filled)
    part = EIGHTHS[int((filled - full) * 8)] if full < width else ""
    body = "█" * full + part.strip()
    return Text(body.ljust(width), style=score_style(score))


def sparkline(values: list[float | None]) -> Text:
    """One character per value on a fixed 0-100 scale; gaps (None) as a thin dot."""
    text = Text()
    for value in values:
        if value is None:
            text.append("·", style="muted")
            continue
        index = min(len(SPARK) - 1, int(max(0.0, min(100.0, value)) / 100 * len(SPARK)))
        text.append(SPARK[index], style=score_style(value))
    return text


# The one score format (one decimal only when needed, a dash when there is none) lives with
# the grade models so that exports and reports, which must not import rich, share it.
score_text = format_score


def local_time(moment: datetime | None) -> str:
    """A moment in the local time zone, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "—"


def one_line(text: str | None, width: int = 60) -> str:
    """``text`` on one line, cut with an ellipsis to ``width`` terminal cells.

    Cells, not characters: a CJK character takes two, and a preview counted in characters
    came out twice as wide as planned and pushed the other columns off the line.
    """
    flat = " ".join((text or "").split())
    if cell_len(flat) <= width:
        return flat
    return set_cell_size(flat, width - 1).rstrip() + "…"
