"""The real server end to end: Ray Serve + the default model + a SQLite memory file, driven by
the official `openai` client and raw HTTP. One server start per module (see conftest)."""

import concurrent.futures as cf
import json
import time

import openai
import pytest

pytestmark = pytest.mark.slow

HISTORY = [
    [{"role": "user", "content": "I just moved to Sydney, I love the harbour here."},
     {"role": "assistant", "content": "Sydney is a wonderful place to live!"}],
    [{"role": "user", "content": "My favourite food is sushi."},
     {"role": "assistant", "content": "Sushi is delicious."}],
]
Q_FACT = [{"role": "user", "content": "What is the capital of Australia?"}]


@pytest.fixture(scope="module")
def oai(fpps_server):
    return openai.OpenAI(base_url=fpps_server.url + "/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def http(fpps_server):
    with fpps_server.client() as c:
        yield c


def chat(http, **body):
    body.setdefault("messages", Q_FACT)
    body.setdefault("max_tokens", 8)
    return http.post("/v1/chat/completions", json=body)


def test_health_ready_models_and_openapi(http):
    assert http.get("/health").json() == {"status": "ok"}
    ready = http.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    models = http.get("/v1/models").json()
    assert models["object"] == "list" and models["data"][0]["fpps"]["layer"] is not None
    assert "/v1/chat/completions" in http.get("/openapi.json").json()["paths"]


def test_openai_client_plain_chat_is_greedy_and_reproducible(oai):
    model = oai.models.list().data[0].id
    a = oai.chat.completions.create(model=model, messages=Q_FACT, max_tokens=8)
    b = oai.chat.completions.create(model=model, messages=Q_FACT, max_tokens=8)
    assert a.choices[0].message.content and a.choices[0].message.content == b.choices[0].message.content
    assert a.usage.completion_tokens <= 8 and a.usage.prompt_tokens > 0
    diag = a.model_extra["fpps"]
    assert diag["personalized"] is False and diag["gate"] == "none"


def test_steered_request_carries_diagnostics(oai):
    r = oai.chat.completions.create(model="fpps", messages=Q_FACT, max_tokens=8, extra_body={
        "fpps": {"mode": "mixed", "strength": 1.0, "history": HISTORY}})
    d = r.model_extra["fpps"]
    assert d["mode"] == "mixed" and d["personalized"] and d["sessions"] == 2
    assert 0.0 <= d["p_hat"] <= 1.0 and d["gate"] in ("none", "soft", "hard")
    assert isinstance(d["layer"], int) and d["artifact_id"]
    assert d["effective_strength"] == (1.0 if d["gate"] != "none" else 0.0)


def test_strength_zero_is_identical_to_mode_off(http):
    off = chat(http, fpps={"mode": "off", "history": HISTORY}).json()
    zero = chat(http, fpps={"mode": "mixed", "strength": 0.0, "history": HISTORY}).json()
    assert zero["choices"][0]["message"]["content"] == off["choices"][0]["message"]["content"]
    assert zero["fpps"]["effective_strength"] == 0.0


def test_compare_returns_unsteered_then_steered(http):
    off = chat(http, fpps={"mode": "off", "history": HISTORY}).json()
    steered = chat(http, fpps={"mode": "hard", "history": HISTORY}).json()
    both = chat(http, fpps={"mode": "hard", "history": HISTORY, "compare": True}).json()
    texts = [c["message"]["content"] for c in both["choices"]]
    assert [c["index"] for c in both["choices"]] == [0, 1]
    assert texts == [off["choices"][0]["message"]["content"], steered["choices"][0]["message"]["content"]]
    assert both["choices"][0]["fpps"]["mode"] == "off" and both["fpps"]["mode"] == "hard"


def test_openai_streaming_matches_non_streaming(oai):
    kw = dict(model="fpps", messages=Q_FACT, max_tokens=10, extra_body={"fpps": {"history": HISTORY}})
    full = oai.chat.completions.create(**kw).choices[0].message.content
    chunks = list(oai.chat.completions.create(stream=True, **kw))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full
    assert chunks[-1].model_extra["fpps"]["personalized"] is True
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)


