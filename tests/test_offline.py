from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from interviewer import text as tx
from interviewer.bank.library import Question, load_library
from interviewer.bank.rubric import Criterion, compute_score
from interviewer.errors import InputError
from interviewer.grading.grade import Grade
from interviewer.grading.key_points import derive_key_points, resolve_key_points
from interviewer.grading.offline import OfflineGrader
from tests.conftest import REPO

DATA = Path(__file__).parent / "data" / "offline"
BANK = REPO / "bank"

EN = Question(
    id="tcp-udp",
    question="What are the main differences between TCP and UDP?",
    reference=(
        "TCP is connection-oriented: it establishes a connection with a three-way handshake. "
        "TCP guarantees reliable, ordered delivery using acknowledgements and retransmission. "
        "TCP provides flow control and congestion control. "
        "UDP is connectionless and gives no delivery guarantees; its header is only 8 bytes, "
        "so it has less overhead and lower latency, which suits streaming and DNS."
    ),
    language="en",
)
EN_COMPLETE = (
    "TCP is connection-oriented and sets up a connection with a three-way handshake. "
    "It guarantees reliable, ordered delivery through acknowledgements and retransmission, "
    "and it does flow control and congestion control. UDP is connectionless with no delivery "
    "guarantee; its 8-byte header means less overhead and lower latency, so it suits "
    "streaming and DNS."
)
EN_VAGUE = "TCP and UDP are both protocols on the internet. They work differently."
EN_OFF_TOPIC = "A binary search tree keeps its keys sorted, so a lookup takes logarithmic time."

ZH = Question(
    id="stack-queue",
    question="栈和队列有什么区别？",
    reference=(
        "栈是后进先出（LIFO）的线性表，只能在栈顶进行插入和删除。"
        "队列是先进先出（FIFO）的线性表，在队尾插入、在队头删除。"
        "栈常用于函数调用和表达式求值，队列常用于任务调度和广度优先搜索。"
    ),
    language="zh",
)
ZH_COMPLETE = (
    "栈是后进先出的，只能在栈顶插入和删除；队列是先进先出的，在队尾入队、队头出队。"
    "栈用于函数调用和表达式求值，队列用于任务调度和广度优先搜索。"
)
ZH_VAGUE = "栈和队列都是数据结构，它们的用法不一样。"
ZH_OFF_TOPIC = "快速排序通过选择基准元素把数组划分成两部分，然后递归地排序。"


@pytest.fixture(scope="module")
def grader() -> OfflineGrader:
    return OfflineGrader()


def graded(grader: OfflineGrader, question: Question, answer: str) -> Grade:
    outcome = grader.grade(question, answer)
    assert outcome.grade is not None, outcome
    return outcome.grade


def score(grader: OfflineGrader, question: Question, answer: str) -> float:
    return graded(grader, question, answer).score


def has_cjk(text: str) -> bool:
    return any(tx.is_cjk(c) for c in text)


# --------------------------------------------------------------------------- contract


def test_info_and_outcome_describe_an_offline_estimate(grader: OfflineGrader) -> None:
    assert grader.info.kind == "offline"
    assert grader.info.prompt_version == "offline-v1"
    assert grader.info.settings
    outcome = grader.grade(EN, EN_COMPLETE)
    assert outcome.info == grader.info
    assert outcome.usage.estimated
    assert outcome.ungraded_reason is None
    assert outcome.grade is not None
    assert outcome.grade.estimate


@pytest.mark.parametrize("answer", ["", "   ", "\n\t \u3000"])
def test_empty_answer_is_refused(grader: OfflineGrader, answer: str) -> None:
    with pytest.raises(InputError, match="tcp-udp"):
        grader.grade(EN, answer)


def test_grade_matches_the_question_rubric(grader: OfflineGrader) -> None:
    grade = graded(grader, EN, EN_COMPLETE)
    assert [c.criterion for c in grade.criteria] == [c.id for c in EN.criteria]
    assert all(0 <= c.score <= 4 for c in grade.criteria)
    levels = {c.criterion: c.score for c in grade.criteria}
    assert grade.score == compute_score(levels, EN.criteria)


def test_custom_rubric_criteria_get_a_level(grader: OfflineGrader) -> None:
    levels = {i: f"level {i}" for i in range(5)}
    rubric = [
        Criterion(id="accuracy", name="Accuracy", weight=0.5, levels=levels),
        Criterion(id="correctness", name="Correctness", weight=0.5, levels=levels),
    ]
    question = EN.model_copy(update={"rubric": rubric})
    good = graded(grader, question, EN_COMPLETE)
    poor = graded(grader, question, EN_OFF_TOPIC)
    assert [c.criterion for c in good.criteria] == ["accuracy", "correctness"]
    by_id = {c.criterion: c.score for c in good.criteria}
    assert by_id["accuracy"] > 0
    assert good.score > poor.score


