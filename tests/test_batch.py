"""The batch engine: identity hashes, the results file, ordering, concurrency, replicas,
resume, duplicates, dry-run estimates and the batch file export/import."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interviewer.bank.library import Question, load_library
from interviewer.bank.rubric import DEFAULT_CRITERIA
from interviewer.batch.batch_api import export_batch, parse_batch_line
from interviewer.batch.costs import (
    Price,
    estimate_batch,
    expected_output_tokens,
    find_price,
    measure_sample,
    price_table,
)
from interviewer.batch.input_rows import BadRow, InputRow
from interviewer.batch.inputs import InputReader
from interviewer.batch.job import (
    EXIT_FATAL,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BatchJob,
    exit_status,
)
from interviewer.batch.replicas import Replica, default_concurrency, replica_profiles
from interviewer.batch.results import ResultsWriter, load_results
from interviewer.batch.rows import (
    Prefetch,
    RowResolver,
    RowTask,
    ScanSummary,
    group_by_question,
    pending_tasks,
    row_hash,
)
from interviewer.batch.run import BatchCounts, BatchResult
from interviewer.config import EndpointProfile, is_local_url
from interviewer.errors import EndpointError, InputError
from interviewer.grading.grade import GraderInfo, Outcome
from interviewer.grading.offline import OfflineGrader
from tests.batch_support import (
    bank_rows,
    grade_content,
    grading_handler,
    read_results,
    write_bank,
    write_csv,
)
from tests.chat_server import ChatServer, Request

QUESTION = Question(
    id="q1",
    question="What is a KV cache?",
    reference="Stored keys and values.",
    key_points=["keys", "values"],
)


class FakeGrader:
    """A thread-safe grader that records calls and can fail or sleep on cue."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        model: str = "fake",
        fail: Callable[[str], EndpointError | None] | None = None,
        ungraded: Callable[[str], bool] | None = None,
    ) -> None:
        self.delay = delay
        self.fail = fail
        self.ungraded = ungraded
        self._info = GraderInfo(kind="llm", model=model, prompt_version="v1", settings={"t": 0})
        self.lock = threading.Lock()
        self.calls: list[str] = []
        self.active = 0
        self.max_active = 0

    @property
    def info(self) -> GraderInfo:
        return self._info

    def grade(self, question: Question, answer: str) -> Outcome:
        with self.lock:
            self.calls.append(answer)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.delay:
                time.sleep(self.delay)
            if self.fail is not None:
                error = self.fail(answer)
                if error is not None:
                    raise error
            if self.ungraded is not None and self.ungraded(answer):
                return Outcome(ungraded_reason="unparseable", info=self._info)
            return OfflineGrader().grade(question, answer).model_copy(update={"info": self._info})
        finally:
            with self.lock:
                self.active -= 1


def make_job(
    tmp_path: Path,
    rows: list[dict[str, Any]],
    replicas: list[Replica],
    *,
    inline: bool = False,
    retry_ungraded: bool = False,
    window: int = 2000,
    name: str = "in.csv",
) -> BatchJob:
    bank_dir = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / name, rows)
    return BatchJob(
        readers=[InputReader(source)],
        library=load_library([bank_dir]),
        replicas=replicas,
        results=tmp_path / "out" / "results.jsonl",
        errors_path=tmp_path / "out" / "results.errors.csv",
        retry_ungraded=retry_ungraded,
        window=window,
        inline=inline,
    )


def run_job(job: BatchJob, **kwargs: Any) -> tuple[ScanSummary, BatchResult]:
    with job:
        scan = job.open()
        result = job.run(**kwargs)
    return scan, result


def keys_of(path: Path) -> list[str]:
    return [r["key"] for r in read_results(path)]


# --------------------------------------------------------------------------- identity


