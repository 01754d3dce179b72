"""The built-in offline grader: a key-point overlap estimate that needs no endpoint.

It is what a fresh install grades with until an LLM endpoint is configured, and what batch
grading can fall back to. It produces the same ``Grade`` model as the LLM grader (flagged
``estimate=True``) from lexical evidence only:

* Key points come from the question, or are derived from the reference when the question
  has none (``derive_key_points``): the reference is cut into clauses and the most
  informative, non-redundant ones are kept.
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

import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from interviewer import text as tx
from interviewer.bank.library import Question
from interviewer.bank.rubric import MAX_LEVEL
from interviewer.errors import InputError
from interviewer.grading.grade import (
    CriterionReply,
    GradeReply,
    GraderInfo,
    KeyPointReply,
    KeyPointStatus,
    Outcome,
    Usage,
    build_grade,
)

PROMPT_VERSION = "offline-v1"

# Work is capped so that a pasted novel costs no more than a long answer: only this many
# characters are analysed (quotes still come from the original text).
MAX_ANSWER_CHARS = 12_000
# Sentences (or clauses of long sentences) of the answer considered for quoting.
MAX_ANSWER_CLAUSES = 300
# Sentences up to this length are quoted whole; longer ones clause by clause.
QUOTE_MIN_SPLIT_CHARS = 24
# Reference clauses kept as scoring points when a question asks for "at least N" items.
MAX_SCORING_POINTS = 40

# Share of a key point's weight the answer must contain. Only the checklist uses these (the
# levels come from the continuous coverage): a concise correct answer paraphrases, so half of
# a point's weighted words already shows it was made.
COVERED_AT = 0.5
PARTIAL_AT = 0.25

# Unit weights: a single Chinese character is weak evidence next to a bigram or a word;
# a unit the question already contains proves little when repeated.
UNIGRAM_WEIGHT = 0.3
QUESTION_ECHO_WEIGHT = 0.4
# An English word whose first letters match counts this much (typos, other inflections).
PREFIX_MATCH = 0.6
PREFIX_LEN = 5

# Nobody restates a whole reference: recalling this share of its weight earns full credit,
# and so does covering this share of the key points' weight on average.
RECALL_FULL = 0.6
COVERAGE_FULL = 0.75
# "State at least 4 ...": this share of key-point coverage comes from the best 4 reference
# items, whichever the answer picked; the rest still from the key points as a whole, since
# such questions usually ask for explanations too.
REQUIRED_SHARE = 0.5
# Overall quality = this share of key-point coverage + the rest from recall of the reference.
# Derived key points are only a sample of the reference, so recall leads; key points written
# for the question are the intended rubric, so they lead (not measurable on the data sets,
# which have none).
CONTENT_SHARE = 0.3
CURATED_CONTENT_SHARE = 0.7
# A right verdict on a yes/no question earns at least this correctness (0-1).
VERDICT_FLOOR = 0.75
# Depth needs an answer about as long as the reference (in units); reasons add a bonus.
LENGTH_FULL = 1.0
# ... but no answer needs more than this many units (about 150 English words) for depth.
LENGTH_CAP = 150.0
EXPLAIN_BONUS = 0.15
# Off-topic: few of the answer's terms relate to the question or reference, little of the
# reference is recalled and little of the question's own wording is even mentioned.
OFF_TOPIC_RELEVANCE = 0.2
OFF_TOPIC_RECALL = 0.1
OFF_TOPIC_QUESTION = 0.3
OFF_TOPIC_CLARITY = 0.25
# Clarity suffers when an answer runs this many times longer than the reference, or its
# sentences average more units than this.
RAMBLING_RATIO = 4.0
LONG_SENTENCE_UNITS = 60.0
# Restating the question: most of the answer's weight is the question's own words and it
# recalls almost nothing the question does not already say.
RESTATE_ECHO = 0.6
RESTATE_RECALL = 0.15


@dataclass(frozen=True)
class _Point:
    """A key point (or reference clause) ready for matching."""

    text: str
    weights: dict[str, float]
    total: float


@dataclass(frozen=True)
class _Prepared:
    """Everything about a question that does not depend on the answer."""

    chinese: bool
    key_points: tuple[str, ...]
    points: tuple[_Point, ...]
    scoring: tuple[_Point, ...]
    required: int | None
    ref_weights: dict[str, float]
    ref_total: float
    known: _Vocabulary
    question_units: frozenset[str]
    ref_units_len: float
    curated: bool
    verdict: bool | None
    verdict_point: int | None


@dataclass(frozen=True)
class _Analysis:
    """What the grader measured in one answer."""

    coverage: tuple[float, ...]
    quotes: tuple[str, ...]
    content: float
    recall: float
    new_recall: float
    relevance: float
    echo: float
    on_question: float
    units: float
    length_ratio: float
    agreement: bool | None
    verdict_quote: str
    explains: bool
    sentences: int
    truncated: bool


# --------------------------------------------------------------------------- key points


def derive_key_points(reference: str, language: str, limit: int = 6) -> list[str]:
    """Pick up to ``limit`` informative, non-redundant clauses of ``reference`` as key points.

    The reference is cut into clauses; headers ("Possible differences:") and fragments with
    no content are dropped; then clauses are taken greedily by how much content they add
    that the ones already taken do not cover, and returned in reference order.
    ``language`` is the question's language tag; the cut is script-aware, so a reference
    gives the same points whatever the tag says.
    """
    return [p.text for p in _derive_points(reference, frozenset(), limit)]


def _clean_point(text: str) -> str:
    cleaned = tx.strip_list_marker(text).strip(" \t\r\n,，、;；:：.。")
    return " ".join(cleaned.split())


# Bookkeeping labels in references: "[Correction / completion]" on a line of its own or at the
# start of one, 【更正/补充】. Left in, their words would count as content.
_LABEL_RE = re.compile(r"^[ \t]*(?:\[[^\]\n]{1,40}\]|【[^】\n]{1,20}】)[ \t]*", re.MULTILINE)


def _strip_labels(reference: str) -> str:
    return _LABEL_RE.sub("", reference)


def _reference_clauses(reference: str) -> list[str]:
    clauses: list[str] = []
    for clause in tx.split_clauses(_strip_labels(reference)):
        cleaned = _clean_point(clause)
        # A short line ending in a colon introduces a list; it is not a point of its own.
        if clause.rstrip().endswith((":", "：")) and tx.count_units(cleaned) <= 4:
            continue
        if cleaned and tx.tokenise(cleaned):
            clauses.append(cleaned)
    return clauses


def _derive_points(reference: str, question_units: frozenset[str], limit: int) -> list[_Point]:
    candidates = [_make_point(c, question_units) for c in _reference_clauses(reference)]
    candidates = [c for c in candidates if c.total > 0]
    if limit <= 0 or not candidates:
        return []
    chosen: list[int] = []
    seen: dict[str, float] = {}
    while len(chosen) < min(limit, len(candidates)):
        best, best_gain = -1, 0.0
        for i, cand in enumerate(candidates):
            if i in chosen:
                continue
            new = sum(w for u, w in cand.weights.items() if u not in seen)
            # Favour clauses that add much, but not merely by being long.
            gain = new / math.sqrt(1.0 + cand.total / 4.0) if new / cand.total >= 0.4 else 0.0
            if gain > best_gain:
                best, best_gain = i, gain
        if best < 0:
            break
        chosen.append(best)
        seen.update(candidates[best].weights)
    return [candidates[i] for i in sorted(chosen)]


def _unit_weight(unit: str, question_units: frozenset[str]) -> float:
    weight = UNIGRAM_WEIGHT if tx.is_unigram(unit) else 1.0
    if unit in question_units:
        weight *= QUESTION_ECHO_WEIGHT
    return weight


def _make_point(text: str, question_units: frozenset[str]) -> _Point:
    weights = {u: _unit_weight(u, question_units) for u in set(tx.tokenise(text))}
    return _Point(text=text, weights=weights, total=sum(weights.values()))


# --------------------------------------------------------------------------- question facts

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
}
_REQUIRED_RES = (
    re.compile(r"\bat least (\d|one|two|three|four|five|six)\b"),
    re.compile(
        r"\b(?:name|state|list|give|describe|mention|explain)(?: and \w+)?"
        r" (?:the |any |at most )?(\d|two|three|four|five|six)\b"
    ),
    re.compile(r"至少(?:说出|列出|写出|给出|举出)?([一二两三四五六\d])(?:条|点|个|种|项)"),
    re.compile(r"(?:说出|列出|写出|给出|举出)([一二两三四五六\d])(?:条|点|个|种|项)"),
)


def _required_count(question: str) -> int | None:
    """How many items the question asks for ("state at least 4", "至少说出两条")."""
    norm = tx.normalise(question)
    for pattern in _REQUIRED_RES:
        match = pattern.search(norm)
        if match:
            word = match.group(1)
            return int(word) if word.isdigit() else _NUMBER_WORDS.get(word)
    return None


_JUDGE_ZH = re.compile(r"判断|是否正确|对不对|对吗|是否成立|正确吗")
# Yes/no questions open with an auxiliary verb ("Does this hold?"), but "Can you explain…"
# is a request, not a yes/no question.
_JUDGE_EN = re.compile(
    r"true or false|yes or no"
    r"|(?:^|[.?!:] ?)(?:does|do|is|are|can|could|will|would|should|has|have)\b(?! you\b)"
    r"[^.?!]*\?"
)


@dataclass(frozen=True)
class _Verdict:
    """The yes/no verdict a text opens with.

    ``strong`` verdicts are explicit (正确/错误, yes/no, true/false) and may contradict the
    reference; weak ones (a negation somewhere in the opening clause, 不一定) only count
    when they agree with it, so that a stray "not" never condemns an answer.
    """

    value: bool
    strong: bool
    quote: str


# Words that state a verdict wherever they appear in the opening clause. Negative forms
# come first in the alternation so that 不正确 is not read as 正确.
_VERDICT_ZH_ANYWHERE = re.compile(r"不正确|不对|不成立|错误|正确|成立")
# Short words that are a verdict only when they make up a whole clause: 对，… / 不，…
# (deeper in a sentence 对/是/不 are ordinary words).
_VERDICT_ZH_ALONE = re.compile(r"(?:不对|不是|对|错|是|否|不)的?")
_VERDICT_ZH_WEAK = re.compile(r"不一定|未必")
_POSITIVE_ZH = frozenset({"正确", "成立", "对", "是", "对的", "是的"})
_VERDICT_EN_FIRST = {
    "no": False,
    "false": False,
    "incorrect": False,
    "wrong": False,
    "nope": False,
    "yes": True,
    "true": True,
    "correct": True,
    "right": True,
}
_NEGATION_EN = re.compile(r"\b(?:not|never|cannot|no)\b|n't\b")
_ANSWER_LABEL = re.compile(r"^(?:答案?|回答|解|answer)\s*:\s*")


def _is_judgement(question: str) -> bool:
    norm = tx.normalise(question)
    return bool(_JUDGE_ZH.search(norm) or _JUDGE_EN.search(norm))


def _verdict(text: str, chinese: bool) -> _Verdict | None:
    """The verdict stated at the start of ``text``, quoted from its opening clause."""
    spans = tx.sentence_spans(text)
    if not spans:
        return None
    s_start, s_end = spans[0]
    clauses = [
        (s_start + a, s_start + b) for a, b in tx.clause_spans(text[s_start:s_end], min_units=0)
    ]
    if chinese:
        # Only the opening matters: 正确 forty characters in is part of an argument.
        for a, b in clauses:
            if a - s_start > 30:
                break
            piece = _ANSWER_LABEL.sub("", tx.normalise(text[a:b])).strip(" ,.;:!?\"'")
            quote = text[a:b].strip()
            alone = _VERDICT_ZH_ALONE.fullmatch(piece)
            if alone:
                return _Verdict(alone.group() in _POSITIVE_ZH, True, quote)
            found = _VERDICT_ZH_ANYWHERE.search(piece[:20])
            if found:
                return _Verdict(found.group() in _POSITIVE_ZH, True, quote)
            if _VERDICT_ZH_WEAK.search(piece[:20]):
                return _Verdict(False, False, quote)
        return None
    if not clauses:
        return None
    a, b = clauses[0]
    quote = text[a:b].strip()
    first = _ANSWER_LABEL.sub("", tx.normalise(quote))
    words = re.findall(r"[a-z']+", first)
    if words and words[0] in _VERDICT_EN_FIRST:
        return _Verdict(_VERDICT_EN_FIRST[words[0]], True, quote)
    if _NEGATION_EN.search(first):
        return _Verdict(False, False, quote)
    return None


def _is_bare_verdict(text: str) -> bool:
    norm = tx.normalise(text).strip(" ,.;:!?\"'")
    return bool(
        _VERDICT_ZH_ALONE.fullmatch(norm)
        or _VERDICT_ZH_ANYWHERE.fullmatch(norm)
        or norm in _VERDICT_EN_FIRST
    )


def _agreement(expected: bool | None, given: _Verdict | None) -> bool | None:
    """True/False when the answer's verdict agrees/contradicts the reference, else None."""
    if expected is None or given is None:
        return None
    if given.value == expected:
        return True
    return False if given.strong else None


