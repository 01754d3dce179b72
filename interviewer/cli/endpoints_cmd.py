"""`interviewer endpoints add | list | remove | check`: named OpenAI-compatible endpoints.

Profiles live in config.toml in the user directory. A profile names the environment variable
or key file that holds its API key; the key itself is never stored, printed or logged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from interviewer.cli.common import handle_errors

if TYPE_CHECKING:
    from interviewer.config import EndpointProfile

endpoints_app = typer.Typer(
    help="Configure and check OpenAI-compatible grading endpoints.", no_args_is_help=True
)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def register(app: typer.Typer) -> None:
    """Add the `endpoints` group to ``app``."""
    app.add_typer(endpoints_app, name="endpoints")


@endpoints_app.command("add")
@handle_errors
def add(
    name: Annotated[str, typer.Argument(help="A short name for the endpoint, e.g. local.")],
    base_url: Annotated[
        list[str],
        typer.Option(
            "--base-url",
            help="Base URL, usually ending in /v1 (repeat it for replicas of one model).",
        ),
    ],
    model: Annotated[str, typer.Option(help="Model name (Azure: the deployment name).")],
    api_key_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding the API key (default OPENAI_API_KEY)."),
    ] = None,
    api_key_file: Annotated[
        Path | None,
        typer.Option(help="File holding the API key (must be chmod 600)."),
    ] = None,
    api_version: Annotated[
        str | None, typer.Option(help="Azure OpenAI api-version, e.g. 2024-10-21.")
    ] = None,
    context_window: Annotated[
        int | None, typer.Option(help="The model's context window in tokens, e.g. 8192.")
    ] = None,
    max_output_tokens: Annotated[
        int | None, typer.Option(help="Cap on the grader's reply (default 2048).")
    ] = None,
    contract: Annotated[
        str | None,
        typer.Option(help="Output contract: auto (negotiate), json_schema, json_object or prompt."),
    ] = None,
    token_param: Annotated[
        str | None,
        typer.Option(help="auto, max_tokens or max_completion_tokens."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Parallel requests in batch grading (default: auto).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for a reply (default 120).")
    ] = None,
    default: Annotated[
        bool | None,
        typer.Option(
            "--default/--no-default",
            help="Make this the default grader endpoint (the first one added becomes it).",
        ),
    ] = None,
) -> None:
    """Add or update a named endpoint profile."""
    from interviewer.config import load_config, save_config
    from interviewer.ui.console import console, lit

    config = load_config()
    existing = config.endpoints.get(name)
    options = {
        "api_key_env": api_key_env,
        "api_key_file": str(api_key_file.expanduser()) if api_key_file else None,
        "api_version": api_version,
        "context_window": context_window,
        "max_output_tokens": max_output_tokens,
        "contract": contract,
        "token_param": token_param,
        "concurrency": concurrency,
        "timeout": timeout,
    }
    config.endpoints[name] = _profile(name, existing, base_url, model, options)
    if default or (default is None and not config.default_endpoint):
        config.default_endpoint = name
    elif default is False and config.default_endpoint == name:
        config.default_endpoint = None
    path = save_config(config)
    verb = "Updated" if existing else "Added"
    marker = " (default)" if config.default_endpoint == name else ""
    console.print(
        f"{verb} endpoint [accent]{lit(name)}[/accent]{marker} in {lit(path)}.", highlight=False
    )
    console.print(f"Check it with: interviewer endpoints check {lit(name)}", highlight=False)


def _profile(
    name: str,
    existing: EndpointProfile | None,
    base_url: list[str],
    model: str,
    options: dict[str, Any],
) -> EndpointProfile:
    """The profile ``add`` saves: the existing one (if any) with the options given applied."""
    from pydantic import ValidationError

    from interviewer.config import EndpointProfile
    from interviewer.errors import ConfigError

    api_key_env = options.get("api_key_env")
    if api_key_env is not None and not _ENV_NAME.match(api_key_env):
        raise ConfigError(
            f"--api-key-env takes the name of an environment variable (e.g. OPENAI_API_KEY),"
            f" not a key; export the key in that variable. Got {_mask(api_key_env)}."
        )
    data: dict[str, Any] = existing.model_dump() if existing else {}
    urls = [u.rstrip("/") for u in base_url]
    data.update(name=name, base_url=urls[0], base_urls=urls if len(urls) > 1 else [], model=model)
    data.update({k: v for k, v in options.items() if v is not None})
    try:
        profile = EndpointProfile.model_validate(data)
        for url in profile.urls:
            EndpointProfile(base_url=url)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]).replace("_", "-") if err["loc"] else "value"
        raise ConfigError(f"--{field}: {err['msg']}.") from None
    return profile


@endpoints_app.command("list")
@handle_errors
def list_endpoints() -> None:
    """List the configured endpoints (keys are never shown, only where they come from)."""
    from interviewer.config import load_config
    from interviewer.grading.endpoint_state import remembered_contract
    from interviewer.ui.endpoints import render_profiles

    config = load_config()
    remembered = {name: remembered_contract(profile) for name, profile in config.endpoints.items()}
    render_profiles(config, remembered)


@endpoints_app.command("remove")
@handle_errors
def remove(name: Annotated[str, typer.Argument(help="The endpoint to remove.")]) -> None:
    """Remove a named endpoint profile."""
    from interviewer.config import load_config, save_config
    from interviewer.errors import ConfigError
    from interviewer.ui.console import console, lit

    config = load_config()
    if name not in config.endpoints:
        known = ", ".join(sorted(config.endpoints)) or "none"
        raise ConfigError(f"No endpoint named '{name}' (configured: {known}).")
    del config.endpoints[name]
    note = ""
    if config.default_endpoint == name:
        config.default_endpoint = None
        note = (
            " It was the default: pick another with `interviewer endpoints add NAME ... --default`."
        )
    save_config(config)
    console.print(f"Removed endpoint [accent]{lit(name)}[/accent].{note}", highlight=False)


@endpoints_app.command("check")
@handle_errors
def check(
    name: Annotated[
        str | None, typer.Argument(help="A configured endpoint (default: the default one).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Check this base URL instead of a profile's.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Check this model.")] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the API key.")
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="Only probe the output contracts; skip grading the check answers."
        ),
    ] = False,
) -> None:
    """Probe an endpoint: reachable, model present, which output contract works, latency.

    Then the endpoint grades a known-strong and a known-weak answer: it is called fit to grade
    only when the strong one scores at least 30 points (of 100) higher.
    """
    from interviewer.config import load_config, resolve_api_key, resolve_endpoint
    from interviewer.errors import ConfigError
    from interviewer.grading.endpoint_check import check_endpoint
    from interviewer.ui.endpoints import render_check

    profile = resolve_endpoint(
        load_config(), name=name, base_url=base_url, model=model, api_key_env=api_key_env
    )
    if profile is None:
        raise ConfigError(
            "No endpoint to check: give a NAME, or --base-url and --model (or set"
            " OPENAI_BASE_URL and OPENAI_MODEL)."
        )
    report = check_endpoint(profile, resolve_api_key(profile), grading=not quick)
    render_check(report)
    if not report.can_grade:
        raise typer.Exit(code=1)


def _mask(value: str) -> str:
    """Enough of a mistyped value to recognise it, never a whole secret."""
    return f"'{value[:3]}…' ({len(value)} characters)" if len(value) > 6 else "an invalid name"
