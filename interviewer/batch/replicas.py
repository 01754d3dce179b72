"""Endpoint replicas: one grader per base URL, and how many requests each takes at once."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from interviewer.config import EndpointProfile, is_local_url
from interviewer.grading.factory import ChosenGrader
from interviewer.grading.grade import Grader


@dataclass
class Replica:
    """One endpoint replica (or the offline grader) and its in-flight limit."""

    name: str
    grader: Grader
    concurrency: int = 1


def default_concurrency(profile: EndpointProfile) -> int:
    """In-flight requests per replica: the profile's setting, else a per-server guess.

    Hosted APIs absorb many parallel requests (rate limits permitting); vLLM batches
    continuously; Ollama serves OLLAMA_NUM_PARALLEL requests at a time (often 1-4) and
    queues the rest, so more in flight only adds latency. A llama.cpp server says how many
    requests it computes at once (its slots, ``grading.server_slots``); more in flight
    would only wait in its queue, time out and be abandoned while the server still computes
    them, so a local server that says gets exactly that many.
    """
    # Profiles pass through model_dump/model_validate when flags are applied, which marks
    # every field as set; a value other than the default is what shows a user's choice.
    default = EndpointProfile.model_fields["concurrency"].default
    if profile.concurrency != default:
        return profile.concurrency
    url = profile.urls[0] if profile.urls else ""
    parts = urlsplit(url)
    if parts.port == 11434:
        return 2
    if not is_local_url(url):
        return 16
    from interviewer.grading.server_slots import server_slots

    return server_slots(profile) or profile.concurrency


def replica_profiles(profile: EndpointProfile) -> list[EndpointProfile]:
    """One single-URL profile per replica of ``profile``."""
    urls = profile.urls
    if len(urls) <= 1:
        return [profile]
    return [profile.model_copy(update={"base_url": url, "base_urls": []}) for url in urls]


def build_replicas(
    chosen: ChosenGrader, *, concurrency: int | None
) -> tuple[list[Replica], EndpointProfile | None, bool]:
    """One grader per endpoint replica, or the offline grader run inline.

    Returns the replicas, the profile they grade on (None offline) and whether to run inline.
    """
    profile = chosen.endpoint
    if profile is None:
        return [Replica("offline", chosen.grader, 1)], None, True
    per = concurrency or default_concurrency(profile)
    profiles = replica_profiles(profile)
    if len(profiles) == 1:
        return [Replica(profile.display_urls[0], chosen.grader, per)], profile, False
    # One grader (and one HTTP client) per replica, each with its own base URL.
    replicas = [Replica(p.display_urls[0], chosen.for_endpoint(p), per) for p in profiles]
    return replicas, profile, False


def grader_label(replicas: list[Replica]) -> str:
    """The grader, as the start line names it."""
    label = replicas[0].grader.info.label
    if len(replicas) > 1:
        return f"{label.split(' @ ')[0]} on {len(replicas)} replicas"
    return label


def concurrency_label(replicas: list[Replica], inline: bool) -> str:
    """How many rows are graded at once, in words."""
    if inline:
        return "one row at a time (offline)"
    per = replicas[0].concurrency
    if len(replicas) > 1:
        return f"{per} in flight per replica"
    return f"{per} in flight"
