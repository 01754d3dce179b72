"""The batch report as Markdown (GitHub tables)."""

from __future__ import annotations

from interviewer.batch.report_data import LEVELS, ReportData, excerpt, histogram
from interviewer.batch.report_data import fmt_number as _fmt
from interviewer.grading.grade import format_score
from interviewer.safe_text import markdown_text


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    flat = " ".join(str(text).split())
    return markdown_text(flat.replace("\\", "\\\\").replace("|", "\\|"))


def render_markdown(data: ReportData) -> str:
    """The report as Markdown (GitHub tables)."""
    lines: list[str] = ["# Batch grading report", ""]
    lines += [
        f"Results: `{_md(data.results)}` · generated {data.generated_at}",
        "",
        f"- Rows: {data.rows} · graded: {data.graded} · ungraded: {data.ungraded}",
        f"- Score: mean {format_score(data.mean)} · median {format_score(data.median)}"
        " (0–100; ungraded rows are not counted)",
    ]
    if data.reasons:
        reasons = ", ".join(f"{r} {n}" for r, n in data.reasons.most_common())
        lines.append(f"- Ungraded by reason: {reasons}")
    if data.graders:
        lines.append(
            "- Graded by: " + ", ".join(f"{_md(g)} ({n})" for g, n in data.graders.items())
        )
    if data.estimates:
        lines.append(
            f"- {data.estimates} grades are offline estimates (key-point overlap, not a model)."
        )
    lines += ["", "## Score distribution", ""]
    lines += _md_histogram(histogram(data.scores))
    lines += ["", "## Questions", ""]
    lines += ["| Question | Rows | Graded | Mean | Median | Distribution (0→100) |"]
    lines += ["|---|---:|---:|---:|---:|---|"]
    for q in data.questions.values():
        lines.append(
            f"| **{_md(q.question_id)}** {_md(excerpt(q.text, 90))} | {q.rows} | {q.graded}"
            f" | {format_score(q.mean)} | {format_score(q.median)} | `{_spark(q.histogram)}` |"
        )
    lines += ["", "## Criteria", ""]
    lines += [
        "| Criterion | Mean level (0–4) | " + " | ".join(f"L{i}" for i in range(LEVELS)) + " |"
    ]
    lines += ["|---|---:|" + "---:|" * LEVELS]
    for c in data.criteria.values():
        cells = " | ".join(str(n) for n in c.levels)
        lines.append(f"| {_md(c.name)} | {_fmt(c.mean, 2)} | {cells} |")
    if len(data.questions) > 1 and data.criteria:
        lines += ["", "Mean level per question:", ""]
        ids = list(data.criteria)
        lines.append("| Question | " + " | ".join(_md(data.criteria[i].name) for i in ids) + " |")
        lines.append("|---|" + "---:|" * len(ids))
        for q in data.questions.values():
            cells = " | ".join(_fmt(q.criteria[i].mean, 2) if i in q.criteria else "–" for i in ids)
            lines.append(f"| {_md(q.label)} | {cells} |")
    lines += ["", "## Key points most often missed", ""]
    missed = data.most_missed()
    if missed:
        lines += ["| Question | Key point | Missed | Contradicted | Of |"]
        lines += ["|---|---|---:|---:|---:|"]
        for q, kp in missed:
            lines.append(
                f"| {_md(q.label)} | {_md(kp.text)} | {kp.statuses['missing']}"
                f" | {kp.statuses['contradicted']} | {kp.total} |"
            )
    else:
        lines.append("No key point was missed.")
    lines += ["", "## Weakest answers", ""]
    if data.weakest:
        lines += ["| Score | Question | Row | Candidate | Answer | Feedback |"]
        lines += ["|---:|---|---|---|---|---|"]
        for w in data.weakest:
            where = f"{w.source}:{w.row}" + (f" (id {w.id})" if w.id else "")
            lines.append(
                f"| {format_score(w.score)} | {_md(w.label)} | {_md(where)}"
                f" | {_md(w.candidate or '')} | {_md(w.answer)} | {_md(w.feedback)} |"
            )
    else:
        lines.append("No graded answer yet.")
    lines.append("")
    return "\n".join(lines)


def _md_histogram(counts: list[int]) -> list[str]:
    top = max(counts) if counts else 0
    rows = ["| Score | Rows | |", "|---|---:|---|"]
    width = 100 // len(counts) if counts else 10
    for i, n in enumerate(counts):
        bar = "█" * (round(30 * n / top) if top else 0)
        upper = 100 if i == len(counts) - 1 else (i + 1) * width
        rows.append(f"| {i * width}–{upper} | {n} | {bar} |")
    return rows


def _spark(counts: list[int]) -> str:
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(counts) if counts else 0
    if not top:
        return "·" * len(counts)
    return "".join(blocks[min(8, round(8 * n / top))] if n else "·" for n in counts)
