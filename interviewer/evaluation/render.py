"""Evaluation reports as Markdown or as one self-contained HTML page (inline SVG, no links).

The HTML page draws every graded answer (grader score across, human score up) and the
calibration curve fitted on all rows. The curve is only a picture of the relation: the
figures themselves use the cross-fitted calibration, which never scores a row with a map
fitted on it.
"""

from __future__ import annotations

import html
from pathlib import Path

from interviewer.evaluation.analysis import FIGURES, Agreement, Figure
from interviewer.evaluation.summary import Evaluation
from interviewer.files import write_atomic

DIFFERENCE_LABELS = {"pearson": "Pearson r", "spearman": "Spearman ρ", "qwk": "QWK", "mae": "MAE"}


def number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def interval(figure: Figure, sep: str = "–") -> str:
    """``lo–hi``; differences, which can be negative, read better as ``lo to hi``."""
    return "–" if figure.ci is None else f"{figure.ci[0]:.3f}{sep}{figure.ci[1]:.3f}"


def notes(ev: Evaluation) -> list[str]:
    """What a reader needs to interpret the figures, in sentences."""
    result = ev.result
    cal = result.calibration
    lines = [
        f"{result.n} answers to {result.questions} questions graded by {ev.grader};"
        f" human scale 0–{ev.scale.maximum:g}.",
    ]
    if ev.ungraded:
        lines.append(f"{ev.ungraded} rows are ungraded and left out.")
    if cal is not None:
        lines.append(
            f"QWK, MAE and agreement use the grader's score mapped to the human scale by an"
            f" isotonic fit cross-fitted by {cal.by} ({cal.folds} folds); QWK and agreement"
            f" compare categories {ev.scale.step:g} apart."
        )
    if ev.replicates:
        lines.append(
            f"Intervals: 95% percentile bootstrap, {ev.replicates} replicates resampling by"
            f" {result.resampled_by}, seed {ev.seed}."
        )
    lines.append("Exact: the same point of the scale; adjacent: at most one point apart.")
    if ev.human is not None:
        lines.append(
            f"Humans: the human ceiling, the first human grader against the second on"
            f" {ev.human.n} answers."
        )
    return lines


def _rows(result: Agreement, ceiling: Agreement | None) -> list[list[str]]:
    table = []
    for name, label in FIGURES.items():
        figure = result.figures[name]
        row = [label, number(figure.value), interval(figure)]
        if ceiling is not None:
            other = ceiling.figures[name]
            row += [number(other.value), interval(other)]
        table.append(row)
    return table


def headers(ev: Evaluation) -> list[str]:
    head = ["Figure", "Grader", "95% CI"]
    if ev.human is not None:
        head += ["Humans", "95% CI"]
    return head


def table_rows(ev: Evaluation) -> list[list[str]]:
    first = ["n", str(ev.result.n), ""]
    if ev.human is not None:
        first += [str(ev.human.n), ""]
    return [first, *_rows(ev.result, ev.human)]


def comparison_rows(ev: Evaluation) -> list[list[str]]:
    c = ev.comparison
    if c is None:
        return []
    return [
        [
            label,
            number(c.this[k]),
            number(c.other[k]),
            number(c.difference[k].value),
            interval(c.difference[k], " to "),
        ]
        for k, label in DIFFERENCE_LABELS.items()
    ]


COMPARISON_HEAD = ["Figure", "This grader", "Other", "Difference", "95% CI"]


def markdown(ev: Evaluation) -> str:
    def table(head: list[str], rows: list[list[str]]) -> list[str]:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
        return out

    lines = [f"# Agreement with human scores: {ev.file}", ""]
    lines += [f"- {note}" for note in notes(ev)] + [""]
    lines += table(headers(ev), table_rows(ev))
    if ev.comparison is not None:
        lines += ["", f"## Compared with {ev.compare_file} ({ev.comparison.n} answers)", ""]
        lines += table(COMPARISON_HEAD, comparison_rows(ev))
    return "\n".join(lines) + "\n"


def scatter_svg(ev: Evaluation, width: int = 560, height: int = 400) -> str:
    """Grader score (x) against human score (y), with the calibration curve."""
    pad = 48
    xs = [p[0] for p in ev.points]
    x_lo, x_hi = min(0.0, *xs), max(100.0, *xs)
    y_hi = ev.scale.maximum

    def sx(v: float) -> float:
        return pad + (v - x_lo) / ((x_hi - x_lo) or 1) * (width - 2 * pad)

    def sy(v: float) -> float:
        return height - pad - v / (y_hi or 1) * (height - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="grader against human scores">',
        f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}"'
        ' fill="none" stroke="#999"/>',
    ]
    for i in range(5):
        xv = x_lo + (x_hi - x_lo) * i / 4
        yv = y_hi * i / 4
        parts.append(
            f'<text x="{sx(xv):.1f}" y="{height - pad + 16}" font-size="11"'
            f' text-anchor="middle">{xv:g}</text>'
        )
        parts.append(
            f'<text x="{pad - 6}" y="{sy(yv) + 4:.1f}" font-size="11"'
            f' text-anchor="end">{yv:g}</text>'
        )
    for x, y in ev.points:
        parts.append(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="#1f77b4"'
            ' fill-opacity="0.35"/>'
        )
    curve = ev.curve
    # Flat beyond the fitted range, as the map itself is.
    knots = [(x_lo, curve.knots_y[0])]
    knots += list(zip(curve.knots_x, curve.knots_y, strict=True))
    knots.append((x_hi, curve.knots_y[-1]))
    path = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in knots)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#d62728" stroke-width="2"/>')
    parts.append(
        f'<text x="{width / 2}" y="{height - 10}" font-size="12" text-anchor="middle">'
        "grader score</text>"
    )
    parts.append(
        f'<text x="14" y="{height / 2}" font-size="12" text-anchor="middle"'
        f' transform="rotate(-90 14 {height / 2})">human score</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def html_page(ev: Evaluation) -> str:
    def table(head: list[str], rows: list[list[str]]) -> str:
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
        )
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"

    title = html.escape(f"Agreement with human scores: {ev.file}")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
        "text-align:right}td:first-child,th:first-child{text-align:left}</style>",
        f"</head><body><h1>{title}</h1><ul>",
        *(f"<li>{html.escape(n)}</li>" for n in notes(ev)),
        "</ul>",
        table(headers(ev), table_rows(ev)),
    ]
    if ev.comparison is not None:
        label = html.escape(f"Compared with {ev.compare_file} ({ev.comparison.n} answers)")
        parts += [f"<h2>{label}</h2>", table(COMPARISON_HEAD, comparison_rows(ev))]
    parts += [
        "<h2>Grader against human scores</h2>",
        scatter_svg(ev),
        "<p>Red: the calibration curve fitted on all rows (for the picture only; the figures"
        " use the cross-fitted calibration).</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(ev: Evaluation, path: Path) -> None:
    """Write Markdown for ``.md``, HTML for ``.html``/``.htm``."""
    from interviewer.errors import InputError

    suffix = path.suffix.lower()
    if suffix == ".md":
        text = markdown(ev)
    elif suffix in (".html", ".htm"):
        text = html_page(ev)
    else:
        raise InputError(f"{path}: --report writes .md (Markdown) or .html; rename the file.")
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the report ({exc.strerror}).") from None
