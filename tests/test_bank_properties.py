"""Property tests: any text or bytes given as a bank is a valid bank or one BankError.

The deadline is a guard against hangs (alias bombs, runaway recursion), set far above what a
load of these small inputs takes; it is not a speed measurement.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interviewer.bank.library import Bank, load_bank_file
from interviewer.errors import BankError

HEADER = "bank:\n  id: b\n  title: T\n  language: en\nquestions:\n"
# Pieces of YAML syntax, so that generated text reaches the parser's and the validator's
# corners (anchors, aliases, tags, flow and block collections, merges) far more often than
# random characters would.
PIECES = [
    "bank:", "questions:", "id:", "question:", "reference:", "key_points:", "rubric:",
    "difficulty:", "tags:", "- ", "  ", "\n", ": ", "&a ", "*a", "<<: ", "!!str ", "!!python/none",
    "[", "]", "{", "}", ",", "'", '"', "|", ">", "#", "? ", "...", "---", "%YAML 1.1\n",
    "q1", "x", "1", "1e9", "null", "true", "~", "é", "\t", "\\", "easy", "\ufeff", "\x00",
]  # fmt: skip
LOADS = settings(
    max_examples=150,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


SCALARS = st.sampled_from(["q1", "x", "What?", "easy", "1", "null", "[INST]", "''", "é"])


def _anchored(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(["", "&A "]), text).map("".join)


def _collections(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    lists = st.lists(children, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
    pairs = st.tuples(st.sampled_from(["id", "question", "reference", "<<", "k"]), children)
    maps = st.lists(pairs, max_size=4).map(
        lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
    )
    return _anchored(lists | maps)


def _name_anchors(text: str) -> str:
    """Number the anchors; each alias names the anchor opened last before it.

    That anchor may enclose the alias (a cycle) or be an earlier sibling (a shared value).
    """
    out, count = [], 0
    for part in text.split(" "):
        if part.startswith("&A"):
            count += 1
            part = f"&a{count}" + part[2:]
        out.append(part.replace("*A", f"*a{max(count, 1)}"))
    return " ".join(out)


# Flow-style YAML values with anchors and aliases placed anywhere.
VALUES = st.recursive(_anchored(SCALARS) | st.just("*A"), _collections, max_leaves=12)


def check(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        bank = load_bank_file(path)
    except BankError as exc:
        message = str(exc)
    else:
        assert isinstance(bank, Bank)
        assert bank.questions
        return
    # One error that names the file it is about.
    assert message.startswith(str(path))


@LOADS
@given(st.binary(max_size=2000))
def test_any_bytes_load_or_raise_bank_error(tmp_path, data):
    check(tmp_path / "b.yaml", data)


@LOADS
@given(st.text(max_size=2000))
def test_any_text_loads_or_raises_bank_error(tmp_path, text):
    check(tmp_path / "b.yaml", text.encode("utf-8", "surrogatepass"))


@LOADS
@given(st.lists(st.sampled_from(PIECES), max_size=120))
def test_yaml_like_text_loads_or_raises_bank_error(tmp_path, pieces):
    check(tmp_path / "b.yaml", "".join(pieces).encode())


@LOADS
@given(st.lists(st.sampled_from(PIECES), max_size=80))
def test_broken_questions_under_a_valid_header(tmp_path, pieces):
    check(tmp_path / "b.yaml", (HEADER + "".join(pieces)).encode())


@LOADS
@given(VALUES, VALUES)
def test_anchors_and_aliases_anywhere(tmp_path, bank, questions):
    text = _name_anchors(f"bank: {bank}\nquestions: {questions}\n")
    check(tmp_path / "b.yaml", text.encode())
