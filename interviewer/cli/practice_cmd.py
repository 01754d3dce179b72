"""`interviewer practice`: a mock interview on the bank's questions."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `practice` command to ``app``."""
