"""Cost of the history database: import, writes, listing, stats and export.

Prints the median import time of `interviewer.history.store` (fresh interpreter, bytecode cached),
the time per saved answer (record_answer + record_outcome, each its own transaction, as in a
practice session), and the time to list, summarise and export a history of N answers.
Writes JSON to benchmarks/results/history_store.json.

    python benchmarks/history_store.py [--answers 2000] [--runs 11]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from interviewer.grading.grade import (
    CriterionResult,
    Grade,
    GraderInfo,
    KeyPointResult,
    Outcome,
    Usage,
)
from interviewer.history.export import collect, render_export
from interviewer.history.stats import compute_stats
from interviewer.history.store import HistoryStore
from tests.history_fakes import make_question

REPO = Path(__file__).resolve().parent.parent


def import_ms(module: str, runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as cache:
        env["PYTHONPYCACHEPREFIX"] = cache
        code = (
            f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        )
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
        times = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(runs)
        ]
    return statistics.median(times) * 1000


def outcome(score: float, info: GraderInfo) -> Outcome:
    grade = Grade(
        score=score,
        criteria=[CriterionResult(criterion="correctness", name="Correctness", weight=1, score=3)],
        key_points=[KeyPointResult(index=1, text="point one", status="covered", quote="")],
        feedback="Solid answer; mention the trade-offs. " * 5,
    )
    return Outcome(grade=grade, info=info, raw_reply="{}" * 200, usage=Usage(prompt_tokens=900))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()

    results: dict[str, float] = {
        "import_history_ms": import_ms("interviewer.history.store", args.runs),
        "import_fsrs_ms": import_ms("fsrs", args.runs),
    }
    info = GraderInfo(kind="llm", model="bench", endpoint="http://127.0.0.1:1/v1")
    questions = [make_question(f"q{i}", topic=f"topic{i % 7}") for i in range(60)]
    with tempfile.TemporaryDirectory() as tmp:
        now = [datetime(2025, 1, 1, tzinfo=UTC)]
        store = HistoryStore(Path(tmp) / "history.db", clock=lambda: now[0])
        sid = store.start_session(mode="practice", grader=info)
        started = time.perf_counter()
        for i in range(args.answers):
            now[0] += timedelta(minutes=17)
            q = questions[i % len(questions)]
            attempt = store.record_answer(session_id=sid, question=q, answer="answer " * 80)
            store.record_outcome(attempt, outcome(30 + i % 70, info))
        results["save_answer_ms"] = (time.perf_counter() - started) / args.answers * 1000

        def timed(label: str, func: object) -> None:
            assert callable(func)
            begin = time.perf_counter()
            func()
            results[label] = (time.perf_counter() - begin) * 1000

        timed("list_20_ms", lambda: store.attempts(limit=20))
        timed("due_ids_ms", store.due_question_ids)
        timed("stats_ms", lambda: compute_stats(store))
        timed("export_html_ms", lambda: render_export(collect(store), "html"))
        timed("export_jsonl_ms", lambda: render_export(collect(store), "jsonl"))
        store.close()
        results["db_kib"] = (Path(tmp) / "history.db").stat().st_size / 1024

    width = max(len(k) for k in results)
    print(
        f"history store, {args.answers} answers ({sys.platform}, Python {sys.version.split()[0]})"
    )
    for key, value in results.items():
        print(f"  {key:<{width}}  {value:10.2f}")
    out = REPO / "benchmarks" / "results" / "history_store.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"answers": args.answers, **results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
