"""The evaluation's figures against independent computations (scipy, numpy), its edge cases,
the cross-fitted calibration and the cluster bootstrap."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import isotonic_regression

from interviewer.errors import InputError, InterviewerError
from interviewer.evaluation import metrics
from interviewer.evaluation.analysis import agreement, ceiling, paired_difference
from interviewer.evaluation.bootstrap import ClusterSampler
from interviewer.evaluation.calibration import MAX_FOLDS, Scale, cross_fit, fit_monotone
from interviewer.evaluation.data import open_scored, read_scored
from interviewer.evaluation.summary import evaluate
from tests.conftest import REPO

SAMPLE = REPO / "tests" / "data" / "offline" / "ads-zh-sample.jsonl"


def sample_rows() -> list[dict[str, object]]:
    with SAMPLE.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def synthetic_grades(humans: list[float], seed: int = 7) -> list[float]:
    """A noisy grader on 0-100, fixed by its seed, with ties (rounded to 5)."""
    rng = random.Random(seed)
    return [float(min(100, max(0, 5 * round((h * 8 + rng.gauss(20, 18)) / 5)))) for h in humans]


# --------------------------------------------------------------------------- independent versions


def qwk_by_matrices(a: list[int], b: list[int], k: int) -> float:
    """Cohen's quadratic kappa from the confusion matrix, written with numpy."""
    observed = np.zeros((k, k))
    for i, j in zip(a, b, strict=True):
        observed[i, j] += 1
    weights = np.array([[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)])
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    return float(1 - (weights * observed).sum() / (weights * expected).sum())


def isotonic_map(x: list[float], y: list[float]):
    """The calibration map rebuilt with scipy's isotonic regression and numpy.interp."""
    distinct = sorted(set(x))
    mean_y = [float(np.mean([b for a, b in zip(x, y, strict=True) if a == v])) for v in distinct]
    counts = [sum(1 for a in x if a == v) for v in distinct]
    fitted = isotonic_regression(mean_y, weights=counts).x
    knots_x: list[float] = []
    knots_y: list[float] = []
    i = 0
    while i < len(distinct):
        j = i
        while j + 1 < len(distinct) and math.isclose(fitted[j + 1], fitted[i]):
            j += 1
        block = range(i, j + 1)
        knots_x.append(sum(distinct[t] * counts[t] for t in block) / sum(counts[t] for t in block))
        knots_y.append(float(fitted[i]))
        i = j + 1
    return lambda v: float(np.interp(v, knots_x, knots_y))


def cross_fitted_by_hand(x: list[float], y: list[float], q: list[str]) -> list[float]:
    questions = sorted(set(q))
    folds = min(len(questions), MAX_FOLDS)
    fold = {name: i % folds for i, name in enumerate(questions)}
    out = [0.0] * len(x)
    for k in range(folds):
        train = [i for i in range(len(x)) if fold[q[i]] != k]
        fitted = isotonic_map([x[i] for i in train], [y[i] for i in train])
        for i in range(len(x)):
            if fold[q[i]] == k:
                out[i] = fitted(x[i])
    return out


# --------------------------------------------------------------------------- figures


