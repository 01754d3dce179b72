"""What the offline grader reads from a question: how many items it asks for, and whether it
is a yes/no question whose verdict an answer can agree with or contradict."""

from __future__ import annotations

import re
from dataclasses import dataclass

from interviewer import text as tx

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


def required_count(question: str) -> int | None:
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
class Verdict:
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


def is_judgement(question: str) -> bool:
    norm = tx.normalise(question)
    return bool(_JUDGE_ZH.search(norm) or _JUDGE_EN.search(norm))


def stated_verdict(text: str, chinese: bool) -> Verdict | None:
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
                return Verdict(alone.group() in _POSITIVE_ZH, True, quote)
            found = _VERDICT_ZH_ANYWHERE.search(piece[:20])
            if found:
                return Verdict(found.group() in _POSITIVE_ZH, True, quote)
            if _VERDICT_ZH_WEAK.search(piece[:20]):
                return Verdict(False, False, quote)
        return None
    if not clauses:
        return None
    a, b = clauses[0]
    quote = text[a:b].strip()
    first = _ANSWER_LABEL.sub("", tx.normalise(quote))
    words = re.findall(r"[a-z']+", first)
    if words and words[0] in _VERDICT_EN_FIRST:
        return Verdict(_VERDICT_EN_FIRST[words[0]], True, quote)
    if _NEGATION_EN.search(first):
        return Verdict(False, False, quote)
    return None


def is_bare_verdict(text: str) -> bool:
    norm = tx.normalise(text).strip(" ,.;:!?\"'")
    return bool(
        _VERDICT_ZH_ALONE.fullmatch(norm)
        or _VERDICT_ZH_ANYWHERE.fullmatch(norm)
        or norm in _VERDICT_EN_FIRST
    )


def verdict_agreement(expected: bool | None, given: Verdict | None) -> bool | None:
    """True/False when the answer's verdict agrees/contradicts the reference, else None."""
    if expected is None or given is None:
        return None
    if given.value == expected:
        return True
    return False if given.strong else None


def verdict_word(verdict: bool, chinese: bool) -> str:
    if chinese:
        return "正确" if verdict else "错误（不成立）"
    return "yes / true" if verdict else "no / false"
