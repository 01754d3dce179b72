"""Times in the history database and on the command line.

The database stores every time as fixed-width UTC ISO text (``to_iso``), so that text order
is time order and SQL can compare and sort times as strings. ``parse_when`` and
``parse_range`` read the ``--since`` / ``--until`` values of the history commands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from interviewer.errors import InputError

Clock = Callable[[], datetime]

_RELATIVE = re.compile(r"^(\d+)\s*([dwh])$")
_STEPS = {"d": timedelta(days=1), "w": timedelta(weeks=1), "h": timedelta(hours=1)}


def to_iso(moment: datetime) -> str:
    """Store times as fixed-width UTC ISO strings, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    # Rows written without a zone (by hand, or an old tool) are read as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_when(
    text: str, *, option: str, end: bool = False, now: datetime | None = None
) -> datetime:
    """Read a --since/--until value: ``YYYY-MM-DD`` (a local day), an ISO time, or ``7d``.

    A bare date as an ``end`` bound means the end of that day, so ``--until 2025-03-01``
    includes March 1st. ``Nd`` / ``Nw`` / ``Nh`` mean that long before ``now``.
    """
    value = text.strip()
    moment = now or datetime.now(UTC)
    relative = _RELATIVE.match(value.lower())
    if relative:
        return moment - int(relative.group(1)) * _STEPS[relative.group(2)]
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None:
        start = datetime.combine(day, time()).astimezone()
        return start + timedelta(days=1) if end else start
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{option} '{text}' is not a date: use YYYY-MM-DD, an ISO time"
            " (2025-03-01T14:00) or a span back from now (7d, 2w, 12h)."
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.astimezone()


def parse_range(
    since: str | None, until: str | None, *, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """The ``[start, end)`` span that ``--since`` and ``--until`` name (None: unbounded)."""
    start = parse_when(since, option="--since", now=now) if since else None
    end = parse_when(until, option="--until", end=True, now=now) if until else None
    if start is not None and end is not None and end <= start:
        raise InputError(f"--until ({until}) must come after --since ({since}).")
    return start, end