# --------------------------------------------------------------------------- preparation


@lru_cache(maxsize=512)
def _prepare(
    question_text: str, reference: str, key_points: tuple[str, ...], language: str
) -> _Prepared:
    chinese = tx.is_chinese(language)
    question_units = frozenset(tx.tokenise(question_text))
    verdict: bool | None = None
    if _is_judgement(question_text):
        stated = _verdict(reference, chinese or tx.detect_language(reference) == "zh")
        # Only an explicit verdict in the reference is something an answer can contradict.
        verdict = stated.value if stated is not None and stated.strong else None
    if key_points:
        points = [_make_point(kp, question_units) for kp in key_points]
    else:
        points = _derive_points(reference, question_units, 6)
    verdict_point: int | None = None
    if verdict is not None and not key_points:
        # The verdict becomes a point of its own; a clause that only restates it ("错误",
        # "No") would be a duplicate that no answer can cover by matching words.
        label = ("结论：" if chinese else "Verdict: ") + _verdict_word(verdict, chinese)
        kept = [p for p in points if not _is_bare_verdict(p.text)]
        points = [_Point(text=label, weights={}, total=0.0), *kept][:6]
        verdict_point = 0
    texts = [p.text for p in points]
    scoring = [_make_point(c, question_units) for c in _reference_clauses(reference)]
    scoring = [p for p in scoring if p.total > 0][:MAX_SCORING_POINTS]
    ref_weights: dict[str, float] = {}
    for unit in tx.tokenise(reference):
        ref_weights.setdefault(unit, _unit_weight(unit, question_units))
    for point in points:
        for unit, weight in point.weights.items():
            ref_weights.setdefault(unit, weight)
    return _Prepared(
        chinese=chinese,
        key_points=tuple(texts),
        points=tuple(points),
        scoring=tuple(scoring),
        required=_required_count(question_text),
        ref_weights=ref_weights,
        ref_total=sum(ref_weights.values()),
        known=_Vocabulary.of([*ref_weights, *question_units]),
        question_units=question_units,
        ref_units_len=min(max(tx.count_units(reference), 1.0), LENGTH_CAP),
        curated=bool(key_points),
        verdict=verdict,
        verdict_point=verdict_point,
    )


