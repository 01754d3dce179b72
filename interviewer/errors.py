"""The exception family every user-facing failure belongs to.

    InterviewerError          base; its message is printed as one line, exit status 1
    ├── BankError             a question bank file is missing, unreadable or invalid
    ├── ConfigError           the config file or a setting is invalid
    ├── PromptError           a prompt template is missing or lacks a variable
    ├── EndpointError         the grading endpoint failed (auth, model, network, quota)
    ├── InputError            a batch input file or an answer cannot be used
    └── HistoryError          the history database cannot be opened or is too new

Each message names the file, line or field at fault and says how to fix it. The CLI turns
any of these into one line on stderr and a non-zero exit; nothing else should reach a user
as a traceback.
"""

from __future__ import annotations


class InterviewerError(Exception):
    """Base class: a problem the user can fix, described in one line."""

    exit_code: int = 1


class BankError(InterviewerError):
    """A question bank cannot be loaded or a question id is unknown."""


class ConfigError(InterviewerError):
    """The configuration (file, env or flags) is invalid or incomplete."""


class PromptError(InterviewerError):
    """A prompt template is missing, unreadable or lacks a variable."""


class EndpointError(InterviewerError):
    """The grading endpoint could not produce a reply.

    ``kind`` is a short machine-readable tag (auth, not_found, connection, timeout,
    rate_limit, quota, server, bad_request, contract, bad_reply) used to decide whether to retry,
    step down the output contract, or stop a batch.
    """

    def __init__(self, message: str, *, kind: str = "error", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class InputError(InterviewerError):
    """An input file or a typed answer cannot be used as given."""


class HistoryError(InterviewerError):
    """The history database cannot be opened, migrated or written."""


# Endpoint failures that will fail every following request too: a session or batch stops
# on these instead of marking answer after answer ungraded.
FATAL_ENDPOINT_KINDS = frozenset({"auth", "not_found", "quota", "connection", "bad_request"})


def is_fatal(error: EndpointError) -> bool:
    """Whether retrying other answers against the same endpoint is pointless."""
    return error.kind in FATAL_ENDPOINT_KINDS
