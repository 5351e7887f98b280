"""`fpps bench load` against a stub server on loopback: levels, outcome counts, percentiles.

The stub admits 3 requests at a time (capacity 2 + 1, as `/ready` says) and turns the rest
away with 503 + Retry-After, like the real server's back-pressure, in milliseconds.
"""

import asyncio
import json
import socket
import threading
import time

import pytest

from fpps.server.bench.loadgen import LoadConfig, _percentiles, check_loopback, run_load


def _stub_app():
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    app = FastAPI()
    state = {"busy": 0}

    @app.get("/ready")
    async def ready():
        return {"status": "ready", "capacity": {"max_batch_size": 2, "max_queue": 1}}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        if state["busy"] >= 3:
            return JSONResponse({"error": {"message": "busy", "type": "overloaded_error", "param": None,
                                           "code": "overloaded"}}, status_code=503, headers={"Retry-After": "1"})
        state["busy"] += 1
        try:
            await asyncio.sleep(0.02)
        finally:
            state["busy"] -= 1
        if body.get("stream"):
            async def events():
                yield 'data: {"choices": []}\n\n'
                yield "data: [DONE]\n\n"
            return StreamingResponse(events(), media_type="text/event-stream")
        return {"choices": [{"message": {"content": "ok"}}]}

    return app


@pytest.fixture(scope="module")
def stub_url():
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_stub_app(), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_levels_count_every_request_and_write_the_report(stub_url, tmp_path):
    report = run_load(LoadConfig(url=stub_url, requests_per_level=24, time_limit_s=30,
                                 respect_retry_after=False), tmp_path)
    assert report["capacity"] == 3 and [lv["clients"] for lv in report["levels"]] == [3, 6, 12]
    for lv in report["levels"]:
        assert lv["sent"] == 24 and lv["completed"] + lv["rejected"] + lv["error"] + lv["timeout"] == 24
        assert lv["error"] == 0 and lv["timeout"] == 0
        assert lv["rejected_with_retry_after"] == lv["rejected"]
    assert report["levels"][0]["rejected"] == 0  # 1x capacity fits
    assert report["levels"][-1]["rejected"] > 0  # 4x does not
    assert report["levels"][-1]["latency_rejected"]["p50_ms"] is not None
    assert json.loads((tmp_path / "bench-load.json").read_text())["levels"] == report["levels"]
    assert report["config"]["api_key"] is None


def test_rejected_clients_wait_retry_after(stub_url):
    cfg = dict(url=stub_url, capacity=12, multipliers=(1,), requests_per_level=24, time_limit_s=30)
    waited = run_load(LoadConfig(**cfg))["levels"][0]
    assert waited["rejected"] > 0 and waited["wall_s"] >= 1.0  # the stub asks for 1 s


def test_time_limit_bounds_a_level(stub_url):
    report = run_load(LoadConfig(url=stub_url, capacity=1, multipliers=(1,), requests_per_level=100_000,
                                 time_limit_s=0.3))
    lv = report["levels"][0]
    assert 0 < lv["sent"] < 100_000 and lv["not_sent"] == 100_000 - lv["sent"] and lv["wall_s"] < 5


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://192.168.1.1", "https://[2001:db8::1]:443",
                                 "file:///etc/passwd", "http://"])
def test_non_loopback_targets_are_refused(url):
    with pytest.raises(ValueError):
        check_loopback(url)


def test_loopback_targets_are_accepted():
    assert check_loopback("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert check_loopback("http://localhost:1") == "http://localhost:1"


def test_percentiles_are_nearest_rank_in_ms():
    assert _percentiles([]) == {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    p = _percentiles([i / 1000 for i in range(1, 101)])
    assert (p["p50_ms"], p["p95_ms"], p["p99_ms"]) == (50.0, 95.0, 99.0)
