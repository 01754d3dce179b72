"""``interviewer endpoints check``: probe an endpoint and report what works.

Reachability and latency come from ``/models`` (when the server has it), then each output
contract is tried with a tiny request (json_object first with a schema inside
``response_format``, then, if the server rejects that, without); the best accepted one is
remembered for grading. Unless asked to be quick, the endpoint then grades a known-strong and
a known-weak answer (``interviewer.grading.discrimination``) and the verdict is remembered
too: a model that answers in the right format but cannot tell the two apart is not a judge.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from interviewer.config import CONTRACTS, Contract, EndpointProfile
from interviewer.errors import EndpointError
from interviewer.grading import chat_client as llm
from interviewer.grading.discrimination import Discrimination, check_discrimination
from interviewer.grading.endpoint_state import (
    remember_contract,
    remember_discrimination,
    remember_object_schema,
)
from interviewer.grading.reply_parsing import ReplyProblem, extract_json_object, short

if TYPE_CHECKING:
    from interviewer.grading.chat_client import ChatClient

_PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
_PROBE_MESSAGES: list[dict[str, str]] = [
    {"role": "system", "content": "You are a health check. Reply with JSON only."},
    {"role": "user", "content": 'Reply with exactly this JSON object: {"ok": true}'},
]


@dataclass
class ContractProbe:
    """How one output contract fared in ``check_endpoint``."""

    contract: Contract
    accepted: bool
    parsed: bool = False
    detail: str = ""
    latency_ms: int | None = None
    schema: bool = False  # a schema was sent with this contract


@dataclass
class EndpointReport:
    """What ``interviewer endpoints check`` found out about an endpoint."""

    name: str
    url: str
    model: str
    reachable: bool = False
    latency_ms: int | None = None
    models: list[str] | None = None
    model_found: bool | None = None
    error: str | None = None
    probes: list[ContractProbe] = field(default_factory=list)
    chosen: Contract | None = None
    discrimination: Discrimination | None = None

    @property
    def ok(self) -> bool:
        return (
            self.reachable
            and self.error is None
            and self.model_found is not False
            and self.chosen is not None
            and any(p.parsed for p in self.probes)
        )

    @property
    def can_grade(self) -> bool:
        """The contracts work and, when it was checked, the model told strong from weak."""
        return self.ok and (self.discrimination is None or self.discrimination.trusted)


def check_endpoint(
    profile: EndpointProfile, api_key: str | None, *, grading: bool = False
) -> EndpointReport:
    """Probe an endpoint: reachable, model listed, which output contracts work, latency.

    Each contract is probed with a tiny request; the best accepted one is remembered for
    grading, exactly as the grader would have found it by stepping down. With ``grading``,
    the endpoint then grades the strong and the weak check answer and the verdict is kept.
    """
    report = _probe_endpoint(profile, api_key)
    if grading and report.ok:
        from interviewer.grading.llm_grader import LLMGrader

        grader = LLMGrader(profile)
        try:
            found = check_discrimination(grader)
        finally:
            grader.close()
        report.discrimination = found
        remember_discrimination(profile, found.verdict, found.summary(), grader.prompt_version)
    return report


def _probe_endpoint(profile: EndpointProfile, api_key: str | None) -> EndpointReport:
    client = llm.ChatClient(profile, api_key, max_retries=0)
    url = profile.display_urls[0]
    report = EndpointReport(name=profile.name, url=url, model=str(profile.model))
    try:
        started = time.perf_counter()
        try:
            report.models = client.list_models()
            report.reachable = True
            report.latency_ms = _ms(started)
        except EndpointError as exc:
            if exc.kind in ("connection", "timeout", "auth"):
                report.reachable = exc.kind == "auth"
                report.error = str(exc)
                return report
            # Some servers have no /models route; chat requests will tell.
            report.reachable = True
        # Azure lists base models, not the deployment names a profile uses: the probes
        # below find out whether the deployment exists.
        if report.models is not None and not profile.api_version:
            report.model_found = profile.model in report.models
            if not report.model_found:
                return report
        _probe_contracts(client, profile, report)
        return report
    finally:
        client.close()


def _probe_contracts(client: ChatClient, profile: EndpointProfile, report: EndpointReport) -> None:
    """Try every contract (json_object with its schema, then without) and remember the best."""
    rejected: dict[str, str] = {}
    object_schema: bool | None = None
    for contract in CONTRACTS:
        probe = _probe(client, contract, with_schema=contract != "prompt")
        if contract == "json_object" and isinstance(probe, ContractProbe):
            object_schema = probe.accepted
            if not probe.accepted:
                rejected["json_object+schema"] = probe.detail
                report.probes.append(probe)
                probe = _probe(client, contract, with_schema=False)
        if isinstance(probe, EndpointError):
            report.error = str(probe)
            if probe.kind == "not_found":
                report.model_found = False
            return
        report.probes.append(probe)
        if not probe.accepted:
            rejected[contract] = probe.detail
        elif report.chosen is None:
            report.chosen = contract
    if report.chosen is not None:
        if report.latency_ms is None:
            report.latency_ms = next(
                (p.latency_ms for p in report.probes if p.latency_ms is not None), None
            )
        remember_contract(profile, report.chosen, rejected)
        if object_schema is not None:
            remember_object_schema(profile, object_schema)


def _probe(
    client: ChatClient, contract: Contract, *, with_schema: bool
) -> ContractProbe | EndpointError:
    started = time.perf_counter()
    try:
        done = client.complete(
            list(_PROBE_MESSAGES),
            contract=contract,
            max_output_tokens=256,
            schema=_PROBE_SCHEMA if with_schema else None,
        )
    except EndpointError as exc:
        if exc.kind == "contract":
            # Keep the server's own words; the endpoint is named in the report's header.
            detail = str(exc).partition(f"({exc.status}): ")[2] or str(exc)
            return ContractProbe(
                contract, accepted=False, detail=f"{exc.status} {detail}", schema=with_schema
            )
        return exc
    probe = ContractProbe(contract, accepted=True, latency_ms=_ms(started), schema=with_schema)
    if done.finish_reason == "length":
        probe.detail = "accepted, but the reply was cut off (finish_reason length)"
        return probe
    try:
        value = extract_json_object(done.text or done.reasoning or "", ("ok",))
    except ReplyProblem as problem:
        probe.detail = f"accepted, but {problem.detail}: {short(done.text, 60)!r}"
        return probe
    # Any JSON object proves the contract works; a model that answers with other keys than
    # the ones asked for is worth a warning, not a failure.
    probe.parsed = True
    probe.detail = (
        "reply parsed"
        if "ok" in value
        else f"reply parsed, but not the object asked for: {short(json.dumps(value), 60)!r}"
    )
    return probe


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
