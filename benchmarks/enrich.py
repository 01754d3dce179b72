"""`bank enrich` against the loopback chat server: concurrency and resuming.

Usage: python benchmarks/enrich.py [--delay SECONDS] [--copies N]

The largest bundled bank, repeated N times under fresh ids (default 4), is enriched against
tests/chat_server.py answering every request after ``--delay`` seconds (default 0.2), at
concurrency 1, 4 and 16; then each run is repeated with the same --out, which must send
nothing and take its replies from the journal. Prints wall time, the ideal time
(questions x delay / concurrency) and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ["INTERVIEWER_HOME"] = tempfile.mkdtemp(prefix="interviewer-bench-")

from interviewer.authoring.enrich_run import enrich_bank  # noqa: E402
from interviewer.bank.library import Bank, load_library  # noqa: E402
from interviewer.config import EndpointProfile  # noqa: E402
from tests.chat_server import ChatServer, Reply, Request, completion  # noqa: E402


def bank_of(copies: int) -> Bank:
    largest = max(load_library([REPO / "bank"]).banks, key=lambda b: len(b.questions))
    questions = tuple(
        q.model_copy(update={"id": f"{q.id}-c{n}", "question": f"{q.question} ({n})"})
        for n in range(copies)
        for q in largest.questions
    )
    return Bank(info=largest.info, questions=questions, path=largest.path)


def reply(request: Request) -> Reply:
    # Copy the first clause of the reference, so the point passes the support check.
    prompt = request.prompt_text
    reference = prompt.split("Reference answer:\n", 1)[1].split("\n", 1)[0][:40]
    payload = {
        "key_points": [reference],
        "topic": "bench",
        "difficulty": "medium",
        "tags": ["bench"],
        "follow_ups": [{"question": "Why?", "probes": [1], "reference": "Because."}],
        "reference_notes": "",
    }
    return completion(json.dumps(payload, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    bank = bank_of(args.copies)
    count = len(bank.questions)
    with ChatServer(delay=args.delay) as server:
        server.handler = reply
        profile = EndpointProfile(name="bench", base_url=server.url, model="test-model")
        for concurrency in (1, 4, 16):
            out = Path(tempfile.mkdtemp(prefix="enrich-bench-")) / "draft.yaml"
            start = time.perf_counter()
            first = enrich_bank(bank, out, profile, concurrency=concurrency)
            wall = time.perf_counter() - start
            ideal = count * args.delay / concurrency
            start = time.perf_counter()
            again = enrich_bank(bank, out, profile, concurrency=concurrency)
            resumed = time.perf_counter() - start
            print(
                f"{count} questions, concurrency {concurrency:>2}: {wall:6.2f} s"
                f" (ideal {ideal:5.2f} s, ratio {wall / ideal:4.2f}), sent {first.sent};"
                f" rerun {resumed:5.2f} s, sent {again.sent}, from journal {again.resumed}"
            )


if __name__ == "__main__":
    main()
