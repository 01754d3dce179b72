"""Batch grading throughput and memory.

Usage: python benchmarks/batch.py [--rows 2000] [--concurrency 64] [--delay 0.2]
                                  [--stream-rows 100000] [--cli-rows 2000] [--repeat 3]
                                  [--parts concurrency,stream,cli] [--out FILE]

1. **Concurrency**: a loopback ChatServer (tests/chat_server.py, run in its own process so
   its Python work does not compete with the client for the GIL or count as client CPU)
   answers every request after a fixed delay with a grade fitted to the prompt. ``--rows``
   distinct answers are graded through the real LLMGrader (openai SDK, HTTP) by the batch
   engine at ``--concurrency``. Printed: wall time of the grading run, the ideal
   (rows x delay / concurrency), their ratio (target <= 1.2), client CPU seconds per 1,000
   rows, and the client's peak RSS.
2. **Streaming**: ``--stream-rows`` rows through `interviewer grade --grader offline`
   (the real command: scan, grade, results file, CSV summary and reports) in a fresh
   process; printed: wall time, rows/s and peak RSS (target < 250 MB).
3. **Whole command against a bare loop**: a ``--cli-rows`` CSV through
   `python -m interviewer grade` against the test server at ``--concurrency``, and the same
   request bodies sent by a bare AsyncOpenAI loop (same SDK, same server, same in-flight
   limit), each a whole process timed from launch to exit, alternately ``--repeat`` times;
   printed: each wall time and CPU time, and the ratio command / bare loop (target <= 1.2).
   Then the same CSV once with the offline grader.

Input files are generated in a temporary directory. JSON goes to
benchmarks/results/batch.json. Each part runs in its own process, so every peak RSS
(``resource.getrusage``) belongs to that part alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_OUT = REPO / "benchmarks" / "results" / "batch.json"
QUESTIONS = 24
TOPICS = [
    ("cache", "a KV cache", "keys values previous tokens attention recomputation memory"),
    ("lora", "LoRA", "frozen weights low-rank update adapters parameters merge"),
    ("rag", "retrieval-augmented generation", "retrieval documents context grounding index age"),
    ("quant", "quantization", "precision int8 weights activations calibration error"),
    ("moe", "a mixture of experts", "router experts sparse tokens capacity balance"),
    ("rlhf", "RLHF", "reward model preferences policy optimisation human labels"),
]


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux and bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- inputs


def write_bank(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["bank:", "  id: bench", "  title: Benchmark bank", "  language: en", "questions:"]
    for n in range(QUESTIONS):
        slug, name, words = TOPICS[n % len(TOPICS)]
        terms = words.split()
        lines += [
            f"  - id: {slug}-{n:02d}",
            f"    question: Explain {name} (variant {n}) and when it helps.",
            f"    reference: {name.capitalize()} relies on {terms[0]} and {terms[1]}; it"
            f" changes {terms[2]} and {terms[3]}, at a cost in {terms[4]}.",
            "    key_points:",
            f"      - {terms[0]} and {terms[1]}",
            f"      - {terms[2]} {terms[3]}",
            f"      - {terms[4]} {terms[5]}",
        ]
    (folder / "bench.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_answers(path: Path, rows: int, seed: int = 7) -> Path:
    """Rows in shuffled question order (so grouping by question has work to do)."""
    rng = random.Random(seed)
    filler = ["in", "practice", "latency", "and", "cost", "trade", "off", "against", "quality"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("id,candidate,question_id,answer\n")
        for i in range(rows):
            n = rng.randrange(QUESTIONS)
            slug, _, words = TOPICS[n % len(TOPICS)]
            chosen = rng.sample(words.split(), k=rng.randint(1, 6))
            answer = " ".join(chosen + rng.sample(filler, k=rng.randint(3, len(filler))))
            fh.write(f"a{i},cand{i % 997},{slug}-{n:02d},{answer} (answer {i})\n")
    return path


# --------------------------------------------------------------------------- part 1


def serve(delay: float) -> None:
    """Child process: a ChatServer grading every request after ``delay`` seconds.

    Each ``stats`` line on stdin is answered with a JSON line: the wall-clock times of the
    first and last chat request since the previous one, and their count.
    """
    import threading

    from tests.batch_support import grading_handler
    from tests.chat_server import ChatServer, Reply, Request

    lock = threading.Lock()
    seen: list[float] = []

    def handler(request: Request) -> Reply:
        with lock:
            seen.append(time.time())
        return grading_handler(request)

    server = ChatServer(delay=delay, handler=handler, record=False).start()
    print(server.url, flush=True)
    for line in sys.stdin:  # until the parent closes our stdin
        if line.strip() == "stats":
            with lock:
                stats = {"first": min(seen, default=0.0), "last": max(seen, default=0.0)}
                stats["requests"] = len(seen)
                seen.clear()
            print(json.dumps(stats), flush=True)
    server.stop()


def server_stats(server: subprocess.Popen[str]) -> dict[str, float]:
    """The first and last request times the server saw since the last call."""
    assert server.stdin is not None
    assert server.stdout is not None
    server.stdin.write("stats\n")
    server.stdin.flush()
    return dict(json.loads(server.stdout.readline()))


def run_concurrency(rows: int, concurrency: int, delay: float, work: Path) -> dict[str, Any]:
    """Child process: grade ``rows`` answers through LLMGrader against the server."""
    import openai  # noqa: F401  (imported before timing, as any long run pays it once)

    from interviewer.bank.library import load_library
    from interviewer.batch.inputs import InputReader
    from interviewer.batch.job import BatchJob
    from interviewer.batch.replicas import Replica
    from interviewer.config import EndpointProfile
    from interviewer.grading.llm_grader import LLMGrader

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        banks = write_bank(work / "banks")
        source = write_answers(work / "answers.csv", rows)
        profile = EndpointProfile(name="bench", base_url=url, model="test-model", max_retries=0)
        grader = LLMGrader(profile)
        job = BatchJob(
            readers=[InputReader(source)],
            library=load_library([banks]),
            replicas=[Replica(url, grader, concurrency)],
            results=work / "results.jsonl",
        )
        with job:
            scan = job.open()
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            result = job.run()
            wall = time.perf_counter() - wall0
            cpu = cpu_seconds() - cpu0
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    ideal = rows * delay / concurrency
    return {
        "rows": rows,
        "to_grade": scan.to_grade,
        "graded": result.counts.graded,
        "ungraded": result.counts.ungraded,
        "concurrency": concurrency,
        "delay_s": delay,
        "wall_s": round(wall, 3),
        "ideal_s": round(ideal, 3),
        "ratio": round(wall / ideal, 3),
        "cpu_s_per_1000_rows": round(1000 * cpu / rows, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "target_ratio": 1.2,
    }


# --------------------------------------------------------------------------- part 2


def run_stream(rows: int, work: Path) -> dict[str, Any]:
    """Child process: stream ``rows`` rows through `interviewer grade --grader offline`."""
    from interviewer.cli import app

    banks = write_bank(work / "banks")
    source = write_answers(work / "stream.csv", rows, seed=11)
    out = work / "stream" / "results.jsonl"
    rss_before = peak_rss_mb()
    wall0 = time.perf_counter()
    try:
        app(
            [
                "grade",
                str(source),
                "--out",
                str(out),
                "--bank-dir",
                str(banks),
                "--grader",
                "offline",
            ],
            standalone_mode=False,
        )
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    wall = time.perf_counter() - wall0
    with out.open("rb") as fh:
        written = sum(1 for _ in fh)
    return {
        "rows": rows,
        "exit_status": status,
        "lines_written": written,
        "input_mb": round(source.stat().st_size / 1e6, 1),
        "results_mb": round(out.stat().st_size / 1e6, 1),
        "wall_s": round(wall, 1),
        "rows_per_s": round(rows / wall, 1),
        "peak_rss_mb_before": round(rss_before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "target_peak_rss_mb": 250,
    }


# --------------------------------------------------------------------------- part 3


def run_bare(bodies: Path, url: str, concurrency: int) -> dict[str, Any]:
    """Child process: send the grade command's own request bodies with a bare AsyncOpenAI loop.

    The floor for the whole command: the same SDK, server, requests and in-flight limit, with
    nothing but sending and reading replies (no input, prompts, validation or results file).
    """
    import asyncio

    import openai

    requests = [json.loads(line) for line in bodies.read_text(encoding="utf-8").splitlines()]

    async def loop() -> int:
        client = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
        limit = asyncio.Semaphore(concurrency)
        replies = 0

        async def one(body: dict[str, Any]) -> None:
            nonlocal replies
            async with limit:
                reply = await client.chat.completions.create(**body)
                if reply.choices[0].message.content:
                    replies += 1

        await asyncio.gather(*(one(body) for body in requests))
        await client.close()
        return replies

    return {"requests": len(requests), "replies": asyncio.run(loop())}


def timed(
    cmd: list[str], env: dict[str, str], server: subprocess.Popen[str], delay: float
) -> tuple[dict[str, float], subprocess.CompletedProcess[str]]:
    """Run ``cmd`` against ``server``: its wall and CPU seconds, how long it took to send
    its first request, and how long it ran after its last reply; and the finished process.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    wall0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - wall0
    end = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    seen = server_stats(server)
    figures = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
    if seen["requests"]:
        figures["before_first_s"] = round(seen["first"] - start, 2)
        figures["after_last_s"] = round(end - seen["last"] - delay, 2)
    return figures, done