def test_row_hash_covers_what_determines_a_grade() -> None:
    info = GraderInfo(kind="llm", model="m", prompt_version="p1", settings={"temperature": 0})
    base = row_hash(QUESTION, "answer", info)
    assert base == row_hash(QUESTION, "answer", info)
    variants = [
        row_hash(QUESTION, "answer!", info),
        row_hash(QUESTION.model_copy(update={"key_points": ["keys"]}), "answer", info),
        row_hash(QUESTION.model_copy(update={"reference": "Other."}), "answer", info),
        row_hash(
            QUESTION.model_copy(update={"rubric": list(DEFAULT_CRITERIA[:2])}), "answer", info
        ),
        row_hash(QUESTION, "answer", info.model_copy(update={"model": "m2"})),
        row_hash(QUESTION, "answer", info.model_copy(update={"prompt_version": "p2"})),
        row_hash(QUESTION, "answer", info.model_copy(update={"settings": {"temperature": 1}})),
        row_hash(QUESTION, "answer", info.model_copy(update={"kind": "offline"})),
    ]
    assert base not in variants
    assert len(set(variants)) == len(variants)
    # Where the grade ran, and the output contract negotiated there, are not identity.
    moved = info.model_copy(
        update={
            "endpoint": "elsewhere",
            "settings": {"temperature": 0, "contract": "json_object", "base_url": "http://x"},
        }
    )
    assert row_hash(QUESTION, "answer", moved) == base


def test_resolver_hashes_rows_as_earlier_results_files_did(tmp_path: Path) -> None:
    """Resuming needs the same hash for the same row: spelled out here as first defined."""
    library = load_library([write_bank(tmp_path / "banks")])
    info = GraderInfo(kind="llm", model="m", prompt_version="p1", settings={"seed": 7})
    resolver = RowResolver(library, info)
    answers = ["plain", 'quotes " and \\ slashes', "日本語の答え\nline two", ""]
    for question in library.questions[:3]:
        for number, answer in enumerate(answers, start=1):
            row = InputRow("in.csv", number, number + 1, answer=answer, question_id=question.id)
            task = resolver.resolve(row)
            assert isinstance(task, RowTask)
            payload = {
                "question": question.question,
                "reference": question.full_reference,
                "key_points": question.key_points,
                "rubric": [c.model_dump() for c in question.criteria],
                "language": question.language,
                "answer": answer,
                "grader": {
                    "kind": "llm",
                    "model": "m",
                    "prompt_version": "p1",
                    "settings": {"seed": 7},
                },
            }
            blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
            assert task.hash == hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def test_resolver_bank_adhoc_unknown_and_repeats(tmp_path: Path) -> None:
    library = load_library([write_bank(tmp_path / "banks")])
    info = OfflineGrader().info
    resolver = RowResolver(library, info)

    def row(n: int, **kw: Any) -> InputRow:
        return InputRow(source="f", row=n, line=n + 1, **kw)

    by_id = resolver.resolve(row(1, answer="a", question_id="q-lora"))
    by_bank = resolver.resolve(row(2, answer="a", question_id="tbank/q-lora"))
    unknown = resolver.resolve(row(3, answer="a", question_id="nope"))
    adhoc = resolver.resolve(
        row(4, answer="a", question="Why cache?", reference="To save time. It avoids recompute.")
    )
    given = resolver.resolve(
        row(5, answer="a", question="Why cache?", reference="R.", key_points=("x", "y"))
    )
    assert isinstance(by_id, RowTask)
    assert isinstance(by_bank, RowTask)
    assert by_id.question.id == "q-lora"
    # The same content twice: same hash, the repeat gets its own key.
    assert by_bank.hash == by_id.hash
    assert (by_id.key, by_bank.key) == (by_id.hash, f"{by_id.hash}#1")
    assert isinstance(unknown, BadRow)
    assert "unknown question id 'nope'" in unknown.reason
    assert isinstance(adhoc, RowTask)
    assert adhoc.question.id.startswith("adhoc-")
    assert adhoc.question.key_points  # derived from the reference
    assert isinstance(given, RowTask)
    assert given.question.key_points == ["x", "y"]


def test_resolver_reports_invalid_adhoc_questions(tmp_path: Path) -> None:
    resolver = RowResolver(None, OfflineGrader().info)
    points = tuple(f"point {i}" for i in range(13))
    item = resolver.resolve(
        InputRow(
            source="f", row=1, line=2, answer="a", question="Q", reference="R", key_points=points
        )
    )
    assert isinstance(item, BadRow)
    assert "key_points" in item.reason