def test_figures_match_scipy_and_numpy_on_the_sample_file() -> None:
    rows = sample_rows()
    human = [float(r["score"]) for r in rows]  # type: ignore[arg-type]
    questions = [str(r["qid"]) for r in rows]
    grader = synthetic_grades(human)
    scale = Scale(10)
    result = agreement(grader, human, questions, scale, replicates=0, seed=0)
    fig = {k: v.value for k, v in result.figures.items()}

    assert fig["pearson"] == pytest.approx(stats.pearsonr(grader, human).statistic, abs=1e-9)
    assert fig["spearman"] == pytest.approx(stats.spearmanr(grader, human).statistic, abs=1e-9)
    per_question = []
    for name in sorted(set(questions)):
        idx = [i for i, q in enumerate(questions) if q == name]
        per_question.append(stats.pearsonr([grader[i] for i in idx], [human[i] for i in idx])[0])
    assert fig["within_question_r"] == pytest.approx(float(np.mean(per_question)), abs=1e-9)

    calibrated = cross_fitted_by_hand(grader, human, questions)
    assert fig["mae"] == pytest.approx(float(np.mean(np.abs(np.subtract(calibrated, human)))))
    predicted = [min(10, max(0, math.floor(v + 0.5))) for v in calibrated]
    truth = [min(10, max(0, math.floor(h + 0.5))) for h in human]
    assert fig["qwk"] == pytest.approx(qwk_by_matrices(predicted, truth, 11), abs=1e-9)
    diffs = np.abs(np.subtract(predicted, truth))
    assert fig["exact"] == pytest.approx(float(np.mean(diffs == 0)))
    assert fig["adjacent"] == pytest.approx(float(np.mean(diffs <= 1)))
    assert result.n == len(rows)
    assert result.questions == 4


def test_weights_count_rows_as_repeated_copies() -> None:
    rng = random.Random(3)
    x = [float(rng.randint(0, 6)) for _ in range(40)]
    y = [float(rng.randint(0, 4)) for _ in range(40)]
    w = [rng.randint(0, 3) for _ in range(40)]
    ex = [a for a, c in zip(x, w, strict=True) for _ in range(c)]
    ey = [b for b, c in zip(y, w, strict=True) for _ in range(c)]
    assert metrics.pearson(x, y, w) == pytest.approx(stats.pearsonr(ex, ey)[0], abs=1e-9)
    assert metrics.spearman(x, y, w) == pytest.approx(stats.spearmanr(ex, ey)[0], abs=1e-9)
    xi, yi = [int(a) for a in x], [int(b) for b in y]
    exi, eyi = [int(a) for a in ex], [int(b) for b in ey]
    assert metrics.qwk(xi, yi, w, 7) == pytest.approx(qwk_by_matrices(exi, eyi, 7), abs=1e-9)


def test_human_ceiling_compares_the_two_graders_directly() -> None:
    first = [4.0, 5.0, 3.0, 2.0, 5.0, 1.0, 4.0, 0.0]
    second = [5.0, 5.0, 3.0, 1.0, 4.0, 2.0, 4.0, 1.0]
    questions = ["a", "a", "a", "a", "b", "b", "b", "b"]
    result = ceiling(first, second, questions, Scale(5), replicates=0, seed=0)
    assert result.figures["pearson"].value == pytest.approx(stats.pearsonr(first, second)[0])
    assert result.figures["mae"].value == pytest.approx(np.mean(np.abs(np.subtract(first, second))))
    assert result.figures["exact"].value == pytest.approx(3 / 8)


def test_paired_difference_is_the_difference_of_each_graders_figures() -> None:
    rows = sample_rows()
    human = [float(r["score"]) for r in rows]  # type: ignore[arg-type]
    questions = [str(r["qid"]) for r in rows]
    a, b = synthetic_grades(human, seed=1), synthetic_grades(human, seed=2)
    result = paired_difference(a, b, human, questions, Scale(10), replicates=200, seed=5)
    expected = stats.pearsonr(a, human)[0] - stats.pearsonr(b, human)[0]
    pearson = result.difference["pearson"]
    assert pearson.value == pytest.approx(expected, abs=1e-9)
    assert pearson.ci is not None
    assert pearson.value is not None
    assert pearson.ci[0] <= pearson.value <= pearson.ci[1]
    mae_a = agreement(a, human, questions, Scale(10), replicates=0, seed=0).figures["mae"].value
    mae_b = agreement(b, human, questions, Scale(10), replicates=0, seed=0).figures["mae"].value
    assert mae_a is not None
    assert mae_b is not None
    assert result.difference["mae"].value == pytest.approx(mae_a - mae_b)


# --------------------------------------------------------------------------- edge cases


