"""A bank file as bytes and as YAML nodes: read once, within bounds, without aliases.

Bank files come from users and from pipes, so reading them is bounded: at most
``paths.MAX_BANK_BYTES`` bytes, read once (a pipe cannot be read twice, and the bytes that were
validated are the bytes an import installs), and no YAML anchors or aliases, which let a few
hundred bytes stand for billions of values. interviewer.bank.library validates what is read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from interviewer import paths
from interviewer.errors import BankError

_BANK_HEADER = re.compile(rb"^bank[ \t]*:", re.MULTILINE)


def node_at(node: yaml.Node | None, loc: Sequence[int | str]) -> yaml.Node | None:
    """Follow a pydantic error location into the YAML node tree, as deep as it goes."""
    current = node
    for part in loc:
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            nxt = next((v for k, v in current.value if k.value == part), None)
            if nxt is None:
                return current
            current = nxt
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(current.value):
                return current
            current = current.value[part]
        else:
            return current
    return current


def check_nodes(root: yaml.Node, path: Path) -> None:
    """Refuse duplicate mapping keys and YAML aliases, in one walk over the node graph.

    An alias makes the composed graph share one node between several places, so a file of a
    few hundred bytes can stand for billions of values ("billion laughs") or for a cycle; a
    bank never needs one. Each node is visited once, so the walk is linear in the file size.
    """
    visited: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in visited:
            raise BankError(
                f"{path}:{node.start_mark.line + 1}: this value is repeated through a YAML"
                " anchor and aliases (&name, *name, <<: *name), which bank files may not use;"
                " write the value out in full."
            )
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            children: list[yaml.Node] = []
            for key, value in node.value:
                name = str(key.value)
                if isinstance(key, yaml.ScalarNode) and name in seen:
                    raise BankError(
                        f"{path}:{key.start_mark.line + 1}: duplicate key '{name}' "
                        f"(first at line {seen[name]}); remove one of them."
                    )
                seen[name] = key.start_mark.line + 1
                children += (key, value)
            # Reversed onto the stack, so that problems are found in the file's order.
            stack.extend(reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))


def read_bank_bytes(path: Path) -> bytes:
    """Read a bank file once, refusing one larger than paths.MAX_BANK_BYTES.

    Callers that both validate and copy a file use these bytes for both: a pipe
    (``bank import <(cat x.yaml)``, /dev/stdin) can be read only once, and a file that
    changes between two reads must not be installed unvalidated.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(paths.MAX_BANK_BYTES + 1)
    except FileNotFoundError:
        raise BankError(f"{path}: no such file; check the path.") from None
    except OSError as exc:
        raise BankError(f"{path}: cannot read ({exc.strerror}).") from None
    if len(raw) > paths.MAX_BANK_BYTES:
        raise BankError(
            f"{path}: larger than {paths.MAX_BANK_BYTES} bytes, the limit for a bank file;"
            " split it into smaller bank files."
        )
    return raw


def decode_bank(raw: bytes, path: Path) -> str:
    """A bank file's bytes as text (UTF-8, with or without a byte-order mark)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BankError(
            f"{path}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8."
        ) from None


def looks_like_bank(raw: bytes) -> bool:
    """Whether content with no telling file suffix (a pipe) is a bank: a top-level ``bank:``."""
    return bool(_BANK_HEADER.search(raw))