def test_group_by_question_within_windows(tmp_path: Path) -> None:
    library = load_library([write_bank(tmp_path / "banks")])
    resolver = RowResolver(library, OfflineGrader().info)
    ids = ["q-rag", "q-cache", "q-rag", "q-lora", "q-cache", "q-rag", "q-lora", "q-cache"]
    tasks = []
    for n, qid in enumerate(ids, start=1):
        task = resolver.resolve(InputRow("f", n, n, answer=f"answer {n}", question_id=qid))
        assert isinstance(task, RowTask)
        tasks.append(task)
    ordered = list(group_by_question(tasks, window=5))
    assert sorted(t.row.row for t in ordered) == list(range(1, 9))
    first, second = ordered[:5], ordered[5:]
    assert [t.question.id for t in first] == ["q-rag", "q-rag", "q-cache", "q-cache", "q-lora"]
    assert {t.row.row for t in first} == {1, 2, 3, 4, 5}
    assert [t.question.id for t in second] == ["q-rag", "q-lora", "q-cache"]


# --------------------------------------------------------------------------- results file


def _line(key: str, graded: bool) -> str:
    return json.dumps({"key": key, "graded": graded, "outcome": {}}) + "\n"


def test_load_results_latest_wins_and_torn_line_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    text = _line("a", False) + _line("b", True) + "garbage\n" + _line("a", True)
    path.write_text(text + '{"key": "c", "gra', encoding="utf-8")
    peek = load_results(path, repair=False)
    assert peek.torn_bytes == len('{"key": "c", "gra')
    assert path.read_text(encoding="utf-8").endswith('"gra')  # untouched without repair
    state = load_results(path, repair=True)
    assert state.status == {"a": True, "b": True}
    assert state.corrupt_lines == [3]
    assert path.read_text(encoding="utf-8") == text
    assert state.is_done("a", retry_ungraded=True)


def test_load_results_keeps_a_complete_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_line("a", True) + _line("b", False).rstrip("\n"), encoding="utf-8")
    state = load_results(path, repair=True)
    assert state.status == {"a": True, "b": False}
    assert state.torn_bytes == 0
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert state.is_done("b", retry_ungraded=False)
    assert not state.is_done("b", retry_ungraded=True)


