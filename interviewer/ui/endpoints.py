"""Rendering of endpoint profiles and of `endpoints check` reports.

Nothing here ever sees an API key: profiles hold only the variable name or key file path.
"""

from __future__ import annotations

import os

from rich.table import Table
from rich.text import Text

from interviewer.config import Config, Contract
from interviewer.grading.endpoint_check import EndpointReport
from interviewer.redaction import display_url
from interviewer.ui.console import console, err_console

_CONTRACT_LABEL = {
    "json_schema": "json_schema",
    "json_object": "json_object",
    "prompt": "prompt-only",
}


def render_profiles(config: Config, remembered: dict[str, Contract | None]) -> None:
    """Print the configured endpoints as a table."""
    if not config.endpoints:
        err_console.print(
            "No endpoints yet. Add one with: interviewer endpoints add NAME --base-url URL"
            " --model MODEL",
            markup=False,
            highlight=False,
        )
    else:
        table = Table(title=f"{len(config.endpoints)} endpoint(s)", title_justify="left")
        table.add_column("name", style="accent", no_wrap=True)
        table.add_column("base URL", overflow="fold")
        table.add_column("model", overflow="fold")
        table.add_column("key from", overflow="fold")
        table.add_column("contract", no_wrap=True)
        table.add_column("context", justify="right")
        for name in sorted(config.endpoints):
            profile = config.endpoints[name]
            label = f"{name} *" if name == config.default_endpoint else name
            if profile.api_key_file:
                key = f"file {profile.api_key_file}"
            elif profile.api_key_env:
                key = f"${profile.api_key_env}"
            else:
                key = "$OPENAI_API_KEY or none"
            contract: str = profile.contract
            if contract == "auto":
                found = remembered.get(name)
                contract = f"auto ({_CONTRACT_LABEL[found]})" if found else "auto"
            if profile.api_version:
                contract += f", Azure {profile.api_version}"
            window = str(profile.context_window) if profile.context_window else "-"
            table.add_row(
                Text(label),
                Text("\n".join(profile.display_urls)),
                Text(profile.model or "?"),
                Text(key),
                Text(contract),
                window,
            )
        console.print(table)
        if config.default_endpoint:
            console.print("[muted]* default grader endpoint[/muted]")
    url = os.environ.get("OPENAI_BASE_URL")
    if url:
        model = os.environ.get("OPENAI_MODEL") or "(OPENAI_MODEL not set)"
        console.print(
            Text(
                f"From the environment: OPENAI_BASE_URL={display_url(url)}, model {model}",
                style="muted",
            )
        )


def render_check(report: EndpointReport) -> None:
    """Print what `endpoints check` found, one line per finding."""
    console.print(
        Text.assemble("Endpoint ", (report.name, "accent"), f"  {report.url}  model {report.model}")
    )
    table = Table.grid(padding=(0, 2))
    table.add_column(style="muted", no_wrap=True)
    table.add_column(overflow="fold")
    if report.reachable:
        latency = f" ({report.latency_ms} ms)" if report.latency_ms is not None else ""
        table.add_row("reachable", Text.assemble(("yes", "ok"), latency))
    else:
        table.add_row("reachable", Text("no", style="bad"))
    if report.models is None and report.reachable:
        table.add_row("model", Text("the server lists no models (no /models route)", style="warn"))
    elif report.model_found is None and report.reachable:
        table.add_row("model", Text("not in the model list (deployment); the probes use it"))
    elif report.model_found is True:
        table.add_row("model", Text.assemble((report.model, "ok"), " is served"))
    elif report.model_found is False:
        served = ", ".join(report.models or []) or "none"
        table.add_row(
            "model",
            Text.assemble((f"{report.model} not found", "bad"), f"; the server has: {served}"),
        )
    for probe in report.probes:
        label = _CONTRACT_LABEL[probe.contract]
        if probe.contract == "json_object":
            label += " + schema" if probe.schema else " (no schema)"
        latency = f", {probe.latency_ms} ms" if probe.latency_ms is not None else ""
        if not probe.accepted:
            table.add_row(label, Text.assemble(("rejected", "bad"), f": {probe.detail}"))
        elif probe.parsed:
            table.add_row(label, Text.assemble(("works", "ok"), f" ({probe.detail}{latency})"))
        else:
            table.add_row(label, Text.assemble(("accepted", "warn"), f" ({probe.detail}{latency})"))
    if report.chosen is not None:
        table.add_row(
            "contract",
            Text.assemble((_CONTRACT_LABEL[report.chosen], "accent"), " (remembered for grading)"),
        )
    found = report.discrimination
    if found is not None:
        style = "ok" if found.trusted else "bad"
        verdict = {
            "discriminates": "tells them apart",
            "flat": "does not tell them apart",
            "ungraded": "could not be checked",
        }[found.verdict]
        table.add_row(
            "grading",
            Text.assemble((verdict, style), f": {found.summary()} ({found.seconds:g} s)"),
        )
    console.print(table)
    if report.error:
        err_console.print(Text.assemble(("Error: ", "bad"), report.error), soft_wrap=True)
    _render_verdict(report)


def _render_verdict(report: EndpointReport) -> None:
    """The closing line of `endpoints check`: can this endpoint grade, and can it be trusted."""
    found = report.discrimination
    if report.ok and found is not None and not found.trusted:
        what = (
            "could not grade a strong and a weak check answer"
            if found.verdict == "ungraded"
            else "answers in the right format but did not grade a strong answer clearly above"
            " a weak one"
        )
        console.print(
            Text(
                f"WARNING: {report.model} {what}; grades from this model are not to be trusted."
                " Try a larger model.",
                style="bad",
            )
        )
    elif report.ok and found is None:
        console.print(
            Text(
                "OK: this endpoint answers in JSON (grading not checked: run without --quick).",
                style="ok",
            )
        )
    elif report.ok:
        console.print(Text("OK: this endpoint can grade.", style="ok"))
    elif report.reachable and report.error is None and report.model_found is not False:
        console.print(
            Text(
                "FAILED: no output contract produced the JSON asked for; this model is unlikely"
                " to return usable grades.",
                style="bad",
            )
        )
    else:
        console.print(Text("FAILED: this endpoint cannot grade yet.", style="bad"))
