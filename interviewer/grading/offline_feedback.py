"""The offline grader's written part: key-point statuses, criterion comments, feedback,
a stronger answer and follow-up questions, in the question's language."""

from __future__ import annotations

from collections.abc import Sequence

from interviewer import text as tx
from interviewer.bank.library import Question
from interviewer.grading.grade import CriterionReply, GradeReply, KeyPointReply, KeyPointStatus
from interviewer.grading.offline_facts import verdict_word
from interviewer.grading.offline_measure import (
    COVERED_AT,
    PARTIAL_AT,
    Analysis,
    Levels,
    PreparedQuestion,
)


def _statuses(prep: PreparedQuestion, a: Analysis) -> list[tuple[KeyPointStatus, str]]:
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


def grade_reply(
    question: Question, prep: PreparedQuestion, a: Analysis, levels: Levels
) -> GradeReply:
    """The offline grade as a ``GradeReply``, written in the question's language."""
    statuses = _statuses(prep, a)
    key_points = [
        KeyPointReply(index=i, quote=quote, status=status)
        for i, (status, quote) in enumerate(statuses, start=1)
    ]
    by_status: dict[KeyPointStatus, list[str]] = {
        "covered": [],
        "partial": [],
        "missing": [],
        "contradicted": [],
    }
    for text, (status, _) in zip(prep.key_points, statuses, strict=True):
        by_status[status].append(text)
    covered, partial = by_status["covered"], by_status["partial"]
    missing, contradicted = by_status["missing"], by_status["contradicted"]
    words = _ZH if prep.chinese else _EN
    factual_errors: list[str] = []
    if levels.wrong_verdict:
        factual_errors.append(
            words["verdict_error"].format(
                quote=a.verdict_quote, expected=verdict_word(bool(prep.verdict), prep.chinese)
            )
        )
    reference_issues: list[str] = []
    if prep.ref_total <= 0:
        reference_issues.append(words["empty_reference"])
    return GradeReply(
        key_points=key_points,
        criteria=_criteria(question, words, prep, a, levels, len(covered), len(partial)),
        factual_errors=factual_errors,
        feedback=_feedback(words, covered, partial, missing, levels),
        stronger_answer=_stronger(words, contradicted + missing + partial),
        follow_ups=_follow_ups(
            words, missing + partial, question.follow_up_texts, bool(contradicted)
        ),
        reference_issues=reference_issues,
    )


def _criteria(
    question: Question,
    words: dict[str, str],
    prep: PreparedQuestion,
    a: Analysis,
    levels: Levels,
    covered: int,
    partial: int,
) -> list[CriterionReply]:
    """One entry per rubric criterion, in the rubric's order."""
    if levels.wrong_verdict:
        correctness_comment = words["wrong_verdict"]
    elif levels.off_topic:
        correctness_comment = words["off_topic"]
    else:
        correctness_comment = words["correctness_comment"]
    scored = [
        CriterionReply(
            criterion="correctness",
            evidence=words["correctness_evidence"].format(
                recall=round(100 * a.recall), relevance=round(100 * a.relevance)
            ),
            comment=correctness_comment,
            score=levels.correctness,
        ),
        CriterionReply(
            criterion="completeness",
            evidence=words["completeness_evidence"].format(
                covered=covered, partial=partial, total=len(prep.key_points)
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
    other = CriterionReply(
        criterion="other",
        evidence=words["other_evidence"],
        comment=words["other_comment"],
        score=mean_level,
    )
    return [
        by_id.get(c.id) or other.model_copy(update={"criterion": c.id}) for c in question.criteria
    ]


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
    levels: Levels,
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
