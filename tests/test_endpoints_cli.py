"""`interviewer endpoints add | list | remove | check` via the CLI, against the loopback server."""

from __future__ import annotations

import json
import re
import socket
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.config import CONFIG_NAME, STATE_NAME, load_config, save_config
from interviewer.grading.discrimination import STRONG_ANSWER, WEAK_ANSWER
from tests import chat_server as cs
from tests.chat_server import ChatServer

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), env=env, input=input)


def flat(text: str) -> str:
    """Output with runs of whitespace collapsed (column widths vary with content)."""
    return " ".join(text.split())


def config_file(home: Path) -> dict[str, Any]:
    return tomllib.loads((home / CONFIG_NAME).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- add / list / remove


def test_add_writes_a_profile_without_any_key(isolated_home: Path) -> None:
    result = invoke(
        "endpoints",
        "add",
        "openai",
        "--base-url",
        "https://api.openai.com/v1/",
        "--model",
        "gpt-4o-mini",
        "--api-key-env",
        "OPENAI_API_KEY",
        "--context-window",
        "128000",
        env={"OPENAI_API_KEY": "sk-secret-value"},
    )
    assert result.exit_code == 0, result.output
    assert "Added endpoint openai (default)" in result.output
    assert "interviewer endpoints check openai" in result.output
    data = config_file(isolated_home)
    assert data["default_endpoint"] == "openai"
    profile = data["endpoints"]["openai"]
    assert profile["base_url"] == "https://api.openai.com/v1"
    assert profile["model"] == "gpt-4o-mini"
    assert profile["api_key_env"] == "OPENAI_API_KEY"
    assert profile["context_window"] == 128000
    assert "sk-secret-value" not in (isolated_home / CONFIG_NAME).read_text(encoding="utf-8")


def test_second_endpoint_is_not_default_unless_asked(isolated_home: Path) -> None:
    assert (
        invoke("endpoints", "add", "a", "--base-url", "http://h:1/v1", "--model", "m").exit_code
        == 0
    )
    assert (
        invoke("endpoints", "add", "b", "--base-url", "http://h:2/v1", "--model", "m").exit_code
        == 0
    )
    assert load_config().default_endpoint == "a"
    result = invoke(
        "endpoints", "add", "b", "--base-url", "http://h:2/v1", "--model", "m", "--default"
    )
    assert result.exit_code == 0, result.output
    assert "Updated endpoint b (default)" in result.output
    assert load_config().default_endpoint == "b"
    invoke("endpoints", "add", "b", "--base-url", "http://h:2/v1", "--model", "m", "--no-default")
    assert load_config().default_endpoint is None


def test_replicas_and_update_keep_other_settings(isolated_home: Path) -> None:
    first = invoke(
        "endpoints",
        "add",
        "vllm",
        "--base-url",
        "http://a:8000/v1",
        "--base-url",
        "http://b:8000/v1",
        "--model",
        "qwen",
        "--context-window",
        "32768",
        "--concurrency",
        "64",
    )
    assert first.exit_code == 0, first.output
    profile = load_config().endpoints["vllm"]
    assert profile.urls == ["http://a:8000/v1", "http://b:8000/v1"]
    assert profile.concurrency == 64
    again = invoke("endpoints", "add", "vllm", "--base-url", "http://a:8000/v1", "--model", "qwen2")
    assert again.exit_code == 0, again.output
    profile = load_config().endpoints["vllm"]
    assert profile.urls == ["http://a:8000/v1"]
    assert profile.model == "qwen2"
    assert profile.context_window == 32768
    assert profile.concurrency == 64


def test_azure_profile(isolated_home: Path) -> None:
    result = invoke(
        "endpoints",
        "add",
        "azure",
        "--base-url",
        "https://res.openai.azure.com",
        "--model",
        "gpt4o-deployment",
        "--api-version",
        "2024-10-21",
        "--api-key-env",
        "AZURE_OPENAI_API_KEY",
    )
    assert result.exit_code == 0, result.output
    profile = load_config().endpoints["azure"]
    assert profile.api_version == "2024-10-21"
    assert profile.api_key_env == "AZURE_OPENAI_API_KEY"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "localhost:8080", "--model", "m"], "--base-url: Value error, must start"),
        (["--base-url", "http://h/v1", "--model", "m", "--contract", "yaml"], "--contract"),
        (
            ["--base-url", "http://h/v1", "--model", "m", "--context-window", "10"],
            "--context-window",
        ),
        (["--base-url", "http://h/v1", "--base-url", "ftp://x", "--model", "m"], "--base-url"),
    ],
)
def test_add_rejects_bad_values(isolated_home: Path, args: list[str], message: str) -> None:
    result = invoke("endpoints", "add", "bad", *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert not (isolated_home / CONFIG_NAME).exists()


def test_a_key_given_as_env_name_is_refused_and_not_echoed(isolated_home: Path) -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    result = invoke(
        "endpoints", "add", "x", "--base-url", "http://h/v1", "--model", "m", "--api-key-env", key
    )
    assert result.exit_code == 1
    assert "not a key" in result.stderr
    assert key not in result.output
    assert key not in result.stderr
    assert not (isolated_home / CONFIG_NAME).exists()


def test_list_shows_where_keys_come_from_never_the_keys(isolated_home: Path) -> None:
    invoke(
        "endpoints",
        "add",
        "local",
        "--base-url",
        "http://127.0.0.1:8080/v1",
        "--model",
        "smollm2",
        "--context-window",
        "8192",
    )
    invoke(
        "endpoints",
        "add",
        "deepseek",
        "--base-url",
        "https://api.deepseek.com",
        "--model",
        "deepseek-chat",
        "--api-key-env",
        "DEEPSEEK_API_KEY",
        "--contract",
        "json_object",
    )
    result = invoke("endpoints", "list", env={"DEEPSEEK_API_KEY": "sk-deepseek-secret"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "local *" in out
    assert "http://127.0.0.1:8080/v1" in out
    assert "$DEEPSEEK_API_KEY" in out
    assert "json_object" in out
    assert "8192" in out
    assert "sk-deepseek-secret" not in out


def test_list_when_empty(isolated_home: Path) -> None:
    result = invoke("endpoints", "list")
    assert result.exit_code == 0
    assert "No endpoints yet" in result.stderr


def test_remove(isolated_home: Path) -> None:
    invoke("endpoints", "add", "a", "--base-url", "http://h:1/v1", "--model", "m")
    result = invoke("endpoints", "remove", "a")
    assert result.exit_code == 0, result.output
    assert "It was the default" in result.output
    config = load_config()
    assert config.endpoints == {}
    assert config.default_endpoint is None
    missing = invoke("endpoints", "remove", "a")
    assert missing.exit_code == 1
    assert "No endpoint named 'a'" in missing.stderr


USER_CONFIG = """\
# My interviewer settings: keep the comments.
grader = "auto"   # LLM when an endpoint is set

bank_dirs = ["~/banks"]

[practice]
follow_ups = 2  # two are enough

# The box under the desk.
[endpoints.gpu]
base_url = "http://gpu:8000/v1"
model = "qwen"  # the small one
"""


def test_add_and_remove_keep_the_users_comments_and_layout(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    path = isolated_home / CONFIG_NAME
    path.write_text(USER_CONFIG, encoding="utf-8")
    added = invoke("endpoints", "add", "cloud", "--base-url", "https://api.x/v1", "--model", "m")
    assert added.exit_code == 0, added.output
    expected = USER_CONFIG.replace(
        'bank_dirs = ["~/banks"]\n', 'bank_dirs = ["~/banks"]\ndefault_endpoint = "cloud"\n'
    )
    expected += '\n[endpoints.cloud]\nbase_url = "https://api.x/v1"\nmodel = "m"\n'
    assert path.read_text(encoding="utf-8") == expected
    removed = invoke("endpoints", "remove", "cloud")
    assert removed.exit_code == 0, removed.output
    assert path.read_text(encoding="utf-8") == USER_CONFIG


# --------------------------------------------------------------------------- check


def add_local(server: ChatServer, name: str = "local") -> None:
    result = invoke("endpoints", "add", name, "--base-url", server.url, "--model", "test-model")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("name", "chosen", "lines"),
    [
        (
            "openai",
            "json_schema",
            ["json_schema works", "json_object + schema works", "prompt-only works"],
        ),
        (
            "deepseek",
            "json_object",
            [
                "json_schema rejected",
                "This response_format type is unavailable now",
                "json_object + schema works",
            ],
        ),
        (
            "llamacpp_old",
            "json_object",
            ["json_schema rejected", 'must be one of "text" or "json_object"'],
        ),
        (
            "lmstudio",
            "json_schema",
            [
                "json_object + schema rejected",
                "json_object (no schema) rejected",
                "'response_format.type' must be 'json_schema' or 'text'",
            ],
        ),
        ("azure_old_api", "json_object", ["enabled only for api versions 2024-08-01-preview"]),
        ("gateway_500", "json_object", ["json_schema rejected"]),
        (
            "no_structured",
            "prompt",
            [
                "json_schema rejected",
                "json_object + schema rejected",
                "json_object (no schema) rejected",
                "prompt-only works",
            ],
        ),
    ],
)
def test_check_reports_the_contract_each_server_supports(
    chat_server: ChatServer, isolated_home: Path, name: str, chosen: str, lines: list[str]
) -> None:
    chat_server.handler = cs.personality(name, lambda _r: cs.completion('{"ok": true}'))
    add_local(chat_server)
    result = invoke("endpoints", "check", "local", "--quick")
    assert result.exit_code == 0, result.output + result.stderr
    out = flat(result.output)
    assert "reachable yes (" in out
    assert "test-model is served" in out
    for line in lines:
        assert line in out
    label = "prompt-only" if chosen == "prompt" else chosen
    assert f"contract {label} (remembered for grading)" in out
    assert "OK: this endpoint answers in JSON (grading not checked" in out
    state = json.loads((isolated_home / STATE_NAME).read_text(encoding="utf-8"))
    assert state["endpoints"][f"{chat_server.url}|test-model"]["contract"] == chosen
    # json_object is probed without the schema only when it was rejected with one.
    expected = ["json_schema", "json_object", "json_object", None]
    if name not in ("no_structured", "lmstudio"):
        expected.remove("json_object")
    assert [r.format_type for r in chat_server.chat_requests] == expected


def test_check_without_a_profile(chat_server: ChatServer) -> None:
    chat_server.handler = lambda _r: cs.completion('```json\n{"ok": true}\n```')
    result = invoke(
        "endpoints", "check", "--base-url", chat_server.url, "--model", "test-model", "--quick"
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert f"Endpoint 127.0.0.1:{chat_server.port}" in result.output
    assert chat_server.requests[0].path == "/v1/models"


def test_check_with_environment_settings(chat_server: ChatServer) -> None:
    chat_server.handler = lambda _r: cs.completion('{"ok": true}')
    env = {"OPENAI_BASE_URL": chat_server.url, "OPENAI_MODEL": "test-model"}
    result = invoke("endpoints", "check", "--quick", env=env)
    assert result.exit_code == 0, result.output + result.stderr


def test_check_azure_deployment(chat_server: ChatServer, isolated_home: Path) -> None:
    chat_server.models = []  # the deployment name is not a listed model, yet it serves
    chat_server.handler = lambda _r: cs.completion('{"ok": true}')
    added = invoke(
        "endpoints",
        "add",
        "azure",
        "--base-url",
        chat_server.root,
        "--model",
        "my-deploy",
        "--api-version",
        "2024-10-21",
        "--api-key-env",
        "AZURE_OPENAI_API_KEY",
    )
    assert added.exit_code == 0, added.output
    result = invoke(
        "endpoints", "check", "azure", "--quick", env={"AZURE_OPENAI_API_KEY": "az-key"}
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "not in the model list (deployment)" in flat(result.output)
    request = chat_server.last
    assert request.path == "/openai/deployments/my-deploy/chat/completions"
    assert request.headers["api-key"] == "az-key"


def test_check_unknown_model_lists_the_servers_models(chat_server: ChatServer) -> None:
    chat_server.models = ["llama3.1:8b", "qwen2.5:7b"]
    result = invoke("endpoints", "check", "--base-url", chat_server.url, "--model", "gpt-4o")
    assert result.exit_code == 1
    assert "gpt-4o not found; the server has: llama3.1:8b, qwen2.5:7b" in flat(result.output)
    assert chat_server.chat_requests == []


def test_check_when_the_server_has_no_models_route(chat_server: ChatServer) -> None:
    chat_server.models_status = 404
    chat_server.models = []  # accept any model in chat requests
    chat_server.handler = lambda _r: cs.completion('{"ok": true}')
    result = invoke(
        "endpoints", "check", "--base-url", chat_server.url, "--model", "any", "--quick"
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "lists no models" in flat(result.output)


def test_check_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = invoke(
        "endpoints", "check", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m"
    )
    assert result.exit_code == 1
    assert "reachable no" in flat(result.output)
    assert f"Cannot reach endpoint '127.0.0.1:{port}'" in flat(result.stderr)
    assert "FAILED" in result.output


def test_check_wrong_key(chat_server: ChatServer) -> None:
    chat_server.api_key = "sk-right"
    result = invoke(
        "endpoints",
        "check",
        "--base-url",
        chat_server.url,
        "--model",
        "test-model",
        "--api-key-env",
        "MY_KEY",
        env={"MY_KEY": "sk-wrong-but-secret"},
    )
    assert result.exit_code == 1
    assert "rejected the API key (401): set MY_KEY" in result.stderr
    assert "sk-wrong-but-secret" not in result.output + result.stderr


def test_check_model_that_cannot_produce_json(chat_server: ChatServer) -> None:
    chat_server.handler = lambda _r: cs.completion("Hello! I am a small model.")
    result = invoke("endpoints", "check", "--base-url", chat_server.url, "--model", "test-model")
    assert result.exit_code == 1
    out = flat(result.output)
    assert "json_schema accepted (accepted, but the reply contains no JSON object" in out
    assert "no output contract produced the JSON asked for" in out


def test_check_truncated_probe(chat_server: ChatServer) -> None:
    chat_server.handler = lambda _r: cs.completion('{"ok"', finish_reason="length")
    result = invoke("endpoints", "check", "--base-url", chat_server.url, "--model", "test-model")
    assert result.exit_code == 1
    assert "cut off (finish_reason length)" in flat(result.output)


def test_check_needs_an_endpoint() -> None:
    result = invoke("endpoints", "check")
    assert result.exit_code == 1
    assert "No endpoint to check" in result.stderr


def test_check_unknown_profile() -> None:
    result = invoke("endpoints", "check", "nope")
    assert result.exit_code == 1
    assert "Unknown endpoint 'nope'" in result.stderr


# --------------------------------------------------------------------------- discrimination


def knows_strong(answer: str) -> int:
    """A judge that gives the strong check answer top levels and anything else level 0."""
    return 4 if STRONG_ANSWER in answer else 0


def test_check_says_can_grade_when_the_strong_answer_wins(
    chat_server: ChatServer, isolated_home: Path
) -> None:
    chat_server.handler = cs.graded_by(knows_strong)
    add_local(chat_server)
    result = invoke("endpoints", "check", "local")
    assert result.exit_code == 0, result.output + result.stderr
    out = flat(result.output)
    strong, weak = check_scores(out, "grading tells them apart")
    assert strong - weak >= 30
    assert "OK: this endpoint can grade." in out
    graded = [r for r in chat_server.chat_requests if "BEGIN CANDIDATE ANSWER" in r.prompt_text]
    assert [STRONG_ANSWER in cs.answer_in(r) for r in graded] == [True, False]
    assert [WEAK_ANSWER in cs.answer_in(r) for r in graded] == [False, True]
    state = json.loads((isolated_home / STATE_NAME).read_text(encoding="utf-8"))
    assert state["endpoints"][f"{chat_server.url}|test-model"]["discrimination"]["verdict"] == (
        "discriminates"
    )
    practice = invoke("practice", "--endpoint", "local", "-n", "1", input="/quit\n")
    assert "not to be trusted" not in flat(practice.output)


def test_check_warns_about_a_model_giving_every_answer_the_same_grade(
    chat_server: ChatServer, isolated_home: Path
) -> None:
    chat_server.handler = cs.graded_by(lambda _answer: 3)
    add_local(chat_server)
    result = invoke("endpoints", "check", "local")
    assert result.exit_code == 1
    out = flat(result.output)
    strong, weak = check_scores(out, "grading does not tell them apart")
    assert strong == weak
    assert "a lead of 0 points (at least 30 needed)" in out
    assert "grades from this model are not to be trusted" in out
    assert "OK:" not in out
    state = json.loads((isolated_home / STATE_NAME).read_text(encoding="utf-8"))
    assert state["endpoints"][f"{chat_server.url}|test-model"]["discrimination"]["verdict"] == (
        "flat"
    )
    practice = invoke("practice", "--endpoint", "local", "-n", "1", input="/quit\n")
    assert practice.exit_code == 0, practice.output + practice.stderr
    banner = flat(practice.output)
    assert "test-model did not tell a strong answer from a weak one" in banner
    assert "not to be trusted" in banner


def check_scores(out: str, verdict: str) -> tuple[float, float]:
    """The strong and the weak check answer's scores as `endpoints check` printed them."""
    found = re.search(re.escape(verdict) + r": strong answer ([\d.]+), weak answer ([\d.]+)", out)
    assert found is not None, out
    return float(found.group(1)), float(found.group(2))


def test_check_margin_is_a_clear_lead(chat_server: ChatServer) -> None:
    # One level on every criterion is under 30 points: not enough to call the model a judge.
    chat_server.handler = cs.graded_by(lambda answer: 3 if STRONG_ANSWER in answer else 2)
    result = invoke("endpoints", "check", "--base-url", chat_server.url, "--model", "test-model")
    assert result.exit_code == 1
    out = flat(result.output)
    strong, weak = check_scores(out, "grading does not tell them apart")
    assert 0 < strong - weak < 30
    assert f"a lead of {strong - weak:g} points (at least 30 needed)" in out


def test_check_cannot_conclude_when_the_check_answers_are_ungraded(
    chat_server: ChatServer,
) -> None:
    chat_server.handler = lambda request: (
        cs.matching_grade_reply(request)
        if "You are a health check" in request.prompt_text
        else cs.completion("{}")
    )
    result = invoke("endpoints", "check", "--base-url", chat_server.url, "--model", "test-model")
    assert result.exit_code == 1
    out = flat(result.output)
    assert "grading could not be checked: could not grade the check answers" in out
    assert "(the strong answer: unparseable" in out
    assert "WARNING: test-model could not grade a strong and a weak check answer" in out
    assert "not to be trusted" in out


def test_check_timeout_is_reported_in_one_short_line(chat_server: ChatServer) -> None:
    chat_server.handler = lambda request: (
        cs.matching_grade_reply(request)
        if "You are a health check" in request.prompt_text
        else cs.completion("late", delay=2)
    )
    add_local(chat_server)
    config = load_config()
    config.endpoints["local"].timeout = 0.5
    save_config(config)
    result = invoke("endpoints", "check", "local")
    assert result.exit_code == 1
    out = flat(result.output)
    assert "could not grade the check answers (the strong answer: timeout: Endpoint 'local'" in out
    assert "did not answer within 0.5 s)" in out
    # Not sent again: a local server may still be computing it.
    graded = [r for r in chat_server.chat_requests if "BEGIN CANDIDATE ANSWER" in r.prompt_text]
    assert len(graded) == 1
