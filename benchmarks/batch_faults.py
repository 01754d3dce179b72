"""Batch grading under load with a faulty endpoint: nothing may be lost.

Usage: python benchmarks/batch_faults.py [--rows 20000] [--concurrency 64] [--delay 0.01]
                                         [--broken 0.02] [--slow 0.01] [--errors 0.02]
                                         [--truncated 0.01] [--timeout 2] [--out FILE]

A loopback ChatServer (tests/chat_server.py, in its own process) answers with a seeded fault
mix (``fault_mix``): ``--broken`` replies that are not chat completions (HTML, text, a JSON
array, JSON nested 100,000 deep, wrong shapes), ``--slow`` replies that come after
``--timeout`` + 1 s (so the request's deadline cuts them off and the SDK retries), ``--errors``
500s (retried by the SDK), ``--truncated`` cut-off grades; the rest are valid grades after
``--delay`` s. `python -m interviewer grade` grades ``--rows`` distinct CSV rows at
``--concurrency`` through an endpoint profile with that timeout and two retries.

Printed: wall time, rows/s, the grade process's peak RSS (``RUSAGE_CHILDREN``, measured before
the server process is reaped), the exit status, the results by status and ungraded reason,
and the check: every input row has exactly one result line, and every ungraded one has a
reason and a detail. JSON goes to benchmarks/results/batch_faults.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.batch_support import bank_rows, write_bank, write_csv  # noqa: E402

DEFAULT_OUT = REPO / "benchmarks" / "results" / "batch_faults.json"


def serve(rates: dict[str, float], delay: float, slow: float) -> None:
    """Child process: the faulty server; prints its URL, stops when stdin closes."""
    from tests.chat_server import ChatServer, fault_mix

    handler = fault_mix(rates, seed=11, slow=slow)
    server = ChatServer(delay=delay, handler=handler, record=False).start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


def check(results: Path, rows: int) -> dict[str, Any]:
    """Every row has exactly one result line; every ungraded line says why."""
    per_row: Counter[tuple[str, int]] = Counter()
    status: Counter[str] = Counter()
    unexplained = 0
    with results.open("rb") as fh:
        for raw in fh:
            record = json.loads(raw)
            per_row[(record["source"], record["row"])] += 1
            if record["graded"]:
                status["graded"] += 1
                continue
            reason = record.get("ungraded_reason")
            status[f"ungraded: {reason}"] += 1
            if not reason or not record["outcome"].get("ungraded_detail"):
                unexplained += 1
    missing = rows - len(per_row)
    repeated = sum(1 for n in per_row.values() if n > 1)
    return {
        "lines": sum(per_row.values()),
        "rows_with_a_result": len(per_row),
        "missing": missing,
        "rows_with_more_than_one_line": repeated,
        "ungraded_without_reason": unexplained,
        "by_status": dict(status.most_common()),
        "ok": missing == 0 and repeated == 0 and unexplained == 0,
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    banks = write_bank(work / "banks")
    source = write_csv(work / "answers.csv", bank_rows(args.rows))
    home = work / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        "[endpoints.faulty]\n"
        'base_url = "http://127.0.0.1:1/v1"\n'  # replaced by --base-url below
        'model = "test-model"\n'
        f"timeout = {args.timeout}\n"
        "max_retries = 2\n",
        encoding="utf-8",
    )
    rates = {
        "broken": args.broken,
        "slow": args.slow,
        "server_error": args.errors,
        "truncated": args.truncated,
    }
    serve_args = [json.dumps(rates), str(args.delay), str(args.timeout + 1)]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", *serve_args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        out = work / "out" / "results.jsonl"
        command = [sys.executable, "-m", "interviewer", "grade", str(source), "--out", str(out)]
        command += ["--bank-dir", str(banks), "--endpoint", "faulty", "--base-url", url]
        command += ["--concurrency", str(args.concurrency)]
        env = {**os.environ, "INTERVIEWER_HOME": str(home), "NO_COLOR": "1"}
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
        wall = time.perf_counter() - start
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=60)
    if not out.exists():
        sys.stderr.write(done.stderr)
        raise SystemExit(f"grade wrote no results (exit {done.returncode})")
    scale = 1024 if sys.platform == "darwin" else 1
    return {
        "rows": args.rows,
        "concurrency": args.concurrency,
        "delay_s": args.delay,
        "timeout_s": args.timeout,
        "fault_rates": rates,
        "wall_s": round(wall, 2),
        "rows_per_s": round(args.rows / wall, 1),
        "peak_rss_mb": round(peak_kib / 1024 / scale, 1),
        "exit_status": done.returncode,
        "stderr_tail": done.stderr.strip().splitlines()[-3:],
        "check": check(out, args.rows),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.01)
    parser.add_argument("--broken", type=float, default=0.02)
    parser.add_argument("--slow", type=float, default=0.01)
    parser.add_argument("--errors", type=float, default=0.02)
    parser.add_argument("--truncated", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        rates, delay, slow = args.serve
        serve(json.loads(rates), float(delay), float(slow))
        return
    with tempfile.TemporaryDirectory() as folder:
        figures = run(args, Path(folder))
    checked = figures["check"]
    print(
        f"rows {figures['rows']} at concurrency {figures['concurrency']},"
        f" faults {figures['fault_rates']}"
    )
    print(
        f"wall {figures['wall_s']} s · {figures['rows_per_s']} rows/s · peak RSS"
        f" {figures['peak_rss_mb']} MB · exit {figures['exit_status']}"
    )
    print(f"results: {checked['by_status']}")
    print(
        f"check: {checked['rows_with_a_result']}/{figures['rows']} rows have a result,"
        f" {checked['rows_with_more_than_one_line']} have more than one line,"
        f" {checked['ungraded_without_reason']} ungraded without a reason"
        f" -> {'OK' if checked['ok'] else 'LOST OR DUPLICATED ROWS'}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if not checked["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
