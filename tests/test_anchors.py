"""The anchor map: a global monotone map plus shrunk per-question offsets, cross-validated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interviewer.batch.anchor_store import (
    RowScale,
    anchors_path,
    append_review_anchor,
    calibration_path,
    fit_run,
    load_calibration,
    read_review_anchors,
)
from interviewer.batch.anchors import (
    SHRINK,
    Calibration,
    Point,
    calibrate,
    cross_validate,
    fit_anchors,
)
from interviewer.errors import InputError


def _anchor(key: str, group: str, score: float, human: float, maximum: float = 5) -> Point:
    return Point(key=key, group=group, score=score, maximum=maximum, human=human)


def test_global_map_follows_the_anchors_monotonically() -> None:
    anchors = [_anchor(f"k{i}", "q", 10.0 * i, i / 2) for i in range(11)]
    fitted = fit_anchors(anchors)
    assert fitted.predict("q", 40.0, 5) == pytest.approx(2.0)
    assert fitted.predict("q", 45.0, 5) == pytest.approx(2.25)
    # A question with no anchor gets the global map alone.
    assert fitted.predict("other", 100.0, 10) == pytest.approx(10.0)


def test_offset_is_shrunk_toward_the_global_map() -> None:
    # Question "hard": the teacher gives one point more than the grader's share suggests.
    easy = [_anchor(f"e{i}", "easy", 20.0 * i, i) for i in range(6)]
    hard = [_anchor(f"h{i}", "hard", 20.0 * i, min(5, i + 1)) for i in range(2)]
    fitted = fit_anchors(easy + hard)
    residuals = [h.human / 5 - fitted.curve(h.score) for h in hard if h.human is not None]
    assert fitted.offsets["hard"] == pytest.approx(sum(residuals) / (2 + SHRINK))
    assert 0 < fitted.offsets["hard"] < sum(residuals) / 2
    assert fitted.counts == {"easy": 6, "hard": 2}


def test_predictions_stay_on_the_scale() -> None:
    fitted = fit_anchors([_anchor("a", "q", 0, 5), _anchor("b", "q", 100, 5)])
    assert fitted.predict("q", 50.0, 5) == 5.0
    assert fitted.predict("q", 50.0, 10) == 10.0


def test_anchors_keep_their_score_and_others_use_their_scale() -> None:
    points = [
        _anchor("a", "q1", 20, 1),
        _anchor("b", "q1", 80, 4),
        Point("c", "q1", 80),  # no scale of its own: its question's
        Point("d", "q2", 80),  # a question without anchors or scale: the run's default
    ]
    calibration = calibrate(points)
    assert calibration is not None
    assert calibration.calibrated(points[0]) == 1
    assert calibration.calibrated(points[2]) == pytest.approx(4.0)
    assert calibration.maximum(points[3]) == 5
    assert calibration.calibrated(Point("e", "q2", 10, maximum=None)) is not None


def test_no_anchor_no_calibration() -> None:
    assert calibrate([Point("a", "q", 50, maximum=5)]) is None


def test_cross_validation_never_scores_an_anchor_with_its_own_map() -> None:
    # Two anchors that disagree completely: a map fitted on both would score each
    # half right; predicted from the other alone, each is off by the whole scale.
    anchors = [_anchor("a", "q", 10, 5), _anchor("b", "q", 90, 0)]
    agreement = cross_validate(anchors)
    assert agreement is not None
    assert agreement.folds == 2
    assert agreement.mae == pytest.approx(1.0)
    assert cross_validate(anchors[:1]) is None


def test_cross_validated_agreement_beats_plain_rescaling_on_a_shifted_grader() -> None:
    anchors = [
        _anchor(f"{q}{i}", q, 30 + 6 * i, i / 2) for q in ("q1", "q2", "q3") for i in range(11)
    ]
    agreement = cross_validate(anchors)
    assert agreement is not None
    assert agreement.mae < agreement.plain_mae / 2
    assert agreement.scale == 5


def test_calibration_round_trips_through_json() -> None:
    points = [_anchor(f"k{i}", f"q{i % 3}", 7.0 * i, (i % 6) * 1.0) for i in range(12)]
    calibration = calibrate(points, default_max=5)
    assert calibration is not None
    again = Calibration.from_json(json.loads(json.dumps(calibration.to_json())))
    probe = Point("new", "q1", 33.0)
    assert again.calibrated(probe) == calibration.calibrated(probe)
    assert again.agreement is not None
    assert calibration.agreement is not None
    assert again.agreement.mae == pytest.approx(calibration.agreement.mae, abs=1e-4)
    assert again.agreement.anchors == 12


# --------------------------------------------------------------------------- the stored files


def test_review_anchors_latest_wins_and_a_torn_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "r.anchors.jsonl"
    append_review_anchor(path, "k1", 2.0, 5.0)
    append_review_anchor(path, "k1", 3.0, 5.0)
    append_review_anchor(path, "k2", 1.0, 10.0)
    with path.open("ab") as fh:
        fh.write(b'{"key": "k3", "human_')  # a writer killed mid-line
    found = read_review_anchors(path)
    assert found == {"k1": RowScale(3.0, 5.0), "k2": RowScale(1.0, 10.0)}


def test_a_bad_review_anchor_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.anchors.jsonl"
    append_review_anchor(path, "k1", 2.0, 5.0)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "k2", "human_score": 9, "max_score": 5}\n')
    with pytest.raises(InputError, match=r"r\.anchors\.jsonl:2: human_score 9 is outside 0\.\.5"):
        read_review_anchors(path)


def test_fit_run_stores_the_map_and_reviewed_scores_win(tmp_path: Path) -> None:
    results = tmp_path / "run.jsonl"
    graded = [(f"k{i}", "q", 10.0 * i) for i in range(11)]
    scales = {f"k{i}": RowScale(i / 2 if i % 2 else None, 5.0) for i in range(11)}
    append_review_anchor(anchors_path(results), "k1", 5.0, 5.0)  # overrides the input's 0.5
    calibration, merged = fit_run(results, graded, scales, None)
    assert calibration is not None
    assert merged["k1"].human == 5.0
    assert calibration.anchors == 5
    stored = load_calibration(calibration_path(results))
    assert stored is not None
    assert stored.input_scales["k1"] == RowScale(0.5, 5.0)  # the input's, kept apart
    assert stored.calibration is not None
    assert stored.calibration.anchors == 5


def test_a_human_score_without_a_maximum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--max-score"):
        fit_run(tmp_path / "r.jsonl", [("k", "q", 50.0)], {"k": RowScale(3.0, None)}, None)
    calibration, _ = fit_run(
        tmp_path / "r.jsonl", [("k", "q", 50.0)], {"k": RowScale(3.0, None)}, 5.0
    )
    assert calibration is not None