def _verdict_word(verdict: bool, chinese: bool) -> str:
    if chinese:
        return "正确" if verdict else "错误（不成立）"
    return "yes / true" if verdict else "no / false"


@dataclass(frozen=True)
class _Vocabulary:
    """The units of a text, indexed for soft matching."""

    units: frozenset[str]
    prefixes: frozenset[str]
    numbers: tuple[float, ...]

    @classmethod
    def of(cls, units: Iterable[str]) -> _Vocabulary:
        present = frozenset(units)
        return cls(
            units=present,
            prefixes=frozenset(
                u[:PREFIX_LEN] for u in present if len(u) > PREFIX_LEN and u.isascii()
            ),
            numbers=tuple(float(u) for u in present if _NUMBER_RE.fullmatch(u)),
        )

    def match(self, unit: str) -> float:
        """1 for the unit itself, less for a near miss, 0 when absent."""
        if unit in self.units:
            return 1.0
        if len(unit) > PREFIX_LEN and unit.isascii() and unit[:PREFIX_LEN] in self.prefixes:
            return PREFIX_MATCH
        if self.numbers and _NUMBER_RE.fullmatch(unit):
            return 1.0 if any(_same_number(float(unit), n) for n in self.numbers) else 0.0
        return 0.0


_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


def _same_number(expected: float, given: float) -> bool:
    """Whether ``given`` is ``expected`` rounded (56.9512 -> 57, 56.95; 0.0508 -> 0.05).

    Small integers must match exactly: "1" is not a rounding of 1.4 in any useful sense.
    """
    if expected == given:
        return True
    if given == 0 or (abs(given) < 10 and given == int(given)):
        return False
    return abs(expected - given) <= 0.011 * abs(expected) or (
        abs(expected - given) <= 0.0051 and abs(given) < 1
    )


