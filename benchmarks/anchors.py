"""Anchors: how far a few hand-scored answers per question bring grades onto the human scale.

Usage: python benchmarks/anchors.py [FILE ...] [--data DIR] [--repeats N] [--out FILE]

Each *-dev.jsonl file in DIR (default ./grading-data, or $INTERVIEWER_GRADING_DATA;
any scored JSONL files may be named instead) is graded by the offline grader through the batch
engine. Then, for k = 3, 5 and 10 anchors per question, k answers of every question are drawn
at random as anchors (at most all but one of a question's answers), the anchor map of
``interviewer grade`` (interviewer.batch.anchors: global monotone map plus a shrunk offset per
question) is fitted on them, and the *other* answers are scored with it. Figures against the
human scores of those other answers: MAE on the set's scale and Pearson's r, for the map and
for plain rescaling (score / 100 x max), averaged over ``--repeats`` draws (seeded).

JSON goes to benchmarks/results/anchors.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from agreement import grade_offline  # noqa: E402

from interviewer.batch.anchors import Point, calibrate  # noqa: E402
from interviewer.evaluation.data import ScoredRow, open_scored, read_scored  # noqa: E402
from interviewer.evaluation.metrics import mae, pearson  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("INTERVIEWER_GRADING_DATA", "grading-data"))
DEFAULT_OUT = REPO / "benchmarks" / "results" / "anchors.json"
KS = (3, 5, 10)


def draw(groups: dict[str, list[int]], k: int, rng: random.Random) -> set[int]:
    """k rows of every question (all but one when it has no more), as anchors."""
    chosen: set[int] = set()
    for rows in groups.values():
        chosen.update(rng.sample(rows, min(k, len(rows) - 1)))
    return chosen


def one_draw(
    rows: Sequence[ScoredRow], scores: Sequence[float], qids: Sequence[str], anchors: set[int]
) -> dict[str, float]:
    points = [
        Point(
            key=str(i),
            group=qids[i],
            score=scores[i],
            maximum=rows[i].max_score,
            human=rows[i].human if i in anchors else None,
        )
        for i in range(len(rows))
    ]
    calibration = calibrate(points)
    assert calibration is not None
    test = [i for i in range(len(rows)) if i not in anchors]
    human = [rows[i].human for i in test]
    mapped = [calibration.calibrated(points[i]) or 0.0 for i in test]
    plain = [scores[i] / 100 * rows[i].max_score for i in test]
    ones = [1] * len(test)
    return {
        "mae": mae(mapped, human, ones),
        "pearson": pearson(mapped, human, ones),
        "plain_mae": mae(plain, human, ones),
        "plain_pearson": pearson(plain, human, ones),
        "test_rows": float(len(test)),
    }


def run_set(path: Path, scratch: Path, repeats: int, seed: int) -> dict[str, Any]:
    name = path.stem
    rows = read_scored(open_scored(path))
    graded, _questions, _ms = grade_offline(path, rows, scratch / f"{name}.offline.jsonl")
    keep = [i for i, s in enumerate(graded) if s is not None]
    rows = [rows[i] for i in keep]
    scores = [float(graded[i] or 0.0) for i in keep]
    qids = [r.qid or (r.row.question or "") for r in rows]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(qids):
        groups[q].append(i)
    scale = rows[0].max_score
    print(f"{name}: {len(rows)} answers, {len(groups)} questions, scale 0-{scale:g}")
    print("   k   MAE map  MAE plain  ratio   r map  r plain   Δr")
    out: dict[str, Any] = {"answers": len(rows), "questions": len(groups), "scale": scale}
    for k in KS:
        rng = random.Random(f"{seed}/{name}/{k}")
        runs = [one_draw(rows, scores, qids, draw(groups, k, rng)) for _ in range(repeats)]
        figures = {m: statistics.fmean(r[m] for r in runs) for m in runs[0]}
        ratio = figures["mae"] / figures["plain_mae"]
        delta = figures["pearson"] - figures["plain_pearson"]
        print(
            f"  {k:2d}  {figures['mae']:8.3f}  {figures['plain_mae']:9.3f}  {ratio:5.2f}"
            f"  {figures['pearson']:6.3f}  {figures['plain_pearson']:7.3f}  {delta:+.3f}"
        )
        out[str(k)] = {**figures, "mae_ratio": ratio, "pearson_change": delta}
    print()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    files = args.files or sorted(args.data.glob("*-dev.jsonl"))
    if not files:
        print(f"No *-dev.jsonl files in {args.data}; name scored files or pass --data.")
        return 1
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            results[path.stem] = run_set(path, Path(tmp), args.repeats, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"Written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
