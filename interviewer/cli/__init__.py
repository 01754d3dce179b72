"""The command-line interface: thin wrappers that parse options, call the core, render.

Each command group lives in its own module with a ``register(app)`` function. Modules here
import only typer at load time; core modules (and anything heavy such as openai) are
imported inside the command functions so that `interviewer --help` and `bank list` stay fast.
Every InterviewerError becomes one line on stderr and exit status 1 (see ``run``).
"""

from __future__ import annotations

import typer

from interviewer.cli import (
    bank_cmd,
    endpoints_cmd,
    eval_cmd,
    grade_cmd,
    history_cmd,
    mock_cmd,
    practice_cmd,
    review_cmd,
)

app = typer.Typer(
    name="interviewer",
    help="An LLM-graded mock interviewer for the terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

for _module in (
    practice_cmd,
    mock_cmd,
    bank_cmd,
    grade_cmd,
    review_cmd,
    eval_cmd,
    history_cmd,
    endpoints_cmd,
):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
