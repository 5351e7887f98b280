"""`fpps bench load`: a bounded load generator for a running fpps server on this machine.

It drives the server at 1x, 2x and 4x its capacity (`max_batch_size + max_queue` from `/ready`,
or `--capacity`): that many concurrent clients, each sending the next request of a fixed
budget until the budget or the time limit is spent. Requests mix the four steering modes with
a short inline history and alternate streaming and non-streaming, decoding a few tokens each.
A rejected client waits what `Retry-After` asks before its next request (as the openai client
does), unless told to hammer on.

It measures what an operator needs to size the server: completed, rejected (503/429; whether
they carried `Retry-After`), errors, timeouts, and latency percentiles over all requests and
over rejections alone (a rejection should be fast: back-pressure that takes seconds is a queue
in disguise). The report goes to `OUT/bench-load.json`.

The client is aiohttp: it shares the box's cores with the server, and with httpx's pool the
client's own work was a large part of the rejection tail measured at 4x (p99 400-765 ms vs
210-290 ms with aiohttp against the same capacity-16 server, `docs/bench/2026-11-25/`).

It is bounded on purpose: only loopback hosts (it is a test tool, not a way to load someone
else's server), a fixed request count, and a wall-clock limit per level.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import platform
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["LoadConfig", "check_loopback", "run_load"]

Outcome = Literal["completed", "rejected", "error", "timeout"]
MODES = ("off", "soft", "hard", "mixed")
HISTORY = [[{"role": "user", "content": "I just moved to Sydney, I love the harbour."},
            {"role": "assistant", "content": "Sydney is a wonderful place to live!"}]]
QUESTIONS = ("What is the capital of Australia?", "Which planet is largest?",
             "Who wrote Hamlet?", "What is the boiling point of water at sea level?")


@dataclass(frozen=True, kw_only=True)
class LoadConfig:
    """One load run (process-wide for the run; validated on construction)."""

    url: str
    capacity: int | None = None
    """Concurrent requests the server holds (running + queued); None reads it from `/ready`."""
    multipliers: tuple[int, ...] = (1, 2, 4)
    """Load levels: clients = multiplier x capacity."""
    requests_per_level: int = 64
    """Request budget of each level (the run is bounded by this, not by time alone)."""
    time_limit_s: float = 120.0
    """Wall-clock limit of each level; requests not started by then are not sent."""
    request_timeout_s: float = 60.0
    max_tokens: int = 4
    respect_retry_after: bool = True
    """A rejected client waits `Retry-After` before its next request, as the openai client
    does; False hammers on, which measures how cheaply the server says no."""
    api_key: str | None = None

    def __post_init__(self) -> None:
        if self.capacity is not None and self.capacity < 1:
            raise ValueError("capacity must be >= 1")
        if not self.multipliers or any(m < 1 for m in self.multipliers):
            raise ValueError("multipliers must be positive")
        if not 1 <= self.requests_per_level <= 100_000:
            raise ValueError("requests_per_level must be in [1, 100000]")
        if not 0 < self.time_limit_s <= 3600 or not 0 < self.request_timeout_s <= 600:
            raise ValueError("time_limit_s must be in (0, 3600] and request_timeout_s in (0, 600]")
        if not 1 <= self.max_tokens <= 256:
            raise ValueError("max_tokens must be in [1, 256]")


def check_loopback(url: str) -> str:
    """The URL without a trailing slash, if every address its host resolves to is loopback.

    Raises:
        ValueError: not http(s), no host, a host that does not resolve, or any non-loopback
            address (the load generator only ever targets this machine).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url must be http(s)://HOST:PORT, got {url!r}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise ValueError(f"cannot resolve {parts.hostname!r}: {e}") from None
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise ValueError(f"refusing to load {parts.hostname!r} ({sorted(addresses)}): "
                         "fpps bench load only targets loopback (127.0.0.1, ::1, localhost)")
    return url.rstrip("/")


def _percentiles(values: list[float]) -> dict[str, float | None]:
    """p50/p95/p99 in milliseconds (nearest rank), None when there are no values."""
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    xs = sorted(values)

    def rank(q: float) -> float:
        return round(1000 * xs[max(1, math.ceil(q * len(xs))) - 1], 2)

    return {"p50_ms": rank(0.50), "p95_ms": rank(0.95), "p99_ms": rank(0.99)}


