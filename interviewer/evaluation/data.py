"""Human-scored answer files and results files, read for `interviewer eval`.

A scored file is any input `interviewer grade` reads (read by its own readers, with its
column mapping) plus a human score per row: JSONL rows carry ``score`` and ``max_score``
(and optionally ``score1``/``score2`` from two graders, and ``qid`` naming the question);
CSV files carry ``human_score`` and ``max_score`` columns. Any unusable row stops the
evaluation with one message naming the file and line: figures computed on a silently
shortened file would be wrong without anyone noticing.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from interviewer.batch.input_rows import BadRow, ColumnMap, InputRow
from interviewer.batch.inputs import InputReader
from interviewer.errors import InputError

SCORE_COLUMNS = ("human_score", "score")  # tried in this order unless --score-col is given


@dataclass(frozen=True)
class ScoreColumns:
    """Where a scored file keeps its human scores and question ids."""

    score: str | None = None  # None: the first of SCORE_COLUMNS the file has
    max_score: str = "max_score"
    first: str = "score1"
    second: str = "score2"
    qid: str = "qid"

    def keep(self) -> tuple[str, ...]:
        named = (self.score,) if self.score else SCORE_COLUMNS
        return (*named, self.max_score, self.first, self.second, self.qid)


@dataclass(frozen=True)
class ScoredRow:
    """One input row with its human score(s) on the file's scale."""

    row: InputRow
    human: float
    max_score: float
    qid: str | None
    first: float | None = None
    second: float | None = None


def open_scored(
    path: Path,
    *,
    fmt: str = "auto",
    columns: ColumnMap | None = None,
    encoding: str = "utf-8-sig",
    scores: ScoreColumns | None = None,
) -> InputReader:
    """Open a scored file with the batch readers, keeping its score columns."""
    scores = scores or ScoreColumns()
    return InputReader(path, fmt=fmt, columns=columns, encoding=encoding, keep=scores.keep())


def read_scored(reader: InputReader, scores: ScoreColumns | None = None) -> list[ScoredRow]:
    """Every row of a scored file; InputError at the first unusable one."""
    scores = scores or ScoreColumns()
    rows: list[ScoredRow] = []
    for item in reader.rows():
        if isinstance(item, BadRow):
            raise InputError(f"{item.describe()}; fix the row or remove it.")
        if not item.answer:
            # `grade` scores a blank answer 0 without asking the grader, so it would
            # measure nothing about the grader here.
            raise InputError(
                f"{_where(item)}: no answer (column '{reader.columns.answer}'); fix the row or"
                " remove it."
            )
        if not rows and reader.format == "csv":
            _check_header(reader, item, scores)
        rows.append(_scored(item, scores))
    if not rows:
        raise InputError(f"{reader.path}: holds no rows; an evaluation needs scored answers.")
    scale = rows[0].max_score
    for scored in rows:
        if scored.max_score != scale:
            raise InputError(
                f"{_where(scored.row)}: max_score {scored.max_score:g} differs from"
                f" {scale:g} on the first row; evaluate each scale in a file of its own."
            )
    return rows


def _check_header(reader: InputReader, first: InputRow, scores: ScoreColumns) -> None:
    """A CSV row holds every header column, so the first row shows what the header lacks."""
    present = dict(first.extra)
    wanted = [scores.score] if scores.score else list(SCORE_COLUMNS)
    if not any(name in present for name in wanted):
        raise InputError(
            f"{reader.path}:1: no '{wanted[0]}' column with the human scores; add it or pass"
            " --score-col NAME."
        )
    if scores.max_score not in present:
        raise InputError(
            f"{reader.path}:1: no '{scores.max_score}' column; add each row's maximum score"
            " or pass --max-score-col NAME."
        )


def _where(row: InputRow) -> str:
    return f"{row.source}:{row.line}: row {row.row}"


