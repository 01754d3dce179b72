"""The YAML loader the input reader composes rows with, one row at a time.

It keeps scalars as the user typed them, and refuses to compose a row nested deeper than
``MAX_DEPTH`` (which would exhaust the recursion limit and stop the whole file); the reader
then skips that row's remaining events with ``skip_open`` and goes on with the next row.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 200
TOO_NESTED = "is nested too deeply (a row holds text fields, not structures)"


class TooDeep(Exception):
    """A YAML row nested past MAX_DEPTH; raised before composing would recurse further."""


class TextLoader(yaml.SafeLoader):
    """A YAML loader that keeps scalars as written: ``answer: yes`` is the text "yes".

    It also refuses to compose a node nested deeper than MAX_DEPTH, which would
    otherwise exhaust the recursion limit and stop the whole file.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self._depth >= MAX_DEPTH:
            raise TooDeep
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# Only null keeps its implicit meaning; booleans, numbers and dates stay the text the user
# typed (YAML 1.1 would turn the answer "no" into False and an id 007 into 7).
TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def skip_open(loader: Any, depth: int) -> None:
    """Consume the rest of a row left ``depth`` collections deep by TooDeep."""
    while depth > 0:
        event = loader.get_event()
        if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            depth += 1
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            depth -= 1
