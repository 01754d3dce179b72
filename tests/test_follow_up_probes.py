"""Follow-ups that probe: what is asked first, what an answer to one is graded on, and the
credit a recovered key point adds to the question's final score (docs/grading.md)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.bank.library import CuratedFollowUp, Question, load_bank_file
from interviewer.bank.rubric import DEFAULT_CRITERIA, compute_score, probed_credit
from interviewer.cli import app
from interviewer.errors import BankError
from interviewer.grading.grade import (
    CriterionReply,
    CriterionResult,
    Grade,
    GradeReply,
    GraderInfo,
    KeyPointReply,
    KeyPointResult,
    Outcome,
    build_grade,
)
from interviewer.history.regrade import regrade, select_attempts
from interviewer.history.scheduling import rating_for_score
from interviewer.history.store import HistoryStore
from interviewer.session.driver import Session
from interviewer.session.follow_ups import (
    FollowUp,
    choose,
    gaps,
    matched_points,
    probe_adjusted_score,
    probe_question,
    recovered,
)
from interviewer.ui.cells import score_text
from tests.chat_server import ChatServer, grade_reply

runner = CliRunner()
DATA_BANK = Path(__file__).parent / "data" / "bank"

BANK = """\
bank:
  id: probes
  title: Probe test bank
  language: en
questions:
  - id: probe-tls
    question: How does a TLS handshake establish a session key?
    reference: |
      Client and server agree on a cipher suite, the server proves its identity with a
      certificate, and an ephemeral Diffie-Hellman exchange derives the session key.
    key_points:
      - the certificate proves the server's identity
      - an ephemeral Diffie-Hellman exchange derives the session key
    follow_ups:
      - question: Where does the session key itself come from?
        probes: [2]
      - What would you monitor in production?
"""
CURATED = """\
      - question: Where does the session key itself come from?
        probes: [2]
