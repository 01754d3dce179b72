"""Helpers shared by the command modules: error handling at the edge."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from interviewer.errors import InterviewerError

if TYPE_CHECKING:
    from interviewer.config import Config, EndpointProfile
    from interviewer.grading.grade import Grader

P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a domain error into one line on stderr and a non-zero exit, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InterviewerError as exc:
            from interviewer.ui.console import error

            error(str(exc))
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            print("\nInterrupted.", file=sys.stderr)
            raise typer.Exit(code=130) from None

    return wrapper


# Options shared by every command that grades. Defined once so they read the same everywhere.
GraderOpt = Annotated[
    str,
    typer.Option(
        "--grader",
        help="auto (LLM when an endpoint is configured, else offline), offline or llm.",
        envvar="INTERVIEWER_GRADER",
    ),
]
EndpointOpt = Annotated[
    str | None, typer.Option("--endpoint", help="Named endpoint profile from the config file.")
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1."),
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model name on the endpoint.")]
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option("--api-key-env", help="Name of the environment variable holding the API key."),
]
SamplesOpt = Annotated[
    int, typer.Option("--samples", min=1, max=9, help="Grade N times; report median and spread.")
]
BankDirOpt = Annotated[
    list[Path] | None,
    typer.Option("--bank-dir", help="Also load the banks in this directory or file (repeatable)."),
]


def build_grader(
    config: Config,
    *,
    grader: str,
    endpoint: str | None,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
    samples: int = 1,
) -> Grader:
    """Resolve the endpoint (flags > env > config) and build the grader for this command."""
    from interviewer.grading.factory import make_grader

    profile = grading_endpoint(
        config,
        grader=grader,
        endpoint=endpoint,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
    )
    return make_grader(config, profile, choice=grader, samples=samples)


def grading_endpoint(
    config: Config,
    *,
    grader: str,
    endpoint: str | None,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
) -> EndpointProfile | None:
    """The endpoint a grading command uses (flags > env > config); None with --grader offline."""
    if grader == "offline":
        return None
    from interviewer.config import resolve_endpoint

    return resolve_endpoint(
        config, name=endpoint, base_url=base_url, model=model, api_key_env=api_key_env
    )
