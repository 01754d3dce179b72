"""`interviewer bank list | show | import | validate`: browse and check question banks.

`bank enrich` and `bank generate` live in ``bank_draft_cmd``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from interviewer.cli.common import handle_errors

if TYPE_CHECKING:
    from interviewer.bank.library import Library

bank_app = typer.Typer(help="Browse and validate question banks.", no_args_is_help=True)

BankDirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--bank-dir",
        help="Also load the banks in this directory or file (repeatable).",
        envvar=None,
    ),
]


def register(app: typer.Typer) -> None:
    """Add the `bank` group to ``app``."""
    from interviewer.cli import bank_draft_cmd

    bank_draft_cmd.register(bank_app)  # `bank enrich` and `bank generate`
    app.add_typer(bank_app, name="bank")


def _library(bank_dir: list[Path] | None) -> Library:
    from interviewer.bank.library import load_library
    from interviewer.config import bank_paths, load_config

    return load_library(bank_paths(load_config(), bank_dir))


@bank_app.command("list")
@handle_errors
def list_questions(
    bank: Annotated[str | None, typer.Option(help="Only this bank id.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    difficulty: Annotated[
        str | None, typer.Option(help="Only this difficulty: easy, medium or hard.")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Only questions with this tag.")] = None,
    bank_dir: BankDirOption = None,
) -> None:
    """List the questions of every loaded bank (bundled ones and your own)."""
    # Served from the validated bank index: no YAML parsing or model building when the
    # bank files are unchanged, so listing starts about as fast as the CLI itself.
    from interviewer.bank.index import bank_paths, load_index
    from interviewer.ui.bank import render_index_rows

    index = load_index(bank_paths(bank_dir))
    if bank:
        index.bank(bank)
    rows = index.filter(bank=bank, topic=topic, difficulty=difficulty, tag=tag)
    render_index_rows(index.banks, rows)


@bank_app.command("show")
@handle_errors
def show_question(
    question_id: Annotated[str, typer.Argument(metavar="ID", help="Question id (or BANK/ID).")],
    bank_dir: BankDirOption = None,
) -> None:
    """Show one question with its reference answer, corrections and key points."""
    from interviewer.ui.bank import render_question

    render_question(_library(bank_dir).get(question_id))


@bank_app.command("import")
@handle_errors
def import_banks(
    paths: Annotated[list[Path], typer.Argument(help="Bank files to import.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite an earlier import of the same bank.")
    ] = False,
) -> None:
    """Validate bank files and copy them into your banks directory, loaded from then on."""
    from interviewer.bank.library import import_bank, load_library
    from interviewer.config import bank_paths, load_config
    from interviewer.paths import user_bank_dir
    from interviewer.ui.console import console

    for path in paths:
        library = load_library(bank_paths(load_config()))
        dest = import_bank(path, library, user_bank_dir(), replace=replace)
        console.print(f"[ok]✓[/ok] {path} → {dest}")


@bank_app.command("validate")
@handle_errors
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Bank files or directories (default: every loaded bank)."),
    ] = None,
) -> None:
    """Check bank files; exit 1 and name the file, line and field of every problem."""
    from interviewer.bank.library import bank_files, load_bank_file
    from interviewer.config import bank_paths, load_config
    from interviewer.errors import BankError
    from interviewer.ui.bank import render_validation

    targets = paths or bank_paths(load_config())
    results: list[tuple[Path, str | None, int]] = []
    for file in bank_files(targets):
        try:
            bank = load_bank_file(file)
        except BankError as exc:
            results.append((file, str(exc), 0))
        else:
            results.append((file, None, len(bank.questions)))
    if not results:
        raise BankError("No bank files (*.yaml, *.yml) found in " + ", ".join(map(str, targets)))
    render_validation(results)
    if any(err for _, err, _ in results):
        raise typer.Exit(code=1)