def test_results_file_is_locked_while_written(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ResultsWriter(path) as writer:
        writer.write({"key": "a", "graded": True})
        with pytest.raises(InputError, match="another `interviewer grade`"):
            ResultsWriter(path)
    with ResultsWriter(path) as again:
        again.write({"key": "b", "graded": True})
    assert [r["key"] for r in read_results(path)] == ["a", "b"]


# --------------------------------------------------------------------------- running


def test_offline_inline_job_grades_every_row_and_lists_bad_ones(tmp_path: Path) -> None:
    rows = bank_rows(12)
    rows[4]["answer"] = ""
    rows[7]["question_id"] = "missing-q"
    job = make_job(tmp_path, rows, [Replica("offline", OfflineGrader())], inline=True)
    scan, result = run_job(job)
    assert (scan.rows, scan.bad, scan.to_grade) == (12, 1, 11)
    results = read_results(job.results)
    assert len(results) == 11
    assert {r["row"] for r in results} == set(range(1, 13)) - {8}
    blank = next(r for r in results if r["row"] == 5)
    assert blank["graded"]
    assert blank["score"] == 0
    assert blank["outcome"]["grade"]["feedback"] == "No answer."
    assert {kp["status"] for kp in blank["outcome"]["grade"]["key_points"]} == {"missing"}
    others = [r for r in results if r["row"] != 5]
    assert all(r["graded"] and r["outcome"]["grade"]["estimate"] for r in others)
    first = next(r for r in results if r["row"] == 1)
    assert (first["id"], first["candidate"], first["question_id"]) == ("r0", "cand-0", "q-cache")
    errors = job.errors_path.read_text(encoding="utf-8").splitlines()  # type: ignore[union-attr]
    assert errors[0] == "source,row,line,id,reason"
    assert "unknown question id 'missing-q'" in errors[1]
    assert exit_status(scan, result.counts) == EXIT_INCOMPLETE


def test_concurrency_bound_and_every_row_once(tmp_path: Path) -> None:
    grader = FakeGrader(delay=0.02)
    job = make_job(tmp_path, bank_rows(40), [Replica("r", grader, concurrency=4)])
    scan, result = run_job(job)
    assert grader.max_active <= 4
    assert grader.max_active >= 2  # really concurrent
    assert result.counts.graded == 40
    keys = keys_of(job.results)
    assert len(keys) == len(set(keys)) == 40
    assert exit_status(scan, result.counts) == EXIT_OK


def test_identical_rows_are_graded_once_and_written_per_row(tmp_path: Path) -> None:
    rows = [*bank_rows(3), dict(bank_rows(1)[0], id="dup", candidate="other")]
    grader = FakeGrader()
    job = make_job(tmp_path, rows, [Replica("r", grader, concurrency=2)])
    _, result = run_job(job)
    assert len(grader.calls) == 3
    results = read_results(job.results)
    assert len(results) == 4
    twins = [r for r in results if r["question_id"] == "q-cache"]
    assert len({r["hash"] for r in twins}) == 1
    assert sorted(r["key"] for r in twins) == sorted([twins[0]["hash"], twins[0]["hash"] + "#1"])
    assert {r["candidate"] for r in twins} == {"cand-0", "other"}
    assert twins[0]["score"] == twins[1]["score"]
    assert result.counts.reused == 1


def test_stop_then_resume_completes_without_duplicates(tmp_path: Path) -> None:
    grader = FakeGrader(delay=0.01)
    job = make_job(tmp_path, bank_rows(30), [Replica("r", grader, concurrency=3)])
    stop = threading.Event()

    def progress(counts: BatchCounts) -> None:
        if counts.finished >= 8:
            stop.set()

    scan, result = run_job(job, stop=stop, progress=progress)
    assert result.stopped
    first = keys_of(job.results)
    assert 8 <= len(first) < 30
    assert exit_status(scan, result.counts, stopped=True) == EXIT_INTERRUPTED
    again = make_job(tmp_path, bank_rows(30), [Replica("r", FakeGrader(), concurrency=3)])
    scan2, result2 = run_job(again)
    assert scan2.done == len(first)
    assert result2.counts.graded == 30 - len(first)
    keys = keys_of(job.results)
    assert len(keys) == len(set(keys)) == 30
    assert exit_status(scan2, result2.counts) == EXIT_OK


def test_abandon_returns_without_writing_in_flight_rows(tmp_path: Path) -> None:
    grader = FakeGrader(delay=0.5)
    job = make_job(tmp_path, bank_rows(6), [Replica("r", grader, concurrency=2)])
    abandon = threading.Event()
    timer = threading.Timer(0.1, abandon.set)
    timer.start()
    _, result = run_job(job, abandon=abandon)
    timer.join()
    assert result.stopped
    assert keys_of(job.results) == []
    assert result.remaining == 6


def test_retry_ungraded(tmp_path: Path) -> None:
    flaky = FakeGrader(ungraded=lambda answer: "#1" in answer or "#4" in answer)
    job = make_job(tmp_path, bank_rows(6), [Replica("r", flaky, concurrency=2)])
    scan, result = run_job(job)
    assert (result.counts.graded, result.counts.ungraded) == (4, 2)
    assert result.counts.reasons == {"unparseable": 2}
    assert exit_status(scan, result.counts) == EXIT_INCOMPLETE
    # A plain re-run leaves ungraded rows alone (and still reports them).
    plain = make_job(tmp_path, bank_rows(6), [Replica("r", FakeGrader(), concurrency=2)])
    scan2, result2 = run_job(plain)
    assert (scan2.done, scan2.done_ungraded, scan2.to_grade) == (6, 2, 0)
    assert exit_status(scan2, result2.counts) == EXIT_INCOMPLETE
    fixed = FakeGrader()
    retry = make_job(
        tmp_path, bank_rows(6), [Replica("r", fixed, concurrency=2)], retry_ungraded=True
    )
    scan3, result3 = run_job(retry)
    assert scan3.to_grade == 2
    assert len(fixed.calls) == 2
    assert result3.counts.graded == 2
    state = load_results(retry.results, repair=False)
    assert len(state.status) == 6
    assert all(state.status.values())
    assert exit_status(scan3, result3.counts) == EXIT_OK


def test_non_fatal_error_marks_the_row_and_goes_on(tmp_path: Path) -> None:
    def fail(answer: str) -> EndpointError | None:
        return EndpointError("timed out", kind="timeout") if "#2" in answer else None

    job = make_job(tmp_path, bank_rows(5), [Replica("r", FakeGrader(fail=fail), 1)])
    _, result = run_job(job)
    assert result.fatal is None
    results = read_results(job.results)
    assert len(results) == 5
    [bad] = [r for r in results if not r["graded"]]
    assert bad["row"] == 3
    assert bad["ungraded_reason"] == "endpoint_error"
    assert bad["outcome"]["ungraded_detail"] == "timed out"


def test_fatal_error_stops_the_batch_and_keeps_finished_rows(tmp_path: Path) -> None:
    def fail(answer: str) -> EndpointError | None:
        return EndpointError("bad key", kind="auth", status=401) if "#3" in answer else None

    grader = FakeGrader(fail=fail)
    job = make_job(tmp_path, bank_rows(9), [Replica("r", grader, 1)], window=1)
    scan, result = run_job(job)
    assert result.fatal is not None
    assert result.fatal.kind == "auth"
    assert exit_status(scan, result.counts, fatal=True) == EXIT_FATAL
    results = read_results(job.results)
    assert [r["row"] for r in results] == [1, 2, 3]  # row 4 failed; nothing after it was sent
    assert len(grader.calls) == 4


def test_failing_replica_is_taken_out_of_rotation(tmp_path: Path) -> None:
    down = FakeGrader(fail=lambda _a: EndpointError("refused", kind="connection"), delay=0.01)
    up = FakeGrader(delay=0.01)
    notices: list[str] = []
    job = make_job(
        tmp_path,
        bank_rows(20),
        [Replica("http://a", down, 2), Replica("http://b", up, 2)],
    )
    _, result = run_job(job, notice=notices.append)
    assert result.fatal is None
    assert result.replicas_out == ["http://a"]
    assert any("http://a" in n for n in notices)
    assert result.counts.graded == 20
    assert len(up.calls) == 20
    assert 1 <= len(down.calls) <= 2  # only what was in flight when it failed
    assert len(set(keys_of(job.results))) == 20


def test_non_fatal_errors_retry_on_another_replica_and_bench_the_bad_one(tmp_path: Path) -> None:
    flaky = FakeGrader(fail=lambda _a: EndpointError("overloaded", kind="server", status=503))
    good = FakeGrader(delay=0.005)
    job = make_job(
        tmp_path,
        bank_rows(24),
        [Replica("http://flaky", flaky, 2), Replica("http://good", good, 2)],
    )
    _, result = run_job(job)
    assert result.counts.graded == 24
    assert result.counts.ungraded == 0
    assert result.replicas_out == []
    assert any("Resting http://flaky" in n for n in result.notices)
    # Benched after BENCH_AFTER failures in a row, so it saw only a handful of rows.
    assert len(flaky.calls) < 8


def test_per_replica_concurrency_spreads_the_load(tmp_path: Path) -> None:
    a, b = FakeGrader(delay=0.02), FakeGrader(delay=0.02)
    job = make_job(tmp_path, bank_rows(40), [Replica("http://a", a, 3), Replica("http://b", b, 2)])
    _, result = run_job(job)
    assert result.counts.graded == 40
    assert a.max_active <= 3
    assert b.max_active <= 2
    assert len(a.calls) > 0
    assert len(b.calls) > 0
    assert len(a.calls) + len(b.calls) == 40


def test_every_replica_failing_is_fatal(tmp_path: Path) -> None:
    def dead() -> FakeGrader:
        return FakeGrader(fail=lambda _a: EndpointError("refused", kind="connection"))

    job = make_job(
        tmp_path,
        bank_rows(5),
        [Replica("http://a", dead(), 1), Replica("http://b", dead(), 1)],
    )
    _, result = run_job(job)
    assert result.fatal is not None
    assert sorted(result.replicas_out) == ["http://a", "http://b"]
    assert keys_of(job.results) == []


# --------------------------------------------------------------------------- the real LLM path


def llm_replica(server: ChatServer, concurrency: int = 4) -> Replica:
    from interviewer.grading.llm_grader import LLMGrader

    profile = EndpointProfile(name="test", base_url=server.url, model="test-model", max_retries=0)
    return Replica(server.url, LLMGrader(profile), concurrency)


def test_llm_run_sorts_by_question_and_bounds_requests(
    tmp_path: Path, chat_server: ChatServer
) -> None:
    chat_server.handler = grading_handler
    chat_server.delay = 0.01
    job = make_job(tmp_path, bank_rows(18), [llm_replica(chat_server, concurrency=1)])
    scan, result = run_job(job)
    assert result.counts.graded == 18
    assert chat_server.max_active == 1
    asked = [r.prompt_text.split("# Question", 1)[1][:40] for r in chat_server.chat_requests]
    # Grouped: each question's requests arrive back to back.
    changes = sum(1 for x, y in itertools.pairwise(asked) if x != y)
    assert changes == 2
    results = read_results(job.results)
    scores = {r["answer"].split(" #")[0]: r["score"] for r in results}
    assert (
        scores["Base weights are frozen and a low-rank update is learned."]
        > scores["Low-rank matrices, small."]
    )
    assert exit_status(scan, result.counts) == EXIT_OK


def test_replica_refusing_auth_is_dropped(tmp_path: Path) -> None:
    with ChatServer(handler=grading_handler) as good, ChatServer(api_key="secret") as locked:
        locked_url = locked.url
        job = make_job(tmp_path, bank_rows(9), [llm_replica(locked, 2), llm_replica(good, 2)])
        _, result = run_job(job)
    assert result.fatal is None
    assert result.replicas_out == [locked_url]
    assert result.counts.graded == 9


# --------------------------------------------------------------------------- dry run


def test_prices_override_and_prefix_match() -> None:
    table = price_table({"gpt-4o-mini": {"output": 1.0}, "local-x": {"input": 0.1, "output": 0.2}})
    assert table["gpt-4o-mini"] == Price("gpt-4o-mini", 0.15, 1.0)
    dated = find_price("gpt-4o-mini-2024-07-18", table)
    assert dated is not None
    assert dated.model == "gpt-4o-mini"
    gateway = find_price("openai/gpt-4.1", table)
    assert gateway is not None
    assert gateway.model == "gpt-4.1"
    assert find_price("qwen3:8b", table) is None
    with pytest.raises(InputError, match="must be numbers"):
        price_table({"m": {"input": "cheap"}})  # type: ignore[dict-item]


def test_estimate_counts_tokens_and_prices_remote_endpoints(tmp_path: Path) -> None:
    from interviewer.grading.llm_grader import LLMGrader

    profile = EndpointProfile(name="oa", base_url="https://api.openai.com/v1", model="gpt-4o-mini")
    grader = LLMGrader(profile)
    rows = [*bank_rows(6), bank_rows(1)[0]]  # one repeat: no extra request
    bank_dir = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / "in.csv", rows)
    state = load_results(tmp_path / "none.jsonl", repair=False)
    estimate = estimate_batch(
        [InputReader(source)],
        load_library([bank_dir]),
        grader,
        state,
        info=grader.info,
        profile=profile,
        prices=price_table(),
    )
    assert (estimate.scan.to_grade, estimate.requests) == (7, 6)
    assert not estimate.local
    assert estimate.price is not None
    assert estimate.price.model == "gpt-4o-mini"
    assert estimate.prompt_tokens > 6 * 200  # the rubric alone is a few hundred tokens
    assert estimate.output_tokens == sum(
        expected_output_tokens(q, profile)
        for q in load_library([bank_dir]).questions
        for _ in range(2)
    )
    assert estimate.cost == pytest.approx(
        (estimate.prompt_tokens * 0.15 + estimate.output_tokens * 0.60) / 1e6
    )
    assert not (tmp_path / "none.jsonl").exists()


