"""The ASGI edge of an ingress replica and its metrics: what every HTTP request passes through
before and after a route runs.

`Edge` gives each request its id, caps its body, authenticates its key, admits chat requests
against the replica's in-flight limit, audits refusals (401/403), counts and times it, and turns
any exception that escapes a route into the OpenAI error shape (`errors.to_http`). `Metrics` is
the replica's Prometheus registry. The routes themselves live in `ingress.py`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from ..engine.types import EngineOutput, EngineOverloaded
from ..memory.types import STORE_FAULT_KINDS
from .admission import GENERATE_PATHS
from .audit import audit_denied
from .errors import ApiError, to_http

__all__ = ["Edge", "Metrics"]

log = logging.getLogger("fpps.server")


class Metrics:
    """Prometheus metrics of one ingress replica (its own registry)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = r = CollectorRegistry()
        self.requests = Counter("fpps_requests", "HTTP requests", ["route", "status"], registry=r)
        self.latency = Histogram("fpps_request_latency_seconds", "HTTP request latency", ["route"],
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120),
                                 registry=r)
        self.tokens = Counter("fpps_tokens", "Tokens processed", ["kind"], registry=r)
        self.gate = Counter("fpps_gate_decisions", "Steering gate decisions", ["mode", "gate"], registry=r)
        self.p_hat = Histogram("fpps_p_hat", "Probe output p_hat at the last prompt position",
                               buckets=tuple(i / 10 for i in range(1, 11)), registry=r)
        self.store_errors = Counter("fpps_store_errors", "Memory store calls that failed, by fault kind "
                                    "(unreachable, timeout, read_only, disk_full)", ["kind"], registry=r)
        for kind in STORE_FAULT_KINDS:  # every kind exported from the start, at 0
            self.store_errors.labels(kind)

    def record(self, outs: list[EngineOutput]) -> None:
        for o in outs:
            self.tokens.labels("completion").inc(o.completion_tokens)
            self.gate.labels(o.mode, o.gate).inc()
            if o.p_hat is not None:
                self.p_hat.observe(o.p_hat)
        if outs:
            self.tokens.labels("prompt").inc(outs[0].prompt_tokens)


async def _read_body(receive: Any, limit: int) -> dict[str, Any]:
    """Read the whole request body (at most `limit` bytes) into one `http.request` message.

    The body is read here, before any route runs, so that a chunked body without
    Content-Length that grows past the cap is a 413 here; read inside FastAPI, the cap's error
    would be swallowed into a generic 400 "error parsing the body". Bodies are small (the cap
    is 2 MB by default), so holding one in memory costs what FastAPI's parse costs anyway.

    Raises:
        ApiError: 413 when the body exceeds `limit`.
    """
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: let the app see it
            return message
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            raise ApiError(413, f"request body exceeds {limit} bytes", code="body_too_large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


class Edge:
    """Pure ASGI middleware: request id, body cap, API keys, admission of chat requests, metrics,
    and the catch-all that turns any escaped exception into the OpenAI error shape.

    Admission counts chat requests in this replica and answers the one over `max_inflight` with
    a 503 at once: rejected later, at the model's queue, a request first pays the body parse,
    the memory lookup and a round trip to a replica that is busy decoding (p50 87 ms, p99 0.4 s
    at 4x capacity measured), so overload would slow the rejections it is meant to make fast."""

    def __init__(self, app: Any, ingress: Any) -> None:
        # `ingress` is the replica's `FppsIngress` (not imported: it imports this module).
        self.app, self.ing = app, ingress

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = "chatcmpl-" + uuid.uuid4().hex[:24]
        scope.setdefault("state", {})["request_id"] = rid
        path: str = scope.get("path", "")
        started, status, t0, admitted = False, 500, time.perf_counter(), False

        async def send_wrapped(message: dict[str, Any]) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                message.setdefault("headers", []).append((b"x-fpps-request-id", rid.encode()))
            await send(message)

        try:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            limit = self.ing.args.max_body_bytes
            if int(headers.get("content-length") or 0) > limit:
                raise ApiError(413, f"request body exceeds {limit} bytes", code="body_too_large")
            scope["state"]["principal"] = self.ing.authorize(path, headers.get("authorization"))
            if path in GENERATE_PATHS and scope.get("method") == "POST":
                if self.ing.inflight >= self.ing.max_inflight:
                    raise EngineOverloaded(f"{self.ing.inflight} requests in flight, the limit")
                self.ing.inflight += 1
                admitted = True
            replay = await _read_body(receive, limit)

            async def receive_replayed() -> dict[str, Any]:
                # The whole (capped) body once, then the live channel (disconnect notices).
                nonlocal replay
                if replay is not None:
                    message, replay = replay, None
                    return message
                return await receive()

            await self.app(scope, receive_replayed, send_wrapped)
        except Exception as exc:  # noqa: BLE001 - the one catch-all at the edge
            if started:
                log.exception("request %s failed after its response started", rid)
                return
            code, body, extra = to_http(exc, rid)
            status = code
            if code in (401, 403):  # who tried is audited as well as who was served
                principal = scope["state"].get("principal")
                audit_denied(request_id=rid, status=code, key_id=principal.key_id if principal else None,
                             route=self.ing.route_label(path), method=str(scope.get("method", "")),
                             user=getattr(exc, "user", None), param=body["error"]["param"])
            hdrs = [(b"content-type", b"application/json"), (b"x-fpps-request-id", rid.encode())]
            hdrs += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
            await send({"type": "http.response.start", "status": code, "headers": hdrs})
            await send({"type": "http.response.body", "body": json.dumps(body).encode()})
        finally:
            if admitted:
                self.ing.inflight -= 1
            route = self.ing.route_label(path)
            self.ing.metrics.requests.labels(route, str(status)).inc()
            self.ing.metrics.latency.labels(route).observe(time.perf_counter() - t0)

