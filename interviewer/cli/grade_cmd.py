"""`interviewer grade`: grade a file (or many) of written answers into a results file.

Exit status: 0 every row graded; 1 a fatal error (nothing usable, or the endpoint refused
every request); 2 finished with rows ungraded, invalid or still to grade; 130 interrupted.
Re-running the same command resumes: rows already in the results file are skipped.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from interviewer.cli.common import (
    ApiKeyEnvOpt,
    BankDirOpt,
    BaseUrlOpt,
    EndpointOpt,
    GraderOpt,
    ModelOpt,
    close_when_done,
    grader_flags,
    handle_errors,
)

if TYPE_CHECKING:
    from interviewer.batch.engine import BatchCounts, Price, Replica
    from interviewer.batch.inputs import InputReader
    from interviewer.config import Config, EndpointProfile
    from interviewer.grading.grade import Grader
    from interviewer.grading.llm_grader import LLMGrader

HELP = (
    "Grade written answers from CSV, JSONL or YAML files.\n\n"
    "Each row names a bank question (question_id) or carries its own question, reference and"
    " optional key_points; answer holds the answer; candidate and id are optional. Results are"
    " appended to --out (JSONL, one line per row); a CSV summary and an HTML/Markdown report"
    " are written next to it (or to --report-dir), invalid rows to STEM.errors.csv.\n\n"
    "Re-running the same command resumes: rows already graded are skipped (--retry-ungraded"
    " grades the ungraded ones again).\n\n"
    "Exit status: 0 all rows graded; 1 fatal error; 2 some rows ungraded, invalid or not yet"
    " graded; 130 interrupted (finished rows are kept)."
)

PRICES_NOTE = (
    "Prices: USD per million tokens, the vendors' published list prices built into"
    ' interviewer; edit or add models in config.toml, e.g. [prices."my-model"] input = 0.5,'
    " output = 1.5. OpenAI's Batch API bills half. Cached prompt prefixes can cost less."
)


def register(app: typer.Typer) -> None:
    """Add the `grade` command to ``app``."""
    app.command("grade", help=HELP)(grade)


@handle_errors
def grade(
    inputs: Annotated[
        list[Path], typer.Argument(metavar="INPUT", help="CSV, JSONL or YAML files.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Results file (JSONL); appended to and resumed.")
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="auto (from the file name), csv, jsonl or yaml.")
    ] = "auto",
    encoding: Annotated[
        str, typer.Option(help="Text encoding of the inputs (UTF-8 with or without BOM).")
    ] = "utf-8-sig",
    question_id_col: Annotated[
        str, typer.Option("--question-id-col", help="Column with bank question ids.")
    ] = "question_id",
    question_col: Annotated[
        str, typer.Option("--question-col", help="Column with the question text.")
    ] = "question",
    reference_col: Annotated[
        str, typer.Option("--reference-col", help="Column with the reference answer.")
    ] = "reference",
    key_points_col: Annotated[
        str,
        typer.Option("--key-points-col", help="Column with key points (a list, or ';'/newlines)."),
    ] = "key_points",
    answer_col: Annotated[
        str, typer.Option("--answer-col", help="Column with the answer.")
    ] = "answer",
    candidate_col: Annotated[
        str, typer.Option("--candidate-col", help="Column with the candidate's name.")
    ] = "candidate",
    id_col: Annotated[str, typer.Option("--id-col", help="Column with the row's own id.")] = "id",
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, max=1024, help="Requests in flight per endpoint replica (default per endpoint)."
        ),
    ] = None,
    retry_ungraded: Annotated[
        bool, typer.Option("--retry-ungraded", help="Grade rows whose last result is ungraded.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Count rows, tokens and cost; send and write nothing."),
    ] = False,
    export_batch: Annotated[
        Path | None,
        typer.Option(
            "--export-batch", help="Write the requests as OpenAI Batch API / vLLM run-batch JSONL."
        ),
    ] = None,
    import_batch: Annotated[
        list[Path] | None,
        typer.Option(
            "--import-batch", help="Grade from batch output (and error) files (repeatable)."
        ),
    ] = None,
    grader: GraderOpt = None,
    endpoint: EndpointOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    bank_dir: BankDirOpt = None,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report-dir", help="Where the summary, reports and errors file go."),
    ] = None,
    sort_window: Annotated[
        int,
        typer.Option(
            "--sort-window", min=1, help="Rows grouped by question at a time (prompt caching)."
        ),
    ] = 2000,
) -> None:
    from interviewer.bank.library import load_library
    from interviewer.batch import engine as core
    from interviewer.batch.inputs import ColumnMap, open_inputs
    from interviewer.batch.report import report_paths, write_reports
    from interviewer.config import bank_paths, load_config
    from interviewer.errors import InputError
    from interviewer.ui import batch as ui
    from interviewer.ui.console import error

    modes = [dry_run, export_batch is not None, bool(import_batch)]
    if sum(modes) > 1:
        raise InputError("Use only one of --dry-run, --export-batch and --import-batch.")
    config = load_config()
    columns = ColumnMap(
        question_id=question_id_col,
        question=question_col,
        reference=reference_col,
        key_points=key_points_col,
        answer=answer_col,
        candidate=candidate_col,
        id=id_col,
    )
    readers = open_inputs(inputs, fmt=fmt, columns=columns, encoding=encoding)
    files = report_paths(out, report_dir)
    errors_path = files.summary_csv.with_name(f"{out.stem}.errors.csv")
    _check_outputs(
        readers, [out, errors_path, files.summary_csv, files.markdown, files.html, export_batch]
    )
    replicas, profile, inline = _build_replicas(
        config,
        grader=grader,
        endpoint=endpoint,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        concurrency=concurrency,
    )
    library = load_library(bank_paths(config, bank_dir))
    info = replicas[0].grader.info
    prices = core.price_table(config.prices)
    needs_llm = "--export-batch" if export_batch else "--import-batch" if import_batch else None
    if needs_llm and info.kind != "llm":
        raise InputError(
            f"{needs_llm} needs the LLM grader: pass --grader llm with --model (and --base-url"
            " or --endpoint) naming the model the batch runs on."
        )

    if dry_run:
        state = core.load_results(out, repair=False)
        estimate = core.estimate_batch(
            readers,
            library,
            _llm(replicas[0].grader),
            state,
            info=info,
            profile=profile,
            prices=prices,
            retry_ungraded=retry_ungraded,
            errors_path=None,  # a dry run writes nothing
        )
        ui.render_bad_rows(estimate.scan, None)
        if estimate.local and estimate.requests and not inline:
            per = replicas[0].concurrency
            total = sum(r.concurrency for r in replicas)
            rows = min(estimate.requests, max(4, min(2 * total, 64)))
            ui.render_notice(f"Measuring {rows} rows on the local endpoint to estimate the time…")
            tasks = core.pending_tasks(
                readers, library, info, state, retry_ungraded=retry_ungraded, window=sort_window
            )
            done, seconds = core.measure_sample(tasks, replicas, rows=rows)
            estimate.sample_rows, estimate.sample_seconds = done, seconds
            estimate.sample_concurrency = per
        ui.render_estimate(estimate, prices_note=PRICES_NOTE)
        raise typer.Exit(core.EXIT_INCOMPLETE if estimate.scan.bad else core.EXIT_OK)

    if export_batch is not None:
        state = core.load_results(out, repair=False)
        scan = core.scan_inputs(
            readers,
            library,
            info,
            state,
            retry_ungraded=retry_ungraded,
            errors_path=errors_path,
        )
        ui.render_bad_rows(scan, errors_path)
        tasks = core.pending_tasks(
            readers, library, info, state, retry_ungraded=retry_ungraded, window=sort_window
        )
        llm_grader = _llm(replicas[0].grader)
        assert llm_grader is not None  # checked above: info.kind == "llm"
        written, requests, rows = core.export_batch(tasks, llm_grader, export_batch)
        ui.render_export(written, requests, rows)
        raise typer.Exit(core.EXIT_INCOMPLETE if scan.bad else core.EXIT_OK)

    job = core.BatchJob(
        readers=readers,
        library=library,
        replicas=replicas,
        results=out,
        errors_path=errors_path,
        retry_ungraded=retry_ungraded,
        window=sort_window,
        inline=inline,
    )
    stop, abandon = threading.Event(), threading.Event()
    result: core.BatchResult | None = None
    imported: core.ImportResult | None = None
    with job:
        scan = job.open()
        if job.state is not None and job.state.torn_bytes:
            ui.render_notice(
                f"Dropped an incomplete last line ({job.state.torn_bytes} bytes) from {out},"
                " left by an interrupted run."
            )
        ui.render_bad_rows(scan, errors_path)
        ui.render_start(scan, _label(replicas, info.label), _concurrency_label(replicas, inline))
        with ui.BatchProgress(scan.to_grade) as bar, _interrupts(stop, abandon):
            parser = _llm(replicas[0].grader)
            if import_batch and parser is not None:
                imported = job.import_replies(import_batch, parser, progress=bar.update, stop=stop)
                counts = imported.counts
            else:
                result = job.run(
                    stop=stop, abandon=abandon, progress=bar.update, notice=ui.render_notice
                )
                counts = result.counts
    if imported is not None and imported.replies and not imported.matched and scan.to_grade:
        ui.render_notice(
            f"None of the {imported.replies} replies in the batch files belongs to a row still to"
            " grade: were they produced from this input with the same --model, prompts and"
            " settings? (custom_id is the row's content hash)"
        )
    if imported is not None and imported.invalid_lines:
        ui.render_notice(
            f"{len(imported.invalid_lines)} line(s) of the batch files are not batch output and"
            f" were ignored (first: {imported.invalid_lines[0]})."
        )
    report, report_files = write_reports(out, report_dir=report_dir, keys=scan.keys)
    cost = _cost(profile, counts, prices)
    ui.render_summary(
        scan,
        counts,
        result=result,
        imported=imported,
        report=report,
        files=report_files,
        results_file=out,
        errors_file=errors_path,
        cost=cost,
    )
    fatal = result.fatal if result is not None else None
    stopped = stop.is_set() or abandon.is_set()
    if fatal is not None:
        error(f"{fatal} (finished rows are kept; re-run the same command to continue)")
    elif stopped:
        ui.render_notice("Interrupted: finished rows are kept; re-run the same command to resume.")
    elif counts.ungraded or scan.done_ungraded:
        ui.render_notice("Some rows are ungraded; re-run with --retry-ungraded to try them again.")
    raise typer.Exit(core.exit_status(scan, counts, stopped=stopped, fatal=fatal is not None))


# --------------------------------------------------------------------------- helpers


def _check_outputs(readers: list[InputReader], outputs: list[Path | None]) -> None:
    """Refuse to write any output over an input file."""
    from interviewer.errors import InputError

    inputs = {r.path.resolve(): r.path for r in readers}
    for path in outputs:
        if path is not None and path.resolve() in inputs:
            raise InputError(
                f"{path}: this output would overwrite the input {inputs[path.resolve()]};"
                " choose another --out, --report-dir or --export-batch."
            )


def _build_replicas(
    config: Config,
    *,
    grader: str | None,
    endpoint: str | None,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
    concurrency: int | None,
) -> tuple[list[Replica], EndpointProfile | None, bool]:
    """One grader per endpoint replica (or the offline grader, run inline)."""
    from interviewer.batch.engine import Replica, default_concurrency, replica_profiles
    from interviewer.grading.factory import choose_grader

    flags = grader_flags(
        grader=grader, endpoint=endpoint, base_url=base_url, model=model, api_key_env=api_key_env
    )
    chosen = choose_grader(config, flags)
    close_when_done(chosen.grader)
    profile = chosen.endpoint
    if profile is None:
        return [Replica("offline", chosen.grader, 1)], None, True
    per = concurrency or default_concurrency(profile)
    profiles = replica_profiles(profile)
    if len(profiles) == 1:
        return [Replica(profile.urls[0], chosen.grader, per)], profile, False
    # One grader (and one HTTP client) per replica, each with its own base URL.
    replicas = [Replica(p.urls[0], close_when_done(chosen.for_endpoint(p)), per) for p in profiles]
    return replicas, profile, False


def _llm(grader: Grader) -> LLMGrader | None:
    """The grader as an LLMGrader (for request bodies and reply parsing), else None."""
    from interviewer.grading.llm_grader import LLMGrader

    return grader if isinstance(grader, LLMGrader) else None


def _label(replicas: list[Replica], label: str) -> str:
    if len(replicas) > 1:
        return f"{label.split(' @ ')[0]} on {len(replicas)} replicas"
    return label


def _concurrency_label(replicas: list[Replica], inline: bool) -> str:
    if inline:
        return "one row at a time (offline)"
    per = replicas[0].concurrency
    if len(replicas) > 1:
        return f"{per} in flight per replica"
    return f"{per} in flight"


def _cost(
    profile: EndpointProfile | None, counts: BatchCounts, prices: dict[str, Price]
) -> float | None:
    """What the tokens used would cost at list prices (None for local or unknown models)."""
    from interviewer.batch.engine import find_price, is_local_url

    if profile is None:
        return None
    if profile.urls and all(is_local_url(u) for u in profile.urls):
        return None
    price = find_price(profile.model, prices)
    if price is None or not (counts.prompt_tokens or counts.completion_tokens):
        return None
    return (counts.prompt_tokens * price.input + counts.completion_tokens * price.output) / 1e6


@contextlib.contextmanager
def _interrupts(stop: threading.Event, abandon: threading.Event) -> Iterator[None]:
    """First Ctrl-C: finish the rows in flight, then stop. Second: stop now. SIGTERM: now.

    Either way only whole result lines are written, so a re-run resumes cleanly.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        stop.set()
        if signum == signal.SIGTERM or presses >= 2:
            abandon.set()
        if presses >= 3:
            raise KeyboardInterrupt
        if presses == 1 and signum == signal.SIGINT:
            from interviewer.ui.console import notice

            notice("Stopping after the rows in flight… (Ctrl-C again to stop at once)")

    previous_int = signal.signal(signal.SIGINT, on_signal)
    previous_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