def test_local_endpoint_time_comes_from_a_measured_sample(
    tmp_path: Path, chat_server: ChatServer
) -> None:
    from interviewer.grading.llm_grader import LLMGrader

    chat_server.handler = grading_handler
    replica = llm_replica(chat_server, concurrency=2)
    job = make_job(tmp_path, bank_rows(10), [replica])
    state = load_results(job.results, repair=False)
    tasks = pending_tasks(job.readers, job.library, job.info, state)
    try:
        done, seconds = measure_sample(tasks, [replica], rows=4)
    finally:
        # A sample leaves its replicas open for the real run; close this one's connections.
        assert isinstance(replica.grader, LLMGrader)
        replica.grader.close()
    assert done == 4
    assert seconds > 0
    assert len(chat_server.chat_requests) == 4
    assert not job.results.exists()  # a sample is never recorded
    assert is_local_url(chat_server.url)
    assert not is_local_url("https://api.deepseek.com")
    assert is_local_url("http://192.168.1.20:8000/v1")


# --------------------------------------------------------------------------- batch files


def test_export_writes_one_request_per_distinct_row(tmp_path: Path) -> None:
    from interviewer.grading.llm_grader import LLMGrader

    profile = EndpointProfile(name="v", base_url="http://127.0.0.1:9/v1", model="served-model")
    grader = LLMGrader(profile)
    rows = [*bank_rows(5), bank_rows(1)[0]]
    job = make_job(tmp_path, rows, [Replica("v", grader, 1)])
    state = load_results(job.results, repair=False)
    tasks = pending_tasks(job.readers, job.library, job.info, state)
    out = tmp_path / "batch" / "requests.jsonl"
    files, requests, covered = export_batch(tasks, grader, out, max_requests=2)
    assert (requests, covered) == (5, 6)
    assert files == [out, out.with_name("requests.2.jsonl"), out.with_name("requests.3.jsonl")]
    lines = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5
    for line in lines:
        assert set(line) == {"custom_id", "method", "url", "body"}
        assert (line["method"], line["url"]) == ("POST", "/v1/chat/completions")
        assert line["body"]["model"] == "served-model"
        assert line["body"]["messages"][-1]["role"] == "user"
        assert "stream" not in line["body"] or line["body"]["stream"] is False
    assert len({line["custom_id"] for line in lines}) == 5