def test_quotes_are_real_sentences_of_the_answer(grader: OfflineGrader) -> None:
    for question, answer in ((EN, EN_COMPLETE), (ZH, ZH_COMPLETE)):
        grade = graded(grader, question, answer)
        assert grade.dropped_quotes == 0
        quoted = [kp for kp in grade.key_points if kp.status in ("covered", "partial")]
        assert quoted, grade.key_points
        for kp in quoted:
            assert kp.quote
            assert kp.quote in answer
        for kp in grade.key_points:
            if kp.status == "missing":
                assert kp.quote == ""


def test_no_contradiction_is_claimed_without_a_verdict(grader: OfflineGrader) -> None:
    # (Answers in the other language are not graded at all: tests/test_offline_languages.py.)
    for question, answers in (
        (EN, (EN_COMPLETE, EN_VAGUE, EN_OFF_TOPIC)),
        (ZH, (ZH_COMPLETE, ZH_VAGUE, ZH_OFF_TOPIC)),
    ):
        for answer in answers:
            grade = graded(grader, question, answer)
            assert grade.count("contradicted") == 0
            assert grade.factual_errors == []


def test_reference_without_content_is_reported(grader: OfflineGrader) -> None:
    question = EN.model_copy(update={"reference": "... !!!"})
    grade = graded(grader, question, "A stack is a LIFO list.")
    assert grade.key_points == []
    assert grade.reference_issues
    assert "Every key point" not in grade.feedback


def test_same_input_gives_the_same_grade(grader: OfflineGrader) -> None:
    first = graded(grader, ZH, ZH_COMPLETE)
    second = graded(OfflineGrader(), ZH, ZH_COMPLETE)
    assert first.model_dump() == second.model_dump()


def test_grading_from_threads_matches_sequential_results(grader: OfflineGrader) -> None:
    jobs = [
        (q, a)
        for q, answers in (
            (EN, (EN_COMPLETE, EN_VAGUE, EN_OFF_TOPIC)),
            (ZH, (ZH_COMPLETE, ZH_VAGUE, ZH_OFF_TOPIC)),
        )
        for a in answers
    ] * 10
    expected = [graded(OfflineGrader(), q, a).model_dump() for q, a in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: graded(grader, *job).model_dump(), jobs))
    assert results == expected


def test_huge_answer_is_capped_and_still_graded(grader: OfflineGrader) -> None:
    answer = EN_COMPLETE + " filler words" * 100_000
    outcome = grader.grade(EN, answer)
    assert outcome.grade is not None
    assert any("characters" in notice for notice in outcome.notices)
    assert outcome.grade.dropped_quotes == 0
    assert outcome.grade.count("covered") >= 1
    for kp in outcome.grade.key_points:
        assert kp.quote in answer