def _coverage(point: _Point, vocabulary: _Vocabulary) -> float:
    if point.total <= 0:
        return 0.0
    got = sum(w * vocabulary.match(u) for u, w in point.weights.items())
    return got / point.total


# --------------------------------------------------------------------------- analysis

_EXPLAIN_RE = re.compile(
    r"因为|所以|由于|因此|例如|比如|举例|否则|导致|从而|原因|\bbecause\b|\bsince\b|\btherefore\b"
    r"|\bso that\b|\bthus\b|\bhence\b|\be\.?g\.?|\bfor example\b|\bfor instance\b|\bwhich means\b"
    r"|\botherwise\b|\bdue to\b|\bsuch as\b"
)


def _analyse(prep: _Prepared, answer: str) -> _Analysis:
    truncated = len(answer) > MAX_ANSWER_CHARS
    body = answer[:MAX_ANSWER_CHARS]
    units = tx.tokenise(body)
    vocabulary = _Vocabulary.of(units)

    stated: _Verdict | None = None
    if prep.verdict is not None:
        stated = _verdict(body, prep.chinese or tx.detect_language(body) == "zh")
    agreement = _agreement(prep.verdict, stated)

    # The verdict point is covered by agreeing with the reference, not by sharing words.
    coverage = tuple(
        (1.0 if agreement else 0.0) if i == prep.verdict_point else _coverage(p, vocabulary)
        for i, p in enumerate(prep.points)
    )
    scored = [
        c
        for i, (c, p) in enumerate(zip(coverage, prep.points, strict=True))
        if p.total > 0 or i == prep.verdict_point
    ]
    content = sum(scored) / len(scored) if scored else 0.0
    if prep.required is not None and len(prep.scoring) > prep.required:
        # "Name at least 4": the best 4 reference items count, whichever the answer picked.
        best = sorted((_coverage(p, vocabulary) for p in prep.scoring), reverse=True)
        top = sum(best[: prep.required]) / prep.required
        content = REQUIRED_SHARE * top + (1 - REQUIRED_SHARE) * content

    recall = (
        sum(w * vocabulary.match(u) for u, w in prep.ref_weights.items()) / prep.ref_total
        if prep.ref_total
        else 0.0
    )
    own = {u: _unit_weight(u, frozenset()) for u in vocabulary.units}
    own_total = sum(own.values())
    relevance = (
        sum(w * prep.known.match(u) for u, w in own.items()) / own_total if own_total else 0.0
    )
    # How much of the answer only repeats the question, and how much of the reference that
    # the question does not already give away the answer recalls.
    question_weights = {u: _unit_weight(u, frozenset()) for u in prep.question_units}
    question_total = sum(question_weights.values())
    on_question = (
        sum(w * vocabulary.match(u) for u, w in question_weights.items()) / question_total
        if question_total
        else 0.0
    )
    echo = (
        sum(w for u, w in own.items() if u in prep.question_units) / own_total if own_total else 0.0
    )
    novel = {u: w for u, w in prep.ref_weights.items() if u not in prep.question_units}
    novel_total = sum(novel.values())
    new_recall = (
        sum(w * vocabulary.match(u) for u, w in novel.items()) / novel_total
        if novel_total
        else recall
    )

    pieces = _quotable_pieces(body)
    clauses = [body[a:b] for a, b in pieces]
    clause_units = [_Vocabulary.of(tx.tokenise(c)) for c in clauses]
    quotes = tuple(_best_quote(p, clauses, clause_units) for p in prep.points)
    n_units = tx.count_units(body)
    return _Analysis(
        coverage=coverage,
        quotes=quotes,
        content=content,
        recall=recall,
        new_recall=new_recall,
        relevance=relevance,
        echo=echo,
        on_question=on_question,
        units=n_units,
        length_ratio=n_units / prep.ref_units_len,
        agreement=agreement,
        verdict_quote=stated.quote if stated is not None else "",
        explains=bool(_EXPLAIN_RE.search(tx.normalise(body))),
        sentences=len(tx.sentence_spans(body)),
        truncated=truncated,
    )


