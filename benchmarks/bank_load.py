"""How long loading a bank takes as it grows, to justify the bank size limit.

Usage: python benchmarks/bank_load.py [--sizes 0.25,1,2,4]

Builds banks of about the given sizes (MiB) two ways: copies of a bundled bank's questions under
new ids (realistic), and one-line questions (the worst case: the most questions per MiB). Each
is loaded with interviewer.bank.library.load_bank_file (what every command but `bank list` does
for every bank); seconds and seconds per MiB are printed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml

from interviewer import paths
from interviewer.bank import library
from interviewer.paths import builtin_bank_dir


def build(size_mib: float, dest: Path) -> Path:
    source = yaml.safe_load((builtin_bank_dir() / "llm-en.yaml").read_text(encoding="utf-8"))
    questions = source["questions"]
    per_copy = len(yaml.safe_dump(questions, allow_unicode=True).encode())
    copies = max(1, int(size_mib * 1024 * 1024 / per_copy))
    out = []
    for n in range(copies):
        for q in questions:
            out.append({**json.loads(json.dumps(q)), "id": f"{q['id']}-{n}"})
    data = {"bank": {**source["bank"], "id": "big"}, "questions": out}
    path = dest / f"big-{size_mib}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def build_short(size_mib: float, dest: Path) -> Path:
    path = dest / f"short-{size_mib}.yaml"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("bank: {id: short, title: Short, language: en}\nquestions:\n")
        n = 0
        while fh.tell() < size_mib * 1024 * 1024 - 100:
            fh.write(f"  - {{id: q{n}, question: What is {n}?, reference: It is {n}.}}\n")
            n += 1
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="0.25,1,2,4")
    args = parser.parse_args()
    paths.MAX_BANK_BYTES = 1 << 28  # measure past the limit too
    with tempfile.TemporaryDirectory() as tmp:
        for kind, make in (("realistic", build), ("one-line", build_short)):
            for size in (float(s) for s in args.sizes.split(",")):
                path = make(size, Path(tmp))
                mib = path.stat().st_size / 1024 / 1024
                start = time.process_time()
                bank = library.load_bank_file(path)
                took = time.process_time() - start
                print(
                    f"{kind:9s} {mib:6.2f} MiB  {len(bank.questions):6d} questions"
                    f"  {took:6.2f} s CPU  {took / mib:5.2f} s/MiB"
                )


if __name__ == "__main__":
    main()