def test_raw_sse_stream_ends_with_done_and_diagnostics(http):
    with http.stream("POST", "/v1/chat/completions", json={
            "messages": Q_FACT, "max_tokens": 4, "stream": True,
            "fpps": {"compare": True, "history": HISTORY}}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [ln for ln in r.iter_lines() if ln]
    assert all(ln.startswith("data: ") for ln in lines) and lines[-1] == "data: [DONE]"
    events = [json.loads(ln[6:]) for ln in lines[:-1]]
    assert {c["index"] for e in events for c in e["choices"]} == {0, 1}
    assert events[-1]["fpps"]["sessions"] == 2


def test_client_disconnect_cancels_the_stream(http, fpps_server):
    with http.stream("POST", "/v1/chat/completions", json={
            "messages": Q_FACT, "max_tokens": 400, "stream": True}) as r:
        lines = r.iter_lines()
        assert next(lines).startswith("data: ")
    deadline = time.monotonic() + 30
    while http.get("/ready").json()["load"]["running"] and time.monotonic() < deadline:
        time.sleep(0.3)
    assert http.get("/ready").json()["load"] == {"running": 0, "waiting": 0, "twins": 0}


def test_memory_round_trip_and_personalization(http):
    user = "alice.e2e@example"
    ids = []
    for i, s in enumerate(HISTORY):
        r = http.post(f"/v1/users/{user}/sessions", json={"messages": s, "date": f"2024-0{i + 1}-01"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["session_id"])
    listed = http.get(f"/v1/users/{user}/sessions").json()
    assert [s["session_id"] for s in listed["data"]] == ids
    assert listed["data"][0]["messages"] == HISTORY[0]

    q = [{"role": "user", "content": "Which city do I live in?"}]
    plain = chat(http, messages=q, max_tokens=12, fpps={"mode": "off"}).json()
    personal = chat(http, messages=q, max_tokens=12, user=user, fpps={"mode": "off"}).json()
    inline = chat(http, messages=q, max_tokens=12, fpps={"mode": "off", "history": HISTORY,
                                                          "dates": ["2024-01-01", "2024-02-01"]}).json()
    assert personal["fpps"]["personalized"] and personal["fpps"]["sessions"] == 2
    assert personal["usage"]["prompt_tokens"] > plain["usage"]["prompt_tokens"]
    # Stored memory and the same history inline build the same prompt.
    assert personal["choices"][0]["message"]["content"] == inline["choices"][0]["message"]["content"]
    assert personal["choices"][0]["message"]["content"] != plain["choices"][0]["message"]["content"]

    assert http.delete(f"/v1/users/{user}/sessions/{ids[0]}").json()["deleted"] is True
    assert len(http.get(f"/v1/users/{user}/sessions").json()["data"]) == 1
    assert http.delete(f"/v1/users/{user}").status_code == 200
    assert http.get(f"/v1/users/{user}/sessions").status_code == 404


def _err(r, status, param=None):
    assert r.status_code == status, r.text
    e = r.json()["error"]
    assert set(e) == {"message", "type", "param", "code"}
    if param is not None:
        assert e["param"] == param, e
    return e


def test_validation_errors_are_400_naming_the_field(http, oai):
    _err(chat(http, temprature=0.5), 400, "temprature")
    _err(chat(http, fpps={"strength": 2}), 400, "fpps.strength")
    _err(chat(http, fpps={"mode": "sideways"}), 400, "fpps.mode")
    _err(chat(http, fpps={"artifact": "/etc/passwd"}), 400, "fpps.artifact")  # no server paths
    _err(chat(http, messages=[{"role": "assistant", "content": "hi"}]), 400, "messages")
    _err(chat(http, max_tokens=0), 400, "max_tokens")
    _err(chat(http, fpps={"compare": True}, n=2), 400, "n")
    _err(http.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}), 400)
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model="fpps", messages=Q_FACT, extra_body={"fpps": {"tau": -1}})
    assert e.value.body["param"] == "fpps.tau"


def test_prompt_longer_than_context_is_400_naming_the_limit(http):
    ctx = http.get("/v1/models").json()["data"][0]["fpps"]["max_context"]
    long_q = [{"role": "user", "content": "word " * (ctx + 50)}]
    e = _err(chat(http, messages=long_q), 400, "messages")
    assert str(ctx) in e["message"]
    # A stream that cannot start is a plain HTTP error, not a 200 with an error event.
    _err(chat(http, messages=long_q, stream=True), 400, "messages")
    near = [{"role": "user", "content": "word " * (ctx - 200)}]
    e = _err(chat(http, messages=near, max_tokens=4096), 400, "max_tokens")
    assert str(ctx) in e["message"]


