"""The endpoint client against the loopback chat server: request bodies, replies, every error."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any

import pytest

from interviewer import errors
from interviewer.config import KEYLESS_PLACEHOLDER, EndpointProfile
from interviewer.errors import EndpointError
from interviewer.grading import chat_client as llm
from tests import chat_server as cs
from tests.chat_server import ChatServer
from tests.conftest import REPO

MESSAGES = [
    {"role": "system", "content": "You grade answers and reply in JSON."},
    {"role": "user", "content": "Grade this."},
]
SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "required": []}


def profile_for(server: ChatServer, **changes: Any) -> EndpointProfile:
    data: dict[str, Any] = {
        "name": "local",
        "base_url": server.url,
        "model": "test-model",
        "max_retries": 0,
    }
    data.update(changes)
    return EndpointProfile(**data)


def complete(client: llm.ChatClient, contract: Any = "prompt", **kwargs: Any) -> llm.Completion:
    return client.complete(
        MESSAGES,
        contract=contract,
        max_output_tokens=kwargs.pop("max_output_tokens", 500),
        schema=kwargs.pop("schema", SCHEMA),
        **kwargs,
    )


def fail(client: llm.ChatClient, contract: Any = "prompt") -> EndpointError:
    with pytest.raises(EndpointError) as caught:
        complete(client, contract)
    return caught.value


# --------------------------------------------------------------------------- request bodies


def test_default_body_is_deterministic(chat_server: ChatServer) -> None:
    client = llm.ChatClient(profile_for(chat_server), None)
    done = complete(client)
    body = chat_server.last.body
    assert body["model"] == "test-model"
    assert body["messages"] == MESSAGES
    assert body["temperature"] == 0
    assert body["seed"] == 7
    assert body["max_tokens"] == 500
    assert "max_completion_tokens" not in body
    assert "response_format" not in body
    assert done.finish_reason == "stop"
    assert done.model == "test-model"
    assert done.usage is not None
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (321, 123)


@pytest.mark.parametrize("model", ["o3-mini", "o1", "gpt-5", "gpt-5.1-mini", "openai/o4-mini"])
def test_reasoning_models_get_max_completion_tokens_and_no_temperature(
    chat_server: ChatServer, model: str
) -> None:
    chat_server.models.append(model)
    client = llm.ChatClient(profile_for(chat_server, model=model), None)
    complete(client)
    body = chat_server.last.body
    assert body["max_completion_tokens"] == 500
    assert "max_tokens" not in body
    assert "temperature" not in body


def test_profile_overrides_token_param_temperature_and_seed(chat_server: ChatServer) -> None:
    profile = profile_for(
        chat_server, token_param="max_completion_tokens", temperature=None, seed=None
    )
    complete(llm.ChatClient(profile, None))
    body = chat_server.last.body
    assert body["max_completion_tokens"] == 500
    assert "max_tokens" not in body
    assert "temperature" not in body
    assert "seed" not in body
    complete(llm.ChatClient(profile_for(chat_server, temperature=0.3, seed=11), None), seed=12)
    assert chat_server.last.body["temperature"] == 0.3
    assert chat_server.last.body["seed"] == 12


def test_response_format_per_contract(chat_server: ChatServer) -> None:
    client = llm.ChatClient(profile_for(chat_server), None)
    complete(client, "json_schema")
    assert chat_server.last.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "grade", "schema": SCHEMA, "strict": True},
    }
    complete(client, "json_object")
    # llama.cpp and llama-cpp-python enforce a schema given inside json_object.
    assert chat_server.last.response_format == {"type": "json_object", "schema": SCHEMA}
    client.complete(MESSAGES, contract="json_object", max_output_tokens=500)
    assert chat_server.last.response_format == {"type": "json_object"}
    complete(client, "prompt")
    assert chat_server.last.response_format is None


def test_build_request_body_matches_what_is_sent(chat_server: ChatServer) -> None:
    profile = profile_for(chat_server)
    complete(llm.ChatClient(profile, None), "json_schema")
    body = llm.build_request_body(
        profile, MESSAGES, contract="json_schema", max_output_tokens=500, schema=SCHEMA
    )
    assert body == chat_server.last.body


def test_keyless_server_gets_placeholder_key(chat_server: ChatServer) -> None:
    complete(llm.ChatClient(profile_for(chat_server), None))
    assert chat_server.last.headers["authorization"] == f"Bearer {KEYLESS_PLACEHOLDER}"


def test_headers_from_profile_are_sent(chat_server: ChatServer) -> None:
    complete(llm.ChatClient(profile_for(chat_server, headers={"X-Team": "interviews"}), None))
    assert chat_server.last.headers["x-team"] == "interviews"


# --------------------------------------------------------------------------- replies


def test_reasoning_fields_are_returned_separately(chat_server: ChatServer) -> None:
    client = llm.ChatClient(profile_for(chat_server), None)
    chat_server.enqueue(cs.completion('{"a": 1}', reasoning_content="thinking (DeepSeek)"))
    done = complete(client)
    assert done.text == '{"a": 1}'
    assert done.reasoning == "thinking (DeepSeek)"
    chat_server.enqueue(cs.completion(None, reasoning="thinking (vLLM, Ollama)"))
    done = complete(client)
    assert done.text == ""
    assert done.reasoning == "thinking (vLLM, Ollama)"


def test_missing_usage_is_none(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.completion("hi", include_usage=False))
    assert complete(llm.ChatClient(profile_for(chat_server), None)).usage is None


def test_refusal_field(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.completion(None, refusal="I can't help with that."))
    done = complete(llm.ChatClient(profile_for(chat_server), None))
    assert done.refusal == "I can't help with that."


def test_list_models(chat_server: ChatServer) -> None:
    chat_server.models = ["b-model", "a-model"]
    assert llm.ChatClient(profile_for(chat_server), None).list_models() == ["a-model", "b-model"]


def test_replicas_are_used_round_robin() -> None:
    with ChatServer() as first, ChatServer() as second:
        profile = profile_for(first, base_urls=[first.url, second.url])
        client = llm.ChatClient(profile, None)
        for _ in range(4):
            complete(client)
        client.close()
        assert len(first.chat_requests) == 2
        assert len(second.chat_requests) == 2


def test_azure_uses_deployment_route_api_version_and_api_key_header(
    chat_server: ChatServer,
) -> None:
    chat_server.api_key = "azure-secret"
    profile = profile_for(chat_server, base_url=chat_server.root, api_version="2024-10-21")
    done = complete(llm.ChatClient(profile, "azure-secret"), "json_schema")
    assert done.finish_reason == "stop"
    request = chat_server.last
    assert request.path == "/openai/deployments/test-model/chat/completions"
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == "azure-secret"


def test_azure_unknown_deployment(chat_server: ChatServer) -> None:
    chat_server.models = ["gpt-4o"]
    profile = profile_for(
        chat_server, base_url=chat_server.root, api_version="2024-10-21", model="my-deploy"
    )
    error = fail(llm.ChatClient(profile, "key"))
    assert error.kind == "not_found"
    assert "has no deployment 'my-deploy' (404)" in str(error)


# --------------------------------------------------------------------------- errors


def test_wrong_key_is_auth_error_naming_endpoint_and_env(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_server.api_key = "sk-right"
    client = llm.ChatClient(profile_for(chat_server, api_key_env="LOCAL_KEY"), "sk-wrong-secret")
    error = fail(client)
    assert error.kind == "auth"
    assert error.status == 401
    message = str(error)
    assert message.startswith(f"Endpoint 'local' ({chat_server.url}) rejected the API key (401)")
    assert "LOCAL_KEY" in message
    assert "sk-wrong-secret" not in message
    assert "\n" not in message
    assert errors.is_fatal(error)


def test_missing_key_says_one_is_needed(chat_server: ChatServer) -> None:
    chat_server.api_key = "sk-right"
    error = fail(llm.ChatClient(profile_for(chat_server), None))
    assert error.kind == "auth"
    assert "needs an API key: set OPENAI_API_KEY" in str(error)


@pytest.mark.parametrize("style", ["openai", "ollama"])
def test_unknown_model_is_not_found(chat_server: ChatServer, style: str) -> None:
    chat_server.not_found_style = style
    error = fail(llm.ChatClient(profile_for(chat_server, model="gpt-9"), None))
    assert error.kind == "not_found"
    assert "has no model 'gpt-9' (404)" in str(error)
    assert "interviewer endpoints check local" in str(error)
    assert errors.is_fatal(error)


def test_wrong_route_is_not_found_with_base_url_hint(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.openai_error(404, "404 page not found", type_="not_found"))
    error = fail(llm.ChatClient(profile_for(chat_server), None))
    assert error.kind == "not_found"
    assert "check the base URL" in str(error)


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    profile = EndpointProfile(
        name="gone", base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=0
    )
    error = fail(llm.ChatClient(profile, None))
    assert error.kind == "connection"
    assert f"Cannot reach endpoint 'gone' (http://127.0.0.1:{port}/v1)" in str(error)
    assert "connection refused" in str(error)
    assert errors.is_fatal(error)


def test_slow_server_times_out(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.completion("late", delay=3))
    error = fail(llm.ChatClient(profile_for(chat_server, timeout=0.2), None))
    assert error.kind == "timeout"
    assert "did not answer within 0.2 s" in str(error)
    assert not errors.is_fatal(error)


def test_slow_reply_within_timeout_succeeds(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.completion("slow but fine", delay=0.2))
    assert complete(llm.ChatClient(profile_for(chat_server, timeout=10), None)).text == (
        "slow but fine"
    )


def test_rate_limit_honours_retry_after_then_succeeds(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.rate_limited(0.05), cs.completion("after the wait"))
    done = complete(llm.ChatClient(profile_for(chat_server, max_retries=2), None))
    assert done.text == "after the wait"
    assert len(chat_server.chat_requests) == 2


def test_rate_limit_exhausted(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.rate_limited(0.05), cs.rate_limited(0.05))
    error = fail(llm.ChatClient(profile_for(chat_server, max_retries=1), None))
    assert error.kind == "rate_limit"
    assert "after 1 retries (429, server asked to wait 0.05 s)" in str(error)
    assert "lower --concurrency" in str(error)
    assert len(chat_server.chat_requests) == 2
    assert not errors.is_fatal(error)


def test_exhausted_quota_stops(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.quota_exhausted())
    error = fail(llm.ChatClient(profile_for(chat_server), None))
    assert error.kind == "quota"
    assert "quota is exhausted" in str(error)
    assert "billing" in str(error)
    assert errors.is_fatal(error)


def test_server_error_is_retried(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.server_error(), cs.completion("recovered"))
    done = complete(llm.ChatClient(profile_for(chat_server, max_retries=1), None))
    assert done.text == "recovered"


def test_server_error_after_retries(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.server_error(), cs.server_error())
    error = fail(llm.ChatClient(profile_for(chat_server, max_retries=1), None))
    assert error.kind == "server"
    assert error.status == 500
    assert "failed with 500 after 1 retries" in str(error)
    assert "The server had an error" in str(error)


@pytest.mark.parametrize("name", sorted(cs.REJECTIONS))
def test_each_real_response_format_rejection_is_a_contract_error(
    chat_server: ChatServer, name: str
) -> None:
    rejection = cs.REJECTIONS[name]
    chat_server.enqueue(rejection)
    error = fail(llm.ChatClient(profile_for(chat_server), None), "json_schema")
    assert error.kind == "contract", str(error)
    assert error.status == rejection.status
    assert str(error).startswith(f"Endpoint 'local' ({chat_server.url}) rejects response_format")
    assert not errors.is_fatal(error)


def test_lm_studio_string_error_body_is_quoted(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.REJECTIONS["lmstudio_json_object"])
    error = fail(llm.ChatClient(profile_for(chat_server), None), "json_object")
    assert "'response_format.type' must be 'json_schema' or 'text'" in str(error)


def test_rejection_without_response_format_in_request_is_bad_request(
    chat_server: ChatServer,
) -> None:
    chat_server.enqueue(cs.REJECTIONS["openai_json_schema"])
    error = fail(llm.ChatClient(profile_for(chat_server), None), "prompt")
    assert error.kind == "bad_request"


def test_other_400_is_bad_request_with_hint(chat_server: ChatServer) -> None:
    chat_server.enqueue(
        cs.openai_error(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model."
            " Use 'max_completion_tokens' instead.",
            code="unsupported_parameter",
        )
    )
    error = fail(llm.ChatClient(profile_for(chat_server), None), "json_object")
    assert error.kind == "bad_request"
    assert 'token_param = "max_completion_tokens"' in str(error)
    assert errors.is_fatal(error)


def test_importing_llm_does_not_import_openai() -> None:
    code = "import sys, interviewer.grading.chat_client; print('openai' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "False"
