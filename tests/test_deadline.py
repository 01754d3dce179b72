"""The profile's ``timeout`` bounds a whole request, not each read.

A server that trickles its reply one byte at a time never lets a single read wait long, so a
per-read timeout would never fire; the request must still end as a ``timeout`` error.
"""

from __future__ import annotations

import pytest

from interviewer.config import EndpointProfile
from interviewer.errors import EndpointError
from interviewer.grading.chat_client import ChatClient
from tests.chat_server import ChatServer, completion, trickling


def _client(server: ChatServer, timeout: float, retries: int = 0) -> ChatClient:
    profile = EndpointProfile(
        name="slow", base_url=server.url, model="test-model", timeout=timeout, max_retries=retries
    )
    return ChatClient(profile, None)


def _ask(client: ChatClient) -> str:
    try:
        return client.complete(
            [{"role": "user", "content": "hi"}], contract="prompt", max_output_tokens=10
        ).text
    finally:
        client.close()


def test_a_trickling_reply_ends_as_a_timeout(chat_server: ChatServer) -> None:
    # About 300 bytes at 0.05 s each: 15 s in all, yet no read ever waits 0.05 s.
    chat_server.enqueue(trickling(completion("x" * 60), 0.05))
    with pytest.raises(EndpointError) as caught:
        _ask(_client(chat_server, timeout=0.5))
    assert caught.value.kind == "timeout"
    assert "0.5 s" in str(caught.value)


def test_a_local_server_that_trickles_past_the_deadline_is_not_sent_it_again(
    chat_server: ChatServer,
) -> None:
    # Retries are allowed, but a server of one's own may still be computing the request.
    chat_server.enqueue(trickling(completion("x" * 60), 0.05), completion("second try"))
    with pytest.raises(EndpointError) as caught:
        _ask(_client(chat_server, timeout=0.5, retries=1))
    assert caught.value.kind == "timeout"
    assert "not sent again" in str(caught.value)
    assert len(chat_server.chat_requests) == 1


def test_a_reply_within_the_deadline_is_unaffected(chat_server: ChatServer) -> None:
    chat_server.enqueue(trickling(completion("ok"), 0.001))
    assert _ask(_client(chat_server, timeout=5)) == "ok"
