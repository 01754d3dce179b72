"""A panel of graders: the same answer graded through several endpoints, aggregated per item.

Different models disagree in different places, so a panel (``--panel A,B,...``, endpoint
profile names) gives a spread that means something even where one model decodes greedily.
The members grade in parallel; their grades are combined like repeated samples
(``interviewer.grading.aggregate``). A member that fails is reported in a notice and the
others still aggregate; when every member fails the answer stays ungraded.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from interviewer.bank.library import Question
from interviewer.errors import EndpointError, InputError
from interviewer.grading.aggregate import combine_outcomes
from interviewer.grading.grade import Grader, GraderInfo, Outcome


class PanelGrader:
    """Grade with every member and aggregate; safe to share between threads."""

    def __init__(self, members: list[tuple[str, Grader]]) -> None:
        if len(members) < 2:
            raise ValueError("a panel needs at least two graders")
        self.members = members

    @property
    def info(self) -> GraderInfo:
        infos = [grader.info for _name, grader in self.members]
        return GraderInfo(
            kind="llm",
            model=" + ".join(i.model or "?" for i in infos),
            endpoint="panel:" + ",".join(name for name, _grader in self.members),
            prompt_version=infos[0].prompt_version,
            settings={
                "panel": [
                    _member(name, i) for (name, _g), i in zip(self.members, infos, strict=True)
                ]
            },
        )

    def grade(self, question: Question, answer: str) -> Outcome:
        if not answer.strip():
            raise InputError(
                f"Question '{question.id}': the answer is empty; type an answer or skip it."
            )
        outcomes: list[Outcome] = []
        members: list[dict[str, Any]] = []
        notices: list[str] = []
        with ThreadPoolExecutor(max_workers=len(self.members)) as pool:
            futures = [(name, pool.submit(g.grade, question, answer)) for name, g in self.members]
            for name, future in futures:
                try:
                    outcome = future.result()
                except EndpointError as exc:
                    notices.append(f"Panel member '{name}' failed: {exc}")
                    members.append({"endpoint": name, "error": str(exc)})
                    continue
                outcomes.append(outcome)
                entry = _member(name, outcome.info)
                entry["score"] = outcome.score
                if outcome.grade is None:
                    entry["ungraded"] = outcome.ungraded_reason
                    notices.append(
                        f"Panel member '{name}' could not grade: {outcome.ungraded_reason}"
                        + (f" ({outcome.ungraded_detail})" if outcome.ungraded_detail else "")
                    )
                members.append(entry)
        info = self.info.model_copy(update={"settings": {"panel": members}})
        if not outcomes:
            return Outcome(
                info=info,
                ungraded_reason="endpoint_error",
                ungraded_detail="every panel member failed: " + "; ".join(notices),
            )
        combined = combine_outcomes(outcomes, "panel members")
        settings: dict[str, Any] = {"panel": members}
        if combined.usage.cached_prompt_tokens is not None:
            settings["cached_prompt_tokens"] = combined.usage.cached_prompt_tokens
        combined.info = info.model_copy(update={"settings": settings})
        combined.notices = [*notices, *combined.notices]
        return combined

    def close(self) -> None:
        for _name, grader in self.members:
            close = getattr(grader, "close", None)
            if callable(close):
                close()


def _member(name: str, info: GraderInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {"endpoint": name, "model": info.model}
    if info.system_fingerprint is not None:
        entry["system_fingerprint"] = info.system_fingerprint
    for key in ("contract", "temperature", "samples"):
        if key in info.settings:
            entry[key] = info.settings[key]
    return entry