def test_not_found_errors_are_404(http, oai):
    _err(chat(http, model="gpt-4o"), 404, "model")
    _err(http.get("/v1/users/nobody-here/sessions"), 404)
    _err(http.delete("/v1/users/nobody-here"), 404)
    _err(http.get("/v1/nothing"), 404)
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(model="gpt-4o", messages=Q_FACT)


def test_bad_user_id_and_oversized_body(http):
    _err(http.get("/v1/users/bad%20id/sessions"), 400, "user_id")
    _err(chat(http, user="../../etc"), 400, "user")
    big = {"messages": [{"role": "user", "content": "x" * 2_100_000}]}
    _err(http.post("/v1/chat/completions", json=big), 413)


def test_overload_is_503_with_retry_after(http):
    # The test server admits 4 rows plus a queue of 2: 16 simultaneous requests overflow it.
    def one(_):
        return chat(http, max_tokens=24, fpps={"mode": "off"})

    def proxy_rejected() -> int:
        line = next(x for x in http.get("/metrics").text.splitlines()
                    if x.startswith("fpps_proxy_rejected_requests_total "))
        return int(float(line.split()[1]))

    before = proxy_rejected()
    with cf.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(16)))
    codes = sorted(r.status_code for r in results)
    assert 200 in codes and 503 in codes, codes
    busy = next(r for r in results if r.status_code == 503)
    assert int(busy.headers["retry-after"]) >= 1 and busy.headers["x-fpps-request-id"].startswith("chatcmpl-")
    assert busy.json()["error"]["type"] == "overloaded_error"
    # The excess is turned away at the edge, before the model is asked: by `fpps serve`'s HTTP
    # proxy (admission.py), which counts them. (A 503 can also come from the engine's queue when
    # a row of an earlier, cancelled request is still finishing: the proxy freed its slot at once.)
    assert any("in flight" in r.json()["error"]["message"] for r in results if r.status_code == 503)
    assert 1 <= proxy_rejected() - before <= codes.count(503)
    assert http.get("/ready").json()["status"] == "ready"


def test_metrics_count_requests_tokens_gates_and_p_hat(http):
    text = http.get("/metrics").text
    for name in ("fpps_requests_total", "fpps_request_latency_seconds_bucket", "fpps_tokens_total",
                 "fpps_gate_decisions_total", "fpps_p_hat_bucket"):
        assert name in text, name
    assert 'fpps_gate_decisions_total{gate="' in text and 'mode="mixed"' in text


def test_restart_keeps_sessions_and_api_keys_guard_everything_but_health(fpps_server):
    with fpps_server.client() as c:
        assert c.post("/v1/users/bob/sessions", json={
            "messages": HISTORY[1], "session_id": "keep-me"}).status_code == 201
    assert fpps_server.stop() == 0  # SIGTERM: graceful
    fpps_server.start(api_keys=["k-user"], admin_api_keys=["k-admin"])
    with fpps_server.client() as c:
        assert c.get("/health").status_code == 200
        _err(c.get("/v1/models"), 401)
        _err(c.get("/ready"), 401)
        _err(c.get("/metrics"), 401)
        _err(c.get("/v1/models", headers={"Authorization": "Bearer wrong"}), 401)
        assert c.get("/v1/models", headers={"Authorization": "Bearer k-user"}).status_code == 200
        _err(c.get("/v1/users/bob/sessions", headers={"Authorization": "Bearer k-user"}), 403)
        got = c.get("/v1/users/bob/sessions", headers={"Authorization": "Bearer k-admin"})
        assert [s["session_id"] for s in got.json()["data"]] == ["keep-me"]
    oai = openai.OpenAI(base_url=fpps_server.url + "/v1", api_key="k-user", max_retries=0)
    r = oai.chat.completions.create(model="fpps", messages=Q_FACT, max_tokens=4, user="bob")
    assert r.model_extra["fpps"]["sessions"] == 1
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=fpps_server.url + "/v1", api_key="nope", max_retries=0).models.list()
