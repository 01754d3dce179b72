"""Reports from a results file: aggregation, the CSV summary, Markdown and the HTML page."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from interviewer.bank.library import Question
from interviewer.batch import report
from interviewer.batch.input_rows import InputRow
from interviewer.batch.report_data import histogram
from interviewer.batch.report_html import render_html
from interviewer.batch.report_markdown import render_markdown
from interviewer.batch.results import result_line, result_record
from interviewer.batch.rows import RowTask, row_hash
from interviewer.grading.grade import GraderInfo, Outcome
from interviewer.grading.offline import OfflineGrader

EVIL = "<script>alert('x')</script> | pipe"

Q1 = Question(
    id="q1",
    question="What does a KV cache store?",
    reference="The keys and values of previous tokens. It avoids recomputing attention.",
    key_points=["keys and values of previous tokens", "avoids recomputing attention"],
)
Q2 = Question(
    id="q2",
    question=f"Explain LoRA {EVIL}",
    reference="Frozen base weights plus a trained low-rank update.",
    key_points=["frozen base weights", "trained low-rank update"],
)


def record(
    question: Question,
    answer: str,
    row: int,
    *,
    source: str = "in.csv",
    candidate: str | None = None,
    ungraded: str | None = None,
) -> dict[str, Any]:
    grader = OfflineGrader()
    if ungraded is None:
        outcome = grader.grade(question, answer)
    else:
        info = GraderInfo(kind="llm", model="m")
        outcome = Outcome(ungraded_reason=ungraded, ungraded_detail="bad", info=info)
    digest = row_hash(question, answer, grader.info)
    task = RowTask(
        InputRow(source, row, row + 1, answer=answer, candidate=candidate, id=f"id{row}"),
        question,
        digest,
    )
    return result_record(task, outcome)


def write_results(path: Path, records: list[dict[str, Any]], tail: str = "") -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records) + tail,
        encoding="utf-8",
    )
    return path


GOOD = "Keys and values of previous tokens are stored, which avoids recomputing attention."
WEAK = "It is a cache."


def sample(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    records = [
        record(Q1, GOOD, 1, candidate="=HYPERLINK(1)"),
        record(Q1, WEAK, 2),
        record(Q2, EVIL, 3, ungraded="unparseable"),
        record(Q2, "The base weights stay frozen; a low-rank update is trained.", 4),
        record(Q1, "Keys.", 5, ungraded="truncated"),
    ]
    # Row 5 was retried and graded later: the later line wins.
    retried = record(Q1, "Keys.", 5)
    retried["key"] = records[4]["key"]
    records.append(retried)
    path = write_results(tmp_path / "results.jsonl", records, tail='{"key": "torn')
    return path, records


def test_aggregates_latest_lines_only(tmp_path: Path) -> None:
    path, records = sample(tmp_path)
    data = report.build_report(path)
    assert (data.rows, data.graded, data.ungraded) == (5, 4, 1)
    assert data.reasons == {"unparseable": 1}
    q1 = data.questions["q1"]
    assert (q1.rows, q1.graded, q1.ungraded) == (3, 3, 0)
    expected = [records[i]["score"] for i in (0, 1, 5)]
    assert sorted(q1.scores) == sorted(expected)
    assert q1.mean == sum(expected) / 3
    assert data.questions["q2"].graded == 1
    # Criterion levels are counted per graded row: four grades, one level each.
    assert all(c.count == 4 for c in data.criteria.values())
    assert set(data.criteria) == {"correctness", "completeness", "depth", "clarity"}
    missed = {(q.question_id, kp.text): kp.missed for q, kp in data.most_missed()}
    assert missed[("q1", "avoids recomputing attention")] >= 2  # the weak answer and "Keys."
    assert data.weakest[0].score == min(data.scores)
    assert [w.score for w in data.weakest] == sorted(w.score for w in data.weakest)
    assert data.estimates == 4


def test_keys_filter_limits_the_report(tmp_path: Path) -> None:
    path, records = sample(tmp_path)
    data = report.build_report(path, keys={str(records[0]["key"]), str(records[3]["key"])})
    assert data.rows == 2
    assert set(data.questions) == {"q1", "q2"}


def test_histogram_bins() -> None:
    assert histogram([0, 9.9, 10, 55, 99.9, 100]) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]


def test_summary_csv_in_input_order_with_safe_cells(tmp_path: Path) -> None:
    path, records = sample(tmp_path)
    out = tmp_path / "summary.csv"
    report.build_report(path, summary_csv=out)
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["row"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["candidate"] == "'=HYPERLINK(1)"
    assert rows[2]["graded"] == "no"
    assert rows[2]["ungraded_reason"] == "unparseable"
    assert rows[2]["correctness"] == ""
    assert rows[4]["graded"] == "yes"  # the retry won
    assert rows[0]["correctness"] in {"0", "1", "2", "3", "4"}
    assert int(rows[0]["covered"]) + int(rows[0]["partial"]) + int(rows[0]["missing"]) == 2
    assert rows[0]["key"] == records[0]["key"]


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.fetching: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "background"):
                self.fetching.append((tag, f"{name}={value}"))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    path, _ = sample(tmp_path)
    data, files = report.write_reports(path, report_dir=tmp_path / "reports")
    page = files.html.read_text(encoding="utf-8")
    audit = _Audit()
    audit.feed(page)
    assert "script" not in audit.tags
    assert "link" not in audit.tags
    assert "img" not in audit.tags
    assert audit.fetching == []
    assert "url(" not in page
    assert "@import" not in page
    assert "&lt;script&gt;" in page
    assert EVIL in "".join(audit.text)  # shown as text, never as markup
    assert audit.tags.count("svg") >= 1 + len(data.questions)
    assert "Key points most often missed" in page
    assert "Weakest answers" in page
    assert files.summary_csv == tmp_path / "reports" / "results.summary.csv"


def test_markdown_report(tmp_path: Path) -> None:
    path, _ = sample(tmp_path)
    text = render_markdown(report.build_report(path))
    assert "## Score distribution" in text
    assert "## Key points most often missed" in text
    assert "\\| pipe" in text  # a pipe cannot break the table
    assert "<script>" not in text
    assert "unparseable 1" in text


def test_empty_results(tmp_path: Path) -> None:
    path = write_results(tmp_path / "r.jsonl", [])
    data = report.build_report(path)
    assert (data.rows, data.mean, data.weakest) == (0, None, [])
    assert "No graded answer yet" in render_html(data)
    assert "No graded answer yet" in render_markdown(data)


def test_result_line_is_the_record_as_one_json_line() -> None:
    """The coordinator's fast encoding writes exactly the fields of result_record, in order."""
    grader = OfflineGrader()
    answer = 'Keys and values — 前の tokens, "quoted" and \\ escaped.'
    outcome = grader.grade(Q1, answer)
    task = RowTask(InputRow("in.csv", 3, 4, answer=answer, id="x"), Q1, "h" * 32, 1)
    for duplicate_of in (None, "h" * 32):
        line = result_line(task, outcome, duplicate_of=duplicate_of)
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1
        decoded = json.loads(line)
        expected = result_record(task, outcome, duplicate_of=duplicate_of)
        decoded.pop("graded_at")
        expected.pop("graded_at")
        assert decoded == expected
        assert list(decoded) == list(expected)
        assert "前の" in line.decode("utf-8")  # UTF-8, not \u escapes, as before
