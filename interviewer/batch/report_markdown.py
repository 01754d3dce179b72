"""The batch report as Markdown (GitHub tables)."""

from __future__ import annotations

import math

from interviewer.batch.report_data import LEVELS, MAX_SHEETS, ReportData, excerpt, histogram
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
    lines += _md_anchors(data)
    lines += ["", "## Score distribution", ""]
    lines += _md_histogram(histogram(data.scores))
    lines += ["", "## Questions", ""]
    lines += _md_questions(data)
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
    lines += _md_candidates(data)
    lines.append("")
    return "\n".join(lines)


def _md_questions(data: ReportData) -> list[str]:
    """One line per question: raw and (with a scale) on the teacher's scale, side by side."""
    scaled = data.scaled
    head = "| Question | Rows | Graded | Mean (0–100) | Median |"
    rule = "|---|---:|---:|---:|---:|"
    if scaled:
        head += " Mean on your scale | Anchors |"
        rule += "---:|---:|"
    lines = [head + " Distribution (0→100): rows per tenth |", rule + "---|"]
    for q in data.questions.values():
        cells = (
            f"| {_md_question(q.question_id, q.text)} | {q.rows} | {q.graded}"
            f" | {format_score(q.mean)} | {format_score(q.median)} |"
        )
        if scaled:
            top = f" / {q.maximum:g}" if q.maximum is not None else ""
            cells += f" {_fmt(q.scale_mean, 2)}{top} | {q.anchors} |"
        counts = " ".join(str(n) for n in q.histogram)
        lines.append(f"{cells} `{_spark(q.histogram)}` {counts} |")
    return lines


def _omitted(data: ReportData) -> str:
    return (
        f"{len(data.candidates)} candidates: one sheet per candidate is left out above"
        f" {MAX_SHEETS}; every score is in the gradebook."
    )


def _md_question(question_id: str, text: str) -> str:
    """A question as the teacher wrote it; a bank id first when it has one."""
    words = _md(excerpt(text, 90))
    if question_id.startswith("adhoc-"):
        return words
    return f"**{_md(question_id)}** {words}"


def _md_anchors(data: ReportData) -> list[str]:
    calibration = data.calibration
    if calibration is None:
        return []
    line = (
        f"- Anchors (hand-scored answers): {calibration.anchors} on {calibration.questions}"
        " question(s); the other answers are put on your scale by a map fitted on them"
    )
    agreement = calibration.agreement
    if agreement is None:
        return [line + "."]
    error, plain = agreement.errors()
    return [
        line + ".",
        f"- Agreement on anchors, cross-validated ({agreement.folds} folds: no anchor is"
        f" scored by a map fitted on it): mean error {error}"
        f" (plain rescaling {plain}); Pearson r"
        f" {_fmt(_nan(agreement.pearson), 2)} (plain {_fmt(_nan(agreement.plain_pearson), 2)})",
    ]


def _nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def _md_candidates(data: ReportData) -> list[str]:
    if not data.candidates:
        return []
    lines = ["", "## Candidates", ""]
    if data.sheets_omitted:
        return [*lines, _omitted(data)]
    for sheet in data.candidates.values():
        total = sheet.total
        summary = ""
        if total is not None:
            out_of = f" / {data.out_of:g}" if data.out_of is not None else ""
            summary = f" — total {total:.2f}{out_of}"
        lines += [f"### {_md(sheet.name)}{summary}", ""]
        lines += ["| Question | Answer | Score | On your scale | Missed | Feedback |"]
        lines += ["|---|---|---:|---:|---|---|"]
        for a in sheet.answers.values():
            scale = "–"
            if a.on_scale is not None:
                top = f" / {a.maximum:g}" if a.maximum is not None else ""
                scale = f"{a.on_scale:.2f}{top}" + (" (hand-scored)" if a.anchor else "")
            answer = _md(excerpt(a.answer, 200)) or "*(no answer)*"
            lines.append(
                f"| {_md(a.label)} | {answer} | {_fmt(a.score)} | {scale}"
                f" | {_md('; '.join(a.missed))} | {_md(excerpt(a.feedback, 200))} |"
            )
        lines.append("")
    return lines


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
