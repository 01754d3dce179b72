"""The built-in offline grader: a key-point overlap estimate that needs no endpoint.

It is what a fresh install grades with until an LLM endpoint is configured, and what batch
grading can fall back to. It produces the same ``Grade`` model as the LLM grader (flagged
``estimate=True``) from lexical evidence only:

* Key points come from the question, or are derived from the reference when the question
  has none (``interviewer.grading.key_points``).
* Each key point is matched softly against the answer: its content units (stemmed English
  words, Chinese character bigrams and unigrams, see ``interviewer.text``) are weighted --
  words the question already contains count less, since repeating the question proves
  nothing -- and a point is covered/partial/missing by the share of its weight found in the
  answer. The quote is the answer clause that matches the point best, copied verbatim.
* The criterion levels come from that coverage, from how much of the whole reference the
  answer recalls, from how much of the answer is about the question at all (off-topic
  detection), from length sanity, and, for yes/no and true/false questions, from whether
  the answer's verdict agrees with the reference's.

The constants below were set by hand on half of the questions of three sets of answers
graded by people (see benchmarks/agreement.py), the same for every set and language.

Nothing here can check reasoning, so an answer that uses the right words wrongly scores
too high; the grade says so in its feedback. The grader is deterministic, keeps no state
between calls apart from a bounded cache of prepared questions, and is safe to share
between threads.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from interviewer.bank.library import Question
from interviewer.errors import InputError
from interviewer.grading.grade import GraderInfo, Outcome, Usage, build_grade
from interviewer.grading.key_points import strip_labels
from interviewer.grading.offline_feedback import grade_reply
from interviewer.grading.offline_measure import (
    CONTENT_SHARE,
    COVERAGE_FULL,
    COVERED_AT,
    CURATED_CONTENT_SHARE,
    MAX_ANSWER_CHARS,
    PARTIAL_AT,
    RECALL_FULL,
    VERDICT_FLOOR,
    analyse,
    estimate_levels,
    prepare_question,
)
from interviewer.text import is_chinese

PROMPT_VERSION = "offline-v1"
LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}
# Below this many words (Latin runs; a CJK character counts as one) an answer is too short to
# say which language it is in: "LoRA" answers a Chinese question as well as an English one.
MIN_WORDS_FOR_LANGUAGE = 8
# An answer counts as Chinese with at least this many CJK characters making up this share of
# its words (see _answer_language).
MIN_CJK_FOR_CHINESE = 4
CHINESE_WORD_SHARE = 0.2
_WORD_RE = re.compile(r"[A-Za-z]+|[\u3400-\u9fff]")

# Finds a question in another language: ``Library.translation`` (question, language).
Translations = Callable[[Question, str], Question | None]


class OfflineGrader:
    """Grade by lexical key-point coverage; deterministic, no endpoint, thread-safe.

    Words can only be compared within one language: an answer in another language than its
    question is graded against the bank's translation of the question (``translations``,
    usually ``Library.translation``) and left ungraded (reason ``language``) when there is
    none.
    """

    def __init__(self, translations: Translations | None = None) -> None:
        self._translations = translations
        self._info = GraderInfo(
            kind="offline",
            prompt_version=PROMPT_VERSION,
            settings={
                "covered_at": COVERED_AT,
                "partial_at": PARTIAL_AT,
                "recall_full": RECALL_FULL,
                "coverage_full": COVERAGE_FULL,
                "content_share": CONTENT_SHARE,
                "curated_content_share": CURATED_CONTENT_SHARE,
                "verdict_floor": VERDICT_FLOOR,
                "max_answer_chars": MAX_ANSWER_CHARS,
            },
        )

    @property
    def info(self) -> GraderInfo:
        return self._info

    def grade(self, question: Question, answer: str) -> Outcome:
        if not answer or not answer.strip():
            raise InputError(
                f"Question '{question.id}': the answer is empty; type an answer or skip it."
            )
        started = time.perf_counter()
        notices: list[str] = []
        asked = _language(question.language)
        spoken = _answer_language(answer)
        if spoken is not None and spoken != asked:
            edition = self._translations(question, spoken) if self._translations else None
            if edition is None:
                return self._other_language(question, asked, spoken)
            notices.append(
                f"Graded against {edition.id}, the {LANGUAGE_NAMES[spoken]} edition of"
                f" {question.id}: the offline grader compares words within one language."
            )
            question = edition
        prep = prepare_question(
            question.question,
            _grading_reference(question),
            tuple(question.key_points),
            question.language,
        )
        analysis = analyse(prep, answer)
        levels = estimate_levels(prep, analysis)
        reply = grade_reply(question, prep, analysis, levels)
        grade = build_grade(reply, question, list(prep.key_points), answer, estimate=True)
        if analysis.truncated:
            notices.append(
                f"Only the first {MAX_ANSWER_CHARS} characters of the answer were graded."
            )
        return Outcome(
            grade=grade,
            info=self._info,
            usage=Usage(estimated=True),
            duration_ms=int((time.perf_counter() - started) * 1000),
            notices=notices,
        )

    def _other_language(self, question: Question, asked: str, spoken: str) -> Outcome:
        detail = (
            f"The answer is in {LANGUAGE_NAMES[spoken]} and question {question.id} in"
            f" {LANGUAGE_NAMES[asked]}, with no {LANGUAGE_NAMES[spoken]} edition in the loaded"
            " banks; the offline grader compares words, so it cannot grade across languages."
            " Grade it with a model: `interviewer endpoints add NAME --base-url URL --model"
            " MODEL`, then `interviewer regrade`."
        )
        return Outcome(
            ungraded_reason="language",
            ungraded_detail=detail,
            info=self._info,
            usage=Usage(estimated=True),
        )


def _language(tag: str) -> str:
    return "zh" if is_chinese(tag) else "en"


def _answer_language(answer: str) -> str | None:
    """The language an answer is written in, or None when it is too short to tell.

    Counted in words, not letters: Chinese technical answers are full of English terms
    ("PPO 涉及 4 个模型：Actor、Critic、Reward Model…"), which outweigh the Chinese by letters
    but not by words. A CJK character counts as half a word (a Chinese word is about two
    characters); an answer is Chinese once a fifth of its words are, and it has a few.
    """
    units = _WORD_RE.findall(answer)
    if len(units) < MIN_WORDS_FOR_LANGUAGE:
        return None
    cjk = sum(1 for unit in units if not unit.isascii())
    words = (len(units) - cjk) + cjk / 2
    return "zh" if cjk >= MIN_CJK_FOR_CHINESE and cjk / 2 >= CHINESE_WORD_SHARE * words else "en"


def _grading_reference(question: Question) -> str:
    """The reference plus its corrections (see ``Question.full_reference``), labels removed."""
    return strip_labels(question.full_reference)