def _quotable_pieces(text: str) -> list[tuple[int, int]]:
    """The answer's clauses: a quote should point at the words that make the point, not at a
    whole sentence that makes several."""
    pieces: list[tuple[int, int]] = []
    for start, end in tx.sentence_spans(text):
        sentence = text[start:end]
        if end - start <= QUOTE_MIN_SPLIT_CHARS:
            pieces.append((start, end))
        else:
            pieces.extend((start + a, start + b) for a, b in tx.clause_spans(sentence))
        if len(pieces) >= MAX_ANSWER_CLAUSES:
            break
    return pieces[:MAX_ANSWER_CLAUSES]


def _best_quote(point: _Point, clauses: Sequence[str], clause_units: Sequence[_Vocabulary]) -> str:
    best, best_score = "", 0.0
    for clause, units in zip(clauses, clause_units, strict=True):
        score = sum(w * units.match(u) for u, w in point.weights.items())
        if score > best_score:
            best, best_score = clause, score
    return best.strip()


# --------------------------------------------------------------------------- levels


def _level(value: float) -> int:
    return max(0, min(MAX_LEVEL, round(value * MAX_LEVEL)))


@dataclass(frozen=True)
class _Levels:
    correctness: int
    completeness: int
    depth: int
    clarity: int
    off_topic: bool
    wrong_verdict: bool
    restates: bool