def test_constant_grader_scores_leave_correlations_undefined() -> None:
    human = [0.0, 2.0, 5.0, 3.0, 1.0, 4.0]
    result = agreement([50.0] * 6, human, list("aabbcc"), Scale(5), replicates=50, seed=0)
    assert result.figures["pearson"].value is None
    assert result.figures["pearson"].ci is None
    assert result.figures["spearman"].value is None
    assert result.figures["within_question_r"].value is None
    # Calibrated, a constant grader predicts each question the other questions' mean: no
    # better than chance (here worse, the usual leave-out effect), but still defined.
    assert result.figures["qwk"].value is not None
    assert result.figures["qwk"].value <= 0.0
    assert result.figures["mae"].value is not None


def test_single_question_cross_fits_and_resamples_by_row() -> None:
    human = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 4.0]
    grader = [5.0, 20.0, 40.0, 55.0, 80.0, 95.0, 30.0, 70.0]
    result = agreement(grader, human, ["only"] * 8, Scale(5), replicates=100, seed=0)
    assert result.calibration is not None
    assert result.calibration.by == "row"
    assert result.resampled_by == "row"
    assert result.figures["within_question_r"].value == pytest.approx(
        stats.pearsonr(grader, human)[0]
    )
    assert result.figures["pearson"].ci is not None
    within = result.figures["within_question_r"].ci
    assert within is not None
    assert within[0] < within[1]  # its rows are resampled, so the interval has a width


def test_fewer_than_three_answers_per_question_give_no_within_question_r() -> None:
    result = agreement([10.0, 90.0], [1.0, 4.0], ["a", "a"], Scale(5), replicates=0, seed=0)
    assert result.figures["within_question_r"].value is None
    assert result.figures["pearson"].value == pytest.approx(1.0)
    one = agreement([10.0], [1.0], ["a"], Scale(5), replicates=10, seed=0)
    assert one.figures["pearson"].value is None
    assert one.figures["mae"].value is None


def test_zero_to_one_scale_uses_quarter_bins() -> None:
    scale = Scale(1.0)
    assert scale.categories == 5
    assert [scale.category(v) for v in (0.0, 0.1, 0.125, 0.6, 0.875, 1.0)] == [0, 0, 1, 2, 4, 4]
    assert Scale(5).categories == 6
    assert Scale(5).category(3.5) == 4


# --------------------------------------------------------------------------- calibration


def test_calibration_never_scores_a_question_with_a_map_fitted_on_it() -> None:
    rng = random.Random(11)
    questions = [f"q{i % 6}" for i in range(60)]
    grader = [float(rng.randint(0, 100)) for _ in questions]
    human = [g / 20 for g in grader]
    before = cross_fit(grader, human, questions)
    assert before is not None
    assert before.by == "question"
    # Change the human scores of one question only: its own calibrated scores must not move
    # (the map that scores them never saw them), while other questions' scores do.
    changed = [5.0 - h if q == "q0" else h for h, q in zip(human, questions, strict=True)]
    after = cross_fit(grader, changed, questions)
    assert after is not None
    own = [i for i, q in enumerate(questions) if q == "q0"]
    rest = [i for i, q in enumerate(questions) if q != "q0"]
    assert [after.values[i] for i in own] == [before.values[i] for i in own]
    assert any(after.values[i] != before.values[i] for i in rest)


def test_calibration_on_rows_it_scores_would_look_better() -> None:
    # Each question's grader is offset by its own amount: an in-sample fit memorises it,
    # a cross-fitted one cannot, so the cross-fitted MAE must be the larger.
    questions, grader, human = [], [], []
    for k in range(5):
        for h in range(6):
            questions.append(f"q{k}")
            human.append(float(h))
            grader.append(10.0 * h + 7.0 * k + 0.5 * k * h)
    in_sample = fit_monotone(grader, human)
    in_mae = sum(abs(in_sample(g) - h) for g, h in zip(grader, human, strict=True)) / len(human)
    result = agreement(grader, human, questions, Scale(5), replicates=0, seed=0)
    assert result.figures["mae"].value is not None
    assert result.figures["mae"].value > in_mae + 0.05


