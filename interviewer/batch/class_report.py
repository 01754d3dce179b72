"""The teacher's view of a run: scores on the teacher's scale and one sheet per candidate.

A row's score on the teacher's scale is, in order of preference: the teacher's own score (an
anchor), the anchor map's ``calibrated_score``, or, when the run has a maximum but no anchor,
plain rescaling (``score / 100 x max``). A blank answer is 0 on every scale. Without a
maximum anywhere the 0-100 score is the only scale there is and no row gets one.
"""

from __future__ import annotations

from typing import Any

from interviewer.batch.anchor_store import RowScale
from interviewer.batch.anchors import Calibration, Point
from interviewer.batch.report_data import (
    MAX_SHEETS,
    CandidateSheet,
    ReportData,
    SheetAnswer,
    excerpt,
    question_label,
)


class Scaler:
    """Puts each results record on its teacher's scale."""

    def __init__(
        self,
        calibration: Calibration | None,
        scales: dict[str, RowScale],
        default_max: float | None,
    ) -> None:
        self.calibration = calibration
        self.scales = scales
        self.default_max = default_max

    def point(self, record: dict[str, Any]) -> Point | None:
        """The record as a calibration point; None for an ungraded row."""
        if not record.get("graded") or record.get("score") is None:
            return None
        key = str(record.get("key"))
        scale = self.scales.get(key)
        return Point(
            key=key,
            group=str(record.get("question_id") or "?"),
            score=float(record["score"]),
            maximum=None if scale is None else scale.maximum,
            human=None if scale is None else scale.human,
        )

    def maximum(self, point: Point | None) -> float | None:
        if point is None:
            return None
        if self.calibration is not None:
            return self.calibration.maximum(point)
        return point.maximum if point.maximum is not None else self.default_max

    def on_scale(self, point: Point | None, *, blank: bool = False) -> float | None:
        if point is None:
            return None
        if blank and point.human is None:
            return 0.0 if self.maximum(point) is not None else None
        if self.calibration is not None:
            return self.calibration.calibrated(point)
        maximum = self.maximum(point)
        if maximum is None:
            return None
        if point.human is not None:
            return point.human
        return round(point.score / 100 * maximum, 3)

    def columns(self, point: Point | None, on_scale: float | None) -> list[Any]:
        """The summary CSV's max_score, human_score and calibrated_score cells."""
        maximum = self.maximum(point)
        human = None if point is None else point.human
        return [_blank(maximum), _blank(human), _blank(on_scale)]


def _blank(value: float | None) -> Any:
    return "" if value is None else value


def add_to_class(
    data: ReportData,
    record: dict[str, Any],
    grade: Any,
    point: Point | None,
    on_scale: float | None,
    maximum: float | None,
) -> None:
    """Count the row on its question's scale, and put it on its candidate's sheet."""
    qid = str(record.get("question_id") or "?")
    question = data.questions.get(qid)
    if question is not None:
        if on_scale is not None:
            question.on_scale.append(on_scale)
        if maximum is not None:
            question.maximum = maximum
        if point is not None and point.human is not None:
            question.anchors += 1
    candidate = str(record.get("candidate") or "").strip()
    if not candidate:
        return
    sheet = data.candidates.get(candidate)
    if sheet is None:
        sheet = data.candidates[candidate] = CandidateSheet(candidate)
        if len(data.candidates) > MAX_SHEETS and not data.sheets_omitted:
            data.sheets_omitted = True
            for other in data.candidates.values():
                for kept in other.answers.values():
                    kept.label, kept.answer, kept.missed, kept.feedback = "", "", [], ""
    answer = SheetAnswer(
        question_id=qid,
        score=None if point is None else point.score,
        on_scale=on_scale,
        maximum=maximum,
        anchor=point is not None and point.human is not None,
    )
    if not data.sheets_omitted:
        grade = grade if isinstance(grade, dict) else {}
        reason = record.get("ungraded_reason")
        answer.label = question_label(qid, str(record.get("question") or ""))
        answer.answer = excerpt(str(record.get("answer") or ""), 600)
        answer.missed = [
            str(kp.get("text"))
            for kp in grade.get("key_points") or []
            if kp.get("status") in ("missing", "contradicted")
        ]
        answer.feedback = str(grade.get("feedback") or (f"Ungraded ({reason})." if reason else ""))
    sheet.answers[qid] = answer
