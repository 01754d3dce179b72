"""Grading a class: anchors on the teacher's scale, the gradebook, the per-candidate report,
blank answers, and `interviewer review` driven through a pseudo-terminal."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import select
import struct
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from tests.conftest import REPO
from tests.processes import child

runner = CliRunner()

STACK = ("What is a stack?", "A LIFO structure: push and pop happen at the top.")
HASH = ("What does a hash table give you?", "Average constant-time lookup by key via hashing.")
CLASS = [
    ("Ana", STACK, "A LIFO structure where push and pop happen at the top.", "5"),
    ("Ben", STACK, "Something like a queue.", "1"),
    ("Cy", STACK, "push and pop at the top", ""),
    ("Dee", STACK, "", ""),
    ("Ana", HASH, "Constant-time lookup by key via hashing.", "4"),
    ("Ben", HASH, "A sorted tree.", "0"),
    ("Cy", HASH, "lookup by key via hashing", ""),
    ("=cmd()", HASH, "Hashing.", ""),
]


def write_class(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["candidate", "question", "reference", "answer", "human_score"])
        for name, (question, reference), answer, score in CLASS:
            writer.writerow([name, question, reference, answer, score])
    return path


def grade(*args: str | Path) -> Any:
    return runner.invoke(app, ["grade", *[str(a) for a in args]])


def gradebook(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_class_file_gets_anchors_gradebook_and_sheets(tmp_path: Path) -> None:
    source = write_class(tmp_path / "class.csv")
    out = tmp_path / "results.jsonl"
    result = grade(source, "--out", out, "--grader", "offline", "--max-score", "5")
    assert result.exit_code == 0, result.output  # a blank answer is no invalid row
    assert "Anchors (hand-scored rows)" in result.stdout
    assert "4 on 2 question(s)" in result.stdout

    stored = json.loads((tmp_path / "results.calibration.json").read_text(encoding="utf-8"))
    assert stored["anchors"] == 4
    assert stored["default_max_score"] == 5
    assert stored["agreement"]["folds"] == 4

    summary = list(csv.DictReader(io.StringIO(
        (tmp_path / "results.summary.csv").read_text(encoding="utf-8-sig")
    )))  # fmt: skip
    by_candidate = {(r["candidate"], r["row"]): r for r in summary}
    assert by_candidate[("Ana", "1")]["calibrated_score"] == "5.0"  # an anchor keeps its own
    assert by_candidate[("Dee", "4")]["calibrated_score"] == "0.0"  # blank: 0 on any scale
    assert by_candidate[("Dee", "4")]["graded"] == "yes"
    cy = float(by_candidate[("Cy", "3")]["calibrated_score"])
    assert 0 <= cy <= 5
    assert by_candidate[("Cy", "3")]["human_score"] == ""

    book = gradebook(tmp_path / "results.gradebook.csv")
    assert book[0] == [
        "candidate",
        "What is a stack? (/5)",
        "What does a hash table give you? (/5)",
        "total",
        "out_of",
    ]
    rows = {r[0]: r[1:] for r in book[1:]}
    assert rows["Ana"] == ["5.0", "4.0", "9.0", "10.0"]
    assert rows["Dee"][0] == "0.0"
    assert rows["Dee"][1] == ""  # Dee did not answer the second question at all
    assert "'=cmd()" in rows  # a formula-leading name is neutralised
    assert rows["'=cmd()"][0] == ""  # no row for the first question: empty, yet counted
    assert rows["'=cmd()"][3] == "10.0"
    assert float(rows["Cy"][2]) == round(cy + float(rows["Cy"][1]), 2)

    markdown = (tmp_path / "results.report.md").read_text(encoding="utf-8")
    assert "adhoc-" not in markdown.split("## Weakest answers")[0]
    assert "## Candidates" in markdown
    assert "### Ana — total 9.00 / 10" in markdown
    assert "*(no answer)*" in markdown
    assert "Agreement on anchors, cross-validated" in markdown
    html = (tmp_path / "results.report.html").read_text(encoding="utf-8")
    assert html.count('<section class="sheet">') == 5
    assert "break-before:page" in html
    assert "&#x27;=cmd()" not in html  # the report shows the name as typed, escaped
    assert "=cmd()" in html


def test_many_candidates_keep_the_gradebook_but_not_the_sheets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interviewer.batch import class_report

    monkeypatch.setattr(class_report, "MAX_SHEETS", 2)
    source = write_class(tmp_path / "class.csv")
    out = tmp_path / "results.jsonl"
    assert grade(source, "--out", out, "--grader", "offline", "--max-score", "5").exit_code == 0
    book = gradebook(tmp_path / "results.gradebook.csv")
    assert len(book) == 1 + 5
    assert {r[0] for r in book[1:]} == {"Ana", "Ben", "Cy", "Dee", "'=cmd()"}
    markdown = (tmp_path / "results.report.md").read_text(encoding="utf-8")
    assert "5 candidates: one sheet per candidate is left out" in markdown
    assert "### Ana" not in markdown
    html = (tmp_path / "results.report.html").read_text(encoding="utf-8")
    assert '<section class="sheet">' not in html


def test_human_score_without_a_scale_is_refused(tmp_path: Path) -> None:
    source = write_class(tmp_path / "class.csv")
    result = grade(source, "--out", tmp_path / "r.jsonl", "--grader", "offline")
    assert result.exit_code == 1
    assert "human score but no maximum" in result.stderr
    assert "--max-score" in result.stderr


def test_a_run_without_scores_writes_no_calibration(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("question,reference,answer\nWhy?,Because.,Because.\n", encoding="utf-8")
    result = grade(path, "--out", tmp_path / "r.jsonl", "--grader", "offline")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "r.calibration.json").exists()
    assert not (tmp_path / "r.gradebook.csv").exists()


# --------------------------------------------------------------------------- review


def _read(fd: int, deadline: float, seen: bytearray) -> bool:
    """Add what the child wrote to ``seen``; False once it has closed the terminal."""
    ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
    if not ready:
        raise AssertionError(f"the review went quiet; got {bytes(seen)[-800:]!r}")
    try:
        chunk = os.read(fd, 4096)
    except OSError:  # EIO: the child has exited and closed its end
        return False
    seen += chunk
    return bool(chunk)


def _read_until(fd: int, needle: bytes, seen: bytearray, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while needle not in seen:
        if not _read(fd, deadline, seen):
            raise AssertionError(f"closed before {needle!r}; got {bytes(seen)[-800:]!r}")


def _read_to_end(fd: int, seen: bytearray, timeout: float = 60) -> None:
    """Everything the child writes until it closes the terminal."""
    deadline = time.monotonic() + timeout
    while _read(fd, deadline, seen):
        pass


def _review(results: Path, replies: list[bytes]) -> bytes:
    """Run `interviewer review` on a pseudo-terminal, answering each score prompt."""
    import pty

    main, secondary = pty.openpty()
    # A wide terminal, so that no line the test looks for is wrapped.
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {**os.environ, "NO_COLOR": "1"}
    seen = bytearray()
    with child(
        [sys.executable, "-m", "interviewer", "review", str(results)],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        cwd=REPO,
        env=env,
    ) as proc:
        os.close(secondary)
        try:
            for reply in replies:
                _read_until(main, b"q = quit): ", seen)
                del seen[: seen.rindex(b"q = quit): ") + 1]
                os.write(main, reply)
            _read_to_end(main, seen)
            assert proc.wait(timeout=60) == 0
        finally:
            os.close(main)
    return b" ".join(bytes(seen).split())  # lines as wrapped by the terminal, rejoined


def test_review_through_a_terminal_stores_anchors_and_resumes(tmp_path: Path) -> None:
    source = write_class(tmp_path / "class.csv")
    out = tmp_path / "results.jsonl"
    assert grade(source, "--out", out, "--grader", "offline", "--max-score", "5").exit_code == 0
    before = json.loads((tmp_path / "results.calibration.json").read_text(encoding="utf-8"))

    # Two answers are still without a hand score (Dee's blank one is never offered):
    # type 2 for the first, stop at the second.
    tail = _review(out, [b"2\n", b"q\n"])
    assert b"1 score(s) saved as anchors" in tail
    lines = (tmp_path / "results.anchors.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    first = json.loads(lines[0])
    assert (first["human_score"], first["max_score"]) == (2.0, 5.0)
    after = json.loads((tmp_path / "results.calibration.json").read_text(encoding="utf-8"))
    assert after["anchors"] == before["anchors"] + 1

    # Resumed: the scored row is not offered again; Enter accepts the suggestion.
    tail = _review(out, [b"\n", b"q\n"])
    assert b"1 score(s) saved as anchors" in tail
    lines = (tmp_path / "results.anchors.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[1])["key"] != first["key"]

    # A re-run of grade puts the reviewed scores in the gradebook as hand scores.
    assert grade(source, "--out", out, "--grader", "offline", "--max-score", "5").exit_code == 0
    summary = (tmp_path / "results.summary.csv").read_text(encoding="utf-8-sig")
    assert summary.count(",2.0,2.0\n") == 1  # human_score and calibrated_score of the row


def test_review_offers_questions_without_anchors_first(tmp_path: Path) -> None:
    from interviewer.batch.review import Review

    source = write_class(tmp_path / "class.csv")
    extra = '"Eve","Name a queue operation.","Enqueue adds at the back.","enqueue",""\n'
    with source.open("a", encoding="utf-8") as fh:
        fh.write(extra)
    out = tmp_path / "results.jsonl"
    assert grade(source, "--out", out, "--grader", "offline", "--max-score", "5").exit_code == 0
    review = Review.open(out)
    queue = review.queue()
    assert queue[0].question == "Name a queue operation."  # no anchor on that question yet
    assert all(r.answer for r in queue)  # the blank answer is never offered
    assert len(queue) == 4  # Cy twice, "=cmd()" and Eve; anchors are not offered
    suggestion = review.suggestion(queue[0])
    assert suggestion is not None
    assert 0 <= suggestion <= 5
    review.score(queue[0], 4.5)
    assert [r.key for r in review.queue()].count(queue[0].key) == 0
    assert review.calibration is not None
    assert review.calibration.anchors == 5
