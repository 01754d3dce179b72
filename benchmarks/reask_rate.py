"""How many grades need a second call, against a scripted mix of grammar-valid replies.

Usage: python benchmarks/reask_rate.py [--repo DIR] [--rounds N]

The loopback chat server (tests/chat_server.py) plays a grammar-constrained model: every
first reply is valid under the JSON schema the grader sent, in one of these forms, in turn:

- full: a complete grade;
- smallest: the least the schema allows (empty arrays, where the schema has arrays);
- short: one key point and one criterion fewer (where arrays allow it);
- think-quote: a complete grade whose quote holds a ``</think>`` copied from the answer;
- raw-newline: a complete grade with a raw newline and tab inside a string (llama.cpp and
  Ollama grammars let them through);
- duplicate: a complete grade with correctness given a second time at level 0 (where arrays
  allow it; it does not cost a call, it silently changes the score).

A re-ask (a request carrying the previous reply) is answered with a complete grade. The
figures printed: grades, calls, grades that needed a second call, ungraded grades, and the
score each form ended with. ``--repo``
imports ``interviewer`` and ``tests.chat_server`` from another checkout, so the same script
measures an older version of the grader (e.g. ``--repo ../main``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

KINDS = ("full", "smallest", "short", "think-quote", "raw-newline", "duplicate")
ANSWER = "A model prints </think> when done. Python dicts are hash tables with O(1) lookups."
QUOTES = ["prints </think> when done", "hash tables", "O(1) lookups"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo.resolve()))
    from interviewer.bank.library import Question
    from interviewer.config import EndpointProfile
    from interviewer.grading.llm_grader import LLMGrader
    from tests import chat_server as cs

    question = Question(
        id="bench-1",
        question="Why are Python dictionaries fast?",
        reference="A dict is a hash table: the key's hash selects a slot; lookups are O(1).",
        key_points=["models mark the end of reasoning", "dicts are hash tables", "O(1) lookups"],
    )
    criteria = [c.id for c in question.criteria]
    state = {"turn": 0}

    def handler(request: Any) -> Any:
        schema = request.response_format["json_schema"]["schema"]
        if len(request.messages) > 2:  # a re-ask: the previous reply is in the messages
            return cs.completion(json.dumps(reply(schema, "full", criteria)))
        kind = KINDS[state["turn"] % len(KINDS)]
        state["turn"] += 1
        text = json.dumps(reply(schema, kind, criteria), ensure_ascii=False)
        if kind == "raw-newline":
            text = text.replace("FEEDBACK", "Good.\n\tName the costs.")
        return cs.completion(text)

    outcomes: Counter[str] = Counter()
    scores: dict[str, set[float | None]] = {kind: set() for kind in KINDS}
    with cs.ChatServer() as server:
        server.handler = handler
        profile = EndpointProfile(
            name="bench", base_url=server.url, model="test-model", max_retries=0, seed=7
        )
        grader = LLMGrader(profile)
        for turn in range(args.rounds * len(KINDS)):
            kind = KINDS[turn % len(KINDS)]
            before = len(server.chat_requests)
            outcome = grader.grade(question, ANSWER)
            calls = len(server.chat_requests) - before
            scores[kind].add(outcome.score)
            outcomes["grades"] += 1
            outcomes["calls"] += calls
            outcomes["reasked"] += calls > 1
            outcomes["ungraded"] += outcome.grade is None
            if calls > 1:
                outcomes[f"reasked:{kind}"] += 1
        grader.close()
    grades = outcomes["grades"]
    print(f"repo {args.repo}")
    print(
        f"{grades} grades, {outcomes['calls']} calls, {outcomes['reasked']} needed a second call"
        f" ({100 * outcomes['reasked'] / grades:.0f}%), {outcomes['ungraded']} ungraded"
    )
    for kind in KINDS:
        shown = ", ".join(
            "ungraded" if s is None else f"{s:g}" for s in sorted(scores[kind], key=str)
        )
        print(
            f"  {kind:12s} second calls: {outcomes[f'reasked:{kind}']} of {args.rounds};"
            f" score {shown}"
        )


def reply(schema: dict[str, Any], kind: str, criteria: list[str]) -> dict[str, Any]:
    """A reply valid under ``schema`` (either the per-id object shape or the older arrays)."""
    props = schema["properties"]
    arrays = props["key_points"]["type"] == "array"
    count = len(QUOTES)
    quotes = QUOTES if kind == "think-quote" else ["", *QUOTES[1:]]
    points = [
        {"quote": quotes[i], "status": "covered" if quotes[i] else "missing"} for i in range(count)
    ]
    levels = [{"evidence": "e", "comment": "c", "level": 3} for _ in criteria]
    base: dict[str, Any] = {
        "factual_errors": [],
        "feedback": "FEEDBACK" if kind == "raw-newline" else "Good.",
        "stronger_answer": "",
        "follow_ups": [],
        "reference_issues": [],
    }
    if not arrays:
        if kind == "smallest":
            smallest: dict[str, Any] = cs_smallest(schema)
            return smallest
        base["key_points"] = {f"kp{i + 1}": p for i, p in enumerate(points)}
        base["criteria"] = dict(zip(criteria, levels, strict=True))
        return base
    old_points = [{"index": i + 1, **p} for i, p in enumerate(points)]
    old_levels = [
        {"criterion": cid, "evidence": "e", "comment": "c", "score": 3} for cid in criteria
    ]
    if kind == "smallest":
        old_points, old_levels = [], []
    elif kind == "short":
        old_points, old_levels = old_points[:-1], old_levels[:-1]
    elif kind == "duplicate":
        old_levels.append({"criterion": criteria[0], "evidence": "", "comment": "", "score": 0})
    return {**base, "key_points": old_points, "criteria": old_levels}


def cs_smallest(schema: dict[str, Any]) -> Any:
    """The smallest instance: every property, empty strings and lists, first enum value."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: cs_smallest(sub) for name, sub in schema["properties"].items()}
    return [] if kind == "array" else 0 if kind == "integer" else ""


if __name__ == "__main__":
    main()
