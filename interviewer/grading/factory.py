"""Choosing a grader: the offline estimate, or an LLM through a configured endpoint.

``auto`` (the default) uses the LLM grader once an endpoint is configured and the built-in
offline grader until then, so that a fresh install works with no network and no key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from interviewer.config import Config, EndpointProfile
from interviewer.errors import ConfigError
from interviewer.grading.grade import Grader

GraderChoice = Literal["auto", "offline", "llm"]


def make_grader(
    config: Config,
    endpoint: EndpointProfile | None,
    *,
    choice: str = "auto",
    samples: int = 1,
    prompts_dir: Path | None = None,
) -> Grader:
    """Build the grader for this run; the LLM stack (openai) is imported only when used."""
    choice = choice if choice != "auto" else config.grader
    if choice not in ("auto", "offline", "llm"):
        raise ConfigError(f"Unknown grader '{choice}'; use auto, offline or llm.")
    if choice == "offline" or (choice == "auto" and endpoint is None):
        from interviewer.grading.offline import OfflineGrader

        return OfflineGrader()
    if endpoint is None:
        raise ConfigError(
            "No endpoint configured: set OPENAI_BASE_URL (and OPENAI_MODEL) or run"
            " `interviewer endpoints add NAME --base-url URL --model MODEL`."
        )
    if samples < 1:
        raise ConfigError("--samples must be at least 1.")
    from interviewer.grading.llm_grader import LLMGrader

    return LLMGrader(endpoint, samples=samples, prompts_dir=prompts_dir or _prompts_dir(config))


def _prompts_dir(config: Config) -> Path | None:
    return Path(config.prompts_dir).expanduser() if config.prompts_dir else None
