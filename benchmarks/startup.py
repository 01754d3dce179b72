"""Start-up time of `interviewer` commands against the floor every typer CLI pays.

Measures `interviewer bank list` (output to a pipe, warm bank index), `interviewer --help`
and the start of an offline `practice` session (ended at once by end of input), next to a
minimal typer app whose one command prints a line (the floor) and that app's own --help.
The commands are timed in turn, run after run, so a change in the load of a shared machine
affects them all alike; a round is ``--runs`` such turns and gives each command's median
and its ratio to the floor. Several rounds show how much the ratios move. Writes JSON to
benchmarks/results/startup.json.

    python benchmarks/startup.py [--runs 31] [--rounds 3]

Targets: `bank list` at most 1.4 times the floor, `--help` at most 1.2 times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL = """
import typer

app = typer.Typer()


@app.command()
def hello() -> None:
    print("hello")


app()
"""

FLOOR = "minimal typer app"
TARGETS = {"bank list": 1.4, "--help": 1.2}


def elapsed(cmd: list[str], env: dict[str, str], stdin: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, input=stdin, text=True, capture_output=True, env=env, check=True)
    return time.perf_counter() - start


def one_round(
    commands: dict[str, tuple[list[str], str]], runs: int, env: dict[str, str]
) -> dict[str, float]:
    """The median seconds of every command over ``runs`` interleaved runs."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, stdin) in commands.items():
            times[name].append(elapsed(cmd, env, stdin))
    return {name: statistics.median(values) for name, values in times.items()}


def isolated_env(tmp: str) -> dict[str, str]:
    env = {**os.environ, "INTERVIEWER_HOME": tmp, "COLUMNS": "100"}
    for name in ("OPENAI_BASE_URL", "INTERVIEWER_ENDPOINT", "INTERVIEWER_BASE_URL"):
        env.pop(name, None)
    # An installed package has its byte code compiled; a source tree run with
    # PYTHONDONTWRITEBYTECODE would compile every module on every run instead. Keep the
    # byte code of this run in the temp dir so the tree is left clean.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
    return env


def report(rounds: list[dict[str, float]]) -> dict[str, list[float]]:
    """Print each round's medians and ratios, then every ratio's range over the rounds."""
    names = list(rounds[0])
    print(f"{'command':<28}" + "".join(f"{'round ' + str(i + 1):>16}" for i in range(len(rounds))))
    ratios: dict[str, list[float]] = {}
    for name in names:
        ratios[name] = [r[name] / r[FLOOR] for r in rounds]
        cells = "".join(
            f"{r[name]:>8.3f}s {ratio:>5.2f}×"
            for r, ratio in zip(rounds, ratios[name], strict=True)
        )
        print(f"{name:<28}{cells}")
    for name, target in TARGETS.items():
        low, high = min(ratios[name]), max(ratios[name])
        verdict = "OK" if high <= target else "MISS"
        span = f"{low:.2f}–{high:.2f} over {len(rounds)} rounds"
        print(f"{name} ratio {span} (target ≤ {target}): {verdict}")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="runs per command per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    script = Path(sys.executable).parent / "interviewer"
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "interviewer"]
    with tempfile.TemporaryDirectory() as tmp:
        env = isolated_env(tmp)
        minimal = Path(tmp) / "minimal.py"
        minimal.write_text(MINIMAL, encoding="utf-8")
        commands = {
            FLOOR: ([sys.executable, str(minimal)], ""),
            # What typer's own rich help costs, for comparison with `interviewer --help`.
            "minimal typer app --help": ([sys.executable, str(minimal), "--help"], ""),
            "bank list": ([*cli, "bank", "list"], ""),
            "--help": ([*cli, "--help"], ""),
            "practice (offline start)": ([*cli, "practice", "--grader", "offline"], ""),
        }
        # Warm the OS file cache, the byte-code caches and the bank index before measuring.
        for cmd, stdin in commands.values():
            elapsed(cmd, env, stdin)
        rounds = [one_round(commands, args.runs, env) for _ in range(args.rounds)]
    ratios = report(rounds)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    result = {"runs": args.runs, "rounds": rounds, "ratios": ratios, "targets": TARGETS}
    (out / "startup.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
