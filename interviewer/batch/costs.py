"""What a batch costs: list prices, the cost formula, ``--dry-run`` estimates and timing."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from interviewer.bank.library import Library, Question
from interviewer.batch.inputs import InputReader
from interviewer.batch.replicas import Replica
from interviewer.batch.results import NullWriter, ResultsState
from interviewer.batch.rows import RowTask, ScanSummary, scan_inputs
from interviewer.batch.run import BatchCounts, run_batch
from interviewer.config import EndpointProfile, is_local_url
from interviewer.errors import InputError
from interviewer.grading.grade import GraderInfo

# USD per million tokens (input, output), as published by the vendors (late 2025 / early
# 2026). Prices change: override or extend them in config.toml, e.g.
#   [prices."gpt-4o-mini"]
#   input = 0.15
#   output = 0.60
# A model is matched by exact name, then by the longest listed prefix (gpt-4o-mini-2024-07-18
# uses gpt-4o-mini). OpenAI's Batch API bills half of these prices.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-5": {"input": 1.25, "output": 10.00},
    "gpt-5-mini": {"input": 0.25, "output": 2.00},
    "gpt-5-nano": {"input": 0.05, "output": 0.40},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "o4-mini": {"input": 1.10, "output": 4.40},
    "deepseek-chat": {"input": 0.28, "output": 0.42},
    "deepseek-reasoner": {"input": 0.28, "output": 0.42},
}


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens for one model."""

    model: str
    input: float
    output: float

    def cost(self, prompt_tokens: int, output_tokens: int) -> float:
        """USD for the given tokens at this price."""
        return (prompt_tokens * self.input + output_tokens * self.output) / 1_000_000


def price_table(overrides: dict[str, dict[str, float]] | None = None) -> dict[str, Price]:
    """The built-in prices with config.toml's ``[prices]`` applied on top."""
    table = {m: Price(m, p["input"], p["output"]) for m, p in DEFAULT_PRICES.items()}
    for model, entry in (overrides or {}).items():
        base = table.get(model)
        try:
            table[model] = Price(
                model,
                float(entry.get("input", base.input if base else 0.0)),
                float(entry.get("output", base.output if base else 0.0)),
            )
        except (TypeError, ValueError):
            raise InputError(
                f'config.toml [prices."{model}"]: input and output must be numbers (USD per'
                " million tokens)."
            ) from None
    return table


def find_price(model: str | None, table: dict[str, Price]) -> Price | None:
    """Exact model name first, then the longest listed prefix (dated snapshots)."""
    if not model:
        return None
    if model in table:
        return table[model]
    name = model.rsplit("/", 1)[-1]  # gateways prefix vendor names: openai/gpt-4o
    if name in table:
        return table[name]
    matches = [m for m in table if name.startswith(m + "-")]
    return table[max(matches, key=len)] if matches else None


@dataclass
class Estimate:
    """What a run would cost, from the first pass and token counts."""

    scan: ScanSummary
    model: str | None = None
    requests: int = 0
    prompt_tokens: int = 0
    output_tokens: int = 0
    output_basis: str = ""
    tokens_estimated: bool = False
    price: Price | None = None
    local: bool = False
    sample_rows: int = 0
    sample_seconds: float = 0.0
    sample_concurrency: int = 0

    @property
    def cost(self) -> float | None:
        if self.price is None:
            return None
        return self.price.cost(self.prompt_tokens, self.output_tokens)

    @property
    def expected_seconds(self) -> float | None:
        if not self.sample_rows or self.sample_seconds <= 0:
            return None
        return self.requests * self.sample_seconds / self.sample_rows


class RequestBuilder(Protocol):
    """What --dry-run and --export-batch need from the LLM grader."""

    @property
    def info(self) -> GraderInfo: ...

    def request_body(self, question: Question, answer: str) -> dict[str, Any]: ...


def run_cost(
    profile: EndpointProfile | None, counts: BatchCounts, prices: dict[str, Price]
) -> float | None:
    """What the tokens a run used would cost at list prices (None: local or unknown model)."""
    if profile is None:
        return None
    if profile.urls and all(is_local_url(u) for u in profile.urls):
        return None
    price = find_price(profile.model, prices)
    if price is None or not (counts.prompt_tokens or counts.completion_tokens):
        return None
    return price.cost(counts.prompt_tokens, counts.completion_tokens)


