"""Config file, precedence of flags over env over the config file, and API keys."""

from __future__ import annotations

import os
import threading

import pytest

from interviewer.config import (
    Config,
    EndpointProfile,
    config_path,
    load_config,
    resolve_api_key,
    resolve_endpoint,
    save_config,
)
from interviewer.errors import ConfigError
from interviewer.grading.factory import GraderFlags, choose_grader, grader_choice


def test_home_override_relocates_files(isolated_home):
    assert config_path() == isolated_home / "config.toml"


def test_no_endpoint_anywhere_means_offline():
    assert resolve_endpoint(Config()) is None


def test_openai_env_is_used(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    monkeypatch.setenv("OPENAI_MODEL", "m-env")
    profile = resolve_endpoint(Config())
    assert profile is not None
    assert profile.urls == ["http://127.0.0.1:9/v1"]
    assert profile.model == "m-env"


def test_precedence_flags_over_interviewer_env_over_openai_env_over_file(monkeypatch):
    config = Config(
        default_endpoint="local",
        endpoints={
            "local": EndpointProfile(name="local", base_url="http://file:1/v1", model="m-file")
        },
    )
    profile = resolve_endpoint(config)
    assert profile is not None
    assert (profile.urls, profile.model) == (["http://file:1/v1"], "m-file")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai-env:2/v1")
    profile = resolve_endpoint(config)
    assert profile is not None
    assert profile.urls == ["http://openai-env:2/v1"]
    monkeypatch.setenv("INTERVIEWER_BASE_URL", "http://interviewer-env:3/v1")
    monkeypatch.setenv("INTERVIEWER_MODEL", "m-ienv")
    profile = resolve_endpoint(config)
    assert profile is not None
    assert (profile.urls, profile.model) == (["http://interviewer-env:3/v1"], "m-ienv")
    profile = resolve_endpoint(config, base_url="http://flag:4/v1", model="m-flag")
    assert profile is not None
    assert (profile.urls, profile.model) == (["http://flag:4/v1"], "m-flag")


def test_missing_model_and_unknown_profile_name_the_fix(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="has no model: pass --model"):
        resolve_endpoint(Config())
    with pytest.raises(ConfigError, match=r"Unknown endpoint 'nope'.*endpoints add"):
        resolve_endpoint(Config(), name="nope")


def test_config_round_trip_keeps_no_secret(isolated_home):
    config = Config(
        default_endpoint="ds",
        endpoints={
            "ds": EndpointProfile(
                name="ds",
                base_url="https://api.deepseek.com/v1",
                model="deepseek-chat",
                api_key_env="DEEPSEEK_API_KEY",
            )
        },
    )
    path = save_config(config)
    text = path.read_text(encoding="utf-8")
    assert "DEEPSEEK_API_KEY" in text
    loaded = load_config()
    assert loaded.endpoints["ds"].model == "deepseek-chat"
    assert loaded.endpoints["ds"].name == "ds"


def test_broken_config_names_file_and_setting(isolated_home):
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.toml").write_text("grader = [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config\.toml: invalid TOML"):
        load_config()
    (isolated_home / "config.toml").write_text('grader = "psychic"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="setting 'grader'"):
        load_config()


def test_api_key_from_named_env_and_key_file(tmp_path, monkeypatch):
    profile = EndpointProfile(name="p", base_url="http://x/v1", model="m", api_key_env="MY_KEY")
    with pytest.raises(ConfigError, match=r"\$MY_KEY, which is not set"):
        resolve_api_key(profile)
    monkeypatch.setenv("MY_KEY", " sk-test \n")
    assert resolve_api_key(profile) == "sk-test"

    key_file = tmp_path / "key"
    key_file.write_text("sk-file\n", encoding="utf-8")
    os.chmod(key_file, 0o644)
    filed = EndpointProfile(name="f", base_url="http://x/v1", model="m", api_key_file=str(key_file))
    with pytest.raises(ConfigError, match="chmod 600"):
        resolve_api_key(filed)
    os.chmod(key_file, 0o600)
    assert resolve_api_key(filed) == "sk-file"


def test_keyless_local_server_needs_no_key():
    profile = EndpointProfile(name="local", base_url="http://127.0.0.1:8080/v1", model="m")
    assert resolve_api_key(profile) is None


def test_endpoint_without_a_profile_is_named_after_its_host(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8765/v1")
    monkeypatch.setenv("OPENAI_MODEL", "smollm2")
    profile = resolve_endpoint(Config())
    assert profile is not None
    assert profile.name == "127.0.0.1:8765"


def test_an_ad_hoc_base_url_is_named_after_its_host_not_the_default_profile(monkeypatch):
    config = Config(
        default_endpoint="cloud",
        endpoints={
            "cloud": EndpointProfile(name="cloud", base_url="https://api.example/v1", model="m")
        },
    )
    default = resolve_endpoint(config)
    assert default is not None
    assert default.name == "cloud"
    flagged = resolve_endpoint(config, base_url="http://127.0.0.1:8080/v1")
    assert flagged is not None
    assert (flagged.name, flagged.urls) == ("127.0.0.1:8080", ["http://127.0.0.1:8080/v1"])
    monkeypatch.setenv("INTERVIEWER_BASE_URL", "http://gpu-box:8000/v1")
    from_env = resolve_endpoint(config)
    assert from_env is not None
    assert from_env.name == "gpu-box:8000"


def test_two_concurrent_saves_leave_one_whole_config(isolated_home):
    """Two writers at once: neither fails, and the file is one of the two, never a mix."""
    configs = [
        Config(default_endpoint=name, bank_dirs=[f"/banks/{name}-{i}" for i in range(200)])
        for name in ("first", "second")
    ]
    barrier = threading.Barrier(len(configs))
    errors: list[BaseException] = []

    def save_often(config: Config) -> None:
        barrier.wait()
        try:
            for _ in range(100):
                save_config(config)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=save_often, args=(c,)) for c in configs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert load_config() in configs
    assert sorted(p.name for p in isolated_home.iterdir()) == ["config.toml"]


def test_grader_choice_flag_over_env_over_config_file():
    offline = Config(grader="offline")
    assert grader_choice(Config(), None, {}) == "auto"
    assert grader_choice(offline, None, {}) == "offline"
    assert grader_choice(offline, None, {"INTERVIEWER_GRADER": "llm"}) == "llm"
    assert grader_choice(offline, "auto", {"INTERVIEWER_GRADER": "llm"}) == "auto"
    with pytest.raises(ConfigError, match="INTERVIEWER_GRADER"):
        grader_choice(offline, None, {"INTERVIEWER_GRADER": "psychic"})
    with pytest.raises(ConfigError, match="--grader"):
        grader_choice(offline, "psychic", {})


def test_offline_choice_never_looks_for_an_endpoint(monkeypatch):
    monkeypatch.setenv("INTERVIEWER_ENDPOINT", "gone")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    chosen = choose_grader(Config(grader="offline"), GraderFlags())
    assert chosen.endpoint is None
    assert chosen.grader.info.kind == "offline"
    with pytest.raises(ConfigError, match="Unknown endpoint 'gone'"):
        choose_grader(Config(grader="offline"), GraderFlags(grader="auto"))


def test_auto_without_an_endpoint_is_offline_but_llm_needs_one():
    assert choose_grader(Config(), GraderFlags()).grader.info.kind == "offline"
    with pytest.raises(ConfigError, match="No endpoint configured"):
        choose_grader(Config(), GraderFlags(grader="llm"))
    with pytest.raises(ConfigError, match="--samples"):
        choose_grader(Config(), GraderFlags(samples=0))
