"""`interviewer review`: the teacher scores the answers that teach the anchor map most.

The rows of a results file are ranked by how much a hand score would teach the map, most
first:

* a question with few anchors (none at all first): its offset is still a guess;
* a grade the grader was unsure of (its samples disagreed, or the score sits mid-scale,
  where a grader's judgement is least sure);
* an extreme grade (the lowest or highest of its question): it pins the ends of the map;
* a grade far from the map (the map moves it a long way from plain rescaling).

Each typed score is appended to ``STEM.anchors.jsonl`` at once and the map is refitted and
stored (``STEM.calibration.json``), so a review can stop anywhere and resume: rows scored
before are anchors and are not offered again. Blank answers are never offered (they are 0).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interviewer.batch.anchor_store import (
    RowScale,
    anchors_path,
    append_review_anchor,
    calibration_path,
    fit_run,
    load_calibration,
)
from interviewer.batch.anchors import Calibration, Point
from interviewer.batch.report_data import open_results_file, question_label
from interviewer.errors import InputError


@dataclass
class ReviewRow:
    """One graded row as the review shows it."""

    key: str
    question_id: str
    question: str
    reference: str
    answer: str
    candidate: str | None
    score: float
    samples: list[float]
    grade: dict[str, Any]

    @property
    def label(self) -> str:
        return question_label(self.question_id, self.question)


@dataclass
class Review:
    """A review of one results file: its rows, the anchors so far and the map."""

    results: Path
    rows: dict[str, ReviewRow]
    input_scales: dict[str, RowScale]
    default_max: float | None
    calibration: Calibration | None = None
    scales: dict[str, RowScale] = field(default_factory=dict)
    stored: int = 0  # scores typed in this review

    @classmethod
    def open(cls, results: Path, *, max_score: float | None = None) -> Review:
        stored = load_calibration(calibration_path(results))
        if max_score is None and stored is not None:
            max_score = stored.default_max
        review = cls(
            results=results,
            rows=_read_rows(results),
            input_scales={} if stored is None else stored.input_scales,
            default_max=max_score,
        )
        review.refit()
        return review

    def refit(self) -> None:
        graded = [(k, r.question_id, r.score) for k, r in self.rows.items() if r.answer]
        self.calibration, self.scales = fit_run(
            self.results, graded, self.input_scales, self.default_max
        )

    def point(self, row: ReviewRow) -> Point:
        scale = self.scales.get(row.key)
        return Point(
            key=row.key,
            group=row.question_id,
            score=row.score,
            maximum=None if scale is None else scale.maximum,
            human=None if scale is None else scale.human,
        )

    def maximum(self, row: ReviewRow) -> float | None:
        point = self.point(row)
        if self.calibration is not None:
            return self.calibration.maximum(point)
        return point.maximum if point.maximum is not None else self.default_max

    def suggestion(self, row: ReviewRow) -> float | None:
        """What the map (or plain rescaling, before any anchor) would give the row."""
        maximum = self.maximum(row)
        if maximum is None:
            return None
        if self.calibration is not None:
            return round(self.calibration.map.predict(row.question_id, row.score, maximum), 2)
        return round(row.score / 100 * maximum, 2)

    def anchors_of(self, question_id: str) -> int:
        return sum(
            1
            for k, s in self.scales.items()
            if s.human is not None and k in self.rows and self.rows[k].question_id == question_id
        )

    def queue(self) -> list[ReviewRow]:
        """Rows still without a hand score, the most instructive first."""
        open_rows = [
            r
            for r in self.rows.values()
            if r.answer and self.scales.get(r.key, RowScale(None, None)).human is None
        ]
        counts = Counter(
            self.rows[k].question_id
            for k, s in self.scales.items()
            if s.human is not None and k in self.rows
        )
        ends: dict[str, tuple[float, float]] = {}
        for r in open_rows:
            low, high = ends.get(r.question_id, (r.score, r.score))
            ends[r.question_id] = (min(low, r.score), max(high, r.score))

        def priority(row: ReviewRow) -> float:
            few = 2.0 / (1 + counts[row.question_id])
            spread = statistics.pstdev(row.samples) / 50 if len(row.samples) > 1 else 0.0
            unsure = 0.5 * (1 - abs(row.score - 50) / 50) + spread
            extreme = 0.3 if row.score in ends[row.question_id] else 0.0
            far = 0.0
            if self.calibration is not None:
                far = abs(
                    self.calibration.map.fraction(row.question_id, row.score) - row.score / 100
                )
            return few + unsure + extreme + far

        return sorted(open_rows, key=lambda r: (-priority(r), r.key))

    def score(self, row: ReviewRow, value: float) -> None:
        """Store the teacher's score for a row as an anchor, and refit the map."""
        maximum = self.maximum(row)
        if maximum is None:
            raise InputError(
                "No scale is known for this row: pass --max-score N (the top of your scale)."
            )
        if not 0 <= value <= maximum:
            raise ValueError(f"a score must be between 0 and {maximum:g}")
        append_review_anchor(anchors_path(self.results), row.key, value, maximum)
        self.stored += 1
        self.refit()


def _read_rows(results: Path) -> dict[str, ReviewRow]:
    """The latest graded line of each row key."""
    rows: dict[str, ReviewRow] = {}
    fh = open_results_file(results)
    with fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                continue  # a torn last line
            try:
                record = json.loads(raw)
                key = str(record["key"])
            except (ValueError, KeyError, TypeError):
                continue
            outcome = record.get("outcome") or {}
            grade = outcome.get("grade")
            if not record.get("graded") or not isinstance(grade, dict):
                rows.pop(key, None)
                continue
            rows[key] = ReviewRow(
                key=key,
                question_id=str(record.get("question_id") or "?"),
                question=str(record.get("question") or ""),
                reference=str(record.get("reference") or ""),
                answer=str(record.get("answer") or ""),
                candidate=record.get("candidate"),
                score=float(record.get("score") or 0.0),
                samples=[float(s) for s in outcome.get("samples") or []],
                grade=grade,
            )
    if not rows:
        raise InputError(f"{results}: no graded row to review yet.")
    return rows