def _levels(prep: _Prepared, a: _Analysis) -> _Levels:
    content = min(1.0, a.content / COVERAGE_FULL)
    recall = min(1.0, a.recall / RECALL_FULL)
    share = CURATED_CONTENT_SHARE if prep.curated else CONTENT_SHARE
    quality = share * content + (1.0 - share) * recall
    off_topic = (
        a.relevance < OFF_TOPIC_RELEVANCE
        and a.recall < OFF_TOPIC_RECALL
        and a.on_question < OFF_TOPIC_QUESTION
    )
    restates = a.echo >= RESTATE_ECHO and a.new_recall < RESTATE_RECALL
    wrong_verdict = a.agreement is False
    right_verdict = a.agreement is True

    correctness = quality
    if right_verdict:
        # On a yes/no question the verdict is most of what "correct" means.
        correctness = max(correctness, VERDICT_FLOOR)
    if restates and not right_verdict:
        correctness = min(correctness, 0.25)
    if wrong_verdict or off_topic:
        correctness = 0.0
    length = min(1.0, a.length_ratio / LENGTH_FULL)
    depth = min(correctness, length) + (EXPLAIN_BONUS if a.explains else 0.0)
    if (restates and not right_verdict) or off_topic:
        depth = 0.0
    clarity = _clarity(a)
    if off_topic:
        # Clear prose about something else does not answer clearly.
        clarity = min(clarity, OFF_TOPIC_CLARITY)
    return _Levels(
        correctness=_level(correctness),
        completeness=_level(content),
        depth=_level(min(1.0, depth)),
        clarity=_level(min(1.0, max(0.0, clarity))),
        off_topic=off_topic,
        wrong_verdict=wrong_verdict,
        restates=restates,
    )


def _clarity(a: _Analysis) -> float:
    """Clarity from form alone: on point, neither a fragment nor a ramble, sentences that end.

    Level 3 is the default for an answer that stays on the question; level 4 needs it to be
    focused and of sensible length too.
    """
    clarity = 0.75
    if a.units < 3:
        clarity -= 0.25
    if a.length_ratio > RAMBLING_RATIO:
        clarity -= 0.25
    if a.units / max(a.sentences, 1) > LONG_SENTENCE_UNITS:
        clarity -= 0.25
    if a.relevance < 0.3:
        clarity -= 0.25
    elif a.relevance >= 0.6 and 0.3 <= a.length_ratio <= 2.0 and clarity == 0.75:
        clarity = 1.0
    return clarity


# --------------------------------------------------------------------------- the grader


class OfflineGrader:
    """Grade by lexical key-point coverage; deterministic, no endpoint, thread-safe."""

    def __init__(self) -> None:
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
        prep = _prepare(
            question.question,
            _grading_reference(question),
            tuple(question.key_points),
            question.language,
        )
        analysis = _analyse(prep, answer)
        levels = _levels(prep, analysis)
        reply = _reply(question, prep, analysis, levels)
        grade = build_grade(reply, question, list(prep.key_points), answer, estimate=True)
        notices = []
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


def _grading_reference(question: Question) -> str:
    """The reference plus its corrections (see ``Question.full_reference``), labels removed."""
    return _strip_labels(question.full_reference)


def _statuses(prep: _Prepared, a: _Analysis) -> list[tuple[KeyPointStatus, str]]:
    result: list[tuple[KeyPointStatus, str]] = []
    for i, (cov, quote) in enumerate(zip(a.coverage, a.quotes, strict=True)):
        if i == prep.verdict_point:
            if a.agreement is None:
                result.append(("missing", ""))
            elif a.agreement:
                result.append(("covered", a.verdict_quote))
            else:
                result.append(("contradicted", a.verdict_quote))
            continue
        if cov >= COVERED_AT and quote:
            result.append(("covered", quote))
        elif cov >= PARTIAL_AT and quote:
            result.append(("partial", quote))
        else:
            result.append(("missing", ""))
    return result