def _openai_line(custom_id: str, content: str, *, status: int = 200) -> dict[str, Any]:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 500, "completion_tokens": 90, "total_tokens": 590},
    }
    return {
        "id": "batch_req_1",
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": "req_1", "body": body},
        "error": None,
    }


def test_parse_batch_line_layouts_and_errors() -> None:
    current = parse_batch_line(_openai_line("a", "{}"))
    assert (current.content, current.finish_reason, current.error) == ("{}", "stop", None)
    assert current.usage == {"prompt_tokens": 500, "completion_tokens": 90, "total_tokens": 590}
    old_vllm = {
        "id": "vllm-1",
        "custom_id": "a",
        "response": _openai_line("a", "old layout")["response"]["body"],
        "error": None,
    }
    assert parse_batch_line(old_vllm).content == "old layout"
    openai_error_file = {
        "id": "batch_req_2",
        "custom_id": "b",
        "response": None,
        "error": {"code": "batch_expired", "message": "This request could not be executed."},
    }
    assert parse_batch_line(openai_error_file).error == (
        "batch request failed: batch_expired: This request could not be executed."
    )
    vllm_error = {
        "id": "vllm-2",
        "custom_id": "c",
        "response": {"status_code": 400, "request_id": "vllm-batch-2", "body": None},
        "error": "Request must not be sent in stream mode",
    }
    error = parse_batch_line(vllm_error).error
    assert error is not None
    assert "HTTP 400" in error
    assert "stream mode" in error
    error_body = {
        "custom_id": "d",
        "response": {"status_code": 429, "body": {"error": {"message": "slow down", "code": 429}}},
    }
    assert "slow down" in (parse_batch_line(error_body).error or "")


