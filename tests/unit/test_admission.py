"""ProxyAdmission: the chat admission that runs in Serve's HTTP proxy (fpps_server/http/admission.py).

Driven as plain ASGI with a small in-test app, so the counting can be checked at exact points of
a response's life; the end-to-end check against `fpps serve` is in tests/e2e/test_server.py."""

import asyncio
import json
import sys

import pytest

from fpps.server.http.admission import LIMIT_ENV, ProxyAdmission, proxy_middlewares

CHAT = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}


class Held:
    """An ASGI app whose responses finish when the test says so; it can also linger after its
    last body message (as Serve's proxy handler does) or fail."""

    def __init__(self) -> None:
        self.body_go: dict[int, asyncio.Event] = {}
        self.exit_go: dict[int, asyncio.Event] = {}
        self.n = 0

    async def __call__(self, scope, receive, send) -> None:
        i = self.n
        self.n += 1
        self.body_go[i], self.exit_go[i] = asyncio.Event(), asyncio.Event()
        if scope["type"] == "lifespan":
            return
        if scope["path"] == "/metrics":
            status = 200 if scope.get("query_string") != b"deny" else 401
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"text/plain"), (b"content-length", b"12")]})
            await send({"type": "http.response.body", "body": b"a_metric 1\n", "more_body": True})
            await send({"type": "http.response.body", "body": b"\n"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": True})
        await self.body_go[i].wait()
        await send({"type": "http.response.body", "body": b""})
        await self.exit_go[i].wait()


async def call(mw: ProxyAdmission, scope=CHAT) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    await mw(dict(scope), receive, send)
    return sent


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_over_the_limit_is_a_503_with_retry_after_and_the_openai_error_shape():
    async def run():
        app = Held()
        mw = ProxyAdmission(app, limit=2)
        first = [asyncio.create_task(call(mw)) for _ in range(2)]
        await settle()
        assert mw.inflight == 2
        sent = await asyncio.wait_for(call(mw), 1.0)  # answered at once, without the app
        assert app.n == 2 and mw.rejected == 1
        start, body = sent
        assert start["status"] == 503
        headers = dict(start["headers"])
        assert headers[b"retry-after"] == b"1" and headers[b"x-fpps-request-id"].startswith(b"chatcmpl-")
        assert int(headers[b"content-length"]) == len(body["body"])
        err = json.loads(body["body"])["error"]
        assert err["type"] == "overloaded_error" and err["code"] == "overloaded" and "in flight" in err["message"]
        for i in range(2):
            app.body_go[i].set()
            app.exit_go[i].set()
        await asyncio.gather(*first)
        assert mw.inflight == 0

    asyncio.run(run())


def test_a_request_is_released_with_its_last_body_message_not_when_the_handler_returns():
    async def run():
        app = Held()
        mw = ProxyAdmission(app, limit=1)
        first = asyncio.create_task(call(mw))
        await settle()
        assert mw.inflight == 1  # streaming: still counted
        app.body_go[0].set()  # the last body message goes out; the handler lingers
        await settle()
        assert mw.inflight == 0 and not first.done()
        second = asyncio.create_task(call(mw))  # the client's next request is admitted
        await settle()
        assert app.n == 2 and mw.rejected == 0
        app.exit_go[0].set()
        await first
        assert mw.inflight == 1  # releasing twice would make this 0
        app.body_go[1].set()
        app.exit_go[1].set()
        await second
        assert mw.inflight == 0

    asyncio.run(run())


def test_a_cancelled_or_failing_handler_frees_its_slot():
    async def run():
        app = Held()
        mw = ProxyAdmission(app, limit=1)
        gone = asyncio.create_task(call(mw))
        await settle()
        gone.cancel()  # the client went away mid-stream
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert mw.inflight == 0

        async def boom(scope, receive, send):
            raise RuntimeError("replica lost")

        mw2 = ProxyAdmission(boom, limit=1)
        with pytest.raises(RuntimeError):
            await call(mw2)
        assert mw2.inflight == 0

    asyncio.run(run())


def test_other_routes_and_methods_pass_uncounted():
    async def run():
        app = Held()
        mw = ProxyAdmission(app, limit=1)
        mw.inflight = 1  # full
        for scope in ({**CHAT, "method": "GET"}, {**CHAT, "path": "/v1/models", "method": "GET"},
                      {**CHAT, "path": "/health", "method": "GET"}, {"type": "lifespan"}):
            task = asyncio.create_task(mw(scope, None, None) if scope["type"] == "lifespan" else call(mw, scope))
            await settle()
            for i in list(app.body_go):
                app.body_go[i].set()
                app.exit_go[i].set()
            await task
        assert app.n == 4 and mw.rejected == 0 and mw.inflight == 1

    asyncio.run(run())


def test_metrics_get_the_proxy_counters_appended_with_a_correct_length():
    async def run():
        mw = ProxyAdmission(Held(), limit=3)
        mw.rejected = 7
        start, body = await call(mw, {**CHAT, "method": "GET", "path": "/metrics"})
        text = body["body"].decode()
        assert text.startswith("a_metric 1\n\n") and body.get("more_body", False) is False
        assert "fpps_proxy_rejected_requests_total 7\n" in text
        assert "fpps_proxy_inflight_requests 0\n" in text and "fpps_proxy_admission_limit 3\n" in text
        lengths = [v for k, v in start["headers"] if k == b"content-length"]
        assert lengths == [str(len(body["body"])).encode()]
        denied = await call(mw, {**CHAT, "method": "GET", "path": "/metrics", "query_string": b"deny"})
        assert denied[0]["status"] == 401 and b"fpps_proxy" not in b"".join(m.get("body", b"") for m in denied[1:])

    asyncio.run(run())


def test_the_proxy_callback_reads_its_limit_from_the_environment(monkeypatch):
    monkeypatch.delenv(LIMIT_ENV, raising=False)
    assert proxy_middlewares() == []
    monkeypatch.setenv(LIMIT_ENV, "12")
    (mw,) = proxy_middlewares()
    assert mw.cls is ProxyAdmission and mw.kwargs == {"limit": 12}
    monkeypatch.setenv(LIMIT_ENV, "many")
    with pytest.raises(ValueError, match=LIMIT_ENV):
        proxy_middlewares()
    with pytest.raises(ValueError, match="limit"):
        ProxyAdmission(None, limit=0)


def test_the_module_the_proxy_loads_does_not_import_torch():
    import subprocess

    code = "import sys, fpps.server.http.admission; print('torch' in sys.modules, 'ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
