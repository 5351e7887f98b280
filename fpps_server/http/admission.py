"""Admission of chat requests in Serve's HTTP proxy, before they cross into a replica.

`fpps serve` installs `ProxyAdmission` as a middleware of Ray Serve's HTTP proxy (through
Serve's `RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`, which names `proxy_middlewares`; the limit
comes in `FPPS_PROXY_ADMISSION_LIMIT`). It counts the chat completions the proxy is carrying and answers
the one over the limit with the same 503 + `Retry-After` the ingress would give, without the
proxy-to-ingress hop. Why: on a small box every hop is Python on a shared core, and a burst of
rejections queued behind each other on that core. Under a 4x burst the ingress-side rejection
cost about 4 ms each end to end; a proxy-side one skips the replica call, its serialization and
the ingress's ASGI stack.

The ingress keeps its own count (`edge.Edge`) as the backstop: for `serve deploy`, where no
proxy middleware is installed, and for several proxies. Both use the same limit, so with both in
place the proxy turns away nearly all of the excess.

This module imports the standard library and starlette only: it is loaded in the proxy process,
which must not pay for torch. `errors.py` and `ingress.py` take `RETRY_AFTER_S` and `CHAT_PATH`
from here.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from starlette.middleware import Middleware

__all__ = ["ProxyAdmission", "proxy_middlewares", "CHAT_PATH", "GENERATE_PATHS", "LIMIT_ENV", "RETRY_AFTER_S"]

CHAT_PATH = "/v1/chat/completions"
GENERATE_PATHS = (CHAT_PATH, "/v1/completions")
"""The routes that generate, and so are admitted and counted."""
METRICS_PATH = "/metrics"
RETRY_AFTER_S = 1
LIMIT_ENV = "FPPS_PROXY_ADMISSION_LIMIT"


def proxy_middlewares() -> list[Middleware]:
    """Serve's proxy callback: `ProxyAdmission` when `FPPS_PROXY_ADMISSION_LIMIT` is set."""
    raw = os.environ.get(LIMIT_ENV, "").strip()
    if not raw:
        return []
    try:
        limit = int(raw)
    except ValueError:
        raise ValueError(f"{LIMIT_ENV} must be a positive integer, got {raw!r}") from None
    return [Middleware(ProxyAdmission, limit=limit)]


class ProxyAdmission:
    """Pure ASGI middleware: at most `limit` chat completions in flight through this proxy.

    It also appends its counters (rejections, in flight, limit) to the ingress's `/metrics`.

    A request counts from its arrival until the last message of its response (stream included)
    is handed to the server, or its handler ends (client gone, error). Other routes pass
    untouched. The proxy's event loop is single-threaded, so plain counters are exact."""

    def __init__(self, app: Any, limit: int, retry_after_s: int = RETRY_AFTER_S) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.app, self.limit, self.retry_after_s = app, int(limit), int(retry_after_s)
        self.inflight = 0
        self.rejected = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "GET"):
            return await self.app(scope, receive, send)
        path = scope.get("path")
        if path == METRICS_PATH and scope["method"] == "GET":
            return await self.app(scope, receive, self._metrics_appender(send))
        if path not in GENERATE_PATHS or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        if self.inflight >= self.limit:
            self.rejected += 1
            return await self._reject(send)
        self.inflight += 1
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.inflight -= 1

        async def send_counted(message: dict[str, Any]) -> None:
            # Release with the response's last byte, not when the proxy's handler returns: Serve's
            # proxy returns some milliseconds later, and a client that sends its next request at
            # once would find its own finished request still counted.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            release()

    def _metrics_appender(self, send: Any) -> Any:
        """A `send` that appends this proxy's counters to a 200 `/metrics` (Prometheus text).

        The ingress's registry cannot see requests that never reached it; an operator reads
        rejections in one place. The body is small, so it is held until complete."""
        start: dict[str, Any] | None = None
        parts: list[bytes] = []

        async def send_metrics(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message.get("status") == 200:
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                return await send(message)
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(parts) + self.exposition().encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": headers + [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        return send_metrics

    def exposition(self) -> str:
        """This proxy's counters in the Prometheus text format."""
        return ("# HELP fpps_proxy_rejected_requests_total Chat requests the HTTP proxy answered "
                "with 503 (over the admission limit)\n"
                "# TYPE fpps_proxy_rejected_requests_total counter\n"
                f"fpps_proxy_rejected_requests_total {self.rejected}\n"
                "# HELP fpps_proxy_inflight_requests Chat requests in flight through the HTTP proxy\n"
                "# TYPE fpps_proxy_inflight_requests gauge\n"
                f"fpps_proxy_inflight_requests {self.inflight}\n"
                "# HELP fpps_proxy_admission_limit Chat requests the HTTP proxy admits at once\n"
                "# TYPE fpps_proxy_admission_limit gauge\n"
                f"fpps_proxy_admission_limit {self.limit}\n")

    async def _reject(self, send: Any) -> None:
        rid = "chatcmpl-" + uuid.uuid4().hex[:24]
        msg = (f"server overloaded ({self.inflight} requests in flight, the limit); "
               f"retry after {self.retry_after_s} s")
        body = json.dumps({"error": {"message": msg, "type": "overloaded_error", "param": None,
                                     "code": "overloaded"}}).encode()
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.retry_after_s).encode()), (b"x-fpps-request-id", rid.encode())]})
        await send({"type": "http.response.body", "body": body})
