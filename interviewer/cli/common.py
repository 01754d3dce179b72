"""Helpers shared by the command modules: error handling at the edge."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

from interviewer.errors import InterviewerError

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
