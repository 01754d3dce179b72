"""Start-up time of `interviewer` commands against the floor every typer CLI pays.

Prints the median wall time of `interviewer bank list`, `interviewer --help` and the start
of an offline `practice` session (ended at once by end of input), next to a minimal typer
app whose one command prints a line, all measured in the same run. Writes JSON to
benchmarks/results/startup.json.

    python benchmarks/startup.py [--runs 21]
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


def median_time(cmd: list[str], runs: int, env: dict[str, str], stdin: str = "") -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, input=stdin, text=True, capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()

    script = Path(sys.executable).parent / "interviewer"
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "interviewer"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "INTERVIEWER_HOME": tmp, "COLUMNS": "100"}
        for name in ("OPENAI_BASE_URL", "INTERVIEWER_ENDPOINT", "INTERVIEWER_BASE_URL"):
            env.pop(name, None)
        # An installed package has its byte code compiled; a source tree run with
        # PYTHONDONTWRITEBYTECODE would compile every module on every run instead. Keep the
        # byte code of this run in the temp dir so the tree is left clean.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        minimal = Path(tmp) / "minimal.py"
        minimal.write_text(MINIMAL, encoding="utf-8")
        # Warm the OS file cache and byte-code caches before measuring.
        for cmd in ([sys.executable, str(minimal)], [*cli, "bank", "list"]):
            subprocess.run(cmd, capture_output=True, env=env, check=True)
        floor = median_time([sys.executable, str(minimal)], args.runs, env)
        rows = {
            "bank list": median_time([*cli, "bank", "list"], args.runs, env),
            "--help": median_time([*cli, "--help"], args.runs, env),
            "practice (offline start)": median_time(
                [*cli, "practice", "--grader", "offline"], args.runs, env, stdin=""
            ),
        }
    print(f"{'command':<28}{'median s':>10}{'× floor':>10}")
    print(f"{'minimal typer app':<28}{floor:>10.3f}{1.0:>10.2f}")
    for name, value in rows.items():
        print(f"{name:<28}{value:>10.3f}{value / floor:>10.2f}")
    target = 1.25
    ratio = rows["bank list"] / floor
    print(f"bank list ratio {ratio:.2f} (target ≤ {target}): {'OK' if ratio <= target else 'MISS'}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "startup.json").write_text(
        json.dumps({"floor": floor, **rows, "ratio": ratio, "runs": args.runs}, indent=2),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
