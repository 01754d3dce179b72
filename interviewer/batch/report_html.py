"""The batch report as one self-contained HTML page (inline CSS and SVG, nothing fetched)."""

from __future__ import annotations

from interviewer.batch.report_data import QuestionStats, ReportData, histogram
from interviewer.batch.report_data import fmt_number as _fmt
from interviewer.grading.grade import format_score
from interviewer.html_page import escape as _e
from interviewer.html_page import page

_LEVEL_COLOURS = ("#c0392b", "#e67e22", "#f1c40f", "#7dbb4c", "#27ae60")
_CSS = """
body{max-width:1100px;color:#222}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;
padding-bottom:.2rem}h3{margin:.2rem 0 .5rem;font-size:1.05rem}
.muted{color:#666;font-size:.9rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.92rem}
th,td{border-bottom:1px solid #eee;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f7f7f7}td.num,th.num{text-align:right;white-space:nowrap}
.question{border:1px solid #e3e3e3;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
.qtext{color:#333;margin:.2rem 0 .6rem}
.legend span{display:inline-block;margin-right:.8rem;font-size:.85rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.25rem;vertical-align:-1px}
.answer{color:#444;font-size:.88rem}
.warn{background:#fff7e0;border:1px solid #f0d98c;padding:.5rem .8rem;border-radius:6px}
"""


