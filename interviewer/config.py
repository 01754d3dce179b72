"""Where user files live, the config file, endpoint profiles, and how settings are resolved.

Precedence, written down once and applied only here:

    command-line flags  >  INTERVIEWER_* environment  >  OPENAI_* environment
                        >  config file (config.toml in the home dir)  >  built-in defaults

``INTERVIEWER_HOME`` relocates every user file (config, history database, prompt overrides,
remembered endpoint capabilities); tests point it at a temporary directory.

Secrets are never stored in the config file: a profile names the environment variable
(``api_key_env``) or a key file (``api_key_file``, which must not be readable by others)
that holds the key.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from interviewer.errors import ConfigError

# Re-exported: most of the code asks config where files live.
from interviewer.paths import CONFIG_NAME as CONFIG_NAME
from interviewer.paths import DB_NAME as DB_NAME
from interviewer.paths import bank_paths as _bank_paths
from interviewer.paths import builtin_bank_dir as builtin_bank_dir
from interviewer.paths import builtin_prompts_dir as builtin_prompts_dir
from interviewer.paths import config_path as config_path
from interviewer.paths import db_path as db_path
from interviewer.paths import home_dir as home_dir
from interviewer.redaction import display_url

STATE_NAME = "endpoint-state.json"
Contract = Literal["json_schema", "json_object", "prompt"]
CONTRACTS: tuple[Contract, ...] = ("json_schema", "json_object", "prompt")
# Local servers ignore the key but the SDK insists on one; this placeholder makes the
# intent obvious in any server log.
KEYLESS_PLACEHOLDER = "no-key-needed"


class EndpointProfile(BaseModel):
    """A named OpenAI-compatible endpoint and how to talk to it."""

    model_config = ConfigDict(extra="forbid")

    name: str = "default"
    base_url: str | None = None
    base_urls: list[str] = Field(default_factory=list, description="replicas of one model")
    model: str | None = None
    api_key_env: str | None = None
    api_key_file: str | None = None
    api_version: str | None = Field(default=None, description="Azure OpenAI api-version")
    context_window: int | None = Field(default=None, ge=512)
    max_output_tokens: int = Field(default=2048, ge=64)
    answer_token_budget: int = Field(default=3000, ge=50)
    token_param: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    temperature: float | None = Field(default=0.0, ge=0, le=2)
    # Repeated samples (--samples N) are drawn at this temperature: at 0, local servers decode
    # greedily and ignore the seed, so N samples would be N copies.
    sample_temperature: float = Field(default=0.7, ge=0, le=2)
    seed: int | None = 7
    contract: Literal["auto", "json_schema", "json_object", "prompt"] = "auto"
    concurrency: int = Field(default=8, ge=1, le=1024)
    timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @property
    def display_urls(self) -> list[str]:
        """The base URLs as they may be shown or stored: credentials in them masked."""
        return [display_url(u) for u in self.urls]

    @property
    def urls(self) -> list[str]:
        """Every base URL of this profile (replicas first-listed first)."""
        urls = [u.rstrip("/") for u in self.base_urls]
        if self.base_url and self.base_url not in urls:
            urls.insert(0, self.base_url)
        return urls


def is_local_url(url: str) -> bool:
    """Whether a base URL points at this machine or a private network (a server of one's own:
    no per-token bill, and usually a fixed number of requests computed at once)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "host.docker.internal") or host.endswith((".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


class PracticeDefaults(BaseModel):
    """Defaults for practice sessions that a user may change in the config file."""

    model_config = ConfigDict(extra="forbid")

    follow_ups: int = Field(default=1, ge=0, le=5)
    # No longer scored: a hinted key point earns at most partial credit instead (see
    # docs/grading.md). Kept so that existing config files still load.
    hint_penalty: float = Field(default=10.0, ge=0, le=100)
    count: int = Field(default=5, ge=1, description="questions per practice session")
    # One language per session; asked once at the first interactive session, then kept here.
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")


class Config(BaseModel):
    """The config file's content."""

    model_config = ConfigDict(extra="forbid")

    default_endpoint: str | None = None
    grader: Literal["auto", "offline", "llm"] = "auto"
    bank_dirs: list[str] = Field(default_factory=list)
    prompts_dir: str | None = None
    practice: PracticeDefaults = Field(default_factory=PracticeDefaults)
    endpoints: dict[str, EndpointProfile] = Field(default_factory=dict)
    prices: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="USD per million tokens: {model: {input, output}}"
    )


def load_config(path: Path | None = None) -> Config:
    """Read the config file; a missing file is an empty config, a broken one an error."""
    path = path or config_path()
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8; save the file as UTF-8.") from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the config ({exc.strerror}); make it a readable TOML file"
            " or remove it."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}. Fix the file or delete it.") from None
    for name, profile in (data.get("endpoints") or {}).items():
        if isinstance(profile, dict):
            profile.setdefault("name", name)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: setting '{where}': {err['msg']}.") from None


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write the config file atomically (it never holds a secret).

    The file is edited, not rewritten: the user's comments, order and layout stay, settings
    that changed are replaced in place, new ones are added without their defaults and the
    ones that no longer exist (a removed endpoint, an unset default) are taken out.
    """
    import tomlkit

    from interviewer.files import write_atomic

    path = path or config_path()
    full = _config_data(config, exclude_defaults=False)
    minimal = _config_data(config, exclude_defaults=True)
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        document = tomlkit.parse(text)
        _merge(document, full, minimal)
        # A removed table leaves the blank line that separated it from the one before.
        body = tomlkit.dumps(document).rstrip()
        write_atomic(path, body + "\n" if body else "")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot save the config ({exc.strerror}).") from None
    except tomlkit.exceptions.TOMLKitError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}. Fix the file or delete it.") from None
    return path


def _config_data(config: Config, *, exclude_defaults: bool) -> dict[str, Any]:
    data = config.model_dump(exclude_none=True, exclude_defaults=exclude_defaults)
    for profile in data.get("endpoints", {}).values():
        profile.pop("name", None)
    if exclude_defaults:
        # A profile's name is its table's key, so an endpoint must be written even when every
        # one of its settings is a default.
        data.setdefault("endpoints", {}).update(
            {name: data.get("endpoints", {}).get(name, {}) for name in config.endpoints}
        )
    return data


def _merge(table: Any, full: dict[str, Any], minimal: dict[str, Any]) -> None:
    """Make the tomlkit ``table`` hold ``full``, touching only what differs."""
    from collections.abc import MutableMapping

    for key in [k for k in table if k not in full]:
        del table[key]
    for key, value in full.items():
        if key in table:
            current = table[key]
            if isinstance(value, dict) and isinstance(current, MutableMapping):
                _merge(current, value, minimal.get(key) or {})
            elif _plain(current) != value:
                table[key] = value
        elif minimal.get(key) not in (None, {}):
            table[key] = minimal[key]


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def bank_paths(config: Config, extra: list[Path] | None = None) -> list[Path]:
    """The bank directories to load: built-in, then config/env, then flags."""
    return _bank_paths(config.bank_dirs, extra)


def resolve_endpoint(
    config: Config,
    *,
    name: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
) -> EndpointProfile | None:
    """Resolve the endpoint to grade with, or None when none is configured.

    Flags win over INTERVIEWER_* env, which wins over OPENAI_* env, which wins over the
    config file's default profile.
    """
    env = os.environ
    name = name or env.get("INTERVIEWER_ENDPOINT") or None
    if name:
        if name not in config.endpoints:
            known = ", ".join(sorted(config.endpoints)) or "none yet"
            raise ConfigError(
                f"Unknown endpoint '{name}' (known: {known}); add it with"
                " `interviewer endpoints add NAME --base-url URL --model MODEL`."
            )
        profile = config.endpoints[name].model_copy()
    else:
        default = config.default_endpoint
        if default and default not in config.endpoints:
            known = ", ".join(sorted(config.endpoints)) or "none"
            raise ConfigError(
                f"{config_path()}: default_endpoint '{default}' names no endpoint profile"
                f" (configured: {known}); fix the name, or add the profile with"
                f" `interviewer endpoints add {default} --base-url URL --model MODEL`."
            )
        profile = config.endpoints[default].model_copy() if default else EndpointProfile(name="env")

    url = base_url or env.get("INTERVIEWER_BASE_URL") or None
    if url is None and not name:
        url = env.get("OPENAI_BASE_URL") or None
    chosen_model = model or env.get("INTERVIEWER_MODEL") or None
    if chosen_model is None and not name:
        chosen_model = env.get("OPENAI_MODEL") or None
    updates: dict[str, Any] = {}
    if url:
        updates["base_url"] = url.rstrip("/")
        updates["base_urls"] = []
    if chosen_model:
        updates["model"] = chosen_model
    if api_key_env:
        updates["api_key_env"] = api_key_env
    if updates:
        try:
            profile = EndpointProfile.model_validate({**profile.model_dump(), **updates})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"Endpoint setting '{err['loc'][0]}': {err['msg']}.") from None
    if not profile.urls:
        if profile.name != "env" or chosen_model:
            raise ConfigError(
                f"Endpoint '{profile.name}' has no base URL: pass --base-url or set"
                " OPENAI_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama)."
            )
        return None
    if not profile.model:
        raise ConfigError(
            f"Endpoint '{profile.name}' has no model: pass --model or set INTERVIEWER_MODEL"
            " (`interviewer endpoints check NAME` lists the server's models)."
        )
    if profile.name == "env" or url:
        # An endpoint given by flags or env is not the profile it borrowed settings from: its
        # host says which it is, on screen and in the history alike (never its user part,
        # which may hold a password).
        host = urlsplit(profile.display_urls[0]).netloc.rpartition("@")[2]
        profile = profile.model_copy(update={"name": host})
    return profile


def resolve_api_key(profile: EndpointProfile) -> str | None:
    """Return the API key for a profile, or None for a keyless (local) server.

    The key comes from the environment variable the profile names (default OPENAI_API_KEY)
    or from a key file that only its owner can read. It is never logged or stored.
    """
    env_name = profile.api_key_env or "OPENAI_API_KEY"
    value = os.environ.get(env_name)
    if value:
        return value.strip()
    if profile.api_key_env and not profile.api_key_file:
        raise ConfigError(
            f"Endpoint '{profile.name}' reads its key from ${profile.api_key_env}, which is not"
            f" set: export {profile.api_key_env}=... (the key is never stored by interviewer)."
        )
    if profile.api_key_file:
        path = Path(profile.api_key_file).expanduser()
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise ConfigError(
                f"Key file {path} for endpoint '{profile.name}' does not exist; create it"
                " with the key on one line and `chmod 600` it."
            ) from None
        if sys.platform != "win32" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"Key file {path} is readable by other users; run `chmod 600 {path}`."
            )
        try:
            key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
            raise ConfigError(
                f"Key file {path} for endpoint '{profile.name}' cannot be read ({why}); make it"
                " a text file with the API key on its first line."
            ) from None
        if not key:
            raise ConfigError(f"Key file {path} is empty; put the API key on its first line.")
        return key
    return None