def _body(i: int, max_tokens: int) -> dict[str, Any]:
    """Request `i` of the mix: modes round-robin, every other one streams."""
    mode = MODES[i % len(MODES)]
    return {"messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
            "max_tokens": max_tokens, "stream": (i // len(MODES)) % 2 == 1,
            "fpps": {"mode": mode, "history": HISTORY}}


@dataclass(frozen=True)
class _Result:
    outcome: Outcome
    seconds: float
    status: int | None
    """HTTP status; None when no response came (timeout, connection error)."""
    retry_after: float | None = None
    """Seconds the server asked to wait (its `Retry-After`), if it sent one."""
    note: str = ""
    """For failures: the start of the error body, to tell the server's answers apart."""


async def _one(session: Any, url: str, body: dict[str, Any]) -> _Result:
    """Send one request and classify its answer."""
    import aiohttp

    t0 = time.perf_counter()
    try:
        async with session.post(url + "/v1/chat/completions", json=body) as r:
            if r.status != 200 or not body["stream"]:
                return _answered(r.status, r.headers, await r.text(errors="replace"), t0)
            async for raw in r.content:  # SSE, one line at a time
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line == "data: [DONE]":
                    return _Result("completed", time.perf_counter() - t0, 200)
                if line.startswith("data: ") and '"error"' in line[:20]:  # failed mid-stream
                    return _Result("error", time.perf_counter() - t0, 200, note=line[6:206])
            return _Result("error", time.perf_counter() - t0, 200, note="stream ended without [DONE]")
    except asyncio.TimeoutError:
        return _Result("timeout", time.perf_counter() - t0, None)
    except aiohttp.ClientError as e:
        return _Result("error", time.perf_counter() - t0, None, note=f"{type(e).__name__}: {e}"[:200])


def _answered(status: int, headers: Any, text: str, t0: float) -> _Result:
    note = "" if status == 200 else text[:200]
    try:
        retry_after = float(headers["retry-after"]) if "retry-after" in headers else None
    except ValueError:  # an HTTP date: present, but not a number of seconds
        retry_after = 0.0
    return _Result(_classify(status), time.perf_counter() - t0, status, retry_after=retry_after, note=note)


def _classify(status: int) -> Outcome:
    if status == 200:
        return "completed"
    if status in (429, 503):
        return "rejected"
    if status == 504:
        return "timeout"
    return "error"


async def _level(config: LoadConfig, url: str, clients: int) -> dict[str, Any]:
    """One load level: `clients` concurrent loops sharing a fixed request budget."""
    import aiohttp

    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    results: list[_Result] = []
    next_i = 0
    deadline = time.monotonic() + config.time_limit_s
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=clients),
                                     timeout=aiohttp.ClientTimeout(total=config.request_timeout_s)) as session:
        async def loop() -> None:
            nonlocal next_i
            while next_i < config.requests_per_level and time.monotonic() < deadline:
                i, next_i = next_i, next_i + 1
                result = await _one(session, url, _body(i, config.max_tokens))
                results.append(result)
                if config.respect_retry_after and result.retry_after:
                    await asyncio.sleep(max(0.0, min(result.retry_after, deadline - time.monotonic())))

        await asyncio.gather(*(loop() for _ in range(clients)))
    wall = time.perf_counter() - t0
    counts = {k: sum(1 for r in results if r.outcome == k) for k in ("completed", "rejected", "error", "timeout")}
    statuses: dict[str, int] = {}
    for r in results:
        key = str(r.status) if r.status is not None else "no response"
        statuses[key] = statuses.get(key, 0) + 1
    notes = sorted({f"{r.status}: {r.note}" for r in results
                    if r.note and (r.outcome != "rejected" or r.retry_after is None)})
    return {"clients": clients, "sent": len(results), **counts,
            "rejected_with_retry_after": sum(1 for r in results
                                             if r.outcome == "rejected" and r.retry_after is not None),
            "not_sent": config.requests_per_level - len(results), "statuses": statuses,
            "wall_s": round(wall, 3),
            "completed_per_s": round(counts["completed"] / wall, 3) if wall > 0 else None,
            "latency_all": _percentiles([r.seconds for r in results]),
            "latency_completed": _percentiles([r.seconds for r in results if r.outcome == "completed"]),
            "latency_rejected": _percentiles([r.seconds for r in results if r.outcome == "rejected"]),
            "failure_samples": notes[:5]}


async def _capacity(config: LoadConfig, url: str) -> tuple[int, dict[str, Any]]:
    import aiohttp

    if config.capacity is not None:
        return config.capacity, {"source": "--capacity"}
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.get(url + "/ready") as r:
            status, text = r.status, await r.text(errors="replace")
    try:
        ready = json.loads(text)
    except ValueError:
        ready = {}
    if status != 200 or not isinstance(ready, dict) or "capacity" not in ready:
        raise ValueError(f"GET {url}/ready gave {status} without 'capacity'; pass --capacity")
    cap = ready["capacity"]
    return int(cap["max_batch_size"]) + int(cap["max_queue"]), {"source": "/ready", **cap}


def run_load(config: LoadConfig, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Run every level in turn and return the report (also written to OUT/bench-load.json).

    Raises:
        ValueError: a non-loopback URL, or no capacity to be had.
    """
    import aiohttp

    url = check_loopback(config.url)

    async def main() -> dict[str, Any]:
        capacity, source = await _capacity(config, url)
        levels = [{"multiplier": m, **await _level(config, url, m * capacity)} for m in config.multipliers]
        return {"capacity": capacity, "capacity_info": source, "levels": levels}

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = asyncio.run(main())
    report = {"bench": "load", "started": started, "config": {**asdict(config), "api_key": None},
              "mix": {"modes": list(MODES), "stream": "every other block of 4", "history_sessions": 1},
              "environment": {"python": platform.python_version(), "aiohttp": aiohttp.__version__,
                              "host": platform.node()},
              **body}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench-load.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