def _svg_histogram(counts: list[int], *, width: int = 320, height: int = 90) -> str:
    """Bars for score bins 0-10 … 90-100, with axis labels; inline SVG."""
    top = max(counts) if counts else 0
    n = len(counts)
    gap = 2
    plot_h = height - 16
    bar_w = (width - gap * (n - 1)) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="score distribution">'
    ]
    for i, count in enumerate(counts):
        h = 0 if not top else max(1.0 if count else 0.0, plot_h * count / top)
        x = i * (bar_w + gap)
        low, high = i * 100 // n, (i + 1) * 100 // n
        parts.append(
            f'<rect x="{x:.1f}" y="{plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}"'
            f' fill="#3b82c4"><title>{low}–{high}: {count}</title></rect>'
        )
    parts.append(
        f'<line x1="0" y1="{plot_h}" x2="{width}" y2="{plot_h}" stroke="#999" stroke-width="1"/>'
    )
    for label, x, anchor in (("0", 0, "start"), ("50", width / 2, "middle"), ("100", width, "end")):
        parts.append(
            f'<text x="{x:.1f}" y="{height - 2}" font-size="10" fill="#666"'
            f' text-anchor="{anchor}">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_levels(levels: list[int], *, width: int = 260, height: int = 14) -> str:
    """A stacked bar of how often each level 0-4 was given."""
    total = sum(levels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="level distribution">'
    ]
    x = 0.0
    for level, count in enumerate(levels):
        if not count or not total:
            continue
        w = width * count / total
        parts.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}"'
            f' fill="{_LEVEL_COLOURS[level]}"><title>level {level}: {count}</title></rect>'
        )
        x += w
    if not total:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eee"/>')
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    items = "".join(
        f'<span><span class="swatch" style="background:{colour}"></span>level {level}</span>'
        for level, colour in enumerate(_LEVEL_COLOURS)
    )
    return f'<div class="legend">{items}</div>'


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, nothing fetched)."""
    out: list[str] = ["<h1>Batch grading report</h1>"]
    out += _overview(data)
    out.append("<h2>Score distribution</h2>")
    out.append(_svg_histogram(histogram(data.scores), width=520, height=130))
    out += _criteria(data)
    out.append("<h2>Questions</h2>")
    for q in data.questions.values():
        out += _question(q)
    out += _most_missed(data)
    out += _weakest(data)
    return page("Batch grading report", "\n".join(out), css=_CSS)


def _overview(data: ReportData) -> list[str]:
    out = [
        f'<p class="muted">{_e(data.results)} · generated {_e(data.generated_at)}</p>',
        '<div class="cards">',
        f'<div class="card"><b>{data.rows}</b>rows</div>',
        f'<div class="card"><b>{data.graded}</b>graded</div>',
        f'<div class="card"><b>{data.ungraded}</b>ungraded</div>',
        f'<div class="card"><b>{_e(format_score(data.mean))}</b>mean score</div>',
        f'<div class="card"><b>{_e(format_score(data.median))}</b>median score</div>',
        "</div>",
    ]
    if data.reasons:
        reasons = ", ".join(f"{_e(r)}: {n}" for r, n in data.reasons.most_common())
        out.append(
            f'<p class="warn">Ungraded rows ({reasons}) are not counted in any score; re-run'
            " with <code>--retry-ungraded</code> to grade them again.</p>"
        )
    if data.estimates:
        out.append(
            f'<p class="warn">{data.estimates} grades are offline estimates from key-point'
            " overlap, not a model's judgement.</p>"
        )
    if data.graders:
        graders = ", ".join(f"{_e(g)} ({n})" for g, n in data.graders.items())
        out.append(f'<p class="muted">Graded by: {graders}</p>')
    return out


def _criteria(data: ReportData) -> list[str]:
    out = ["<h2>Criteria</h2>", _legend()]
    out.append('<table><tr><th>Criterion</th><th class="num">Mean level (0–4)</th>')
    out.append("<th>Levels given</th></tr>")
    for c in data.criteria.values():
        out.append(
            f"<tr><td>{_e(c.name)}</td><td class='num'>{_e(_fmt(c.mean, 2))}</td>"
            f"<td>{_svg_levels(c.levels)}</td></tr>"
        )
    out.append("</table>")
    return out


def _question(q: QuestionStats) -> list[str]:
    out = ['<div class="question">']
    out.append(
        f"<h3>{_e(q.question_id)} <span class='muted'>· {q.rows} rows · {q.graded} graded"
        f" · mean {_e(format_score(q.mean))} · median {_e(format_score(q.median))}</span></h3>"
    )
    out.append(f'<div class="qtext">{_e(q.text)}</div>')
    out.append(_svg_histogram(q.histogram))
    if q.criteria:
        out.append('<table><tr><th>Criterion</th><th class="num">Mean</th><th>Levels</th></tr>')
        for c in q.criteria.values():
            out.append(
                f"<tr><td>{_e(c.name)}</td><td class='num'>{_e(_fmt(c.mean, 2))}</td>"
                f"<td>{_svg_levels(c.levels, width=200, height=12)}</td></tr>"
            )
        out.append("</table>")
    if q.key_points:
        out.append(
            '<table><tr><th>Key point</th><th class="num">Covered</th>'
            '<th class="num">Partial</th><th class="num">Missed</th>'
            '<th class="num">Contradicted</th></tr>'
        )
        for kp in sorted(q.key_points.values(), key=lambda k: k.index):
            s = kp.statuses
            out.append(
                f"<tr><td>{_e(kp.text)}</td><td class='num'>{s['covered']}</td>"
                f"<td class='num'>{s['partial']}</td><td class='num'>{s['missing']}</td>"
                f"<td class='num'>{s['contradicted']}</td></tr>"
            )
        out.append("</table>")
    out.append("</div>")
    return out


def _most_missed(data: ReportData) -> list[str]:
    out = ["<h2>Key points most often missed</h2>"]
    missed = data.most_missed()
    if not missed:
        return [*out, "<p>No key point was missed.</p>"]
    out.append(
        '<table><tr><th>Question</th><th>Key point</th><th class="num">Missed</th>'
        '<th class="num">Rate</th></tr>'
    )
    for q, kp in missed:
        out.append(
            f"<tr><td>{_e(q.label)}</td><td>{_e(kp.text)}</td>"
            f"<td class='num'>{kp.missed} / {kp.total}</td>"
            f"<td class='num'>{kp.missed_rate:.0%}</td></tr>"
        )
    out.append("</table>")
    return out


def _weakest(data: ReportData) -> list[str]:
    out = ["<h2>Weakest answers</h2>"]
    if not data.weakest:
        return [*out, "<p>No graded answer yet.</p>"]
    out.append(
        '<table><tr><th class="num">Score</th><th>Question</th><th>Row</th>'
        "<th>Candidate</th><th>Answer and feedback</th></tr>"
    )
    for w in data.weakest:
        where = f"{w.source}:{w.row}" + (f" (id {w.id})" if w.id else "")
        missed_points = (
            "<br><span class='muted'>Missed: " + _e("; ".join(w.missed)) + "</span>"
            if w.missed
            else ""
        )
        out.append(
            f"<tr><td class='num'>{format_score(w.score)}</td><td>{_e(w.label)}</td>"
            f"<td>{_e(where)}</td><td>{_e(w.candidate or '')}</td>"
            f"<td><div class='answer'>{_e(w.answer)}</div>{_e(w.feedback)}{missed_points}"
            "</td></tr>"
        )
    out.append("</table>")
    return out
