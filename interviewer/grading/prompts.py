"""Prompt templates: loading, user overrides, versions and strict rendering.

Prompts are Markdown files in ``prompts/`` filled in with ``string.Template`` (``$name``), so
the JSON examples they contain need no escaping. Each file starts with a small front matter::

    ---
    version: 3
    description: what the prompt is for
    ---
    text with $variables ($$ for a literal dollar sign)

The version (with a short content hash for files a user overrides) is recorded with every
grade, so a grade can be traced to the exact instructions that produced it.

Lookup, first match wins, file by file (override one prompt without copying the others):

1. the directory given by ``--prompts-dir`` or ``prompts_dir`` in the config file;
2. ``prompts/`` in the user directory (``$INTERVIEWER_HOME/prompts``);
3. the built-in ``prompts/`` shipped with the package.

Rendering fails with ``PromptError`` naming the file when the template uses a variable that is
not provided, has a malformed ``$``, or lacks a variable the caller requires (a grading request
without ``$answer`` would grade nothing).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from interviewer.config import builtin_prompts_dir, home_dir
from interviewer.errors import PromptError

SUFFIX = ".md"
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Prompt:
    """One loaded template with its version and origin."""

    name: str
    version: str
    text: str
    path: Path
    builtin: bool
    description: str = ""
    line_offset: int = 0  # lines of front matter before the template text

    @property
    def label(self) -> str:
        """``name@version``; an override also carries a hash of its text."""
        if self.builtin:
            return f"{self.name}@{self.version}"
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:8]
        return f"{self.name}@{self.version}~{digest}"

    @property
    def variables(self) -> set[str]:
        return set(Template(self.text).get_identifiers())

    def require(self, *names: str) -> None:
        """Fail unless the template uses every variable in ``names``."""
        absent = [n for n in names if n not in self.variables]
        if absent:
            raise PromptError(
                f"{self.path}: must contain {', '.join('$' + a for a in absent)}; add it back to"
                " the template."
            )

    def render(self, **values: str) -> str:
        """Fill in the template; every variable it uses must be given."""
        template = Template(self.text)
        if not template.is_valid():
            line = _bad_placeholder_line(self.text) + self.line_offset
            raise PromptError(
                f"{self.path}:{line}: malformed placeholder; write $$ for a literal dollar sign"
                " and $name or ${name} for a variable."
            )
        missing = sorted(self.variables - values.keys())
        if missing:
            available = ", ".join(f"${v}" for v in sorted(values)) or "none"
            raise PromptError(
                f"{self.path}: uses {', '.join('$' + m for m in missing)}, which this prompt"
                f" does not provide (available: {available}); fix the template."
            )
        return template.substitute(values)


def prompt_dirs(prompts_dir: Path | None = None) -> list[Path]:
    """The directories searched for prompt files, highest priority first."""
    dirs = [prompts_dir] if prompts_dir is not None else []
    dirs += [home_dir() / "prompts", builtin_prompts_dir()]
    return dirs


def load_prompt(name: str, prompts_dir: Path | None = None) -> Prompt:
    """Load prompt ``name`` (file ``name.md``) from the first directory that has it."""
    builtin = builtin_prompts_dir()
    for directory in prompt_dirs(prompts_dir):
        path = directory / f"{name}{SUFFIX}"
        if path.is_file():
            return read_prompt(path, builtin=directory == builtin)
    raise PromptError(
        f"No prompt '{name}{SUFFIX}' in {', '.join(str(d) for d in prompt_dirs(prompts_dir))};"
        " reinstall interviewer or restore the file."
    )


def read_prompt(path: Path, *, builtin: bool = False) -> Prompt:
    """Parse one prompt file (front matter with a version, then the template)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PromptError(f"{path}: not valid UTF-8; save the file as UTF-8.") from None
    except OSError as exc:
        raise PromptError(f"{path}: cannot read ({exc.strerror}).") from None
    match = _FRONT.match(raw)
    if match is None:
        raise PromptError(
            f"{path}:1: missing front matter; start the file with '---', 'version: 1', '---'."
        )
    meta: dict[str, str] = {}
    for number, line in enumerate(match.group(1).splitlines(), start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise PromptError(f"{path}:{number}: front matter lines are 'key: value'.")
        meta[key.strip()] = value.strip()
    version = meta.get("version", "")
    if not version:
        raise PromptError(f"{path}: the front matter needs a 'version: ...' line.")
    return Prompt(
        name=path.stem,
        version=version,
        text=raw[match.end() :],
        path=path,
        builtin=builtin,
        description=meta.get("description", ""),
        line_offset=raw[: match.end()].count("\n"),
    )


def builtin_prompt_names() -> list[str]:
    """Names of the prompts shipped with the package."""
    return sorted(p.stem for p in builtin_prompts_dir().glob(f"*{SUFFIX}"))


def _bad_placeholder_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if not Template(line).is_valid():
            return number
    return 1