"""


def question(**update: Any) -> Question:
    base = {
        "id": "q1",
        "question": "How does a TLS handshake establish a session key?",
        "reference": "The certificate proves identity; Diffie-Hellman derives the key.",
        "key_points": [
            "the certificate proves the server's identity",
            "an ephemeral Diffie-Hellman exchange derives the session key",
            "forward secrecy protects past sessions",
        ],
    }
    return Question.model_validate(base | update)


def grade(
    statuses: list[str], follow_ups: list[str] | None = None, q: Question | None = None
) -> Grade:
    texts = (q or question()).key_points
    return Grade(
        score=50.0,
        criteria=[],
        key_points=[
            KeyPointResult(index=i, text=texts[i - 1], status=s) for i, s in enumerate(statuses, 1)
        ],
        follow_ups=follow_ups or [],
    )


# --------------------------------------------------------------------------- choosing


def test_gaps_put_missed_points_before_partial_ones_then_key_point_order():
    assert gaps(grade(["partial", "covered", "missing"])) == [3, 1]
    assert gaps(grade(["contradicted", "partial", "missing"])) == [1, 3, 2]
    assert gaps(grade(["covered"] * 3)) == []


def test_the_first_follow_up_probes_the_most_important_gap():
    q = question(
        follow_ups=[
            {"question": "Why does forward secrecy matter?", "probes": [3]},
            {"question": "What does the certificate prove?", "probes": [1]},
        ]
    )
    # kp1 partial, kp3 missing: the missing point is probed first, then the partial one
    chosen = choose(q, grade(["partial", "covered", "missing"], q=q), 2)
    assert [f.probes for f in chosen] == [(3,), (1,)]
    # with kp3 covered, the follow-up on kp1 comes first
    chosen = choose(q, grade(["partial", "covered", "covered"], q=q), 1)
    assert chosen[0].text == "What does the certificate prove?"


def test_a_grader_follow_up_on_the_gap_beats_a_curated_one_on_nothing():
    # Before, with one follow-up allowed, the curated one was always asked.
    q = question(follow_ups=["What would you monitor in production?"])
    g = grade(["covered", "missing", "covered"], ["Which exchange derives the session key?"], q)
    chosen = choose(q, g, 1)
    assert chosen[0].source == "grader"
    assert chosen[0].probes == (2,)
    # an answer without gaps gets the bank's follow-up first
    assert choose(q, grade(["covered"] * 3, ["Anything else?"], q), 1)[0].source == "bank"


def test_a_bank_follow_up_the_grader_offers_again_is_aimed_at_the_gaps():
    monitor = "What would you monitor in production?"
    q = question(follow_ups=[monitor])
    g = grade(["covered", "missing", "partial"], [monitor], q)
    (chosen,) = choose(q, g, 1)
    assert (chosen.text, chosen.source) == (monitor, "bank")
    assert chosen.probes == (2, 3)  # the grader wrote it for the gaps
    probe = probe_question(q, chosen, q.key_points, 1)
    assert probe is not None
    assert probe.key_points == q.key_points[1:]


def test_plain_strings_probe_the_key_points_their_wording_matches():
    points = question().key_points
    assert matched_points("Where does the Diffie-Hellman exchange come in?", points) == (2,)
    assert matched_points("What would you monitor in production?", points) == ()
    assert matched_points("Which key?", points) == ()  # one shared word is not enough
    zh_points = ["证书证明服务器身份", "临时密钥交换生成会话密钥"]
    assert matched_points("会话密钥是怎样生成的？", zh_points) == (2,)


# --------------------------------------------------------------------------- grading


def test_a_probe_is_graded_on_its_probed_points_and_its_own():
    q = question()
    points = q.key_points
    probe = probe_question(q, FollowUp("Where does the key come from?", "bank", (2,)), points, 1)
    assert probe is not None
    assert probe.id == "q1.f1"
    assert probe.question == "Where does the key come from?"
    assert probe.key_points == [points[1]]
    own = FollowUp("And resumption?", "bank", (), "Session tickets resume.", ("tickets resume",))
    probe = probe_question(q, own, points, 2)
    assert probe is not None
    assert (probe.reference, probe.key_points) == ("Session tickets resume.", ["tickets resume"])


def test_a_follow_up_with_nothing_to_grade_against_gets_no_question():
    q = question()
    assert probe_question(q, FollowUp("Anything to add?", "bank"), q.key_points, 1) is None


def test_a_recovered_point_earns_half_of_what_it_gained():
    assert probed_credit("missing", "covered") == 0.5
    assert probed_credit("missing", "partial") == 0.25
    assert probed_credit("partial", "covered") == 0.75
    assert probed_credit("covered", "missing") == 1.0  # a probe never lowers credit
    assert probed_credit("missing", None) == 0.0


def scored(statuses: list[str], q: Question) -> Grade:
    """A grade with fixed levels whose score follows the checklist of ``statuses``."""
    levels = {"correctness": 3, "completeness": 0, "depth": 2, "clarity": 2}
    criteria = [
        CriterionResult(criterion=c.id, name=c.name, weight=c.weight, score=levels[c.id])
        for c in DEFAULT_CRITERIA
    ]
    base = grade(statuses, q=q)
    score = compute_score(levels, DEFAULT_CRITERIA, statuses)
    return Grade(score=score, criteria=criteria, key_points=base.key_points)


def test_recovered_points_raise_the_final_score_but_less_than_unprompted():
    q = question()
    parent = scored(["covered", "missing", "missing"], q)
    probe = Grade(
        score=80.0,
        criteria=[],
        key_points=[KeyPointResult(index=1, text=q.key_points[1], status="covered")],
    )
    assert recovered(parent, [probe]) == {2: "covered"}
    unprompted = scored(["covered", "covered", "missing"], q)
    after = probe_adjusted_score(parent, 0, [probe])
    assert parent.score < after < unprompted.score
    # a hinted point earns at most partial credit: recovered or said unprompted, alike
    assert probe_adjusted_score(parent, 2, [probe]) == unprompted.final_score({1, 2})
    assert probe_adjusted_score(parent, 2, [probe]) > parent.final_score({1, 2})
    # a probe that covers nothing new changes nothing
    assert probe_adjusted_score(parent, 0, [scored(["missing"] * 3, q)]) == parent.score


# --------------------------------------------------------------------------- bank format


def test_bank_follow_ups_may_be_strings_or_mappings(tmp_path):
    path = tmp_path / "probes.yaml"
    path.write_text(BANK, encoding="utf-8")
    q = load_bank_file(path).questions[0]
    assert q.follow_ups[0] == CuratedFollowUp(
        question="Where does the session key itself come from?", probes=[2]
    )
    assert q.follow_ups[1] == "What would you monitor in production?"
    assert q.follow_up_texts[1] == "What would you monitor in production?"


def test_a_probe_beyond_the_key_points_names_its_line(tmp_path):
    path = tmp_path / "probes.yaml"
    path.write_text(BANK.replace("probes: [2]", "probes: [3]"), encoding="utf-8")
    with pytest.raises(BankError, match=r"probes\.yaml:\d+: question 'probe-tls'.*key point 3"):
        load_bank_file(path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("probes: [0]", r":16: question 'probe-tls', field 'follow_ups\.0\.probes'.*start at 1"),
        ("probe: [2]", r":16: question 'probe-tls', field 'follow_ups\.0\.probe'.*not permitted"),
        ("probes: [two]", r":16: .*field 'follow_ups\.0\.probes\.0'.*valid integer"),
    ],
)
def test_a_broken_follow_up_mapping_is_reported_by_its_own_field(tmp_path, entry, message):
    path = tmp_path / "probes.yaml"
    path.write_text(BANK.replace("probes: [2]", entry), encoding="utf-8")
    with pytest.raises(BankError, match=message):
        load_bank_file(path)


def test_a_question_with_probing_follow_ups_survives_its_stored_snapshot(tmp_path):
    path = tmp_path / "probes.yaml"
    path.write_text(BANK, encoding="utf-8")
    q = load_bank_file(path).questions[0]
    assert Question.model_validate_json(q.model_dump_json()) == q


def test_old_bank_files_load_unchanged_and_follow_ups_stay_out_of_the_sha():
    bank = load_bank_file(DATA_BANK / "tiny.yaml")
    closure = next(q for q in bank.questions if q.id == "tiny-closure")
    assert closure.follow_ups == ["How does the late-binding behaviour of closures bite in a loop?"]
    changed = closure.model_copy(update={"follow_ups": [CuratedFollowUp(question="x", probes=[1])]})
    assert changed.sha == closure.sha


# --------------------------------------------------------------------------- a session


def rows(home: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(home / "history.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def practice(server: ChatServer, tmp_path: Path, script: str, bank: str = BANK) -> Any:
    bank_dir = tmp_path / "banks"
    bank_dir.mkdir()
    (bank_dir / "probes.yaml").write_text(bank, encoding="utf-8")
    args = ["practice", "--bank", "probes", "--in-order", "-n", "1", "--follow-ups", "1",
            "--base-url", server.url, "--model", "test-model",
            "--bank-dir", str(bank_dir)]  # fmt: skip
    return runner.invoke(app, args, input=script)


def test_a_point_recovered_on_the_probe_raises_the_final_score(
    isolated_home, chat_server, tmp_path
):
    levels = {"correctness": 3, "completeness": 2, "depth": 1, "clarity": 2}
    chat_server.enqueue(
        # kp1 covered, kp2 missing: 30 + 30 * 1/2 + 5 + 5 = 55
        grade_reply(
            scores=levels,
            key_points=[("covered", "certificate"), ("missing", "")],
            follow_ups=["What would you monitor in production?"],
        ),
        # the probe covers kp2: 30 + 30 * (1 + 1/2) / 2 + 5 + 5 = 62.5
        grade_reply(scores=levels, key_points=[("covered", "Diffie-Hellman")], follow_ups=[]),
    )
    script = (
        "The certificate proves who the server is.\n.\n"
        "An ephemeral Diffie-Hellman exchange derives it.\n.\n"
    )
    result = practice(chat_server, tmp_path, script)
    assert result.exit_code == 0, result.output
    assert "Where does the session key itself come from?" in result.output
    assert "55 → 62.5" in result.output  # in the summary
    assert "A key point recovered here raises the question's score: 55 → 62.5" in result.output
    # the probe was graded on kp2 only
    probe_prompt = chat_server.chat_requests[-1].prompt_text
    assert "derives the session key" in probe_prompt
    assert "proves the server's identity" not in probe_prompt
    grades = rows(isolated_home, "SELECT * FROM grades ORDER BY id")
    assert (grades[0]["score"], grades[0]["final_score"]) == (55.0, 62.5)
    assert grades[1]["graded"] == 1
    assert grades[1]["final_score"] == grades[1]["score"]  # the probe's own grade is as before
    review = rows(isolated_home, "SELECT * FROM reviews")[0]
    assert review["last_rating"] == rating_for_score(62.5) != rating_for_score(55.0)
    shown = runner.invoke(app, ["history", "show", str(grades[0]["attempt_id"])])
    assert shown.exit_code == 0, shown.output
    assert f"55 → {score_text(62.5)} after follow-ups" in shown.output


def test_a_follow_up_with_nothing_to_grade_against_stays_ungraded(
    isolated_home, chat_server, tmp_path
):
    # every key point covered: the plain-string follow-up probes nothing and has no reference
    chat_server.enqueue(
        grade_reply(
            key_points=[("covered", "certificate"), ("covered", "Diffie-Hellman")], follow_ups=[]
        )
    )
    script = (
        "The certificate proves identity; Diffie-Hellman derives the key.\n.\n"
        "Handshake latency and certificate expiry.\n.\n"
    )
    plain_only = BANK.replace(CURATED, "")
    result = practice(chat_server, tmp_path, script, plain_only)
    assert result.exit_code == 0, result.output
    assert "What would you monitor in production?" in result.output
    assert "nothing to grade against" in result.output
    assert "recovered here" not in result.output
    assert len(chat_server.chat_requests) == 1  # the follow-up was never sent to the grader
    grades = rows(isolated_home, "SELECT * FROM grades ORDER BY id")
    assert [(g["graded"], g["ungraded_reason"]) for g in grades] == [(1, None), (0, "no_reference")]
    attempts = rows(isolated_home, "SELECT * FROM attempts ORDER BY id")
    assert attempts[1]["answer"] == "Handshake latency and certificate expiry."
    assert grades[0]["final_score"] == grades[0]["score"]


# --------------------------------------------------------------------------- driver and regrade


class KeywordGrader:
    """Covers a key point when the answer contains its text; fixed levels otherwise."""

    info = GraderInfo(kind="offline")

    def grade(self, question: Question, answer: str) -> Outcome:
        points = question.key_points
        reply = GradeReply(
            key_points=[
                KeyPointReply(index=i, quote=p, status="covered")
                if p in answer
                else KeyPointReply(index=i, status="missing")
                for i, p in enumerate(points, 1)
            ],
            criteria=[
                CriterionReply(criterion=c.id, score=3 if c.id == "correctness" else 2)
                for c in question.criteria
            ],
            feedback="ok",
            follow_ups=["What else?"],
        )
        return Outcome(grade=build_grade(reply, question, points, answer), info=self.info)


def test_regrade_keeps_the_credit_a_follow_up_earned(tmp_path):
    q = question(follow_ups=[{"question": "Where does the key come from?", "probes": [2]}])
    kp1, kp2, _ = q.key_points
    grader = KeywordGrader()
    with HistoryStore(tmp_path / "history.db") as store:
        session = Session(store, grader)
        answer = session.answer(q, f"I know that {kp1}.")
        before = answer.final_score
        (follow_up,) = session.follow_ups_for(answer)
        assert follow_up.probes == (2,)
        reply = session.answer_follow_up(answer, follow_up, f"Well, {kp2}.")
        session.finish()
        assert reply.question.key_points == [kp2]
        assert answer.score_before_follow_ups == before
        assert answer.final_score is not None
        assert before is not None
        assert answer.final_score > before
        raised = answer.final_score
        assert answer.attempt_id is not None
        assert store.attempt(answer.attempt_id).grades[-1].final_score == raised
        for attempt in select_attempts(store, include_graded=True):
            regrade(store, grader, [attempt], library=None, hint_penalty=0.0)
            # whichever is regraded, the answer's final score keeps the probe's credit
            assert store.attempt(answer.attempt_id).grades[-1].final_score == raised
        assert store.review_states()[0].last_rating == rating_for_score(raised)
