"""Fault injection against a real `fpps serve` (the conftest `Server`): a kill -9 of the model
replica under load, a kill -9 of the whole server during memory writes, and a client that hangs
up mid-stream.

Every wait polls a condition against a deadline; no test sleeps and hopes. Processes are found
through psutil and only inside the server's own session (`Server` starts it with
`start_new_session`), so Ray processes of other jobs on the same host are never touched.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server, wait_for, with_test_artifact

pytestmark = pytest.mark.slow

REQUEST_TIMEOUT_S = 60
# Greedy SmolLM2 answers this in a loop that runs to any max_tokens (checked to 1000 tokens,
# finish_reason "length"), so a stream of it never ends early on its own.
LONG_Q = [{"role": "user", "content": "Write a very long story about a dragon who lives in a castle. "
                                      "Make it as long as you can."}]
Q_FACT = [{"role": "user", "content": "What is the capital of Australia?"}]
ERROR_FIELDS = {"message", "type", "param", "code"}


# ---- helpers ------------------------------------------------------------------------------

def _server_args(work: Path, **over: Any) -> dict[str, Any]:
    return with_test_artifact(work, {"database_url": f"sqlite:///{work / 'memory.db'}", "default_max_tokens": 8,
                                     "request_timeout_s": REQUEST_TIMEOUT_S, "max_batch_size": 4,
                                     "max_queue": 4, **over})


def _session_procs(server: Server) -> list[Any]:
    """Live processes of the server's session (the `fpps serve` driver and all of Ray's)."""
    import psutil

    assert server.proc is not None
    out = []
    for p in psutil.process_iter(["pid", "status"]):
        try:
            if os.getsid(p.pid) == server.proc.pid and p.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(p)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return out


def _replica_pids(server: Server, deployment: str = "FppsModel") -> list[int]:
    """PIDs of the server's Ray worker processes that host a `deployment` replica."""
    import psutil

    tag = f"ServeReplica:fpps:{deployment}"
    pids = []
    for p in _session_procs(server):
        try:
            if tag in " ".join(p.cmdline()):
                pids.append(p.pid)
        except psutil.Error:
            continue
    return pids


def _kill_9_and_wait_gone(server: Server) -> None:
    """kill -9 the server's process group, then every straggler of its session, and wait until
    none is left (so that at most one server ever runs)."""
    server.kill()

    def gone() -> bool:
        left = _session_procs(server)
        for p in left:  # a Ray process in its own process group but our session
            try:
                p.kill()
            except Exception:  # noqa: BLE001 - it exited meanwhile
                pass
        return not left

    wait_for("the killed server's processes to exit", gone, 60)


def _ready(server: Server) -> dict[str, Any] | None:
    try:
        r = httpx.get(server.url + "/ready", timeout=30)
    except httpx.HTTPError:
        return None
    return r.json() if r.status_code == 200 else None


def _proxy_idle(server: Server) -> bool:
    """The HTTP proxy's admission count (admission.py, read from /metrics) is back to 0: a
    request that ended badly must not keep its slot there either."""
    try:
        text = httpx.get(server.url + "/metrics", timeout=30).text
    except httpx.HTTPError:
        return False
    return "fpps_proxy_inflight_requests 0\n" in text


