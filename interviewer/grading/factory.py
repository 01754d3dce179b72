"""Choosing the grader for a command: the offline estimate, or an LLM through an endpoint.

The choice is resolved here and nowhere else, in the project's one order of precedence:
command-line flags > ``INTERVIEWER_GRADER`` > the config file's ``grader`` > ``auto``. Only a
choice other than ``offline`` looks for an endpoint (flags > ``INTERVIEWER_*`` > ``OPENAI_*``
> the config file, see ``interviewer.config.resolve_endpoint``), so an endpoint setting left
in the environment cannot break a user who chose to grade offline.

``auto`` uses the LLM grader once an endpoint is configured and the built-in offline grader
until then, so that a fresh install works with no network and no key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from interviewer.config import Config, EndpointProfile, resolve_endpoint
from interviewer.errors import ConfigError
from interviewer.grading.grade import Grader

if TYPE_CHECKING:
    from interviewer.bank.library import Library

GraderChoice = Literal["auto", "offline", "llm"]
GRADER_CHOICES: tuple[GraderChoice, ...] = ("auto", "offline", "llm")
GRADER_ENV = "INTERVIEWER_GRADER"


@dataclass(frozen=True)
class GraderFlags:
    """What the command line said about grading; None means the option was not given."""

    grader: str | None = None
    endpoint: str | None = None
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    samples: int = 1
    panel: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChosenGrader:
    """The grader a command uses, and the endpoint it grades with (None when offline)."""

    grader: Grader
    endpoint: EndpointProfile | None
    choice: GraderChoice
    samples: int = 1
    prompts_dir: Path | None = None

    def for_endpoint(self, profile: EndpointProfile) -> Grader:
        """Another grader like this one for ``profile`` (one per replica of an endpoint)."""
        return _llm_grader(profile, self.samples, self.prompts_dir)


def grader_choice(
    config: Config, flag: str | None, env: Mapping[str, str] | None = None
) -> GraderChoice:
    """Which grader to use: the flag, else ``INTERVIEWER_GRADER``, else the config file."""
    env = os.environ if env is None else env
    from_env = env.get(GRADER_ENV) or None
    choice = flag or from_env or config.grader
    if choice not in GRADER_CHOICES:
        where = "--grader" if flag else GRADER_ENV
        raise ConfigError(f"Unknown grader '{choice}' in {where}; use auto, offline or llm.")
    return choice


def choose_grader(
    config: Config,
    flags: GraderFlags,
    env: Mapping[str, str] | None = None,
    *,
    library: Library | None = None,
) -> ChosenGrader:
    """Resolve flags > environment > config file > defaults once and build the grader.

    The LLM stack (openai) is imported only when the LLM grader is chosen. ``library`` lets
    the offline grader grade an answer in another language against the question's
    translation.
    """
    if flags.samples < 1:
        raise ConfigError("--samples must be at least 1.")
    choice = grader_choice(config, flags.grader, env)
    if flags.panel:
        return _panel(config, flags, choice)
    profile: EndpointProfile | None = None
    if choice != "offline":
        profile = resolve_endpoint(
            config,
            name=flags.endpoint,
            base_url=flags.base_url,
            model=flags.model,
            api_key_env=flags.api_key_env,
        )
    if profile is None:
        if choice == "llm":
            raise ConfigError(
                "No endpoint configured: set OPENAI_BASE_URL (and OPENAI_MODEL) or run"
                " `interviewer endpoints add NAME --base-url URL --model MODEL`."
            )
        from interviewer.grading.offline import OfflineGrader

        translations = library.translation if library is not None else None
        return ChosenGrader(OfflineGrader(translations), None, choice)
    prompts_dir = Path(config.prompts_dir).expanduser() if config.prompts_dir else None
    grader = _llm_grader(profile, flags.samples, prompts_dir)
    return ChosenGrader(grader, profile, choice, flags.samples, prompts_dir)


def _panel(config: Config, flags: GraderFlags, choice: GraderChoice) -> ChosenGrader:
    """A panel of the named endpoint profiles (``--panel A,B``), each an LLM grader."""
    from interviewer.grading.panel import PanelGrader

    names = list(dict.fromkeys(n.strip() for n in flags.panel if n.strip()))
    if choice == "offline":
        raise ConfigError("--panel grades through endpoints; drop --grader offline.")
    if flags.endpoint or flags.base_url or flags.model:
        raise ConfigError(
            "--panel names its endpoint profiles itself; drop --endpoint, --base-url and --model."
        )
    if len(names) < 2:
        raise ConfigError(
            "--panel needs at least two endpoint profile names, separated by commas"
            " (e.g. --panel local,hosted)."
        )
    prompts_dir = Path(config.prompts_dir).expanduser() if config.prompts_dir else None
    members: list[tuple[str, Grader]] = []
    profiles: list[EndpointProfile] = []
    for name in names:
        # Each member is its profile as configured: an INTERVIEWER_BASE_URL or OPENAI_MODEL
        # left in the environment must not point every member at the same server.
        if name not in config.endpoints:
            known = ", ".join(sorted(config.endpoints)) or "none yet"
            raise ConfigError(
                f"Unknown endpoint '{name}' in --panel (known: {known}); add it with"
                " `interviewer endpoints add NAME --base-url URL --model MODEL`."
            )
        profile = config.endpoints[name].model_copy()
        if flags.api_key_env:
            profile = profile.model_copy(update={"api_key_env": flags.api_key_env})
        profiles.append(profile)
        members.append((name, _llm_grader(profile, flags.samples, prompts_dir)))
    panel = PanelGrader(members)
    return ChosenGrader(panel, profiles[0], "llm", flags.samples, prompts_dir)


def _llm_grader(profile: EndpointProfile, samples: int, prompts_dir: Path | None) -> Grader:
    from interviewer.grading.llm_grader import LLMGrader

    return LLMGrader(profile, samples=samples, prompts_dir=prompts_dir)
