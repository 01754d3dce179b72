"""An HTTP transport whose timeout bounds a whole request, not each socket operation.

httpx (and the openai SDK on top of it) applies its timeouts to every single connect, read
and write. A server that sends a byte a second never lets one read wait long, so such a
request would never time out. This transport gives every request a deadline when it starts
(``handle_request`` runs once per attempt, so each SDK retry gets a fresh one) and lets no
socket operation of that request wait past it: each is given the smaller of its own timeout
and the time left, and one that starts after the deadline fails at once with the same
timeout error a slow read raises, which the SDK reports as a timeout.

The deadline is kept per thread: the sync client runs a request, including reading its body,
in the thread that made it, while many grading threads share one connection pool.

Imported only by ``chat_client`` when it builds a client (httpx is a heavy import).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2

_local = threading.local()


def _left(timeout: float | None) -> float | None:
    """The timeout for the next socket operation: its own, cut to what the deadline leaves."""
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore2.ReadTimeout("the request's total time limit has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _left(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _left(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx2.HTTPTransport):
    """``httpx2.HTTPTransport`` whose requests each end ``total`` seconds after they start."""

    def __init__(self, total: float, *, limits: httpx2.Limits) -> None:
        super().__init__(limits=limits)
        self.total = total
        # The parent sends every request through ``self._pool``; this pool is the parent's
        # own, built the same way, but with socket operations bounded by the deadline.
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        _local.deadline = time.monotonic() + self.total
        return super().handle_request(request)


class DeadlineClient(httpx2.Client):
    """The HTTP client the SDK would build for itself, sending through ``DeadlineTransport``.

    Like the SDK's own client it closes its connections when it is garbage-collected, so a
    client dropped without ``close()`` does not leave sockets open.
    """

    def __init__(self, total: float) -> None:
        # The SDK's defaults: generous pool limits, and redirects followed.
        limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)
        super().__init__(
            transport=DeadlineTransport(total, limits=limits),
            limits=limits,
            follow_redirects=True,
            timeout=total,
        )

    def __del__(self) -> None:
        if self.is_closed:
            return
        with contextlib.suppress(Exception):
            self.close()
