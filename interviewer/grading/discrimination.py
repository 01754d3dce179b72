"""Whether a model tells a strong answer from a weak one: the grading half of `endpoints check`.

A reply in the right format is not a grade worth having: tiny local models return
schema-valid grades that give a strong and a weak answer the same levels, or copy the worked
example of the system prompt. So before an endpoint is called fit to grade, it grades two
answers to one bundled question, written to be far apart: a strong answer that states every
key point correctly, and a weak one that is thin and contradicts two key points.

The verdict:

* ``discriminates`` when both are graded and the strong answer scores at least ``MARGIN``
  (30) points higher on the 0-100 scale. 30 points is more than a full rubric level on every
  criterion (a level is worth 25 points when all criteria move together), so a lead that size
  cannot come from noise in one criterion, and a judge that can grade at all clears it
  easily: the answers differ by several levels on every criterion;
* ``flat`` when both are graded but the lead is smaller (or the weak answer wins);
* ``ungraded`` when either answer could not be graded (unparseable, truncated, refused, or
  an endpoint failure): nothing can be concluded, and nothing is trusted.

Only ``discriminates`` is trusted. The verdict is remembered in endpoint state
(``interviewer.grading.endpoint_state``) so that practice can warn while it grades with a
model that failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from interviewer.bank.library import Question
from interviewer.errors import EndpointError
from interviewer.grading.grade import Grader, Outcome

# The lead (0-100 points) the strong answer needs over the weak one; see the module docstring.
MARGIN = 30.0

Verdict = Literal["discriminates", "flat", "ungraded"]

PROBE_QUESTION = Question(
    id="check-process-thread",
    question=(
        "What is the difference between a process and a thread, and when would you choose one"
        " over the other?"
    ),
    reference=(
        "A process is a running program with its own address space and resources; the"
        " operating system isolates processes from each other, so a crash in one does not"
        " corrupt another, and they communicate through IPC such as pipes, sockets or shared"
        " memory segments. A thread is a unit of execution inside a process: the threads of a"
        " process share its memory and open files, so they exchange data cheaply but need"
        " synchronisation such as locks to avoid data races, and a crashing thread takes its"
        " whole process down. Threads are cheaper to create and to switch between than"
        " processes. Choose processes for isolation and fault tolerance, or for CPU-bound"
        " work where a runtime lock keeps threads from running in parallel (CPython's GIL);"
        " choose threads for I/O-bound concurrency and cheap sharing of data."
    ),
    key_points=[
        "A process has its own address space; the threads of a process share its memory",
        "Processes are isolated: a crash in one does not corrupt another, while a crashing"
        " thread takes down its whole process",
        "Threads sharing memory need synchronisation such as locks to avoid data races",
        "Threads are cheaper to create and switch than processes; processes communicate"
        " through IPC",
        "Processes suit isolation and CPU-bound work under a GIL; threads suit I/O-bound work"
        " and cheap data sharing",
    ],
    topic="operating systems",
    difficulty="medium",
    bank="interviewer-check",
)

STRONG_ANSWER = (
    "A process is an instance of a running program with its own virtual address space, file"
    " descriptors and other resources, and the OS isolates processes from each other. A thread"
    " is a path of execution inside a process; all threads of a process share the same heap"
    " and open files, each with its own stack and registers.\n\n"
    "Because threads share memory, they can exchange data without copying, but every shared"
    " mutable structure needs synchronisation (mutexes, atomics, condition variables),"
    " otherwise you get data races. Processes have to communicate through IPC such as pipes,"
    " sockets or explicitly shared memory, which costs more but keeps them isolated: if one"
    " process crashes, the others keep running, whereas a segfault in one thread kills the"
    " whole process. Threads are also cheaper to create and to context-switch, since no new"
    " address space has to be set up.\n\n"
    "So I choose processes when I need isolation or fault tolerance, or for CPU-bound work in"
    " CPython, where the GIL stops threads from running Python code in parallel; I choose"
    " threads for I/O-bound concurrency, like many network calls, and when tasks share a lot"
    " of in-memory data."
)

WEAK_ANSWER = (
    "A thread is basically a smaller process. Each thread gets its own separate copy of the"
    " memory, so you never need locks. They are pretty much the same thing, so it does not"
    " really matter which one you pick."
)


@dataclass(frozen=True)
class Discrimination:
    """How a grader scored the strong and the weak answer, and what that says about it."""

    verdict: Verdict
    strong: float | None
    weak: float | None
    detail: str = ""
    seconds: float = 0.0

    @property
    def trusted(self) -> bool:
        return self.verdict == "discriminates"

    @property
    def lead(self) -> float | None:
        if self.strong is None or self.weak is None:
            return None
        return round(self.strong - self.weak, 1)

    def summary(self) -> str:
        """One sentence a user can act on."""
        if self.verdict == "ungraded":
            return f"could not grade the check answers ({self.detail})"
        return (
            f"strong answer {self.strong:g}, weak answer {self.weak:g}: a lead of"
            f" {self.lead:g} points (at least {MARGIN:g} needed)"
        )


def check_discrimination(grader: Grader) -> Discrimination:
    """Grade the strong and the weak answer with ``grader`` and judge the difference."""
    started = time.perf_counter()
    scores: list[float] = []
    for label, answer in (("strong", STRONG_ANSWER), ("weak", WEAK_ANSWER)):
        try:
            outcome = grader.grade(PROBE_QUESTION, answer)
        except EndpointError as exc:
            # The first sentence names the failure; the fix is shown where it happened.
            first = str(exc).split(". ", 1)[0].split(": ", 1)[0]
            return _ungraded(f"the {label} answer: {exc.kind}: {first}", scores, started)
        if outcome.grade is None:
            return _ungraded(f"the {label} answer: {_why(outcome)}", scores, started)
        scores.append(outcome.grade.score)
    strong, weak = scores
    verdict: Verdict = "discriminates" if strong - weak >= MARGIN else "flat"
    return Discrimination(verdict, strong, weak, seconds=_seconds(started))


def _why(outcome: Outcome) -> str:
    reason = outcome.ungraded_reason or "ungraded"
    detail = f": {outcome.ungraded_detail}" if outcome.ungraded_detail else ""
    text = f"{reason}{detail}"
    return text if len(text) <= 160 else text[:157] + "..."


def _ungraded(detail: str, scores: list[float], started: float) -> Discrimination:
    strong = scores[0] if scores else None
    return Discrimination("ungraded", strong, None, detail=detail, seconds=_seconds(started))


def _seconds(started: float) -> float:
    return round(time.perf_counter() - started, 1)