def _reply(question: Question, prep: _Prepared, a: _Analysis, levels: _Levels) -> GradeReply:
    statuses = _statuses(prep, a)
    key_points = [
        KeyPointReply(index=i, quote=quote, status=status)
        for i, (status, quote) in enumerate(statuses, start=1)
    ]
    covered = [t for t, (s, _) in zip(prep.key_points, statuses, strict=True) if s == "covered"]
    partial = [t for t, (s, _) in zip(prep.key_points, statuses, strict=True) if s == "partial"]
    missing = [t for t, (s, _) in zip(prep.key_points, statuses, strict=True) if s == "missing"]
    contradicted = [
        t for t, (s, _) in zip(prep.key_points, statuses, strict=True) if s == "contradicted"
    ]
    words = _ZH if prep.chinese else _EN
    scored = [
        CriterionReply(
            criterion="correctness",
            evidence=words["correctness_evidence"].format(
                recall=round(100 * a.recall), relevance=round(100 * a.relevance)
            ),
            comment=words["wrong_verdict"]
            if levels.wrong_verdict
            else words["off_topic"]
            if levels.off_topic
            else words["correctness_comment"],
            score=levels.correctness,
        ),
        CriterionReply(
            criterion="completeness",
            evidence=words["completeness_evidence"].format(
                covered=len(covered), partial=len(partial), total=len(prep.key_points)
            ),
            comment=words["completeness_comment"],
            score=levels.completeness,
        ),
        CriterionReply(
            criterion="depth",
            evidence=words["depth_evidence"].format(units=round(a.units)),
            comment=words["depth_explains"] if a.explains else words["depth_plain"],
            score=levels.depth,
        ),
        CriterionReply(
            criterion="clarity",
            evidence=words["clarity_evidence"].format(sentences=a.sentences),
            comment=words["clarity_comment"],
            score=levels.clarity,
        ),
    ]
    # A custom rubric may name criteria this grader knows nothing about: they get the mean
    # of the levels it did estimate rather than a silent 0.
    by_id = {c.criterion: c for c in scored}
    mean_level = round(sum(c.score for c in scored) / len(scored))
    criteria = [
        by_id.get(
            c.id,
            CriterionReply(
                criterion=c.id,
                evidence=words["other_evidence"],
                comment=words["other_comment"],
                score=mean_level,
            ),
        )
        for c in question.criteria
    ]
    factual_errors: list[str] = []
    if levels.wrong_verdict:
        factual_errors.append(
            words["verdict_error"].format(
                quote=a.verdict_quote, expected=_verdict_word(bool(prep.verdict), prep.chinese)
            )
        )
    reference_issues: list[str] = []
    if prep.ref_total <= 0:
        reference_issues.append(words["empty_reference"])
    return GradeReply(
        key_points=key_points,
        criteria=criteria,
        factual_errors=factual_errors,
        feedback=_feedback(words, covered, partial, missing, levels),
        stronger_answer=_stronger(words, contradicted + missing + partial),
        follow_ups=_follow_ups(words, missing + partial, question.follow_ups, bool(contradicted)),
        reference_issues=reference_issues,
    )


def _word_units(text: str) -> set[str]:
    """Units that stand for words: single Chinese characters overlap by chance too often."""
    return {u for u in tx.tokenise(text) if not tx.is_unigram(u)}