def test_import_matches_a_live_run(tmp_path: Path, chat_server: ChatServer) -> None:
    from interviewer.grading.llm_grader import LLMGrader

    chat_server.handler = grading_handler
    rows = bank_rows(6)
    # The live run.
    live_dir = tmp_path / "live"
    live = make_job(live_dir, rows, [llm_replica(chat_server, 2)])
    run_job(live)
    live_results = {r["key"]: r for r in read_results(live.results)}

    # The same rows exported, "run" by a batch engine (the same handler), imported.
    grader = LLMGrader(
        EndpointProfile(name="test", base_url=chat_server.url, model="test-model", max_retries=0)
    )
    batch_dir = tmp_path / "batch"
    job = make_job(batch_dir, rows, [Replica(chat_server.url, grader, 1)])
    state = load_results(job.results, repair=False)
    requests_file = batch_dir / "requests.jsonl"
    export_batch(pending_tasks(job.readers, job.library, job.info, state), grader, requests_file)
    requests = [json.loads(x) for x in requests_file.read_text(encoding="utf-8").splitlines()]
    outputs, errors = [], []
    for n, req in enumerate(requests):
        fake = Request("POST", "/v1/chat/completions", {}, {}, req["body"])
        if n == 0:  # one request failed: it goes to the error file
            errors.append(
                {
                    "custom_id": req["custom_id"],
                    "response": None,
                    "error": {"code": "server_error", "message": "boom"},
                }
            )
            continue
        line = _openai_line(req["custom_id"], grade_content(fake))
        if n == 1:  # old vLLM layout
            line = {
                "id": "vllm-x",
                "custom_id": req["custom_id"],
                "response": line["response"]["body"],
            }
        outputs.append(line)
    (batch_dir / "out.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in outputs) + "not json\n", encoding="utf-8"
    )
    (batch_dir / "err.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in errors), encoding="utf-8"
    )
    with job:
        scan = job.open()
        imported = job.import_replies([batch_dir / "out.jsonl", batch_dir / "err.jsonl"], grader)
    assert imported.matched == 6
    assert imported.missing == 0
    assert imported.invalid_lines == [f"{batch_dir / 'out.jsonl'}:6"]
    assert (imported.counts.graded, imported.counts.ungraded) == (5, 1)
    assert scan.to_grade == 6
    for record in read_results(job.results):
        twin = live_results[record["key"]]
        if record["graded"]:
            assert record["score"] == twin["score"]
            assert record["outcome"]["grade"] == twin["outcome"]["grade"]
            assert record["outcome"]["usage"]["prompt_tokens"] == 500
        else:
            assert record["ungraded_reason"] == "endpoint_error"
            assert "server_error: boom" in record["outcome"]["ungraded_detail"]
    # Importing again changes nothing; a truncated reply is parsed like a live one.
    with job:
        job.open()
        again = job.import_replies([batch_dir / "out.jsonl"], grader)
    assert again.matched == 0


