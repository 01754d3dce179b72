"""A bad row is a bad row, whatever its bytes: it is listed with its file, line and row and a
reason, and every other row is still read (and graded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.batch.input_rows import BadRow, InputRow
from interviewer.batch.inputs import InputReader
from interviewer.cli import app
from tests.batch_support import bank_rows, read_results, write_bank

runner = CliRunner()
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "9" * 5_000


def read(path: Path) -> list[InputRow | BadRow]:
    return list(InputReader(path).rows())


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"\\ud800 lone"', "surrogate"),
        ('"tail \\udfff"', "surrogate"),
        (DEEP, "nested"),
        (HUGE, "digits"),
    ],
)
def test_jsonl_bad_value_is_one_bad_row(tmp_path: Path, value: str, reason: str) -> None:
    lines = [
        '{"question_id": "q1", "answer": "fine"}',
        '{"question_id": "q2", "answer": ' + value + "}",
        '{"question_id": "q3", "answer": "also fine"}',
    ]
    items = read(_jsonl(tmp_path / "a.jsonl", lines))
    assert [type(i).__name__ for i in items] == ["InputRow", "BadRow", "InputRow"]
    bad = items[1]
    assert isinstance(bad, BadRow)
    assert (bad.row, bad.line) == (2, 2)
    assert reason in bad.reason
    assert len(bad.describe()) < 300


@pytest.mark.parametrize(
    ("value", "reason"),
    [('"\\ud800 lone"', "surrogate"), ("[" * 1_000 + "]" * 1_000, "nested")],
)
def test_yaml_bad_value_is_one_bad_row(tmp_path: Path, value: str, reason: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        "- {question_id: q1, answer: fine}\n"
        f"- {{question_id: q2, answer: {value}}}\n"
        f"- {{question_id: q3, answer: '{HUGE}'}}\n",
        encoding="utf-8",
    )
    items = read(path)
    assert [type(i).__name__ for i in items] == ["InputRow", "BadRow", "InputRow"]
    bad = items[1]
    assert isinstance(bad, BadRow)
    assert (bad.row, bad.line) == (2, 2)
    assert reason in bad.reason
    assert isinstance(items[2], InputRow)
    assert items[2].answer == HUGE


def test_csv_unterminated_quote_is_reported_where_it_opened(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'question_id,answer\nq1,fine\nq2,"never closed\nq3,swallowed\nq4,"swallowed too"\n'
        "q5,and this\n",
        encoding="utf-8",
    )
    items = read(path)
    bad = [i for i in items if isinstance(i, BadRow)]
    assert len(bad) == 1
    assert (bad[0].row, bad[0].line) == (2, 3)
    assert "quote" in bad[0].reason
    good = [i for i in items if isinstance(i, InputRow)]
    # the lines the open quote swallowed are read again as rows of their own
    assert [(r.row, r.line, r.answer) for r in good] == [
        (1, 2, "fine"),
        (3, 4, "swallowed"),
        (4, 5, "swallowed too"),
        (5, 6, "and this"),
    ]


def test_csv_unterminated_quote_in_a_middle_field(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'question_id,answer,candidate\nq1,"open,ann\nq2,b,bob\nq3,c,cy\nq4,d,di\n',
        encoding="utf-8",
    )
    items = read(path)
    assert [(type(i).__name__, i.line) for i in items] == [
        ("BadRow", 2),
        ("InputRow", 3),
        ("InputRow", 4),
        ("InputRow", 5),
    ]


def test_csv_multiline_answers_are_not_runaway(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    answer = "First, the idea.\nSecond, the cost.\nThird, a risk, and its fix.\nDone."
    path.write_text(f'question_id,answer\nq1,"{answer}"\nq2,ok\n', encoding="utf-8")
    items = read(path)
    assert [i.answer for i in items if isinstance(i, InputRow)] == [answer, "ok"]


def test_grade_lists_bad_rows_and_grades_the_rest(tmp_path: Path) -> None:
    banks = write_bank(tmp_path / "banks")
    rows = bank_rows(3)
    first, second, third = (str(r["question_id"]) for r in rows)

    def line(question: str, answer: str) -> str:
        return '{"question_id": "' + question + '", "answer": ' + answer + "}"

    lines = [
        line(first, json.dumps(rows[0]["answer"])),
        line(second, '"\\ud800"'),
        line(second, DEEP),
        line(second, HUGE),
        line(third, json.dumps(rows[2]["answer"])),
    ]
    source = _jsonl(tmp_path / "in.jsonl", lines)
    out = tmp_path / "r.jsonl"
    result: Any = runner.invoke(app, ["grade", str(source), "--out", str(out), "--bank-dir",
                                      str(banks), "--grader", "offline"])  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    assert len(read_results(out)) == 2
    errors = (tmp_path / "r.errors.csv").read_text(encoding="utf-8")
    assert errors.count(str(source)) == 3


def test_yaml_flow_nesting_past_the_limit_is_scanned_as_one_token() -> None:
    """YAML's scanner does work per open bracket for every token, so a row nested thousands
    deep would take hours; past the depth limit the rest of the collection is one token."""
    import yaml

    from interviewer.batch.yaml_rows import MAX_DEPTH, TextLoader

    nested = "[" * 2_000 + "]" * 2_000
    tokens = list(yaml.scan(f"- {{answer: {nested}}}\n", Loader=TextLoader))
    assert len(tokens) < 2 * MAX_DEPTH + 20


def test_yaml_row_nested_100k_deep_is_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    quoted = '"a ] quoted [ \\" text"'
    path.write_text(
        f"- {{question_id: q1, answer: {'[' * 100_000}{quoted}{']' * 100_000}}}\n"
        "- {question_id: q2, answer: 'after it'}\n",
        encoding="utf-8",
    )
    items = read(path)
    assert [type(i).__name__ for i in items] == ["BadRow", "InputRow"]
    assert isinstance(items[0], BadRow)
    assert "nested" in items[0].reason
    assert isinstance(items[1], InputRow)
    assert items[1].answer == "after it"
