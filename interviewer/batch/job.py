"""One `interviewer grade` run over some inputs into one results file, and its exit status."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from interviewer.bank.library import Library
from interviewer.batch.batch_api import BatchOutputIndex, ImportResult, ReplyParser, import_batch
from interviewer.batch.inputs import InputReader
from interviewer.batch.outputs import check_output
from interviewer.batch.replicas import Replica
from interviewer.batch.results import ResultsState, ResultsWriter, load_results
from interviewer.batch.rows import (
    DEFAULT_WINDOW,
    FIRST_WINDOW,
    RowTask,
    ScanSummary,
    group_by_question,
    pending_tasks,
    scan_inputs,
)
from interviewer.batch.run import BatchCounts, BatchResult, ProgressCallback, run_batch
from interviewer.grading.grade import GraderInfo

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_INCOMPLETE = 2
EXIT_INTERRUPTED = 130


@dataclass
class BatchJob:
    """One `interviewer grade` run over some inputs into one results file.

    ``open()`` takes the results file's lock, repairs a torn last line, reads which rows are
    done and scans the inputs (writing the errors file); ``run()`` or ``import_replies()``
    then grades what is left. Close it (or use it as a context manager) to release the lock.
    """

    readers: list[InputReader]
    library: Library | None
    replicas: list[Replica]
    results: Path
    errors_path: Path | None = None
    retry_ungraded: bool = False
    window: int = DEFAULT_WINDOW
    inline: bool = False
    writer: ResultsWriter | None = None
    state: ResultsState | None = None
    scan: ScanSummary | None = None
    # The scan's rows to grade, while they fit in one sort window (else None).
    _scanned: list[RowTask] | None = field(default=None, init=False, repr=False)

    @property
    def info(self) -> GraderInfo:
        return self.replicas[0].grader.info

    def open(self) -> ScanSummary:
        check_output(self.results, "results")  # never append to a file that is not ours
        self.writer = ResultsWriter(self.results)
        self.state = load_results(self.results, repair=True)
        self._scanned = []
        self.scan = scan_inputs(
            self.readers,
            self.library,
            self.info,
            self.state,
            retry_ungraded=self.retry_ungraded,
            errors_path=self.errors_path,
            on_task=self._keep,
        )
        return self.scan

    def _keep(self, task: RowTask) -> None:
        """Keep the scan's rows while few, so a small input is not read and resolved twice."""
        if self._scanned is None:
            return
        if len(self._scanned) >= self.window:
            self._scanned = None  # as many as a window: read them again when grading
        else:
            self._scanned.append(task)

    def tasks(self) -> Iterator[RowTask]:
        assert self.state is not None, "open() first"
        if self._scanned is not None:
            first = min(self.window, FIRST_WINDOW)
            return group_by_question(iter(self._scanned), self.window, first=first)
        return pending_tasks(
            self.readers,
            self.library,
            self.info,
            self.state,
            retry_ungraded=self.retry_ungraded,
            window=self.window,
        )

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        abandon: threading.Event | None = None,
        progress: ProgressCallback | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> BatchResult:
        if self.writer is None or self.scan is None:
            raise RuntimeError("BatchJob.open() must be called first")
        return run_batch(
            self.tasks(),
            self.replicas,
            self.writer,
            to_grade=self.scan.to_grade,
            inline=self.inline,
            stop=stop,
            abandon=abandon,
            progress=progress,
            notice=notice,
        )

    def import_replies(
        self,
        paths: list[Path],
        grader: ReplyParser,
        *,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
    ) -> ImportResult:
        if self.writer is None or self.scan is None:
            raise RuntimeError("BatchJob.open() must be called first")
        index = BatchOutputIndex(paths)
        return import_batch(
            self.tasks(),
            grader,
            index,
            self.writer,
            to_grade=self.scan.to_grade,
            progress=progress,
            stop=stop,
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> BatchJob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def exit_status(
    scan: ScanSummary,
    counts: BatchCounts,
    *,
    stopped: bool = False,
    fatal: bool = False,
) -> int:
    """The documented exit status of a run.

    0  every row of the input has a graded result and no row was invalid;
    1  the run stopped on a fatal error (unreadable input, configuration, an endpoint that
       refuses every request) -- finished rows are kept, re-run to continue;
    2  the run finished but some rows are ungraded (now or from an earlier run), invalid, or
       still to grade (e.g. no reply in an imported batch file);
    130 interrupted (Ctrl-C): finished rows are kept, re-run to continue.
    """
    if fatal:
        return EXIT_FATAL
    if stopped:
        return EXIT_INTERRUPTED
    remaining = scan.to_grade - counts.finished
    if scan.bad or counts.ungraded or scan.done_ungraded or remaining > 0:
        return EXIT_INCOMPLETE
    return EXIT_OK