def _short(text: str, limit: int = 60) -> str:
    """Cut ``text`` to ``limit`` characters, at a space when there is one near the end."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,，;；:：") + "…"


def _join(items: Sequence[str], chinese: bool) -> str:
    return ("；" if chinese else "; ").join(_short(i) for i in items)


def _feedback(
    words: dict[str, str],
    covered: Sequence[str],
    partial: Sequence[str],
    missing: Sequence[str],
    levels: _Levels,
) -> str:
    chinese = words is _ZH
    parts: list[str] = []
    if levels.off_topic:
        parts.append(words["off_topic"])
    if levels.wrong_verdict:
        parts.append(words["wrong_verdict"])
    if covered:
        parts.append(words["covered"].format(items=_join(covered, chinese)))
    if partial:
        parts.append(words["partial"].format(items=_join(partial, chinese)))
    if missing:
        parts.append(words["missing"].format(items=_join(missing, chinese)))
    elif covered and not partial:
        parts.append(words["all_covered"])
    parts.append(words["estimate"])
    return ("" if chinese else " ").join(parts)


def _stronger(words: dict[str, str], lacking: Sequence[str]) -> str:
    if not lacking:
        return words["stronger_none"]
    bullet = "\n".join(f"- {item}" for item in lacking)
    return words["stronger"] + "\n" + bullet


def _follow_ups(
    words: dict[str, str], lacking: Sequence[str], prepared: Sequence[str], contradicted: bool
) -> list[str]:
    """Up to three questions aimed at the points the answer lacks, in the points' order.

    A wrong verdict comes first, as an interviewer would ask for a counterexample. A
    follow-up written for the question in the bank is preferred for the lacking point it
    shares the most words with (pairs are matched best-first, each used once); the other
    lacking points get a templated question.
    """
    lead = [words["follow_verdict"]] if contradicted else []
    targets = list(lacking[: 3 - len(lead)])
    if not targets:
        return lead or [prepared[0] if prepared else words["follow_example"]]
    point_units = [_word_units(p) for p in targets]
    follow_units = [_word_units(f) for f in prepared]
    pairs = sorted(
        (
            (len(pu & fu), -i, -j, i, j)
            for i, pu in enumerate(point_units)
            for j, fu in enumerate(follow_units)
        ),
        reverse=True,
    )
    chosen: dict[int, str] = {}
    used: set[int] = set()
    for overlap, _, _, i, j in pairs:
        if overlap < 2:
            break
        if i not in chosen and j not in used:
            chosen[i] = prepared[j]
            used.add(j)
    templates = (words["follow_1"], words["follow_2"], words["follow_3"])
    return lead + [
        chosen.get(i, templates[i].format(point=_short(point, 60)))
        for i, point in enumerate(targets)
    ]


_EN: dict[str, str] = {
    "correctness_evidence": "Recalls about {recall}% of the reference's content; {relevance}% of"
    " the answer's terms relate to the question.",
    "correctness_comment": "Estimated from word overlap with the reference; reasoning is not"
    " checked.",
    "wrong_verdict": "The answer's verdict is the opposite of the reference's.",
    "off_topic": "The answer does not seem to address the question.",
    "completeness_evidence": "{covered} of {total} key points covered, {partial} partly.",
    "completeness_comment": "Key points are matched by their content words.",
    "depth_evidence": "About {units} words.",
    "depth_explains": "Gives reasons or examples.",
    "depth_plain": "No reasons or examples detected.",
    "clarity_evidence": "{sentences} sentence(s).",
    "clarity_comment": "Judged from length and structure only.",
    "other_evidence": "Not measured offline.",
    "other_comment": "Set to the mean of the estimated criteria.",
    "verdict_error": 'Verdict "{quote}" contradicts the reference ({expected}).',
    "covered": "Covered: {items}.",
    "partial": "Partly covered: {items}.",
    "missing": "Missing: {items}.",
    "all_covered": "Every key point is addressed.",
    "estimate": "(Offline estimate from word overlap; configure an endpoint for a full grade.)",
    "stronger": "A stronger answer would also cover:",
    "stronger_none": "The content matches the key points; make the reasoning explicit and"
    " give an example.",
    "follow_1": 'Your answer did not cover this point: "{point}". Can you explain it?',
    "follow_2": 'How would you explain "{point}", and why does it matter here?',
    "follow_3": 'Can you add something on "{point}"?',
    "follow_example": "Can you give a concrete example from practice?",
    "empty_reference": "The reference answer has no words to compare with, so this estimate"
    " means nothing; write a reference with content.",
    "follow_verdict": "Your verdict differs from the expected one. Can you find a case or"
    " counterexample that would change it?",
}

_ZH: dict[str, str] = {
    "correctness_evidence": "覆盖参考答案约 {recall}% 的内容；"
    "回答中约 {relevance}% 的术语与题目相关。",
    "correctness_comment": "依据与参考答案的词语重合度估计，未检查推理过程。",
    "wrong_verdict": "回答的判断结论与参考答案相反。",
    "off_topic": "回答似乎没有针对题目。",
    "completeness_evidence": "{total} 个要点中覆盖 {covered} 个，部分覆盖 {partial} 个。",
    "completeness_comment": "要点依据关键词匹配。",
    "depth_evidence": "约 {units} 个词的篇幅。",
    "depth_explains": "给出了原因或例子。",
    "depth_plain": "没有发现原因说明或例子。",
    "clarity_evidence": "共 {sentences} 句。",
    "clarity_comment": "仅依据篇幅和结构判断。",
    "other_evidence": "离线评分无法单独衡量此项。",
    "other_comment": "取其他各项估计的平均水平。",
    "verdict_error": "结论“{quote}”与参考答案（{expected}）相反。",
    "covered": "已覆盖：{items}。",
    "partial": "部分覆盖：{items}。",
    "missing": "缺少：{items}。",
    "all_covered": "所有要点都已涉及。",
    "estimate": "（离线估计，依据词语重合度；配置模型端点可获得完整评分。）",
    "stronger": "更完整的回答还应包括：",
    "stronger_none": "内容已覆盖要点；可以把推理讲得更明确，并举一个例子。",
    "follow_1": "你的回答没有提到“{point}”，能具体解释一下吗？",
    "follow_2": "如何理解“{point}”？它为什么重要？",
    "follow_3": "关于“{point}”，你还能补充些什么？",
    "follow_example": "能结合一个具体的例子说明吗？",
    "empty_reference": "参考答案中没有可比对的内容，此估计没有意义；请补充参考答案。",
    "follow_verdict": "你的结论与参考答案不同。能否想出一个反例或特殊情况来检验它？",
}
