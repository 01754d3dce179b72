"""The teacher's parts of the HTML report: the anchors' agreement and one sheet per candidate.

Each candidate's sheet starts a new page when printed, so the report prints as one sheet per
student. Every text from the input or a model is escaped.
"""

from __future__ import annotations

import math

from interviewer.batch.report_data import MAX_SHEETS, ReportData, SheetAnswer
from interviewer.batch.report_data import fmt_number as _fmt
from interviewer.html_page import escape as _e


def anchors_note(data: ReportData) -> list[str]:
    """How many anchors, and how well the map agrees with them (cross-validated)."""
    calibration = data.calibration
    if calibration is None:
        return []
    text = (
        f"<b>Anchors:</b> {calibration.anchors} hand-scored answers on {calibration.questions}"
        " question(s) put every other answer on your scale."
    )
    agreement = calibration.agreement
    if agreement is not None:
        error, plain = agreement.errors()
        r = "–" if math.isnan(agreement.pearson) else f"{agreement.pearson:.2f}"
        plain_r = "–" if math.isnan(agreement.plain_pearson) else f"{agreement.plain_pearson:.2f}"
        text += (
            f" Cross-validated on the anchors (no anchor scored by a map fitted on it): mean"
            f" error {_e(error)} against {_e(plain)} for plain rescaling; Pearson r {r}"
            f" (plain {plain_r})."
        )
    return [f'<p class="anchors">{text}</p>']


def candidate_sheets(data: ReportData) -> list[str]:
    if not data.candidates:
        return []
    out = ["<h2>Candidates</h2>"]
    if data.sheets_omitted:
        return [
            *out,
            f"<p>{len(data.candidates)} candidates: one sheet per candidate is left out above"
            f" {MAX_SHEETS}; every score is in the gradebook.</p>",
        ]
    for sheet in data.candidates.values():
        total = ""
        if sheet.total is not None:
            out_of = f" / {data.out_of:g}" if data.out_of is not None else ""
            total = f" <span class='muted'>· total {sheet.total:.2f}{_e(out_of)}</span>"
        out.append(f'<section class="sheet"><h3>{_e(sheet.name)}{total}</h3>')
        out.append(
            '<table><tr><th>Question</th><th>Answer</th><th class="num">Score (0–100)</th>'
            '<th class="num">On your scale</th><th>Key points missed and feedback</th></tr>'
        )
        out += [_answer_row(a) for a in sheet.answers.values()]
        out.append("</table></section>")
    return out


def _answer_row(a: SheetAnswer) -> str:
    scale = "–"
    if a.on_scale is not None:
        top = f" / {a.maximum:g}" if a.maximum is not None else ""
        scale = _e(f"{a.on_scale:.2f}{top}")
        if a.anchor:
            scale += "<br><span class='hand'>hand-scored</span>"
    answer = _e(a.answer) if a.answer else "<i class='muted'>(no answer)</i>"
    missed = "<div class='muted'>Missed: " + _e("; ".join(a.missed)) + "</div>" if a.missed else ""
    return (
        f"<tr><td>{_e(a.label)}</td><td><div class='answer'>{answer}</div></td>"
        f"<td class='num'>{_e(_fmt(a.score))}</td><td class='num'>{scale}</td>"
        f"<td>{missed}{_e(a.feedback)}</td></tr>"
    )
