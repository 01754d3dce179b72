"""Which follow-up is asked first, on the bundled banks: does it probe the answer's top gap?

Usage: python benchmarks/follow_up_targets.py [--bank-dir DIR ...] [--covered N]

For every question with key points, a partial answer made of its first N key points (default
1) is graded by the offline grader, and the first follow-up the session would ask is chosen
(`session.follow_ups.choose`). Printed: how many of those probe the answer's most important
gap, how many come from the bank and from the grader, how many can be graded (the rest would
stay ungraded, no_reference), and how many of the banks' plain-string follow-ups match a key
point by their wording.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from interviewer.bank.library import load_library  # noqa: E402
from interviewer.grading.offline import OfflineGrader  # noqa: E402
from interviewer.session.follow_ups import (  # noqa: E402
    choose,
    gaps,
    matched_points,
    probe_question,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank-dir", action="append", type=Path, default=[])
    parser.add_argument("--covered", type=int, default=1, help="key points the answer states")
    args = parser.parse_args()
    library = load_library(args.bank_dir or [REPO / "bank"])
    grader = OfflineGrader()
    counts: Counter[str] = Counter()
    for question in library.questions:
        if len(question.key_points) <= args.covered:
            continue
        answer = "\n".join(question.key_points[: args.covered])
        grade = grader.grade(question, answer).grade
        if grade is None or not gaps(grade):
            continue
        counts["answers with a gap"] += 1
        chosen = choose(question, grade, 1)
        if not chosen:
            continue
        first = chosen[0]
        counts["first follow-up probes the top gap"] += gaps(grade)[0] in first.probes
        counts[f"first follow-up from the {first.source}"] += 1
        points = [kp.text for kp in grade.key_points]
        counts["first follow-up can be graded"] += (
            probe_question(question, first, points, 1) is not None
        )
    plain = [(q, text) for q in library.questions for text in q.follow_ups if isinstance(text, str)]
    matched = sum(bool(matched_points(t, q.key_points, q.question)) for q, t in plain)
    for name, value in counts.items():
        print(f"{name:40} {value}")
    print(f"{'plain bank follow-ups matching a point':40} {matched} of {len(plain)}")


if __name__ == "__main__":
    main()