def test_default_concurrency_and_replica_profiles() -> None:
    def profile(url: str, **kw: Any) -> EndpointProfile:
        return EndpointProfile(base_url=url, model="m", **kw)

    assert default_concurrency(profile("http://127.0.0.1:11434/v1")) == 2  # Ollama
    assert default_concurrency(profile("https://api.openai.com/v1")) == 16
    assert default_concurrency(profile("http://127.0.0.1:8000/v1")) == 8
    assert default_concurrency(profile("https://api.openai.com/v1", concurrency=3)) == 3
    pool = EndpointProfile(base_urls=["http://a:8000/v1", "http://b:8000/v1/"], model="m")
    replicas = replica_profiles(pool)
    assert [p.urls for p in replicas] == [["http://a:8000/v1"], ["http://b:8000/v1"]]
    single = profile("http://a/v1")
    assert replica_profiles(single) == [single]


def test_first_window_is_small_and_read_ahead_forwards_errors(tmp_path: Path) -> None:
    library = load_library([write_bank(tmp_path / "banks")])
    resolver = RowResolver(library, OfflineGrader().info)
    ids = ["q-rag", "q-cache", "q-rag", "q-lora", "q-cache", "q-rag"]
    tasks = []
    for n, qid in enumerate(ids, start=1):
        task = resolver.resolve(InputRow("f", n, n, answer=f"answer {n}", question_id=qid))
        assert isinstance(task, RowTask)
        tasks.append(task)
    ordered = [t.row.row for t in group_by_question(tasks, window=4, first=2)]
    # Windows: rows 1-2, then rows 3-6 grouped by question (q-rag, q-lora, q-cache).
    assert ordered[:2] == [1, 2]
    assert set(ordered[2:4]) == {3, 6}
    assert ordered[4:] == [4, 5]

    def broken() -> Any:
        yield tasks[0]
        raise InputError("in.csv: cannot read (I/O error).")

    ahead = Prefetch(broken(), size=1)
    assert next(ahead) is tasks[0]
    with pytest.raises(InputError, match="I/O error"):
        next(ahead)
    with pytest.raises(StopIteration):
        next(ahead)
    assert list(Prefetch(iter(tasks), size=2)) == tasks


@pytest.mark.parametrize("window", [2000, 7])
def test_job_grades_the_rows_pending_tasks_would_in_the_same_order(
    tmp_path: Path, window: int
) -> None:
    """A small input is graded from the scan's rows; a large one is read again: same order."""
    rows = bank_rows(30)
    rows[4]["answer"] = rows[1]["answer"]  # a repeat, to be numbered alike by both paths
    rows[4]["question_id"] = rows[1]["question_id"]
    job = make_job(tmp_path, rows, [Replica("r", FakeGrader(), 1)], window=window)
    with job:
        job.open()
        assert job.state is not None
        expected = pending_tasks(job.readers, job.library, job.info, job.state, window=window)
        assert [t.key for t in job.tasks()] == [t.key for t in expected]
        assert len({t.key for t in job.tasks()}) == 30