def test_import_stays_light() -> None:
    code = (
        "import sys, interviewer.grading.offline; "
        "print(','.join(m for m in ('openai', 'rich', 'tiktoken', 'numpy', 'jieba')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == ""


# --------------------------------------------------------------------------- ordering


@pytest.mark.parametrize(
    ("question", "complete", "vague", "off_topic"),
    [
        (EN, EN_COMPLETE, EN_VAGUE, EN_OFF_TOPIC),
        (ZH, ZH_COMPLETE, ZH_VAGUE, ZH_OFF_TOPIC),
    ],
    ids=["en", "zh"],
)
def test_complete_beats_vague_beats_off_topic(
    grader: OfflineGrader, question: Question, complete: str, vague: str, off_topic: str
) -> None:
    good = score(grader, question, complete)
    middling = score(grader, question, vague)
    bad = score(grader, question, off_topic)
    assert good > middling > bad, (good, middling, bad)
    assert good >= 60
    assert bad <= 20


def test_repeating_the_question_earns_little(grader: OfflineGrader) -> None:
    echo = graded(grader, EN, "The main differences between TCP and UDP are differences.")
    assert echo.score < score(grader, EN, EN_COMPLETE) / 2
    assert {c.criterion: c.score for c in echo.criteria}["correctness"] <= 1


def bank_questions() -> list[Question]:
    if not BANK.is_dir():
        return []
    return load_library([BANK]).questions


@pytest.mark.skipif(not bank_questions(), reason="no bundled bank in this checkout")
def test_bank_questions_rank_full_partial_and_unrelated_answers(grader: OfflineGrader) -> None:
    questions = bank_questions()
    unrelated = {
        "en": "Photosynthesis turns sunlight, water and carbon dioxide into sugar and oxygen.",
        "zh": "光合作用利用阳光、水和二氧化碳生成糖和氧气。",
    }
    checked = 0
    for q in questions:
        if len(q.key_points) < 2:
            continue
        chinese = tx.is_chinese(q.language)
        full = ("。" if chinese else ". ").join(q.key_points)
        partial = q.key_points[0]
        off = unrelated["zh" if chinese else "en"]
        s_full, s_partial, s_off = (score(grader, q, a) for a in (full, partial, off))
        assert s_full > s_partial > s_off, (q.id, s_full, s_partial, s_off)
        full_grade = graded(grader, q, full)
        assert full_grade.count("covered") >= len(q.key_points) - 1, q.id
        checked += 1
    assert checked >= 2


def load_sample(name: str) -> list[dict[str, Any]]:
    path = DATA / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def sample_question(row: dict[str, Any]) -> Question:
    return Question(
        id=f"{row['set']}-{row['qid']}",
        question=row["question"],
        reference=row["reference"],
        language=tx.detect_language(row["question"] + row["reference"]),
    )


@pytest.mark.parametrize("name", ["ads-zh-sample.jsonl", "saf-en-sample.jsonl"])
def test_real_answers_with_full_marks_outscore_failing_ones(
    grader: OfflineGrader, name: str
) -> None:
    rows = load_sample(name)
    high: list[float] = []
    low: list[float] = []
    by_question: dict[str, tuple[list[float], list[float]]] = {}
    for row in rows:
        s = score(grader, sample_question(row), row["answer"])
        full = row["score"] == row["max_score"]
        (high if full else low).append(s)
        pair = by_question.setdefault(row["qid"], ([], []))
        pair[0 if full else 1].append(s)
    assert len(high) == len(low) == 16
    assert mean(high) > mean(low) + 15, (mean(high), mean(low))
    ordered = [q for q, (h, lo) in by_question.items() if mean(h) > mean(lo)]
    assert len(ordered) >= 3, by_question


# --------------------------------------------------------------------------- verdicts

JUDGE_ZH = Question(
    id="stack-bottom",
    question="请判断以下叙述是否正确，并做出解释：栈底元素是不能删除的元素",
    reference="错误。栈中元素可以从栈顶的元素先出栈然后一个一个删除，直到最后删除栈底元素。",
    language="zh",
)
JUDGE_EN = Question(
    id="poisson",
    question="Does the assumption of independent arrivals hold for real internet traffic?",
    reference="No. Real traffic comes in bursts, so an arrival makes further arrivals likely.",
    language="en",
)


def test_opposite_verdict_is_contradicted_with_its_quote(grader: OfflineGrader) -> None:
    right_answer = "错误，栈中元素可以依次从栈顶出栈，最后栈底元素也会被删除。"
    wrong_answer = "正确，栈只能删除栈顶元素，所以栈底元素不能删除。"
    right = graded(grader, JUDGE_ZH, right_answer)
    wrong = graded(grader, JUDGE_ZH, wrong_answer)
    assert right.score > wrong.score + 20
    assert right.key_points[0].status == "covered"
    assert right.count("contradicted") == 0
    verdict = wrong.key_points[0]
    assert verdict.status == "contradicted"
    assert verdict.quote in wrong_answer
    assert verdict.quote.startswith("正确")
    assert wrong.factual_errors
    assert {c.criterion: c.score for c in wrong.criteria}["correctness"] == 0
    # The first follow-up challenges the verdict; the feedback does not call it "missing".
    assert "反例" in wrong.follow_ups[0]
    assert "缺少：结论" not in wrong.feedback


def test_english_verdicts(grader: OfflineGrader) -> None:
    agree = graded(grader, JUDGE_EN, "No, traffic is bursty: one arrival makes more likely.")
    disagree = graded(grader, JUDGE_EN, "Yes. Users act independently of each other.")
    assert agree.score > disagree.score
    assert disagree.count("contradicted") == 1
    assert agree.count("contradicted") == 0


def test_requests_are_not_yes_no_questions(grader: OfflineGrader) -> None:
    question = JUDGE_EN.model_copy(
        update={"question": "Can you explain whether arrivals are independent?"}
    )
    grade = graded(grader, question, "Yes. Users act independently of each other.")
    assert grade.count("contradicted") == 0
    assert not any(kp.text.startswith("Verdict") for kp in grade.key_points)


def test_a_stray_negation_never_contradicts(grader: OfflineGrader) -> None:
    question = JUDGE_EN.model_copy(
        update={"reference": "Yes. Each interval is independent of the others."}
    )
    grade = graded(grader, question, "It does not matter much: each interval is independent.")
    assert grade.count("contradicted") == 0
    assert grade.factual_errors == []


# --------------------------------------------------------------------------- key points


def test_derived_key_points_are_informative_clauses_of_the_reference() -> None:
    reference = (
        "Possible differences:\n"
        "- The UDP header is 8 bytes while the TCP header is 20-60 bytes\n"
        "- TCP has a sequence number\n"
        "- TCP has an acknowledgement number\n"
        "- TCP has an advertised window\n"
        "- The UDP header has a fixed length, the TCP header a variable length\n"
        "- TCP has a sequence number\n"
    )
    points = derive_key_points(reference, "en", limit=4)
    assert 1 <= len(points) <= 4
    assert len(set(points)) == len(points)
    assert not any("Possible differences" in p for p in points)
    for point in points:
        assert not point.startswith("-")
        assert tx.normalise(point) in tx.normalise(reference)
    assert derive_key_points(reference, "en", limit=0) == []
    assert len(derive_key_points(reference, "en", limit=2)) == 2


def test_curated_key_points_win_over_derived_ones() -> None:
    reference = "TCP has a sequence number. UDP has none. TCP retransmits lost segments."
    assert resolve_key_points(["ordering", "retransmission"], reference, "en") == [
        "ordering",
        "retransmission",
    ]
    nothing: tuple[list[str] | None, ...] = (None, [])
    for curated in nothing:
        derived = resolve_key_points(curated, reference, "en", limit=2)
        assert derived == derive_key_points(reference, "en", limit=2)
        assert len(derived) == 2


def test_derived_key_points_for_chinese_drop_repeats() -> None:
    reference = (
        "错误。栈中元素可以从栈顶的元素先出栈然后一个一个删除，直到最后删除栈底元素。\n"
        "错误。栈中元素可以从栈顶的元素先出栈然后一个一个删除，直到最后删除栈底元素。"
    )
    points = derive_key_points(reference, "zh")
    assert points
    assert len(points) == len(set(points))
    assert all(has_cjk(p) and p in reference for p in points)


def test_question_without_key_points_is_graded_on_derived_ones(grader: OfflineGrader) -> None:
    grade = graded(grader, EN, EN_COMPLETE)
    assert [kp.text for kp in grade.key_points] == derive_key_points(EN.reference, "en")


def test_given_key_points_are_used_verbatim(grader: OfflineGrader) -> None:
    points = ["TCP is connection-oriented", "UDP is connectionless", "TCP does congestion control"]
    question = EN.model_copy(update={"key_points": points})
    grade = graded(grader, question, "TCP is connection-oriented while UDP is connectionless.")
    assert [kp.text for kp in grade.key_points] == points
    statuses = [kp.status for kp in grade.key_points]
    assert statuses[0] == "covered"
    assert statuses[1] == "covered"
    assert statuses[2] == "missing"


# --------------------------------------------------------------------------- feedback


def test_feedback_follows_the_question_language(grader: OfflineGrader) -> None:
    zh = graded(grader, ZH, ZH_VAGUE)
    assert has_cjk(zh.feedback)
    assert all(has_cjk(f) for f in zh.follow_ups)
    # A few English words answering a Chinese question still get Chinese feedback (a longer
    # English answer is not graded against a Chinese question: test_offline_languages.py).
    mixed = graded(grader, ZH, "Stack is LIFO, queue FIFO.")
    assert has_cjk(mixed.feedback)
    en = graded(grader, EN, EN_VAGUE)
    assert not has_cjk(en.feedback + en.stronger_answer + "".join(en.follow_ups))


def test_feedback_names_covered_and_missing_points(grader: OfflineGrader) -> None:
    points = ["TCP is connection-oriented", "UDP has a smaller header"]
    question = EN.model_copy(update={"key_points": points})
    grade = graded(grader, question, "TCP is connection-oriented and needs a handshake.")
    assert "Covered: TCP is connection-oriented" in grade.feedback
    assert "Missing: UDP has a smaller header" in grade.feedback
    assert "UDP has a smaller header" in grade.stronger_answer


def test_follow_ups_aim_at_missing_points(grader: OfflineGrader) -> None:
    points = ["TCP is connection-oriented", "UDP has a smaller header", "TCP retransmits"]
    question = EN.model_copy(update={"key_points": points})
    grade = graded(grader, question, "TCP is connection-oriented.")
    assert 1 <= len(grade.follow_ups) <= 3
    assert "UDP has a smaller header" in grade.follow_ups[0]
    assert "TCP retransmits" in grade.follow_ups[1]
    # A follow-up written for the question wins when it is about the missing point.
    prepared = ["Why is the UDP header smaller than the TCP header?", "What is a socket?"]
    with_bank = question.model_copy(update={"follow_ups": prepared})
    grade = graded(grader, with_bank, "TCP is connection-oriented.")
    assert grade.follow_ups[0] == prepared[0]


def test_complete_answer_still_gets_a_follow_up(grader: OfflineGrader) -> None:
    points = ["TCP is connection-oriented"]
    question = EN.model_copy(update={"key_points": points})
    grade = graded(grader, question, "TCP is connection-oriented.")
    assert grade.count("covered") == 1
    assert len(grade.follow_ups) == 1
    assert grade.stronger_answer
