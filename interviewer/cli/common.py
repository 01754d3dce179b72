"""Helpers shared by the command modules: error handling at the edge."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from interviewer.errors import InterviewerError

if TYPE_CHECKING:
    from interviewer.bank.library import Library
    from interviewer.config import Config
    from interviewer.grading.factory import GraderFlags
    from interviewer.grading.grade import Grader

P = ParamSpec("P")
R = TypeVar("R")
G = TypeVar("G", bound="Grader")

# Graders a command opened (an LLM grader holds HTTP connections); closed when it returns.
_open_graders: ContextVar[list[Grader] | None] = ContextVar("open_graders", default=None)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a domain error into one line on stderr and a non-zero exit, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        opened = _open_graders.set([])
        try:
            return func(*args, **kwargs)
        except InterviewerError as exc:
            from interviewer.ui.console import error

            error(str(exc))
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            print("\nInterrupted.", file=sys.stderr)
            raise typer.Exit(code=130) from None
        finally:
            for grader in _open_graders.get() or []:
                close = getattr(grader, "close", None)
                if callable(close):
                    close()
            _open_graders.reset(opened)

    return wrapper


# Options shared by every command that grades. Defined once so they read the same everywhere.
# The grader's default comes from INTERVIEWER_GRADER or the config file, so the option has
# none of its own: interviewer.grading.factory resolves them in one place.
GraderOpt = Annotated[
    str | None,
    typer.Option(
        "--grader",
        help="auto (LLM when an endpoint is configured, else offline), offline or llm."
        " Default: $INTERVIEWER_GRADER, else the config file's grader, else auto.",
        show_default=False,
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
    int,
    typer.Option(
        "--samples",
        min=1,
        max=9,
        help="Grade N times at the profile's sample_temperature; aggregate per key point and"
        " criterion and report the spread.",
    ),
]
PanelOpt = Annotated[
    str | None,
    typer.Option(
        "--panel",
        help="Grade with several endpoint profiles (comma-separated names, e.g. local,hosted)"
        " and aggregate their grades.",
    ),
]
LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Questions in this language only (en, zh...). Default: the config's"
        " practice.language, asked once in a terminal, else the locale's.",
        show_default=False,
    ),
]
# The input columns of a file of answers (`grade`, `eval`).
QuestionIdColOpt = Annotated[
    str, typer.Option("--question-id-col", help="Column with bank question ids.")
]
QuestionColOpt = Annotated[
    str, typer.Option("--question-col", help="Column with the question text.")
]
ReferenceColOpt = Annotated[
    str, typer.Option("--reference-col", help="Column with the reference answer.")
]
AnswerColOpt = Annotated[str, typer.Option("--answer-col", help="Column with the answer.")]
BankDirOpt = Annotated[
    list[Path] | None,
    typer.Option("--bank-dir", help="Also load the banks in this directory or file (repeatable)."),
]


def grader_flags(
    *,
    grader: str | None,
    endpoint: str | None,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
    samples: int = 1,
    panel: str | None = None,
) -> GraderFlags:
    """The grading options as given on the command line (None: not given)."""
    from interviewer.grading.factory import GraderFlags

    return GraderFlags(
        grader=grader,
        endpoint=endpoint,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        samples=samples,
        panel=tuple(n.strip() for n in (panel or "").split(",") if n.strip()),
    )


def build_grader(
    config: Config,
    *,
    grader: str | None,
    endpoint: str | None,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
    samples: int = 1,
    panel: str | None = None,
    library: Library | None = None,
) -> Grader:
    """The grader for this command, chosen by ``interviewer.grading.factory``."""
    from interviewer.grading.factory import choose_grader

    flags = grader_flags(
        grader=grader,
        endpoint=endpoint,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        samples=samples,
        panel=panel,
    )
    return close_when_done(choose_grader(config, flags, library=library).grader)


def close_when_done(grader: G) -> G:
    """Close ``grader`` (if it can be closed) when the command running now returns."""
    opened = _open_graders.get()
    if opened is not None:
        opened.append(grader)
    return grader


def grading_warning(grader: Grader) -> str | None:
    """Why grades from this grader's endpoint are not to be trusted (`endpoints check`)."""
    from interviewer.config import EndpointProfile
    from interviewer.grading.endpoint_state import grading_warning as remembered

    profile = getattr(grader, "profile", None)  # an LLM grader's endpoint
    return remembered(profile) if isinstance(profile, EndpointProfile) else None
