"""Broken user files and surprising settings: one line naming the file and the fix, exit 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.config import (
    CONFIG_NAME,
    STATE_NAME,
    Config,
    EndpointProfile,
    load_config,
    resolve_api_key,
    resolve_endpoint,
)
from interviewer.errors import ConfigError
from interviewer.grading.factory import GraderFlags, choose_grader
from tests import chat_server as cs
from tests.chat_server import ChatServer

runner = CliRunner()
BANK = """bank: {id: mine, title: Mine, language: en}
questions:
  - id: mine-1
    question: What is a closure?
    reference: A function that remembers the variables of its enclosing scope.
"""


def one_error_line(result: Any, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    # One message (the terminal may wrap it).
    assert result.output.startswith("Error: "), result.output
    assert result.output.count("Error") == 1, result.output
    for needle in needles:
        assert needle in " ".join(result.output.split()), result.output


def test_config_that_is_a_directory(isolated_home: Path) -> None:
    (isolated_home / CONFIG_NAME).mkdir(parents=True)
    for command in (["endpoints", "list"], ["bank", "list"], ["bank", "show", "llm-en-1"]):
        one_error_line(runner.invoke(app, command), str(isolated_home / CONFIG_NAME), "remove")


@pytest.mark.parametrize("content", ["dir", b"\xff\xfe\x00bad"])
def test_unusable_key_file(tmp_path: Path, content: str | bytes) -> None:
    key_file = tmp_path / "key"
    if content == "dir":
        key_file.mkdir(mode=0o700)
    else:
        assert isinstance(content, bytes)
        key_file.write_bytes(content)
        key_file.chmod(0o600)
    profile = EndpointProfile(name="p", api_key_file=str(key_file))
    with pytest.raises(ConfigError) as err:
        resolve_api_key(profile)
    assert str(key_file) in str(err.value)
    assert "API key" in str(err.value)


def test_bank_import_into_an_unwritable_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # A home that is a file cannot hold a banks directory, even for root.
    home = tmp_path / "not-a-dir"
    home.write_text("", encoding="utf-8")
    monkeypatch.setenv("INTERVIEWER_HOME", str(home))
    mine = tmp_path / "mine.yaml"
    mine.write_text(BANK, encoding="utf-8")
    result = runner.invoke(app, ["bank", "import", str(mine)])
    one_error_line(result, str(home / "banks"), "INTERVIEWER_HOME")


@pytest.mark.parametrize(
    "state",
    [
        [],
        "text",
        {"endpoints": []},
        {"endpoints": {"http://127.0.0.1:9/v1|m": "json_object"}},
        {"endpoints": {"http://127.0.0.1:9/v1|m": {"contract": 3, "rejected": []}}},
    ],
)
def test_endpoint_state_of_the_wrong_shape(isolated_home: Path, state: Any) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / STATE_NAME).write_text(json.dumps(state), encoding="utf-8")
    added = runner.invoke(
        app, ["endpoints", "add", "p", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
    )
    assert added.exit_code == 0, added.output
    one_error_line(runner.invoke(app, ["endpoints", "list"]), str(isolated_home / STATE_NAME))


def test_endpoint_state_of_the_wrong_shape_while_grading(
    isolated_home: Path, chat_server: ChatServer
) -> None:
    isolated_home.mkdir(parents=True)
    key = f"{chat_server.url}|test-model"
    state = {"endpoints": {key: {"contract": "json_schema", "rejected": []}}}
    (isolated_home / STATE_NAME).write_text(json.dumps(state), encoding="utf-8")
    chat_server.handler = cs.personality("deepseek")
    result = runner.invoke(
        app,
        ["practice", "--count", "1", "--base-url", chat_server.url, "--model", "test-model"],
        input="A closure remembers variables.\n",
    )
    assert result.exit_code == 1, result.output
    assert str(isolated_home / STATE_NAME) in " ".join(result.output.split())


def test_default_endpoint_naming_a_missing_profile_is_an_error(isolated_home: Path) -> None:
    config = Config(default_endpoint="gone")
    with pytest.raises(ConfigError) as err:
        resolve_endpoint(config)
    assert "default_endpoint" in str(err.value)
    assert "'gone'" in str(err.value)
    assert "config.toml" in str(err.value)
    isolated_home.mkdir(parents=True)
    (isolated_home / CONFIG_NAME).write_text('default_endpoint = "gone"\n', encoding="utf-8")
    result = runner.invoke(app, ["practice", "--count", "1"], input="x\n")
    assert result.exit_code == 1
    assert "default_endpoint" in result.output
    # Choosing the offline grader needs no endpoint, so the setting does not get in the way.
    assert load_config().default_endpoint == "gone"
    assert choose_grader(load_config(), GraderFlags(grader="offline")).endpoint is None


def test_an_endpoint_flag_means_the_llm_grader(chat_server: ChatServer) -> None:
    offline = Config(
        grader="offline",
        endpoints={"p": EndpointProfile(name="p", base_url=chat_server.url, model="test-model")},
    )
    by_url = choose_grader(offline, GraderFlags(base_url=chat_server.url, model="test-model"))
    assert by_url.grader.info.kind == "llm"
    by_name = choose_grader(offline, GraderFlags(endpoint="p"))
    assert by_name.grader.info.kind == "llm"
    assert by_name.endpoint is not None
    assert by_name.endpoint.name == "p"
    env = {"INTERVIEWER_GRADER": "offline"}
    assert choose_grader(offline, GraderFlags(endpoint="p"), env).grader.info.kind == "llm"
    # Unless the command line also says offline.
    told = choose_grader(offline, GraderFlags(grader="offline", endpoint="p"))
    assert told.grader.info.kind == "offline"
    # A model alone names no endpoint.
    assert choose_grader(offline, GraderFlags(model="m")).grader.info.kind == "offline"
