"""An evaluation put together: the scored rows and a grader's scores in, every figure out.

``evaluate`` joins the human scores with the grader's, measures their agreement, adds the
human ceiling when the file has two human scores per row and the paired comparison with a
second grader when one is given. ``Evaluation.as_json`` is the ``--json`` output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from interviewer.errors import InterviewerError
from interviewer.evaluation.analysis import (
    FIGURES,
    Agreement,
    Comparison,
    agreement,
    ceiling,
    paired_difference,
)
from interviewer.evaluation.calibration import MonotoneMap, Scale, fit_monotone
from interviewer.evaluation.data import ScoredRow


@dataclass
class Evaluation:
    """Everything an evaluation reports."""

    file: str
    grader: str
    rows: int
    ungraded: int
    scale: Scale
    replicates: int
    seed: int
    result: Agreement
    human: Agreement | None
    comparison: Comparison | None
    compare_file: str | None
    points: list[tuple[float, float]]  # (grader score, human score) of every graded row
    curve: MonotoneMap  # the calibration fitted on all rows, drawn in the HTML report only

    def as_json(self) -> dict[str, object]:
        def block(result: Agreement) -> dict[str, object]:
            out: dict[str, object] = {"n": result.n, "questions": result.questions}
            out.update({name: result.figures[name].as_json() for name in FIGURES})
            return out

        data: dict[str, object] = {"file": self.file, "grader": self.grader, "rows": self.rows}
        data["ungraded"] = self.ungraded
        data.update(block(self.result))
        calibration = self.result.calibration
        data["scale"] = {"max": self.scale.maximum, "step": self.scale.step}
        data["calibration"] = {
            "method": "isotonic",
            "cross_fitted_by": calibration.by if calibration else None,
            "folds": calibration.folds if calibration else 0,
        }
        data["bootstrap"] = {
            "replicates": self.replicates,
            "seed": self.seed,
            "resampled_by": self.result.resampled_by,
            "level": 0.95,
        }
        data["human_ceiling"] = None if self.human is None else block(self.human)
        data["compare"] = None
        if self.comparison is not None:
            c = self.comparison
            data["compare"] = {
                "file": self.compare_file,
                "n": c.n,
                "this": {k: None if v is None else round(v, 4) for k, v in c.this.items()},
                "other": {k: None if v is None else round(v, 4) for k, v in c.other.items()},
                "difference": {k: f.as_json() for k, f in c.difference.items()},
            }
        return data


def question_keys(rows: Sequence[ScoredRow], resolved: Sequence[str]) -> list[str]:
    """Each row's question: the file's qid when it has one, else the question it resolved to."""
    return [r.qid if r.qid is not None else q for r, q in zip(rows, resolved, strict=True)]


def evaluate(
    rows: Sequence[ScoredRow],
    scores: Sequence[float | None],
    questions: Sequence[str],
    *,
    file: str,
    grader: str,
    replicates: int,
    seed: int,
    other: Sequence[float | None] | None = None,
    other_file: str | None = None,
) -> Evaluation:
    """Measure ``scores`` (None: ungraded) against the human scores of ``rows``."""
    pairs = [(i, s) for i, s in enumerate(scores) if s is not None]
    if not pairs:
        raise InterviewerError(
            f"{file}: no row has a grade, so there is nothing to measure; re-run to grade them"
            " (see the results file for why they are ungraded)."
        )
    scale = Scale(rows[0].max_score)
    x = [s for _, s in pairs]
    y = [rows[i].human for i, _ in pairs]
    result = agreement(
        x, y, [questions[i] for i, _ in pairs], scale, replicates=replicates, seed=seed
    )
    two = [(i, r.first, r.second) for i, r in enumerate(rows)]
    both = [(i, a, b) for i, a, b in two if a is not None and b is not None]
    human = None
    if both:
        human = ceiling(
            [a for _, a, _ in both],
            [b for _, _, b in both],
            [questions[i] for i, _, _ in both],
            scale,
            replicates=replicates,
            seed=seed,
        )
    comparison = None
    if other is not None:
        paired = [(i, s, other[i]) for i, s in pairs]
        matched = [(i, s, o) for i, s, o in paired if o is not None]
        if not matched:
            raise InterviewerError(
                f"{other_file}: grades none of the rows graded here; --compare needs a results"
                " file of the same input."
            )
        comparison = paired_difference(
            [s for _, s, _ in matched],
            [o for _, _, o in matched],
            [rows[i].human for i, _, _ in matched],
            [questions[i] for i, _, _ in matched],
            scale,
            replicates=replicates,
            seed=seed,
        )
    return Evaluation(
        file=file,
        grader=grader,
        rows=len(rows),
        ungraded=len(rows) - len(pairs),
        scale=scale,
        replicates=replicates,
        seed=seed,
        result=result,
        human=human,
        comparison=comparison,
        compare_file=other_file,
        points=list(zip(x, y, strict=True)),
        curve=fit_monotone(x, y),
    )
