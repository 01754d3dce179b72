"""Builders for batch-grading tests and the batch benchmark: banks, input files, and a chat
handler that grades like a (very simple) model would.

``grading_handler`` reads the grading prompt the way a model does: it finds the numbered key
points and the candidate's answer between the marker lines, marks a key point covered when
the answer contains the point's first word, and scores the criteria from that coverage. So
replies always match the question's key point count and scores differ between answers.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from tests.chat_server import Reply, Request, completion, grade_json

BEGIN = "=== BEGIN CANDIDATE ANSWER ==="
END = "=== END CANDIDATE ANSWER ==="
_POINT = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)

BANK_YAML = """\
bank:
  id: tbank
  title: Test bank
  language: en
questions:
  - id: q-cache
    question: What does a KV cache store during decoding?
    reference: The keys and values of previous tokens, so attention does not recompute them.
    key_points:
      - keys and values of previous tokens are stored
      - attention avoids recomputing them
  - id: q-lora
    question: Why does LoRA train fewer parameters?
    reference: It freezes the base weights and learns a low-rank update of two small matrices.
    key_points:
      - base weights stay frozen
      - low-rank update with two small matrices
  - id: q-rag
    question: What problem does retrieval-augmented generation address?
    reference: Models lack fresh or private knowledge; retrieval adds relevant documents.
    key_points:
      - models lack fresh or private knowledge
      - retrieved documents are added to the prompt
"""

ANSWERS = [
    "Keys and values of earlier tokens are kept so attention does not recompute them.",
    "It stores stuff.",
    "Base weights are frozen and a low-rank update is learned.",
    "Low-rank matrices, small.",
    "Models lack fresh knowledge, so retrieved documents are added to the prompt.",
    "No idea.",
]


def write_bank(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tbank.yaml"
    path.write_text(BANK_YAML, encoding="utf-8")
    return folder


def bank_rows(count: int) -> list[dict[str, Any]]:
    """Rows answering the test bank's questions; every row is distinct."""
    ids = ["q-cache", "q-lora", "q-rag"]
    rows = []
    for i in range(count):
        qid = ids[i % 3]
        answer = ANSWERS[(i % 3) * 2 + (i // 3) % 2]
        rows.append(
            {
                "id": f"r{i}",
                "candidate": f"cand-{i}",
                "question_id": qid,
                "answer": f"{answer} #{i}",
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    columns = columns or list(rows[0])
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_results(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def prompt_parts(request: Request) -> tuple[list[str], str]:
    """The numbered key points and the candidate's answer of a grading request."""
    users = [m for m in request.messages if m.get("role") == "user"]
    text = str(users[0].get("content") or "") if users else request.prompt_text
    head, _, rest = text.partition("\n" + BEGIN)
    answer, _, _ = rest.partition(END)
    section = head.split("# Key points", 1)[-1].split("# Language", 1)[0]
    points = [m.group(2) for m in _POINT.finditer(section)]
    return points, answer.strip()


def grade_content(request: Request) -> str:
    points, answer = prompt_parts(request)
    lowered = answer.lower()
    statuses: list[tuple[str, str]] = []
    for point in points:
        first = point.split()[0].lower()
        statuses.append(("covered", "") if first in lowered else ("missing", ""))
    covered = sum(1 for s, _ in statuses if s == "covered")
    level = round(4 * covered / len(points)) if points else 2
    scores = {
        "correctness": level,
        "completeness": level,
        "depth": max(0, level - 1),
        "clarity": 3,
    }
    return grade_json(scores=scores, key_points=statuses, feedback=f"Covered {covered} points.")


def grading_handler(request: Request) -> Reply:
    return completion(grade_content(request))
