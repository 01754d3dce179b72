"""Where a run's anchors and its fitted map live, beside the results file.

* ``STEM.anchors.jsonl``: the scores a teacher typed in ``interviewer review``, one line per
  score, appended (later lines win), so a review can stop at any moment and resume;
* ``STEM.calibration.json``: the map fitted on every anchor, its cross-validated agreement,
  and the human scores and scales read from the input (so that ``review`` can refit without
  the input file). Replaced whole with ``write_atomic`` after each fit.

Anchors typed in a review win over the input's ``human_score`` for the same row.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interviewer.batch.anchors import Calibration, Point, calibrate
from interviewer.errors import InputError
from interviewer.files import write_atomic


@dataclass(frozen=True, slots=True)
class RowScale:
    """A row's teacher score (an anchor when set) and its maximum, as the input gave them."""

    human: float | None
    maximum: float | None


def anchors_path(results: Path) -> Path:
    return results.with_name(f"{results.stem}.anchors.jsonl")


def calibration_path(results: Path) -> Path:
    return results.with_name(f"{results.stem}.calibration.json")


def read_review_anchors(path: Path) -> dict[str, RowScale]:
    """The scores typed in reviews, latest per row key; a torn last line is ignored."""
    found: dict[str, RowScale] = {}
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return found
    except OSError as exc:
        raise InputError(f"{path}: cannot read the anchors ({exc.strerror}).") from None
    for number, line in enumerate(raw.splitlines(keepends=True), start=1):
        if not line.endswith(b"\n"):
            break  # a torn last line: that score was never confirmed
        try:
            record = json.loads(line)
            key = str(record["key"])
            human = float(record["human_score"])
            maximum = float(record["max_score"])
        except (ValueError, KeyError, TypeError):
            raise InputError(
                f"{path}:{number}: not an anchor line (key, human_score, max_score); fix or"
                " delete the line."
            ) from None
        if not (math.isfinite(human) and math.isfinite(maximum) and 0 <= human <= maximum):
            raise InputError(f"{path}:{number}: human_score {human:g} is outside 0..{maximum:g}.")
        found[key] = RowScale(human, maximum)
    return found


def append_review_anchor(path: Path, key: str, human: float, maximum: float) -> None:
    """Record one typed score at once (one write, fsync'ed): nothing typed is lost."""
    line = {
        "key": key,
        "human_score": human,
        "max_score": maximum,
        "scored_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the anchors ({exc.strerror}).") from None
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class StoredCalibration:
    """What ``STEM.calibration.json`` holds: the fit and the input's scores and scales."""

    calibration: Calibration | None
    input_scales: dict[str, RowScale]
    default_max: float | None


def load_calibration(path: Path) -> StoredCalibration | None:
    """The stored calibration of a run, or None when the run has none yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        scales = {
            str(k): RowScale(v.get("human_score"), v.get("max_score"))
            for k, v in (data.get("input_scores") or {}).items()
        }
        fitted = Calibration.from_json(data) if data.get("map") else None
        default = data.get("default_max_score")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            f"{path}: not a calibration file ({exc}); delete it and re-run `interviewer grade`."
        ) from None
    return StoredCalibration(fitted, scales, None if default is None else float(default))


def save_calibration(
    path: Path,
    calibration: Calibration | None,
    input_scales: dict[str, RowScale],
    default_max: float | None,
) -> None:
    data: dict[str, Any] = (
        calibration.to_json() if calibration is not None else {"schema": 1, "anchors": 0}
    )
    data["default_max_score"] = default_max
    data["fitted_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    data["input_scores"] = {
        k: {"human_score": v.human, "max_score": v.maximum} for k, v in sorted(input_scales.items())
    }
    try:
        write_atomic(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the calibration ({exc.strerror}).") from None


def merged_scales(
    input_scales: dict[str, RowScale], reviewed: dict[str, RowScale]
) -> dict[str, RowScale]:
    """The input's scores and scales, with every reviewed score put over them."""
    merged = dict(input_scales)
    merged.update(reviewed)
    return merged


def run_points(
    graded: Iterable[tuple[str, str, float]], scales: dict[str, RowScale]
) -> list[Point]:
    """Points for graded rows given as (key, question, grader score)."""
    points: list[Point] = []
    for key, group, score in graded:
        scale = scales.get(key)
        points.append(
            Point(
                key=key,
                group=group,
                score=score,
                maximum=None if scale is None else scale.maximum,
                human=None if scale is None else scale.human,
            )
        )
    return points


def fit_run(
    results: Path,
    graded: list[tuple[str, str, float]],
    input_scales: dict[str, RowScale],
    default_max: float | None,
) -> tuple[Calibration | None, dict[str, RowScale]]:
    """Fit the run's map on the input's and the reviews' anchors; store it; return it.

    A row with a human score but no maximum takes the run's default (``--max-score``).
    """
    scales = merged_scales(input_scales, read_review_anchors(anchors_path(results)))
    if default_max is not None:
        scales = {
            k: v if v.maximum is not None else RowScale(v.human, default_max)
            for k, v in scales.items()
        }
    unscaled = sum(1 for v in scales.values() if v.human is not None and v.maximum is None)
    if unscaled:
        raise InputError(
            f"{unscaled} row(s) have a human score but no maximum: add a 'max_score' column"
            " or pass --max-score N (the top of the teacher's scale)."
        )
    calibration = calibrate(run_points(graded, scales), default_max)
    if calibration is not None or input_scales or default_max is not None:
        save_calibration(calibration_path(results), calibration, input_scales, default_max)
    return calibration, scales