def expected_output_tokens(question: Question, profile: EndpointProfile | None) -> int:
    """A rough size of one grade reply: framing, plus each key point and criterion.

    Used only until earlier results give a measured mean (see ``estimate_batch``).
    """
    guess = 220 + 70 * len(question.key_points) + 60 * len(question.criteria)
    if profile is not None:
        guess = min(guess, profile.max_output_tokens)
    return guess


class _TokenCounter:
    """Adds each distinct row's prompt and expected output tokens to an estimate.

    Prompt tokens are counted once per question on the real request body with a one-word
    answer, then the answer's own tokens are added per row: exact enough for a budget and
    far cheaper than encoding every full prompt.
    """

    PROBE = "answer"

    def __init__(
        self,
        estimate: Estimate,
        grader: RequestBuilder,
        profile: EndpointProfile | None,
        measured: float | None,
    ) -> None:
        from interviewer.grading import tokens

        self.tokens = tokens
        self.estimate = estimate
        self.grader = grader
        self.profile = profile
        self.measured = measured
        self.budget = profile.answer_token_budget if profile is not None else None
        self.base: OrderedDict[str, int] = OrderedDict()
        self.seen: set[str] = set()

    def _prefix(self, question: Question) -> int:
        prefix = self.base.get(question.sha)
        if prefix is None:
            model = self.estimate.model
            body = self.grader.request_body(question, self.PROBE)
            messages = body.get("messages") or []
            prefix = self.tokens.count_messages(messages, model) - self.tokens.count_tokens(
                self.PROBE, model
            )
            self.base[question.sha] = prefix
            if len(self.base) > 1024:
                self.base.popitem(last=False)
        return prefix

    def __call__(self, task: RowTask) -> None:
        if task.hash in self.seen or not task.row.answer:
            return  # a blank answer is graded 0 without a request
        self.seen.add(task.hash)
        answer_tokens = self.tokens.count_tokens(task.row.answer, self.estimate.model)
        if self.budget is not None:
            answer_tokens = min(answer_tokens, self.budget)
        self.estimate.prompt_tokens += self._prefix(task.question) + answer_tokens
        if self.measured is not None:
            self.estimate.output_tokens += round(self.measured)
        else:
            self.estimate.output_tokens += expected_output_tokens(task.question, self.profile)


def estimate_batch(
    readers: list[InputReader],
    library: Library | None,
    grader: RequestBuilder | None,
    state: ResultsState,
    *,
    info: GraderInfo,
    profile: EndpointProfile | None,
    prices: dict[str, Price],
    retry_ungraded: bool = False,
    errors_path: Path | None = None,
) -> Estimate:
    """Count rows, prompt tokens (tiktoken) and expected output tokens; price them."""
    model = profile.model if profile is not None else None
    estimate = Estimate(scan=ScanSummary(), model=model)
    measured = state.mean_completion_tokens
    counter = None if grader is None else _TokenCounter(estimate, grader, profile, measured)
    estimate.scan = scan_inputs(
        readers,
        library,
        info,
        state,
        retry_ungraded=retry_ungraded,
        errors_path=errors_path,
        on_task=counter,
    )
    estimate.requests = estimate.scan.distinct
    if counter is None:
        return estimate
    estimate.output_basis = (
        f"mean of {state.completion_samples} earlier replies"
        if measured is not None
        else "estimated from key points and criteria"
    )
    estimate.tokens_estimated = counter.tokens.estimated()
    if profile is not None and profile.urls and all(is_local_url(u) for u in profile.urls):
        estimate.local = True
    else:
        estimate.price = find_price(model, prices)
    return estimate


def measure_sample(
    tasks: Iterable[RowTask],
    replicas: list[Replica],
    *,
    rows: int,
) -> tuple[int, float]:
    """Grade up to ``rows`` tasks without writing them; return (rows graded, seconds)."""
    sample: list[RowTask] = []
    seen: set[str] = set()
    for task in tasks:
        if task.hash in seen:
            continue
        seen.add(task.hash)
        sample.append(task)
        if len(sample) >= rows:
            break
    if not sample:
        return 0, 0.0
    sink = NullWriter()
    result = run_batch(sample, replicas, sink, to_grade=len(sample))
    if result.fatal is not None:
        raise result.fatal
    return result.counts.finished, result.seconds