def test_monotone_fit_matches_scipy_isotonic_regression() -> None:
    rng = random.Random(5)
    # Tenths: sums of repeated 0.1s are not exact, so equal scores must be grouped as equal.
    x = [rng.randint(0, 20) / 10 for _ in range(80)]
    y = [min(5.0, max(0.0, 2.5 * v + rng.gauss(0, 1))) for v in x]
    mine, theirs = fit_monotone(x, y), isotonic_map(x, y)
    assert len(mine.knots_x) == len(set(mine.knots_x))
    for v in [-0.3, 0.0, 0.1, 0.25, 0.7, 1.33, 2.0, 2.5]:
        assert mine(v) == pytest.approx(theirs(v), abs=1e-9)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_deterministic_for_a_seed_and_resamples_whole_questions() -> None:
    rng = random.Random(9)
    questions = [f"q{i % 12}" for i in range(120)]
    human = [float(rng.randint(0, 10)) for _ in questions]
    grader = synthetic_grades(human)
    first = agreement(grader, human, questions, Scale(10), replicates=300, seed=42)
    again = agreement(grader, human, questions, Scale(10), replicates=300, seed=42)
    other = agreement(grader, human, questions, Scale(10), replicates=300, seed=43)
    assert first.figures == again.figures
    assert first.figures["pearson"].ci != other.figures["pearson"].ci
    for name in ("pearson", "qwk", "mae"):
        figure = first.figures[name]
        assert figure.ci is not None
        assert figure.value is not None
        assert figure.ci[0] <= figure.value <= figure.ci[1]

    groups = [[i for i, q in enumerate(questions) if q == name] for name in sorted(set(questions))]
    sampler = ClusterSampler(groups, len(questions), seed=1)
    for _ in range(20):
        weights, counts = sampler.draw()
        assert sum(counts) == len(groups)
        for group, count in zip(sampler.clusters, counts, strict=True):
            assert {weights[i] for i in group} == {count}


# --------------------------------------------------------------------------- reading


def test_a_row_without_a_score_names_its_file_and_line(tmp_path: Path) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[2])
    del broken["score"]
    lines[2] = json.dumps(broken, ensure_ascii=False)
    path = tmp_path / "scored.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"scored\.jsonl:3: row 3: no human score"):
        read_scored(open_scored(path))


def test_scores_outside_the_scale_and_mixed_scales_are_refused(tmp_path: Path) -> None:
    base = {"question": "Q?", "reference": "R.", "answer": "A.", "qid": "1"}
    path = tmp_path / "s.jsonl"
    rows = [{**base, "score": 3, "max_score": 5}, {**base, "score": 7, "max_score": 5}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"s\.jsonl:2: .*'score' 7 is outside 0\.\.5"):
        read_scored(open_scored(path))
    rows = [{**base, "score": 3, "max_score": 5}, {**base, "score": 7, "max_score": 10}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"s\.jsonl:2: .*max_score 10 differs"):
        read_scored(open_scored(path))
    rows = [
        {**base, "score": 3, "max_score": 5},
        {**base, "answer": " ", "score": 0, "max_score": 5},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"s\.jsonl:2: row 2: no answer"):
        read_scored(open_scored(path))


def test_csv_needs_a_human_score_column(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("question,reference,answer,max_score\nQ?,R.,A.,5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"s\.csv:1: no 'human_score' column"):
        read_scored(open_scored(path))
    path.write_text("question,reference,answer,human_score,max_score\nQ?,R.,A.,4,5\n")
    (row,) = read_scored(open_scored(path))
    assert (row.human, row.max_score, row.qid) == (4.0, 5.0, None)


def test_nothing_graded_is_an_error() -> None:
    rows = read_scored(open_scored(SAMPLE))
    with pytest.raises(InterviewerError, match="no row has a grade"):
        evaluate(
            rows, [None] * len(rows), ["q"] * len(rows), file="f", grader="g", replicates=0, seed=0
        )