def _chat(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("messages", Q_FACT)
    body.setdefault("max_tokens", 8)
    return client.post("/v1/chat/completions", json=body)


def _assert_openai_error(status: int, content_type: str, text: str) -> dict[str, Any]:
    assert content_type.startswith("application/json"), (status, content_type, text[:300])
    err = json.loads(text)["error"]
    assert set(err) == ERROR_FIELDS and err["message"], err
    return err


def test_a_lost_replica_maps_to_a_retryable_503():
    """Ray's actor-death errors are a 503 with Retry-After, not an internal 500."""
    from ray.exceptions import ActorDiedError, ActorUnavailableError

    from fpps.server.http.errors import REPLICA_LOST_RETRY_AFTER_S, to_http

    for exc in (ActorDiedError(), ActorUnavailableError("replica restarting", None)):
        status, body, headers = to_http(exc, "req-1")
        assert status == 503 and headers == {"Retry-After": str(REPLICA_LOST_RETRY_AFTER_S)}, (exc, status, body)
        assert body["error"]["code"] == "model_unavailable" and set(body["error"]) == ERROR_FIELDS
    assert to_http(RuntimeError("boom"), "req-2")[0] == 500


# ---- 1. kill -9 of the whole server during memory writes -----------------------------------
# First in the module: it runs its own two servers before the module's shared one starts.

def test_acknowledged_sessions_survive_a_kill_9_of_the_whole_server(tmp_path):
    db = tmp_path / "memory.db"
    args = _server_args(tmp_path)
    server = Server(tmp_path, args).start()
    acked: list[tuple[str, str, str]] = []  # (user, session_id, content) of every 201
    lock = threading.Lock()
    writers = 6

    def write(w: int) -> str:
        user, i = f"writer-{w}", 0
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while True:
                sid, content = f"s{i:05d}", f"writer {w} session {i}"
                try:
                    r = c.post(f"/v1/users/{user}/sessions", json={
                        "session_id": sid, "date": "2024/05/01",
                        "messages": [{"role": "user", "content": content},
                                     {"role": "assistant", "content": f"noted {w}-{i}"}]})
                except httpx.HTTPError as e:  # the server went away mid-request
                    return type(e).__name__
                if r.status_code == 201:
                    with lock:
                        acked.append((user, sid, content))
                elif r.status_code != 503:  # shedding is allowed; anything else is a bug
                    return f"unexpected {r.status_code}: {r.text[:200]}"
                i += 1

    try:
        with cf.ThreadPoolExecutor(writers) as pool:
            futures = [pool.submit(write, w) for w in range(writers)]
            wait_for("30 acknowledged writes", lambda: len(acked) >= 30 or any(f.done() for f in futures), 120)
            assert not any(f.done() for f in futures), [f.result() for f in futures if f.done()]
            _kill_9_and_wait_gone(server)  # while all writers are still writing
            endings = [f.result(timeout=60) for f in futures]
    finally:
        _kill_9_and_wait_gone(server)
    assert not [e for e in endings if e.startswith("unexpected")], endings
    with lock:
        acked_now = list(acked)
    print(f"kill -9 after {len(acked_now)} acknowledged session writes; writers ended with {endings}")

    # The file as the crash left it (SQLite replays the WAL on open).
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    again = Server(tmp_path, args).start()
    try:
        with again.client() as c:
            for w in range(writers):
                user = f"writer-{w}"
                want = {(sid, content) for u, sid, content in acked_now if u == user}
                r = c.get(f"/v1/users/{user}/sessions")
                if not want and r.status_code == 404:
                    continue
                assert r.status_code == 200, r.text
                stored = {s["session_id"]: s for s in r.json()["data"]}
                missing = {sid for sid, _ in want if sid not in stored}
                assert not missing, f"{user}: acknowledged sessions lost after kill -9: {sorted(missing)}"
                for sid, content in want:
                    assert stored[sid]["messages"][0]["content"] == content
                    assert stored[sid]["date"] == "2024/05/01" and len(stored[sid]["messages"]) == 2
            # The restarted server writes to the recovered file as usual.
            r = c.post("/v1/users/after-crash/sessions", json={"messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 201, r.text
        code = again.stop()
        assert code == 0, f"restarted server did not shut down gracefully ({code}):\n{again.tail()}"
    finally:
        _kill_9_and_wait_gone(again)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


# ---- the shared server: one batch row, so in-flight work is easy to see in /ready ----------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("fpps-faults")
    srv = Server(work, _server_args(work, max_batch_size=1, max_queue=4)).start()
    yield srv
    try:
        srv.stop()
    finally:
        _kill_9_and_wait_gone(srv)


# ---- 2. kill -9 of the model replica under load -------------------------------------------

def _post(server: Server, body: dict[str, Any]) -> tuple[int, str, str, str | None]:
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S + 60) as c:
        r = c.post("/v1/chat/completions", json=body)
        return r.status_code, r.headers.get("content-type", ""), r.text, r.headers.get("retry-after")


def _post_stream(server: Server, body: dict[str, Any],
                 started: threading.Event | None = None) -> tuple[int, str, str, str | None]:
    """Like `_post` for a stream; the text is the error body, or the stream's last data event.
    `started` is set at the first content chunk."""
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S + 60) as c:
        with c.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
            if r.status_code != 200:
                return r.status_code, r.headers.get("content-type", ""), r.read().decode(), r.headers.get("retry-after")
            last = ""
            for line in r.iter_lines():
                if line.startswith("data: "):
                    last = line[6:]
                    if started is not None and '"content":"' in last and '"content":""' not in last:
                        started.set()
            return 200, r.headers.get("content-type", ""), last, None


def test_kill_9_of_the_model_replica_ends_in_flight_requests_and_the_service_recovers(server):
    before = _replica_pids(server)
    assert len(before) == 1, f"expected one FppsModel replica in the server's session, found {before}"
    # Long enough that none ends before the kill even on fast hardware; all are killed anyway.
    body = {"messages": LONG_Q, "max_tokens": 256}
    n_plain = 3
    streaming = threading.Event()
    with cf.ThreadPoolExecutor(n_plain + 1) as pool:
        t0 = time.monotonic()
        # The stream takes the one batch row and is mid-answer; the plain requests queue behind it.
        stream = pool.submit(_post_stream, server, {**body, "max_tokens": 2000}, streaming)
        wait_for("the stream's first token", lambda: streaming.is_set() or stream.done(), 60, every=0.05)
        assert not stream.done(), stream.result()
        futures = [pool.submit(_post, server, body) for _ in range(n_plain)]

        def all_in_flight() -> dict[str, int] | None:
            info = _ready(server)
            load = info["load"] if info else None
            if load and load["running"] == 1 and load["waiting"] >= n_plain:
                return load
            done = [f.result() for f in [stream, *futures] if f.done()]
            if done:  # one finished (or failed) before the rest arrived
                pytest.fail(f"a request ended before the kill: {done}")
            return None

        load = wait_for("all requests in the engine", all_in_flight, 60, every=0.1)
        os.kill(before[0], signal.SIGKILL)
        t_kill = time.monotonic()
        results = [f.result(timeout=REQUEST_TIMEOUT_S + 90) for f in futures]
        s_status, s_ctype, s_last, _ = stream.result(timeout=REQUEST_TIMEOUT_S + 90)
    ended = time.monotonic()
    print(f"load at kill {load} ({t_kill - t0:.1f} s after the stream started); all ended "
          f"{ended - t_kill:.1f} s after the kill: {[r[:2] for r in results]}, stream: {s_status} {s_last[:160]}")

    # The stream had started (200): it ends with the OpenAI error object as its final event.
    assert s_status == 200 and s_ctype.startswith("text/event-stream"), (s_status, s_ctype)
    err = json.loads(s_last)["error"]
    assert set(err) == ERROR_FIELDS and err["code"] == "model_unavailable", s_last
    # The queued ones had no answer yet: a retryable 503, not a bare 500 or a timeout.
    for status, ctype, text, retry_after in results:
        err = _assert_openai_error(status, ctype, text)
        assert status == 503 and retry_after and err["code"] == "model_unavailable", (status, err, retry_after)

    # Ray Serve replaces the replica; the service answers again without a restart.
    info = wait_for("/ready after the replica was killed", lambda: _ready(server), 180, every=1.0)
    recovered = time.monotonic() - t_kill
    after = _replica_pids(server)
    assert len(after) == 1 and after != before, (before, after)
    with server.client() as c:
        r = _chat(c)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"]
    print(f"ready again {recovered:.1f} s after the kill (replica {before[0]} -> {after[0]}, {info['load']})")
    wait_for("the proxy's admission count back to 0", lambda: _proxy_idle(server), 10, every=0.2)


# ---- 3. a client that hangs up mid-stream frees its batch row -----------------------------

def test_client_disconnect_mid_stream_frees_the_batch_slot(server):
    info = wait_for("/ready", lambda: _ready(server), 180, every=1.0)
    assert info["capacity"]["max_batch_size"] == 1
    max_tokens, seen = 2000, 8
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as c:
        with c.stream("POST", "/v1/chat/completions",
                      json={"messages": LONG_Q, "max_tokens": max_tokens, "stream": True}) as r:
            assert r.status_code == 200
            stamps: list[float] = []
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choice = json.loads(line[6:])["choices"][0]
                assert choice.get("finish_reason") is None, choice  # still generating
                if choice["delta"].get("content"):
                    stamps.append(time.monotonic())
                    if len(stamps) == seen:
                        busy = _ready(server)  # before the break: leaving the line iterator hangs up
                        break
        # Leaving the loop (and the blocks) closes the response and the connection mid-stream.
    hung_up = time.monotonic()
    assert busy is not None and busy["load"]["running"] == 1, busy
    per_token = (stamps[-1] - stamps[0]) / (seen - 1)  # a chunk carries at least one token
    remaining = (max_tokens - seen) * per_token  # when the stream would have ended by itself

    def idle() -> dict[str, Any] | None:
        info = _ready(server)
        return info if info and info["load"]["running"] == 0 and info["load"]["waiting"] == 0 else None

    freed = wait_for("the batch row to be freed", idle, min(60.0, remaining / 2), every=0.2)
    t_freed = time.monotonic() - hung_up
    with server.client() as c:
        r = _chat(c, max_tokens=8)
        assert r.status_code == 200, r.text
    t_next = time.monotonic() - hung_up
    print(f"{per_token * 1000:.0f} ms/token; row free {t_freed:.2f} s and the next request done "
          f"{t_next:.2f} s after the hang-up (the stream had about {remaining:.0f} s to go)")
    assert freed["load"] == {"running": 0, "waiting": 0, "twins": 0}
    wait_for("the proxy's admission count back to 0", lambda: _proxy_idle(server), 10, every=0.2)
    assert t_next < remaining / 2, (t_next, remaining)
