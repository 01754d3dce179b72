"""What a batch report shows: per-question, per-criterion and per-key-point figures.

Built by ``batch.report`` from a results file; rendered by ``report_markdown`` and
``report_html``. Ungraded rows are never counted as a score.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from interviewer.errors import InputError

if TYPE_CHECKING:
    from interviewer.batch.anchors import Calibration

BINS = 10
LEVELS = 5  # criterion levels 0-4
KEY_POINT_STATUSES = ("covered", "partial", "missing", "contradicted")
EXCERPT = 240
# Candidates' sheets hold every answer's text: past this many candidates the report leaves
# them out (the gradebook still has every score), so memory stays bounded on a large run.
MAX_SHEETS = 300


@dataclass
class CriterionStats:
    """How often each level (0-4) was given for one criterion."""

    id: str
    name: str
    levels: list[int] = field(default_factory=lambda: [0] * LEVELS)

    @property
    def count(self) -> int:
        return sum(self.levels)

    @property
    def mean(self) -> float | None:
        if not self.count:
            return None
        return sum(level * n for level, n in enumerate(self.levels)) / self.count


@dataclass
class KeyPointStats:
    """How often one key point was covered, partial, missing or contradicted."""

    index: int
    text: str
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def missed(self) -> int:
        return self.statuses["missing"] + self.statuses["contradicted"]

    @property
    def missed_rate(self) -> float:
        return self.missed / self.total if self.total else 0.0


class _Scored:
    """Counts and averages over the ``scores`` of graded rows (ungraded rows have none)."""

    scores: list[float]

    @property
    def graded(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.scores) if self.scores else None


@dataclass
class QuestionStats(_Scored):
    """Everything reported about one question."""

    question_id: str
    text: str
    rows: int = 0
    ungraded: int = 0
    scores: list[float] = field(default_factory=list)
    criteria: dict[str, CriterionStats] = field(default_factory=dict)
    key_points: dict[tuple[int, str], KeyPointStats] = field(default_factory=dict)
    on_scale: list[float] = field(default_factory=list)  # graded rows on the teacher's scale
    maximum: float | None = None  # the question's scale, when known
    anchors: int = 0

    @property
    def label(self) -> str:
        return question_label(self.question_id, self.text)

    @property
    def scale_mean(self) -> float | None:
        return statistics.fmean(self.on_scale) if self.on_scale else None

    @property
    def histogram(self) -> list[int]:
        return histogram(self.scores)


def question_label(question_id: str, text: str) -> str:
    """The bank id, or for a question given in the input file, its opening words."""
    if question_id.startswith("adhoc-") and text:
        return excerpt(text, 60)
    return question_id


@dataclass
class SheetAnswer:
    """One answer on a candidate's sheet (its texts are dropped past ``MAX_SHEETS``)."""

    question_id: str
    score: float | None  # the grader's 0-100; None when ungraded
    on_scale: float | None  # on the teacher's scale, when it is known
    maximum: float | None
    anchor: bool
    label: str = ""
    answer: str = ""
    missed: list[str] = field(default_factory=list)
    feedback: str = ""


@dataclass
class CandidateSheet:
    """Everything one candidate answered, in input order: a printable page."""

    name: str
    answers: dict[str, SheetAnswer] = field(default_factory=dict)  # by question id

    @property
    def total(self) -> float | None:
        values = [a.on_scale for a in self.answers.values() if a.on_scale is not None]
        return sum(values) if values else None


@dataclass
class WeakAnswer:
    """One of the lowest-scoring answers, with enough context to act on it."""

    score: float
    question_id: str
    question: str
    source: str
    row: int
    id: str | None
    candidate: str | None
    answer: str
    feedback: str
    missed: list[str]

    @property
    def label(self) -> str:
        return question_label(self.question_id, self.question)


@dataclass
class ReportData(_Scored):
    """The aggregated content of a results file (also shown on the terminal)."""

    results: str
    generated_at: str = ""
    rows: int = 0
    ungraded: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    scores: list[float] = field(default_factory=list)
    questions: dict[str, QuestionStats] = field(default_factory=dict)
    criteria: dict[str, CriterionStats] = field(default_factory=dict)
    weakest: list[WeakAnswer] = field(default_factory=list)
    graders: Counter[str] = field(default_factory=Counter)
    estimates: int = 0  # grades from the offline heuristic
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calibration: Calibration | None = None
    scaled: bool = False  # some rows have a teacher's scale (a maximum score)
    candidates: dict[str, CandidateSheet] = field(default_factory=dict)
    sheets_omitted: bool = False  # more than MAX_SHEETS candidates: no texts kept

    @property
    def out_of(self) -> float | None:
        """The class's total on the teacher's scale: every question counts, answered or not."""
        values = [q.maximum for q in self.questions.values() if q.maximum is not None]
        return sum(values) if values else None

    def most_missed(self, limit: int = 15) -> list[tuple[QuestionStats, KeyPointStats]]:
        """Key points by how often they were missed or contradicted (rate, then count)."""
        pairs = [
            (q, kp) for q in self.questions.values() for kp in q.key_points.values() if kp.missed
        ]
        pairs.sort(key=lambda p: (-p[1].missed_rate, -p[1].missed, p[0].question_id, p[1].index))
        return pairs[:limit]


def histogram(scores: Iterable[float], bins: int = BINS) -> list[int]:
    """Counts of 0-100 scores in ``bins`` equal bins (100 falls in the last one)."""
    counts = [0] * bins
    width = 100 / bins
    for score in scores:
        counts[min(int(score // width), bins - 1)] += 1
    return counts


def excerpt(text: str, limit: int = EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def fmt_number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def open_results_file(path: Path) -> BinaryIO:
    """A results file opened for reading; InputError naming it when it is missing or unreadable."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no results file; run `interviewer grade` first.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror}).") from None