def request_bodies(url: str, banks: Path, source: Path, out: Path) -> Path:
    """The request body of every row, as the LLM grader builds it, one JSON line each."""
    from interviewer.bank.library import load_library
    from interviewer.batch.inputs import InputReader
    from interviewer.batch.rows import RowResolver, RowTask, iter_items
    from interviewer.config import EndpointProfile
    from interviewer.grading.llm_grader import LLMGrader

    grader = LLMGrader(EndpointProfile(name="bench", base_url=url, model="test-model"))
    resolver = RowResolver(load_library([banks]), grader.info)
    with out.open("w", encoding="utf-8") as fh:
        for task in iter_items([InputReader(source)], resolver):
            assert isinstance(task, RowTask)
            body = grader.request_body(task.question, task.row.answer)
            fh.write(json.dumps(body, ensure_ascii=False) + "\n")
    return out


def run_cli(work: Path, rows: int, delay: float, concurrency: int, repeat: int) -> dict[str, Any]:
    """`python -m interviewer grade` against the test server, beside a bare AsyncOpenAI loop.

    Both are whole processes (interpreter start-up, imports, tear-down included), run
    alternately ``repeat`` times against the same server; then the offline grader once.
    """
    banks = write_bank(work / "banks")
    source = write_answers(work / "cli.csv", rows, seed=3)
    env = {**os.environ, "INTERVIEWER_HOME": str(work / "home")}
    figures: dict[str, Any] = {"rows": rows, "concurrency": concurrency, "delay_s": delay}
    runs: dict[str, list[dict[str, Any]]] = {"llm": [], "bare": [], "offline": []}
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        bodies = request_bodies(url, banks, source, work / "bodies.jsonl")
        bare = [sys.executable, __file__, "--part", "bare", "--work", str(bodies), "--url", url]
        bare += ["--concurrency", str(concurrency)]
        grade = [sys.executable, "-m", "interviewer", "grade", str(source), "--bank-dir"]
        grade += [str(banks), "--concurrency", str(concurrency)]
        llm = ["--grader", "llm", "--base-url", url, "--model", "test-model"]
        for n in range(repeat):
            times, done = timed(bare, env, server, delay)
            if done.returncode != 0:
                sys.stderr.write(done.stderr)
                raise SystemExit("the bare loop failed")
            runs["bare"].append(times)
            out = work / f"cli-llm-{n}" / "results.jsonl"
            times, done = timed([*grade, "--out", str(out), *llm], env, server, delay)
            runs["llm"].append(_cli_run(out, times, done))
        out = work / "cli-offline" / "results.jsonl"
        times, done = timed([*grade, "--out", str(out), "--grader", "offline"], env, server, delay)
        runs["offline"].append(_cli_run(out, times, done))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    figures.update(runs)
    figures["ideal_s"] = round(rows * delay / concurrency, 3)
    figures["ratios"] = [
        round(g["wall_s"] / b["wall_s"], 3) for g, b in zip(runs["llm"], runs["bare"], strict=True)
    ]
    # CPU time is the steadier figure on a shared machine, where a single-threaded loop
    # starved of a core stretches its wall time.
    figures["cpu_ratios"] = [
        round(g["cpu_s"] / b["cpu_s"], 3) for g, b in zip(runs["llm"], runs["bare"], strict=True)
    ]
    figures["target_ratio"] = 1.2
    return figures


