"""Grade a scored file through the batch engine, and find each row's grade in the results.

This is the evaluation's only door into the batch engine (``interviewer.batch``): grading gets the
engine's concurrency, endpoint replicas, resume and content-hash cache unchanged, and the
results file is the same append-only JSONL that `interviewer grade` writes (one line per row
with ``row`` and ``score``), so re-running with the same results file grades only what is
missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interviewer.bank.library import Library
from interviewer.batch.input_rows import BadRow, InputRow
from interviewer.batch.inputs import InputReader
from interviewer.batch.job import BatchJob
from interviewer.batch.replicas import Replica
from interviewer.batch.replicas import build_replicas as replicas_for
from interviewer.batch.rows import RowResolver
from interviewer.errors import InputError
from interviewer.evaluation.data import read_results
from interviewer.grading.factory import ChosenGrader

# Replica is re-exported so that callers can name replicas without importing the engine.
__all__ = ["Grading", "Replica", "RowKeys", "build_replicas", "grades", "row_keys"]


def build_replicas(chosen: ChosenGrader, *, concurrency: int | None) -> tuple[list[Replica], bool]:
    """One grader per endpoint replica, or the offline grader run inline; (replicas, inline)."""
    replicas, _, inline = replicas_for(chosen, concurrency=concurrency)
    return replicas, inline


@dataclass(frozen=True)
class RowKeys:
    """Each row's key in the results file and the question it answers."""

    keys: list[str]
    questions: list[str]


def row_keys(rows: list[InputRow], library: Library | None, replicas: list[Replica]) -> RowKeys:
    """Resolve rows exactly as the engine does, so their keys match its results lines."""
    resolver = RowResolver(library, replicas[0].grader.info)
    keys: list[str] = []
    questions: list[str] = []
    for row in rows:
        task = resolver.resolve(row)
        if isinstance(task, BadRow):
            raise InputError(f"{task.describe()}; fix the row or remove it.")
        keys.append(task.key)
        questions.append(task.question.id)
    return RowKeys(keys, questions)


class Grading:
    """A batch-engine run over one scored file into one results file."""

    def __init__(
        self,
        reader: InputReader,
        library: Library | None,
        replicas: list[Replica],
        results: Path,
        *,
        inline: bool,
        retry_ungraded: bool = False,
    ) -> None:
        self.results = results
        self.job = BatchJob(
            readers=[reader],
            library=library,
            replicas=replicas,
            results=results,
            retry_ungraded=retry_ungraded,
            inline=inline,
        )
        self.label = replicas[0].grader.info.label

    def __enter__(self) -> Grading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.job.close()

    def open(self) -> tuple[int, int]:
        """Lock the results file and scan: (rows to grade, rows already there)."""
        scan = self.job.open()
        return scan.to_grade, scan.done

    def run(self, progress: Callable[[Any], None] | None = None) -> str | None:
        """Grade what is missing; the fatal endpoint error that stopped it, if any."""
        result = self.job.run(progress=progress)
        return None if result.fatal is None else str(result.fatal)


def grades(results: Path, keys: list[str]) -> list[float | None]:
    """The latest score of each row key (None: ungraded or missing)."""
    latest = read_results(results, key="key") if results.exists() else {}
    return [latest[k].score if k in latest else None for k in keys]
