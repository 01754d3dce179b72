"""`interviewer eval` end to end: the offline grader on a small scored file, resume, reports,
--compare, CSV input, bad input, and the LLM grader against the loopback chat server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scipy import stats
from typer.testing import CliRunner

from interviewer.cli import app
from tests.batch_support import bank_rows, grading_handler, read_results, write_bank, write_csv
from tests.chat_server import ChatServer, Request, unauthorized
from tests.conftest import REPO

runner = CliRunner()
SAMPLE = REPO / "tests" / "data" / "offline" / "saf-en-sample.jsonl"


def run(*args: str | Path) -> Any:
    return runner.invoke(app, ["eval", *[str(a) for a in args]])


def human_scores(path: Path) -> dict[int, float]:
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return {i: float(r["score"]) for i, r in enumerate(rows, start=1)}


def test_offline_eval_reports_figures_that_match_its_results_file(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    result = run(SAMPLE, "--grader", "offline", "--out", out, "--json", "--bootstrap", "200")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    records = read_results(out)
    assert sorted(r["row"] for r in records) == list(range(1, 33))
    humans = human_scores(SAMPLE)
    grader = [float(r["score"]) for r in sorted(records, key=lambda r: r["row"])]
    human = [humans[r] for r in sorted(humans)]
    assert figures["n"] == 32
    assert figures["questions"] == 4
    assert figures["pearson"]["value"] == pytest.approx(stats.pearsonr(grader, human)[0], abs=1e-4)
    assert figures["spearman"]["value"] == pytest.approx(
        stats.spearmanr(grader, human)[0], abs=1e-4
    )
    lo, hi = figures["pearson"]["ci"]
    assert lo <= figures["pearson"]["value"] <= hi
    for name in ("qwk", "mae", "exact", "adjacent", "within_question_r"):
        assert figures[name]["value"] is not None, name
    assert figures["scale"] == {"max": 1.0, "step": 0.25}
    assert figures["calibration"]["cross_fitted_by"] == "question"
    assert figures["human_ceiling"] is None

    again = run(SAMPLE, "--grader", "offline", "--out", out, "--json", "--bootstrap", "200")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == figures  # same seed, same figures
    assert len(read_results(out)) == 32  # nothing graded twice


def test_rerun_grades_only_the_missing_rows(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    assert run(SAMPLE, "--grader", "offline", "--out", out, "--bootstrap", "0").exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:20]), encoding="utf-8")
    result = run(SAMPLE, "--grader", "offline", "--out", out, "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    assert "Grading 12 answers" in result.stderr
    # The terminal wraps long lines where the path's length puts the break.
    assert "20 already in the results" in " ".join(result.stderr.split())
    assert len(read_results(out)) == 32


def test_table_and_reports(tmp_path: Path) -> None:
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    result = run(SAMPLE, "--grader", "offline", "--bootstrap", "50", "--report", html)
    assert result.exit_code == 0, result.output
    assert "Pearson r" in result.stdout
    assert "95% CI" in result.stdout
    page = html.read_text(encoding="utf-8")
    assert "<svg" in page
    assert page.count("<circle") == 32
    assert "<polyline" in page
    for external in ("<script", "<link", "src=", "href=", "@import", "url("):
        assert external not in page
    assert run(SAMPLE, "--grader", "offline", "--bootstrap", "50", "--report", md).exit_code == 0
    text = md.read_text(encoding="utf-8")
    assert "| Pearson r |" in text
    assert "cross-fitted by question" in text


def test_compare_gives_the_paired_difference(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    assert run(SAMPLE, "--grader", "offline", "--out", out, "--bootstrap", "0").exit_code == 0
    records = sorted(read_results(out), key=lambda r: r["row"])
    # A second grader: the human score plus a fixed per-row offset, on 0-100.
    humans = human_scores(SAMPLE)
    other = tmp_path / "other.jsonl"
    with other.open("w", encoding="utf-8") as fh:
        for r in records:
            score = 100 * humans[r["row"]] * 0.7 + (r["row"] * 37) % 30
            fh.write(json.dumps({"row": r["row"], "score": score, "answer": r["answer"]}) + "\n")
    result = run(
        SAMPLE, "--grader", "offline", "--out", out, "--compare", other, "--json",
        "--bootstrap", "100",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    compare = json.loads(result.stdout)["compare"]
    assert compare["n"] == 32
    mine = [float(r["score"]) for r in records]
    theirs = [100 * humans[r["row"]] * 0.7 + (r["row"] * 37) % 30 for r in records]
    human = [humans[r["row"]] for r in records]
    expected = stats.pearsonr(mine, human)[0] - stats.pearsonr(theirs, human)[0]
    assert compare["difference"]["pearson"]["value"] == pytest.approx(expected, abs=1e-3)
    assert compare["difference"]["pearson"]["ci"] is not None
    assert compare["difference"]["mae"]["value"] == pytest.approx(
        compare["this"]["mae"] - compare["other"]["mae"], abs=1e-3
    )

    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({"row": 1, "score": 50, "answer": "something else"}) + "\n")
    bad = run(SAMPLE, "--grader", "offline", "--out", out, "--compare", wrong)
    assert bad.exit_code == 1
    assert "wrong.jsonl: row 1 holds another answer" in bad.stderr


def test_csv_input_with_human_scores_and_two_graders(tmp_path: Path) -> None:
    rows = []
    with SAMPLE.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            r = json.loads(line)
            first = round(4 * r["score"])
            rows.append({
                "question": r["question"], "reference": r["reference"], "answer": r["answer"],
                "human_score": first, "max_score": 4, "score1": first,
                "score2": min(4, first + i % 2), "qid": r["qid"],
            })  # fmt: skip
    path = write_csv(tmp_path / "scored.csv", rows)
    result = run(path, "--grader", "offline", "--json", "--bootstrap", "50")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["scale"] == {"max": 4.0, "step": 1.0}
    ceiling = figures["human_ceiling"]
    s1 = [r["score1"] for r in rows]
    s2 = [r["score2"] for r in rows]
    assert ceiling["n"] == 32
    assert ceiling["pearson"]["value"] == pytest.approx(stats.pearsonr(s1, s2)[0], abs=1e-4)
    assert ceiling["exact"]["value"] == pytest.approx(
        sum(a == b for a, b in zip(s1, s2, strict=True)) / 32
    )


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "scored.jsonl"
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace('"score":', '"score_x":')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(path, "--grader", "offline")
    assert result.exit_code == 1
    assert "scored.jsonl:5: row 5: no human score" in result.stderr
    assert "Traceback" not in result.output
    report = run(SAMPLE, "--grader", "offline", "--report", tmp_path / "r.pdf")
    assert report.exit_code == 1
    assert "--report writes .md" in report.stderr


def test_bank_question_ids_group_by_question(tmp_path: Path) -> None:
    banks = write_bank(tmp_path / "banks")
    rows = bank_rows(12)
    for i, row in enumerate(rows):
        row["human_score"] = i % 3
        row["max_score"] = 2
    path = write_csv(tmp_path / "bank.csv", rows)
    result = run(path, "--grader", "offline", "--bank-dir", banks, "--json", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["n"] == 12
    assert figures["questions"] == len({r["question_id"] for r in rows})


# --------------------------------------------------------------------------- LLM grader


def test_llm_grader_against_the_chat_server(tmp_path: Path, chat_server: ChatServer) -> None:
    chat_server.handler = grading_handler
    out = tmp_path / "llm.jsonl"
    args = ["--grader", "llm", "--base-url", chat_server.url, "--model", "test-model"]
    result = run(SAMPLE, *args, "--out", out, "--json", "--bootstrap", "100")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["n"] == 32
    assert "test-model" in figures["grader"]
    assert len(chat_server.chat_requests) == len({r["hash"] for r in read_results(out)})
    records = sorted(read_results(out), key=lambda r: r["row"])
    humans = human_scores(SAMPLE)
    grader = [float(r["score"]) for r in records]
    human = [humans[r["row"]] for r in records]
    assert figures["pearson"]["value"] == pytest.approx(stats.pearsonr(grader, human)[0], abs=1e-4)

    sent = len(chat_server.chat_requests)
    again = run(SAMPLE, *args, "--out", out, "--json", "--bootstrap", "100")
    assert again.exit_code == 0, again.output
    assert len(chat_server.chat_requests) == sent  # resumed: nothing sent again
    assert json.loads(again.stdout) == figures


def test_llm_failures_leave_rows_ungraded_and_exit_2(
    tmp_path: Path, chat_server: ChatServer
) -> None:
    def flaky(request: Any) -> Any:
        # Every answer to one question (8 rows) gets a reply that is not a grade.
        if "Reverse Path Forwarding" in json.dumps(request.body):
            from tests.chat_server import completion

            return completion("not a grade at all")
        return grading_handler(request)

    chat_server.handler = flaky
    args = ["--grader", "llm", "--base-url", chat_server.url, "--model", "test-model"]
    result = run(SAMPLE, *args, "--json", "--bootstrap", "0", "--concurrency", "2")
    assert result.exit_code == 2, result.output
    figures = json.loads(result.stdout)
    assert figures["ungraded"] == 8
    assert figures["n"] == 32 - figures["ungraded"]
    assert "ungraded and left out" in result.stderr


def test_an_endpoint_that_refuses_stops_with_its_error(
    tmp_path: Path, chat_server: ChatServer
) -> None:
    seen = 0

    def handler(request: Request) -> Any:
        nonlocal seen
        seen += 1
        return grading_handler(request) if seen <= 10 else unauthorized()

    chat_server.handler = handler
    out = tmp_path / "llm.jsonl"
    args = ["--grader", "llm", "--base-url", chat_server.url, "--model", "test-model"]
    result = run(SAMPLE, *args, "--out", out, "--json", "--bootstrap", "0", "--concurrency", "1")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["n"] == 10  # figures on what was graded, then the error
    assert "re-run the same command to continue" in " ".join(result.stderr.split())

    chat_server.handler = lambda request: unauthorized()
    nothing = run(SAMPLE, *args, "--bootstrap", "0")
    assert nothing.exit_code == 1
    assert "no row was graded" in " ".join(nothing.stderr.split())
    assert nothing.stdout == ""


def test_an_unknown_bank_question_names_its_line(tmp_path: Path) -> None:
    banks = write_bank(tmp_path / "banks")
    rows = bank_rows(4)
    for row in rows:
        row["human_score"], row["max_score"] = 1, 2
    rows[2]["question_id"] = "ghost"
    path = write_csv(tmp_path / "bank.csv", rows)
    result = run(path, "--grader", "offline", "--bank-dir", banks)
    assert result.exit_code == 1
    assert "bank.csv:4: row 3" in result.stderr
    assert "unknown question id 'ghost'" in result.stderr


def test_the_example_in_docs_eval_md_is_what_the_command_prints() -> None:
    example = REPO / "tests" / "data" / "offline" / "ads-zh-sample.jsonl"
    result = runner.invoke(
        app, ["eval", str(example), "--grader", "offline"], env={"COLUMNS": "100"}
    )
    assert result.exit_code == 0, result.output
    docs = (REPO / "docs" / "eval.md").read_text(encoding="utf-8")
    assert "interviewer eval tests/data/offline/ads-zh-sample.jsonl --grader offline" in docs
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 8
    for line in rows:
        assert line in docs, line


def test_the_configured_grader_is_used_when_no_flag_is_given(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text('grader = "offline"\n', encoding="utf-8")
    monkeypatch.setenv("INTERVIEWER_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("INTERVIEWER_MODEL", "gone")
    result = run(SAMPLE, "--out", tmp_path / "r.jsonl", "--json", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["grader"].startswith("offline")
