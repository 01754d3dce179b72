"""`interviewer eval`: how well a grader agrees with human scores on a scored file.

Exit status: 0 every row graded and measured; 1 an error (bad input, no grade at all, or an
endpoint that refused every request); 2 figures computed but some rows ungraded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from interviewer.cli.common import (
    AnswerColOpt,
    ApiKeyEnvOpt,
    BankDirOpt,
    BaseUrlOpt,
    EndpointOpt,
    GraderOpt,
    ModelOpt,
    QuestionColOpt,
    QuestionIdColOpt,
    ReferenceColOpt,
    close_when_done,
    grader_flags,
    handle_errors,
)

if TYPE_CHECKING:
    from interviewer.bank.library import Library
    from interviewer.batch.inputs import InputReader
    from interviewer.evaluation.data import ScoredRow
    from interviewer.evaluation.runner import Replica
    from interviewer.evaluation.summary import Evaluation

HELP = (
    "Measure how well a grader agrees with human scores.\n\n"
    "FILE is JSONL with question, reference, answer, score, max_score and qid per line"
    " (optionally score1 and score2 from two human graders), or a CSV/YAML file as `grade`"
    " reads it plus human_score and max_score columns. Every row is graded through the batch"
    " engine (--out keeps the results and resumes), then Pearson, Spearman, mean"
    " within-question r, QWK, MAE and exact/adjacent agreement are reported with 95% cluster"
    " bootstrap intervals (resampled by question); QWK, MAE and agreement use the grader's"
    " score calibrated to the human scale, cross-fitted by question.\n\n"
    "Exit status: 0 all rows measured; 1 error; 2 some rows ungraded (left out of the figures)."
)


def register(app: typer.Typer) -> None:
    """Add the `eval` command to ``app``."""
    app.command("eval", help=HELP)(evaluate)


# Options, defined once so the signature below stays readable.
FileArg = Annotated[Path, typer.Argument(metavar="FILE", help="Scored JSONL, CSV or YAML file.")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Keep per-row results here (JSONL); resumed on re-run."),
]
CompareOpt = Annotated[
    Path | None, typer.Option("--compare", help="Another grader's results file on the same rows.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")]
ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Write a report: PATH.md or PATH.html.")
]
BootstrapOpt = Annotated[
    int, typer.Option("--bootstrap", min=0, help="Bootstrap replicates (0: no intervals).")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")]
FormatOpt = Annotated[str, typer.Option("--format", help="auto, csv, jsonl or yaml.")]
EncodingOpt = Annotated[str, typer.Option("--encoding", help="Text encoding of FILE.")]
ScoreColOpt = Annotated[
    str | None,
    typer.Option("--score-col", help="Human score column (default human_score, else score)."),
]
MaxScoreColOpt = Annotated[
    str, typer.Option("--max-score-col", help="Column with each row's maximum score.")
]
QidColOpt = Annotated[str, typer.Option("--qid-col", help="Column grouping answers by question.")]
ConcurrencyOpt = Annotated[
    int | None,
    typer.Option("--concurrency", min=1, max=1024, help="Requests in flight per replica."),
]
RetryOpt = Annotated[
    bool, typer.Option("--retry-ungraded", help="Grade rows whose last result is ungraded.")
]


@handle_errors
def evaluate(
    file: FileArg,
    out: OutOpt = None,
    compare: CompareOpt = None,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = 0,
    fmt: FormatOpt = "auto",
    encoding: EncodingOpt = "utf-8-sig",
    score_col: ScoreColOpt = None,
    max_score_col: MaxScoreColOpt = "max_score",
    qid_col: QidColOpt = "qid",
    question_id_col: QuestionIdColOpt = "question_id",
    question_col: QuestionColOpt = "question",
    reference_col: ReferenceColOpt = "reference",
    answer_col: AnswerColOpt = "answer",
    concurrency: ConcurrencyOpt = None,
    retry_ungraded: RetryOpt = False,
    grader: GraderOpt = None,
    endpoint: EndpointOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    bank_dir: BankDirOpt = None,
) -> None:
    from interviewer.bank.library import load_library
    from interviewer.batch.input_rows import ColumnMap
    from interviewer.config import bank_paths, load_config
    from interviewer.errors import InterviewerError
    from interviewer.evaluation.data import ScoreColumns, compare_scores, open_scored, read_scored
    from interviewer.evaluation.runner import build_replicas
    from interviewer.evaluation.summary import evaluate as measure
    from interviewer.evaluation.summary import question_keys
    from interviewer.grading.factory import choose_grader

    columns = ColumnMap(
        question_id=question_id_col,
        question=question_col,
        reference=reference_col,
        answer=answer_col,
    )
    scores = ScoreColumns(score=score_col, max_score=max_score_col, qid=qid_col)
    reader = open_scored(file, fmt=fmt, columns=columns, encoding=encoding, scores=scores)
    _check_outputs(file, out, report)
    rows = read_scored(reader, scores)
    config = load_config()
    flags = grader_flags(
        grader=grader, endpoint=endpoint, base_url=base_url, model=model, api_key_env=api_key_env
    )
    library = load_library(bank_paths(config, bank_dir))
    chosen = choose_grader(config, flags, library=library)
    close_when_done(chosen.grader)
    replicas, inline = build_replicas(chosen, concurrency=concurrency)
    other = compare_scores(compare, rows) if compare is not None else None
    grades, resolved, fatal = _grade(
        reader, rows, library, replicas, out, inline=inline, retry=retry_ungraded
    )
    if fatal is not None and all(g is None for g in grades):
        raise InterviewerError(f"{fatal} (no row was graded, so there is nothing to measure)")
    result = measure(
        rows,
        grades,
        question_keys(rows, resolved),
        file=str(file),
        grader=replicas[0].grader.info.label,
        replicates=bootstrap,
        seed=seed,
        other=other,
        other_file=None if compare is None else str(compare),
    )
    _finish(result, fatal, report=report, as_json=as_json)


def _finish(result: Evaluation, fatal: str | None, *, report: Path | None, as_json: bool) -> None:
    """Write the report, show the figures, exit with the documented status."""
    from interviewer.evaluation.render import write_report
    from interviewer.ui import eval as ui
    from interviewer.ui.console import error, notice

    if report is not None:
        write_report(result, report)
    if as_json:
        ui.render_json(result)
    else:
        ui.render_evaluation(result)
    if fatal is not None:
        error(f"{fatal} (finished rows are kept in --out; re-run the same command to continue)")
        raise typer.Exit(1)
    if result.ungraded:
        notice(
            f"{result.ungraded} rows are ungraded and left out of the figures; re-run with"
            " --out and --retry-ungraded to grade them again."
        )
        raise typer.Exit(2)


def _check_outputs(file: Path, out: Path | None, report: Path | None) -> None:
    """Refuse to write over the input, and refuse a report format we cannot write."""
    from interviewer.errors import InputError

    for path, flag in ((out, "--out"), (report, "--report")):
        if path is not None and path.resolve() == file.resolve():
            raise InputError(f"{path}: {flag} would overwrite the input file; choose another.")
    if report is not None and report.suffix.lower() not in (".md", ".html", ".htm"):
        raise InputError(f"{report}: --report writes .md (Markdown) or .html; rename the file.")


def _grade(
    reader: InputReader,
    rows: list[ScoredRow],
    library: Library,
    replicas: list[Replica],
    out: Path | None,
    *,
    inline: bool,
    retry: bool,
) -> tuple[list[float | None], list[str], str | None]:
    """Grade every row (or find it in --out): (scores, resolved question ids, fatal error)."""
    import tempfile

    from interviewer.evaluation.runner import Grading, grades, row_keys
    from interviewer.ui import eval as ui
    from interviewer.ui.batch import BatchProgress

    keys = row_keys([r.row for r in rows], library, replicas)
    with tempfile.TemporaryDirectory(prefix="interviewer-eval-") as scratch:
        results = out if out is not None else Path(scratch) / "results.jsonl"
        with Grading(
            reader, library, replicas, results, inline=inline, retry_ungraded=retry
        ) as job:
            to_grade, done = job.open()
            fatal = None
            if to_grade:
                ui.render_start(str(reader.path), job.label, to_grade, done)
                with BatchProgress(to_grade) as bar:
                    fatal = job.run(progress=bar.update)
        return grades(results, keys.keys), keys.questions, fatal
