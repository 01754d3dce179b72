"""List modules over 500 lines and functions over 80 lines in the package.

The layout rule in docs/architecture.md: a module says one thing, a function does one thing.
Run: python scripts/sizes.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULE_LIMIT = 500
FUNCTION_LIMIT = 80


def oversized(root: Path) -> list[str]:
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n") + 1
        if lines > MODULE_LIMIT:
            found.append(f"{path}: module has {lines} lines (limit {MODULE_LIMIT})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LIMIT:
                    found.append(
                        f"{path}:{node.lineno}: {node.name}() has {length} lines"
                        f" (limit {FUNCTION_LIMIT})"
                    )
    return found


if __name__ == "__main__":
    problems = oversized(Path(sys.argv[1] if len(sys.argv) > 1 else "interviewer"))
    print("\n".join(problems) or "all modules and functions within limits")
    sys.exit(1 if problems else 0)
