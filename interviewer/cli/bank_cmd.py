"""`interviewer bank list | show | import | validate`: browse and check question banks.

`bank enrich` and `bank generate` live in ``bank_draft_cmd``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from interviewer.cli.common import handle_errors

if TYPE_CHECKING:
    from interviewer.bank.library import Library, Selection

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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the questions as JSON, for scripts.")
    ] = False,
) -> None:
    """List the questions of every loaded bank (bundled ones and your own)."""
    if as_json:
        from interviewer.bank.library import Selection

        _print_json(bank_dir, Selection(bank=bank, topic=topic, difficulty=difficulty, tag=tag))
        return
    # Served from the validated bank index: no YAML parsing or model building when the
    # bank files are unchanged, so listing starts about as fast as the CLI itself.
    from interviewer.bank.index import bank_paths, load_index
    from interviewer.ui.bank import render_index_rows

    index = load_index(bank_paths(bank_dir))
    if bank:
        index.bank(bank)
    rows = index.filter(bank=bank, topic=topic, difficulty=difficulty, tag=tag)
    render_index_rows(index.banks, rows)


def _print_json(bank_dir: list[Path] | None, selection: Selection) -> None:
    """One JSON array of the matching questions on stdout (empty when nothing matches)."""
    import json
    import sys

    from interviewer.bank.library import filter_questions

    library = _library(bank_dir)
    if selection.bank:
        library.bank(selection.bank)
    rows = [
        {
            "id": q.id,
            "bank": q.bank,
            "language": q.language,
            "topic": q.topic,
            "difficulty": q.difficulty,
            "tags": q.tags,
            "question": q.question,
        }
        for q in filter_questions(library.questions, selection)
    ]
    sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")


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
    paths: Annotated[
        list[Path], typer.Argument(help="Bank files, or articles (.md, .txt, .html) to convert.")
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite an earlier import of the same bank.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the bank drafted from an article here; don't install."),
    ] = None,
    bank_id: Annotated[
        str | None, typer.Option("--bank-id", help="Bank id for an article (default: its name).")
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Language of an article (default: guessed).")
    ] = None,
) -> None:
    """Validate bank files and copy them into your banks directory, loaded from then on.

    An article of questions with answers (Markdown, plain text or HTML) is converted into a
    bank first; what was skipped or unclear is listed with its line number.
    """
    from interviewer.bank.drafts import is_article
    from interviewer.bank.library import import_bank, load_library, looks_like_bank, read_bank_bytes
    from interviewer.config import bank_paths, load_config
    from interviewer.errors import BankError
    from interviewer.paths import user_bank_dir
    from interviewer.ui.console import console, lit

    if (out or bank_id) and (len(paths) != 1 or not is_article(paths[0])):
        raise BankError("--out and --bank-id take exactly one article (.md, .txt or .html).")
    for path in paths:
        library = load_library(bank_paths(load_config()))
        # A pipe (`<(cat x.yaml)`, /dev/stdin) has no suffix to tell a bank from an article,
        # and can be read only once: its content decides, and is what gets imported.
        raw = read_bank_bytes(path) if not path.suffix else None
        if raw is not None and not looks_like_bank(raw):
            _import_piped_article(path, raw, library, out, bank_id, language, replace)
            continue
        if raw is None and is_article(path):
            _import_article(path, library, out, bank_id, language, replace)
            continue
        dest = import_bank(path, library, user_bank_dir(), replace=replace, raw=raw)
        console.print(f"[ok]✓[/ok] {lit(path)} → {lit(dest)}")


def _import_piped_article(
    path: Path,
    raw: bytes,
    library: Library,
    out: Path | None,
    bank_id: str | None,
    language: str | None,
    replace: bool,
) -> None:
    """Import an article already read from a pipe, through a copy the converter can read."""
    import tempfile

    from interviewer.errors import BankError

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        copy.write_bytes(raw)
        try:
            _import_article(copy, library, out, bank_id, language, replace)
        except BankError as exc:
            raise BankError(str(exc).replace(str(copy), str(path))) from None


def _import_article(
    path: Path,
    library: Library,
    out: Path | None,
    bank_id: str | None,
    language: str | None,
    replace: bool,
) -> None:
    import tempfile

    from interviewer.bank.drafts import draft_bank, write_draft
    from interviewer.bank.library import import_bank
    from interviewer.errors import BankError
    from interviewer.paths import user_bank_dir
    from interviewer.ui.article import render_draft

    draft = draft_bank(path, bank_id=bank_id, language=language)
    if out is not None:
        try:
            write_draft(draft, out)
        except OSError as exc:
            raise BankError(f"{out}: cannot write ({exc.strerror}).") from None
        render_draft(path, draft, out, installed=False)
        return
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / f"{draft.bank.info.id}.yaml"
        write_draft(draft, staged)
        try:
            dest = import_bank(staged, library, user_bank_dir(), replace=replace)
        except BankError as exc:
            message = str(exc).replace(str(staged), str(path))
            raise BankError(message if str(path) in message else f"{path}: {message}") from None
    render_draft(path, draft, dest, installed=True)


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
