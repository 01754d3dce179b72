"""The offline grader's measurements: how much of the key points and the reference an answer
covers, how on-topic it is, and the criterion levels that follow (see ``offline``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from interviewer import text as tx
from interviewer.bank.rubric import MAX_LEVEL
from interviewer.grading.key_points import (
    Point,
    derive_points,
    make_point,
    reference_clauses,
    unit_weight,
)
from interviewer.grading.offline_facts import (
    Verdict,
    is_bare_verdict,
    is_judgement,
    required_count,
    stated_verdict,
    verdict_agreement,
    verdict_word,
)

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
class PreparedQuestion:
    """Everything about a question that does not depend on the answer."""

    chinese: bool
    key_points: tuple[str, ...]
    points: tuple[Point, ...]
    scoring: tuple[Point, ...]
    required: int | None
    ref_weights: dict[str, float]
    ref_total: float
    known: Vocabulary
    question_units: frozenset[str]
    ref_units_len: float
    curated: bool
    verdict: bool | None
    verdict_point: int | None


@dataclass(frozen=True)
class Analysis:
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


# --------------------------------------------------------------------------- preparation


@lru_cache(maxsize=512)
def prepare_question(
    question_text: str, reference: str, key_points: tuple[str, ...], language: str
) -> PreparedQuestion:
    chinese = tx.is_chinese(language)
    question_units = frozenset(tx.tokenise(question_text))
    verdict: bool | None = None
    if is_judgement(question_text):
        stated = stated_verdict(reference, chinese or tx.detect_language(reference) == "zh")
        # Only an explicit verdict in the reference is something an answer can contradict.
        verdict = stated.value if stated is not None and stated.strong else None
    if key_points:
        points = [make_point(kp, question_units) for kp in key_points]
    else:
        points = derive_points(reference, question_units, 6)
    verdict_point: int | None = None
    if verdict is not None and not key_points:
        # The verdict becomes a point of its own; a clause that only restates it ("错误",
        # "No") would be a duplicate that no answer can cover by matching words.
        label = ("结论：" if chinese else "Verdict: ") + verdict_word(verdict, chinese)
        kept = [p for p in points if not is_bare_verdict(p.text)]
        points = [Point(text=label, weights={}, total=0.0), *kept][:6]
        verdict_point = 0
    texts = [p.text for p in points]
    scoring = [make_point(c, question_units) for c in reference_clauses(reference)]
    scoring = [p for p in scoring if p.total > 0][:MAX_SCORING_POINTS]
    ref_weights: dict[str, float] = {}
    for unit in tx.tokenise(reference):
        ref_weights.setdefault(unit, unit_weight(unit, question_units))
    for point in points:
        for unit, weight in point.weights.items():
            ref_weights.setdefault(unit, weight)
    return PreparedQuestion(
        chinese=chinese,
        key_points=tuple(texts),
        points=tuple(points),
        scoring=tuple(scoring),
        required=required_count(question_text),
        ref_weights=ref_weights,
        ref_total=sum(ref_weights.values()),
        known=Vocabulary.of([*ref_weights, *question_units]),
        question_units=question_units,
        ref_units_len=min(max(tx.count_units(reference), 1.0), LENGTH_CAP),
        curated=bool(key_points),
        verdict=verdict,
        verdict_point=verdict_point,
    )


@dataclass(frozen=True)
class Vocabulary:
    """The units of a text, indexed for soft matching."""

    units: frozenset[str]
    prefixes: frozenset[str]
    numbers: tuple[float, ...]

    @classmethod
    def of(cls, units: Iterable[str]) -> Vocabulary:
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


def _coverage(point: Point, vocabulary: Vocabulary) -> float:
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


def analyse(prep: PreparedQuestion, answer: str) -> Analysis:
    truncated = len(answer) > MAX_ANSWER_CHARS
    body = answer[:MAX_ANSWER_CHARS]
    units = tx.tokenise(body)
    vocabulary = Vocabulary.of(units)

    stated: Verdict | None = None
    if prep.verdict is not None:
        stated = stated_verdict(body, prep.chinese or tx.detect_language(body) == "zh")
    agreement = verdict_agreement(prep.verdict, stated)

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
    own = {u: unit_weight(u, frozenset()) for u in vocabulary.units}
    own_total = sum(own.values())
    relevance = (
        sum(w * prep.known.match(u) for u, w in own.items()) / own_total if own_total else 0.0
    )
    # How much of the answer only repeats the question, and how much of the reference that
    # the question does not already give away the answer recalls.
    question_weights = {u: unit_weight(u, frozenset()) for u in prep.question_units}
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
    clause_units = [Vocabulary.of(tx.tokenise(c)) for c in clauses]
    quotes = tuple(_best_quote(p, clauses, clause_units) for p in prep.points)
    n_units = tx.count_units(body)
    return Analysis(
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


def _best_quote(point: Point, clauses: Sequence[str], clause_units: Sequence[Vocabulary]) -> str:
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
class Levels:
    """The criterion levels of one answer and the findings that capped them."""

    correctness: int
    completeness: int
    depth: int
    clarity: int
    off_topic: bool
    wrong_verdict: bool
    restates: bool


def estimate_levels(prep: PreparedQuestion, a: Analysis) -> Levels:
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
    return Levels(
        correctness=_level(correctness),
        completeness=_level(content),
        depth=_level(min(1.0, depth)),
        clarity=_level(min(1.0, max(0.0, clarity))),
        off_topic=off_topic,
        wrong_verdict=wrong_verdict,
        restates=restates,
    )


def _clarity(a: Analysis) -> float:
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
