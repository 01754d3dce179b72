"""Exports: Markdown, JSON Lines and self-contained HTML carry the same, safe content."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from interviewer.errors import HistoryError, InputError
from interviewer.history.export import choose_format, collect, render_export, write_export
from interviewer.history.store import HistoryStore
from tests.history_fakes import FAKE_INFO, START, Clock, graded, make_question, ungraded

NASTY = 'Use <script>alert("x")</script> & ```fences``` and ````more````'


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[HistoryStore, dict[str, object]]]:
    clock = Clock()
    store = HistoryStore(tmp_path / "history.db", clock=clock, zone=UTC)
    q = make_question("lora", question="什么是 LoRA？", key_points=["低秩分解", "冻结权重"])
    first = store.start_session(mode="practice", grader=FAKE_INFO)
    a1 = store.record_answer(session_id=first, question=q, answer=NASTY, hints_used=1)
    store.record_outcome(a1, ungraded("unparseable", "not JSON"))
    clock.advance(hours=2)
    store.record_outcome(a1, graded(77, q), final_score=67)
    fu = store.record_answer(
        session_id=first,
        question=q,
        answer="因为秩很低",
        kind="follow_up",
        parent_id=a1,
        prompt="为什么低秩就够了？",
    )
    store.record_outcome(fu, graded(55, q))
    store.end_session(
        first,
        report={"verdict": "lean hire", "revisit": [{"question_id": "lora", "score": 67}]},
    )
    clock.advance(days=3)
    second = store.start_session(mode="practice", grader=FAKE_INFO)
    other = make_question("rag1", question="What is RAG?")
    a2 = store.record_answer(session_id=second, question=other, answer="retrieval first")
    store.record_outcome(a2, graded(88, other))
    store.record_skip(session_id=second, question=make_question("skipped1"))
    yield store, {"first": first, "second": second, "a1": a1, "fu": fu, "a2": a2}
    store.close()


def test_markdown_has_everything_and_fences_hold(
    seeded: tuple[HistoryStore, dict[str, object]],
) -> None:
    store, _ids = seeded
    text = render_export(collect(store, now=START), "md")
    assert text.startswith("# Interview history\n")
    for expected in (
        "什么是 LoRA？",
        "**Grade 1:** ungraded (unparseable: not JSON)",
        "**Grade 2:** 77 → 67 after hints",
        "Follow-up 1.1: 为什么低秩就够了？",
        "因为秩很低",
        "- **verdict**: lean hire",
        "What is RAG?",
        "Skipped.",
        "✓ covered: 低秩分解",
        "Reference answer",
    ):
        assert expected in text, expected
    # The answer contains runs of 3 and 4 backticks: its fence must be longer than both.
    fence = re.search(r"^(`{5,})text\n" + re.escape(NASTY) + r"\n\1$", text, re.MULTILINE)
    assert fence is not None


def test_jsonl_lines_parse_and_nest_follow_ups(
    seeded: tuple[HistoryStore, dict[str, object]],
) -> None:
    store, ids = seeded
    lines = render_export(collect(store), "jsonl").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["type"] for r in records] == ["session", "session", "attempt", "attempt", "attempt"]
    attempt = next(r for r in records if r.get("id") == ids["a1"])
    assert attempt["answer"] == NASTY
    assert attempt["key_points"] == ["低秩分解", "冻结权重"]
    assert [(g["graded"], g["final_score"]) for g in attempt["grades"]] == [
        (False, None),
        (True, 67.0),
    ]
    assert attempt["grades"][1]["grader"]["model"] == "fake-model"
    assert [f["id"] for f in attempt["follow_ups"]] == [ids["fu"]]
    assert attempt["follow_ups"][0]["prompt"] == "为什么低秩就够了？"
    session = next(r for r in records if r.get("id") == ids["first"])
    assert session["report"]["verdict"] == "lean hire"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_and_escaped(
    seeded: tuple[HistoryStore, dict[str, object]],
) -> None:
    store, _ = seeded
    page = render_export(collect(store), "html")
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags
    assert parser.urls == []
    assert "link" not in parser.tags
    assert "style" in parser.tags
    assert "http://" not in page.replace("http://127.0.0.1:9/v1", "")
    assert "&lt;script&gt;" in page
    # The candidate's text survives escaping intact.
    assert NASTY in "".join(parser.text)
    assert "什么是 LoRA？" in page
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page


def test_one_session_or_a_date_range(seeded: tuple[HistoryStore, dict[str, object]]) -> None:
    store, ids = seeded
    only_second = collect(store, session_id=str(ids["second"])[:8])
    assert [s.id for s in only_second.sessions] == [ids["second"]]
    assert [d.attempt.question_id for d in only_second.details] == ["rag1", "skipped1"]
    ranged = collect(store, since=START + timedelta(days=1), until=START + timedelta(days=10))
    assert [s.id for s in ranged.sessions] == [ids["second"]]
    first_day = collect(store, until=START + timedelta(days=1))
    assert [d.attempt.id for d in first_day.details] == [ids["a1"]]
    assert [f.attempt.id for f in first_day.details[0].follow_ups] == [ids["fu"]]


def test_unknown_format_and_unwritable_target(
    seeded: tuple[HistoryStore, dict[str, object]], tmp_path: Path
) -> None:
    store, _ = seeded
    with pytest.raises(HistoryError, match="Unknown export format 'pdf'"):
        render_export(collect(store), "pdf")
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(HistoryError, match="Cannot write"):
        write_export("text", blocker / "sub" / "out.md")
    out = write_export("hello", tmp_path / "deep" / "out.md")
    assert out.read_text(encoding="utf-8") == "hello"
    assert not list(out.parent.glob("*.tmp"))


@pytest.mark.parametrize(
    ("fmt", "out", "expected"),
    [
        (None, None, "md"),
        (None, "notes.markdown", "md"),
        (None, "page.HTM", "html"),
        (None, "page.html", "html"),
        (None, "lines.json", "jsonl"),
        (None, "lines.jsonl", "jsonl"),
        (None, "report.txt", "md"),
        (None, "no-suffix", "md"),
        ("HTML", "report.md", "html"),
        ("jsonl", None, "jsonl"),
    ],
)
def test_the_format_comes_from_the_option_then_the_suffix(
    fmt: str | None, out: str | None, expected: str
) -> None:
    assert choose_format(fmt, Path(out) if out else None) == expected


def test_an_unknown_format_names_the_option() -> None:
    with pytest.raises(InputError, match="--format 'pdf' is not known; use one of md, jsonl, html"):
        choose_format("pdf", Path("out.pdf"))
