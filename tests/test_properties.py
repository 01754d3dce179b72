"""Property tests: whatever bytes an input file holds and whatever text a model replies, the
readers and the reply parser answer with their own types, never another exception.

* Reading a CSV, JSONL or YAML file yields only ``InputRow`` and ``BadRow``, or raises
  ``InputError`` (a file that cannot be used at all).
* Parsing a reply gives a ``GradeReply`` or raises ``ReplyProblem``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from interviewer.batch.input_rows import BadRow, InputRow
from interviewer.batch.inputs import InputReader
from interviewer.errors import InputError
from interviewer.grading.grade import GradeReply
from interviewer.grading.reply_parsing import ReplyProblem, interpret_reply
from tests.chat_server import grade_json
from tests.history_fakes import make_question

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEEP = "[" * 50_000 + "]" * 50_000
HUGE = "9" * 5_000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
row_keys = st.sampled_from(["question_id", "answer", "question", "reference", "key_points",
                            "id", "candidate", "x"])  # fmt: skip
json_rows = st.dictionaries(row_keys, json_values, max_size=6).map(json.dumps)
file_bytes = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=600).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(json_rows, max_size=6).map(lambda lines: "\n".join(lines).encode()),
    st.lists(st.lists(st.text(alphabet='ab,"\n\r;\t =', max_size=12), max_size=4), max_size=6).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode()
    ),
)


def _read(data: bytes, suffix: str) -> list[Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        try:
            return list(InputReader(path).rows())
        except InputError:
            return []


@PROPERTY
@given(data=file_bytes, suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".yaml"]))
@example(data=b'question_id,answer\nq1,"open\nq2,a\nq3,b\n', suffix=".csv")
@example(data=b'{"question_id": "q", "answer": "\\ud800"}\n', suffix=".jsonl")
@example(data=('{"question_id": "q", "answer": ' + DEEP + "}\n").encode(), suffix=".jsonl")
@example(data=('{"question_id": "q", "answer": ' + HUGE + "}\n").encode(), suffix=".jsonl")
@example(data=("- {question_id: q, answer: " + DEEP[:1000] + DEEP[-1000:] + "}\n").encode(),
         suffix=".yaml")  # fmt: skip
@example(data=b'- {question_id: q, answer: "\\ud800"}\n', suffix=".yaml")
@example(data=b"- &a [*a]\n", suffix=".yaml")
@example(data=b"\xff\xfe\x00\xd8", suffix=".jsonl")
def test_reading_any_bytes_gives_rows_bad_rows_or_an_input_error(data: bytes, suffix: str) -> None:
    items = _read(data, suffix)
    assert all(isinstance(item, InputRow | BadRow) for item in items)
    for item in items:
        if isinstance(item, InputRow):
            item.answer.encode("utf-8")  # every kept text can be written out


QUESTION = make_question("q1")
KEY_POINTS = len(QUESTION.key_points)
replies = st.one_of(
    st.text(max_size=400),
    json_values.map(json.dumps),
    st.builds(
        lambda before, after: before + grade_json() + after,
        st.text(max_size=40),
        st.text(max_size=40),
    ),
    st.builds(lambda value: "```json\n" + json.dumps({"key_points": value}) + "\n```", json_values),
)


@PROPERTY
@given(text=replies, finish=st.sampled_from([None, "stop", "length", "content_filter", "x"]))
@example(text="{" + DEEP, finish="stop")
@example(text='{"key_points": ' + DEEP + "}", finish="stop")
@example(text='{"key_points": ' + HUGE + "}", finish="stop")
@example(text='{"feedback": "\\ud800"}', finish="stop")
@example(text="<think>" + "{" * 1000, finish="stop")
def test_any_reply_gives_a_grade_or_a_reply_problem(text: str, finish: str | None) -> None:
    outcome: GradeReply | ReplyProblem
    try:
        outcome = interpret_reply(
            QUESTION, KEY_POINTS, text, finish_reason=finish, max_output_tokens=100
        )
    except ReplyProblem as problem:
        outcome = problem
    if isinstance(outcome, ReplyProblem):
        assert outcome.reason in ("truncated", "refused", "unparseable")
    else:
        assert isinstance(outcome, GradeReply)
