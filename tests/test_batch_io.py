"""Input readers for batch grading: formats, columns, encodings, bad rows, streaming."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from interviewer.batch.input_rows import BadRow, ColumnMap, InputRow, split_key_points
from interviewer.batch.inputs import InputReader, open_inputs
from interviewer.errors import InputError


def read(path: Path, **kwargs: object) -> list[InputRow | BadRow]:
    return list(InputReader(path, **kwargs).rows())  # type: ignore[arg-type]


def good(items: list[InputRow | BadRow]) -> list[InputRow]:
    return [i for i in items if isinstance(i, InputRow)]


def bad(items: list[InputRow | BadRow]) -> list[BadRow]:
    return [i for i in items if isinstance(i, BadRow)]


# --------------------------------------------------------------------------- CSV


def test_csv_rows_with_multiline_field_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'question_id,answer,candidate,id\nq1,"two\nlines",ann,7\n\n,,,\nq2,plain,bob,8\n',
        encoding="utf-8",
    )
    items = read(path)
    assert bad(items) == []
    rows = good(items)
    assert [(r.row, r.line, r.question_id, r.answer, r.candidate, r.id) for r in rows] == [
        (1, 2, "q1", "two\nlines", "ann", "7"),
        (2, 6, "q2", "plain", "bob", "8"),
    ]


def test_csv_with_bom_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffquestion_id;answer\nq1;réponse\n".encode())
    rows = good(read(path))
    assert [(r.question_id, r.answer) for r in rows] == [("q1", "réponse")]


def test_tsv_by_suffix(tmp_path: Path) -> None:
    path = tmp_path / "a.tsv"
    path.write_text("question_id\tanswer\nq1\ta, b and c\n", encoding="utf-8")
    assert good(read(path))[0].answer == "a, b and c"


def test_csv_wrong_field_count_is_a_bad_row_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("question_id,answer\nq1,ok\nq2,one,extra\nq3\nq4,fine\n", encoding="utf-8")
    items = read(path)
    problems = bad(items)
    assert [(b.row, b.line) for b in problems] == [(2, 3), (3, 4)]
    assert "3 fields but the header has 2" in problems[0].reason
    assert [r.question_id for r in good(items)] == ["q1", "q4"]


def test_undecodable_line_is_reported_with_its_line_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"question_id,answer\nq1,caf\xe9\nq2,fine\n")
    items = read(path)
    [problem] = bad(items)
    assert (problem.row, problem.line) == (1, 2)
    assert "0xe9" in problem.reason
    assert "--encoding" in problem.reason
    assert [r.answer for r in good(items)] == ["fine"]


def test_encoding_option_decodes_legacy_files(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"question_id,answer\nq1,caf\xe9\n")
    assert good(read(path, encoding="cp1252"))[0].answer == "café"


def test_utf16_with_bom_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "unicode.csv"
    path.write_bytes("question_id,answer\nq1,答案\n".encode("utf-16"))
    assert good(read(path))[0].answer == "答案"


def test_undecodable_header_fails_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("题号,answer\n".encode("gbk"))
    with pytest.raises(InputError, match=r"gbk\.csv:1: the header line is not valid UTF-8"):
        InputReader(path)


def test_csv_without_answer_column_fails_at_once_naming_columns(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("question_id,response\nq1,text\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        InputReader(path)
    message = str(info.value)
    assert "no 'answer' column" in message
    assert "'response'" in message
    assert "--answer-col" in message


def test_csv_with_questions_but_no_reference_column_fails(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("question,answer\nWhy?,Because\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'reference' column"):
        InputReader(path)


def test_empty_csv_fails(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="the file is empty"):
        InputReader(path)


def test_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'Frage,Musterlösung,Punkte,Antwort,Name,Nr\nWas?,Das.,"eins; zwei\nund drei",So,Eva,3\n',
        encoding="utf-8",
    )
    columns = ColumnMap(
        question="Frage",
        reference="Musterlösung",
        key_points="Punkte",
        answer="Antwort",
        candidate="Name",
        id="Nr",
    )
    [row] = good(read(path, columns=columns))
    assert row.question == "Was?"
    assert row.reference == "Das."
    assert row.key_points == ("eins", "zwei", "und drei")
    assert (row.answer, row.candidate, row.id) == ("So", "Eva", "3")
    assert row.question_id is None


def test_row_level_problems(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "question_id,question,reference,answer\n"
        ",Why?,,Because\n"  # question without reference
        ",,,Lonely answer\n"  # names no question
        ",Why?,Since.,Because\n",  # fine
        encoding="utf-8",
    )
    items = read(path)
    reasons = [(b.row, b.reason) for b in bad(items)]
    assert reasons[0][0] == 1
    assert "without a reference" in reasons[0][1]
    assert reasons[1][0] == 2
    assert "names no question" in reasons[1][1]
    [row] = good(items)
    assert (row.row, row.question, row.reference) == (3, "Why?", "Since.")


def test_a_blank_answer_is_a_row_to_grade(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("question_id,answer\nq1,\nq1,  \n", encoding="utf-8")
    items = read(path)
    assert not bad(items)
    assert [r.answer for r in good(items)] == ["", ""]


def test_human_score_and_max_score(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "question_id,answer,score,max_score\nq1,A,3,5\nq1,B,,5\nq1,C,six,5\nq1,D,7,5\nq1,E,1,0\n",
        encoding="utf-8",
    )
    items = read(path)
    rows = good(items)
    assert [(r.human_score, r.max_score) for r in rows] == [(3.0, 5.0), (None, 5.0)]
    reasons = [b.reason for b in bad(items)]
    assert "field 'score' is 'six', not a number" in reasons[0]
    assert "'score' 7 is outside 0..5" in reasons[1]
    assert "must be above 0" in reasons[2]


def test_human_score_wins_over_score(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"question_id": "q1", "answer": "A", "score": 80, "human_score": 4}\n'
        '{"question_id": "q1", "answer": "B", "human_score": null, "score": 80}\n',
        encoding="utf-8",
    )
    assert [r.human_score for r in good(read(path))] == [4.0, None]


def test_score_alone_is_not_a_human_score(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("question_id,answer,score\nq1,A,80\n", encoding="utf-8")
    [row] = good(read(path))
    assert (row.human_score, row.max_score) == (None, None)


# --------------------------------------------------------------------------- JSONL


def test_jsonl_rows_bad_lines_and_types(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"question_id": "q1", "answer": "yes", "id": 12, "key_points": ["a", " b "]}\n'
        "\n"
        "{broken\n"
        "[1, 2]\n"
        '{"question_id": "q2", "answer": {"nested": true}}\n'
        '{"question_id": "q3", "answer": "fine"}\n',
        encoding="utf-8",
    )
    items = read(path)
    problems = bad(items)
    assert [(b.row, b.line) for b in problems] == [(2, 3), (3, 4), (4, 5)]
    assert "invalid JSON" in problems[0].reason
    assert "JSON object" in problems[1].reason
    assert "must be text" in problems[2].reason
    rows = good(items)
    assert [(r.row, r.line, r.id) for r in rows] == [(1, 1, "12"), (5, 6, None)]
    assert rows[0].key_points == ("a", "b")


def test_json_array_file_fails_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"question_id": "q1", "answer": "x"}]', encoding="utf-8")
    with pytest.raises(InputError, match="one JSON object per line"):
        InputReader(path)


# --------------------------------------------------------------------------- YAML


def test_yaml_list_keeps_scalars_as_written(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        "- question_id: q1\n  answer: no\n  id: 007\n- just a string\n"
        "- question: Q?\n  reference: R.\n  key_points: [one, two]\n  answer: 3.0\n",
        encoding="utf-8",
    )
    items = read(path)
    [problem] = bad(items)
    assert (problem.row, problem.line) == (2, 4)
    rows = good(items)
    assert (rows[0].answer, rows[0].id, rows[0].line) == ("no", "007", 1)
    assert rows[1].key_points == ("one", "two")
    assert rows[1].answer == "3.0"


def test_yaml_rows_mapping(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_text(
        "title: exam 1\nrows:\n  - question_id: q1\n    answer: A\n  - question_id: q2\n"
        "    answer: B\n",
        encoding="utf-8",
    )
    assert [(r.question_id, r.row, r.line) for r in good(read(path))] == [
        ("q1", 1, 3),
        ("q2", 2, 5),
    ]


def test_yaml_wrong_shape_and_syntax_fail_with_line(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("answer: lonely\n", encoding="utf-8")
    with pytest.raises(InputError, match="list of rows"):
        read(path)
    path.write_text("- question_id: q1\n  answer: [unclosed\n- x: y\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"a\.yaml:\d+: invalid YAML"):
        read(path)


# --------------------------------------------------------------------------- files


def test_unusable_files_fail_at_once(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        InputReader(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="is a directory"):
        InputReader(tmp_path)
    odd = tmp_path / "answers.txt"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="--format"):
        InputReader(odd)
    with pytest.raises(InputError, match="Unknown encoding 'klingon'"):
        InputReader(odd, fmt="jsonl", encoding="klingon")
    binary = tmp_path / "book.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(InputError, match="binary file"):
        InputReader(binary)


def test_open_inputs_rejects_duplicates_and_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="given twice"):
        open_inputs([path, tmp_path / "." / "a.jsonl"])
    with pytest.raises(InputError, match="No input file"):
        open_inputs([])
    assert read(path) == []


def test_split_key_points() -> None:
    assert split_key_points("a; b\nc；d ;; ") == ("a", "b", "c", "d")
    assert split_key_points(["x", "", 3]) == ("x", "3")
    assert split_key_points("  ") is None
    assert split_key_points(None) is None


def test_reading_streams_without_holding_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    answer = "an answer of moderate length " * 8
    with path.open("w", encoding="utf-8") as fh:
        fh.write("question_id,answer\n")
        for i in range(40_000):
            fh.write(f"q{i % 7},{answer}{i}\n")
    reader = InputReader(path)
    tracemalloc.start()
    count = 0
    for item in reader.rows():
        count += isinstance(item, InputRow)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 40_000
    # The file holds ~10 MB of text; streaming keeps only a row or two (plus buffers).
    assert peak < 2_000_000, peak
