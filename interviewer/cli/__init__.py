"""The command-line interface: thin wrappers that parse options, call the core, render.

Each command group lives in its own module with a ``register(app)`` function. Modules here
import only typer at load time; core modules (and anything heavy such as openai) are
imported inside the command functions so that `interviewer --help` and `bank list` stay fast.
Every InterviewerError becomes one line on stderr and exit status 1 (see ``run``); a usage
error (an unknown option, a missing argument) exits 2, click's convention.
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
)

app = typer.Typer(
    name="interviewer",
    help="An LLM-graded mock interviewer for the terminal.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

for _module in (practice_cmd, mock_cmd, bank_cmd, grade_cmd, eval_cmd, history_cmd, endpoints_cmd):
    _module.register(app)


def _print_version(value: bool) -> None:
    if value:
        from interviewer import __version__

        typer.echo(f"interviewer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """An LLM-graded mock interviewer for the terminal."""


def main() -> None:
    """Console-script entry point."""
    app()
