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

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level < MAX_DEPTH:
            super().fetch_flow_collection_start(TokenClass)
            return
        # PyYAML's scanner revisits every open bracket for each token (quadratic in the
        # depth): past the limit, the rest of this collection is read as one scalar, in
        # linear time. The composer refuses the row at the same depth anyway.
        self.save_possible_simple_key()
        self.allow_simple_key = False
        start = self.get_mark()
        self._skip_collection()
        self.tokens.append(yaml.ScalarToken(TOO_NESTED, True, start, self.get_mark()))

    def _skip_collection(self) -> None:
        """Move past one flow collection (with quoted text inside it) or to the end."""
        depth, previous = 0, " "
        while (char := self.peek()) != "\0":
            self.forward()
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    return
            elif char in "\"'" and previous in "[{,: \t\r\n":  # not the ' in "it's"
                self._skip_quoted(char)
            previous = char

    def _skip_quoted(self, quote: str) -> None:
        while (char := self.peek()) != "\0":
            self.forward()
            if char == "\\" and quote == '"':
                self.forward()
            elif char == quote:
                return

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