def _cli_run(
    out: Path, times: dict[str, float], done: subprocess.CompletedProcess[str]
) -> dict[str, Any]:
    written = 0
    if out.exists():
        with out.open("rb") as fh:
            written = sum(1 for _ in fh)
    return {
        **times,
        "exit_status": done.returncode,
        "lines_written": written,
        "reports": sorted(p.name for p in out.parent.iterdir() if p != out),
    }


# --------------------------------------------------------------------------- driver


def child(part: str, args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--part", part, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"part {part} failed ({done.returncode})")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def print_concurrency(c: dict[str, Any]) -> None:
    print(
        f"LLM grading: {c['rows']} rows at concurrency {c['concurrency']}, {c['delay_s']}s per"
        f" request: wall {c['wall_s']:.2f}s, ideal {c['ideal_s']:.2f}s, ratio {c['ratio']:.2f}"
        f" (target <= 1.2); CPU {c['cpu_s_per_1000_rows']:.2f}s per 1,000 rows; peak RSS"
        f" {c['peak_rss_mb']:.0f} MB; graded {c['graded']}, ungraded {c['ungraded']}"
    )


def print_stream(s: dict[str, Any]) -> None:
    print(
        f"Streaming: {s['rows']} rows through the offline grader (interviewer grade):"
        f" {s['wall_s']:.0f}s ({s['rows_per_s']:.0f} rows/s), peak RSS {s['peak_rss_mb']:.0f} MB"
        f" (target < 250 MB); {s['lines_written']} result lines, exit {s['exit_status']}"
    )


def print_cli(e: dict[str, Any]) -> None:
    rows = e["rows"]
    print(
        f"Whole command vs bare AsyncOpenAI loop: {rows} rows, {e['concurrency']} in flight,"
        f" {e['delay_s']}s per request (ideal {e['ideal_s']:.2f}s)"
    )
    for grade, bare, ratio, cpu in zip(
        e["llm"], e["bare"], e["ratios"], e["cpu_ratios"], strict=True
    ):
        print(
            f"  interviewer grade {grade['wall_s']:.2f}s ({1000 * grade['cpu_s'] / rows:.2f} CPU-s"
            f" per 1,000 rows, exit {grade['exit_status']}, {grade['lines_written']} lines);"
            f" bare loop {bare['wall_s']:.2f}s ({1000 * bare['cpu_s'] / rows:.2f} CPU-s per"
            f" 1,000 rows); wall ratio {ratio:.2f} (target <= 1.2), CPU ratio {cpu:.2f}"
        )
        print(
            f"    first request after {grade['before_first_s']:.2f}s (bare"
            f" {bare['before_first_s']:.2f}s); exit {grade['after_last_s']:.2f}s after the last"
            f" reply (bare {bare['after_last_s']:.2f}s)"
        )
    ratios, cpus = e["ratios"], e["cpu_ratios"]
    print(
        f"  wall ratio range {min(ratios):.2f}-{max(ratios):.2f};"
        f" CPU ratio range {min(cpus):.2f}-{max(cpus):.2f}"
    )
    offline = e["offline"][0]
    print(
        f"End to end (offline): {rows} rows, exit {offline['exit_status']},"
        f" {offline['wall_s']:.1f}s, {offline['lines_written']} result lines"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--stream-rows", type=int, default=100_000)
    parser.add_argument("--cli-rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parts", default="concurrency,stream,cli")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve is not None:
        serve(args.serve)
        return
    if args.part:
        work = args.work
        if args.part == "concurrency":
            figures = run_concurrency(args.rows, args.concurrency, args.delay, work)
        elif args.part == "stream":
            figures = run_stream(args.stream_rows, work)
        elif args.part == "bare":
            figures = run_bare(work, args.url, args.concurrency)
        else:
            figures = run_cli(work, args.cli_rows, args.delay, args.concurrency, args.repeat)
        print(json.dumps(figures))
        return

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        base = Path(tmp)
        common = [
            "--rows",
            str(args.rows),
            "--concurrency",
            str(args.concurrency),
            "--delay",
            str(args.delay),
            "--stream-rows",
            str(args.stream_rows),
            "--cli-rows",
            str(args.cli_rows),
            "--repeat",
            str(args.repeat),
        ]
        parts: dict[str, dict[str, Any]] = {}
        for part in args.parts.split(","):
            work = base / part
            work.mkdir()
            print(f"running {part}…", file=sys.stderr, flush=True)
            parts[part] = child(part, [*common, "--work", str(work)])

    if "concurrency" in parts:
        print_concurrency(parts["concurrency"])
    if "stream" in parts:
        print_stream(parts["stream"])
    if "cli" in parts:
        print_cli(parts["cli"])
    payload = {
        "benchmark": "batch",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **{"end_to_end" if k == "cli" else k: v for k, v in parts.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    main()