def _number(row: InputRow, values: dict[str, object], name: str, *, required: bool) -> float | None:
    value = values.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(f"{_where(row)}: no '{name}'; give every row its human score.")
        return None
    number = math.nan
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        with contextlib.suppress(ValueError):
            number = float(value)
    if not math.isfinite(number):
        raise InputError(f"{_where(row)}: '{name}' is {value!r}, not a number; fix the value.")
    return number


def _required(row: InputRow, values: dict[str, object], name: str) -> float:
    value = _number(row, values, name, required=True)
    if value is None:  # pragma: no cover - _number raises instead
        raise InputError(f"{_where(row)}: no '{name}'.")
    return value


def _scored(row: InputRow, scores: ScoreColumns) -> ScoredRow:
    values = dict(row.extra)
    name = scores.score or next((c for c in SCORE_COLUMNS if c in values), "")
    if not name:
        raise InputError(
            f"{_where(row)}: no human score ('{SCORE_COLUMNS[0]}' or '{SCORE_COLUMNS[1]}');"
            " give every row its human score, or name the field with --score-col."
        )
    human = _required(row, values, name)
    maximum = _required(row, values, scores.max_score)
    if maximum <= 0:
        raise InputError(f"{_where(row)}: '{scores.max_score}' must be above 0, not {maximum:g}.")
    first = _number(row, values, scores.first, required=False)
    second = _number(row, values, scores.second, required=False)
    for label, value in ((name, human), (scores.first, first), (scores.second, second)):
        if value is not None and not 0 <= value <= maximum:
            raise InputError(
                f"{_where(row)}: '{label}' {value:g} is outside 0..{maximum:g}; fix the score"
                f" or '{scores.max_score}'."
            )
    qid = values.get(scores.qid)
    return ScoredRow(
        row=row,
        human=human,
        max_score=maximum,
        qid=None if qid is None or str(qid).strip() == "" else str(qid).strip(),
        first=first,
        second=second,
    )


@dataclass(frozen=True)
class ResultLine:
    """What eval needs from one line of a results file."""

    row: int
    score: float | None
    answer: str | None


def read_results(path: Path, *, key: str) -> dict[str, ResultLine]:
    """The latest line of a results file per ``key`` field ("key" or "row"), later lines win.

    Results files are appended to, so a row graded again has a later line that supersedes
    the earlier one. A line that is not a result is an error naming its line.
    """
    if not path.exists():
        raise InputError(f"{path}: no such results file; check the path.")
    latest: dict[str, ResultLine] = {}
    try:
        with path.open(encoding="utf-8") as fh:
            for number, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                    ident = record[key]
                    row = int(record["row"])
                    score = record.get("score")
                    value = None if score is None else float(score)
                except (ValueError, KeyError, TypeError):
                    raise InputError(
                        f"{path}:{number}: not a results line (needs JSON with '{key}', 'row'"
                        " and 'score'); pass a results file written by `interviewer grade` or"
                        " `interviewer eval --out`."
                    ) from None
                answer = record.get("answer")
                latest[str(ident)] = ResultLine(
                    row, value, answer if isinstance(answer, str) else None
                )
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: is not UTF-8 text; pass a results file.") from None
    return latest


def compare_scores(path: Path, rows: list[ScoredRow]) -> list[float | None]:
    """Another grader's scores for ``rows``, matched by row number (None: not graded there).

    A line whose answer differs from the row's answer means the file belongs to another
    input, which is an error rather than a comparison of different answers.
    """
    latest = read_results(path, key="row")
    scores: list[float | None] = []
    for scored in rows:
        line = latest.get(str(scored.row.row))
        if line is not None and line.answer is not None and line.answer != scored.row.answer:
            raise InputError(
                f"{path}: row {scored.row.row} holds another answer than {_where(scored.row)};"
                " --compare needs a results file graded from the same input."
            )
        scores.append(None if line is None else line.score)
    return scores
