"""Faults of what fpps depends on, against a real `fpps serve`: the memory database stops under
load (a private PostgreSQL server), a SQLite disk goes read-only or full, the audit file fills.

Every answer must be a 2xx or a 503/507 in the OpenAI error shape with `Retry-After`: never a
500, never a hang past the store's bound. `/ready` names the store while it is down and recovers
without a restart, and every acknowledged write is there afterwards.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server, wait_for, with_test_artifact
from tests.faultdisk import remount

pytestmark = pytest.mark.slow

STORE_TIMEOUT_S = 2.0
BOUND_S = 2 * STORE_TIMEOUT_S  # a store call is answered within this (ingress.store_call)
Q = [{"role": "user", "content": "What is the capital of Australia?"}]
SESSION = [{"role": "user", "content": "I just moved to Sydney, I love the harbour here."},
           {"role": "assistant", "content": "Sydney is a wonderful place to live!"}]


def _args(work: Path, database_url: str, **over: Any) -> dict[str, Any]:
    return with_test_artifact(work, {"database_url": database_url, "default_max_tokens": 2,
                                     "request_timeout_s": 60, "max_batch_size": 4, "max_queue": 16,
                                     "store_timeout_s": STORE_TIMEOUT_S, **over})


def _assert_store_error(r: httpx.Response, status: int = 503, code: str = "store_unavailable",
                        kind_words: str = "") -> None:
    assert r.status_code == status, (r.status_code, r.text)
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["code"] == code
    assert "memory store" in err["message"] and kind_words in err["message"]
    assert int(r.headers["retry-after"]) > 0


def _metric(c: httpx.Client, kind: str) -> float:
    for line in c.get("/metrics").text.splitlines():
        if line.startswith(f'fpps_store_errors_total{{kind="{kind}"}}'):
            return float(line.split()[-1])
    return 0.0


# ---- PostgreSQL stopped for 10 s under load -----------------------------------------------

def test_postgres_stop_under_load_is_503_then_recovers_without_losing_writes(tmp_path, pg_cluster):
    server = Server(tmp_path, _args(tmp_path, pg_cluster.url)).start()
    try:
        _postgres_outage(server, pg_cluster, tmp_path)
    finally:
        server.stop()
        server.kill()


def _postgres_outage(server: Server, cluster: Any, work: Path) -> None:
    users = [f"load-{i}" for i in range(4)]
    with server.client(timeout=60) as c:
        for u in users:
            assert c.post(f"/v1/users/{u}/sessions", json={"messages": SESSION, "session_id": "seed"}).status_code == 201
        assert c.get("/ready").status_code == 200

    results: list[dict[str, Any]] = []  # one per request: kind, status, seconds, t, retry-after, id
    ready_log: list[tuple[float, int, dict[str, Any]]] = []
    lock, stop = threading.Lock(), threading.Event()
    t0 = time.monotonic()

    def record(kind: str, r: httpx.Response | None, started: float, **extra: Any) -> None:
        row = {"kind": kind, "status": r.status_code if r is not None else None, "t": started - t0,
               "seconds": time.monotonic() - started,
               "retry_after": r.headers.get("retry-after") if r is not None else None,
               "code": (r.json().get("error") or {}).get("code") if r is not None and r.status_code >= 400 else None,
               **extra}
        with lock:
            results.append(row)

    def writer(w: int) -> None:
        n = 0
        with server.client(timeout=60) as c:
            while not stop.is_set():
                sid = f"w{w}-{n}"
                n += 1
                started = time.monotonic()
                try:
                    r = c.post(f"/v1/users/{users[w % len(users)]}/sessions",
                               json={"messages": SESSION, "session_id": sid})
                except httpx.HTTPError as e:
                    record("write", None, started, session_id=sid, error=type(e).__name__)
                    continue
                record("write", r, started, session_id=sid, user=users[w % len(users)])
                if r.status_code >= 500:
                    time.sleep(0.2)

    def chatter(k: int) -> None:
        with server.client(timeout=60) as c:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    r = c.post("/v1/chat/completions", json={"messages": Q, "max_tokens": 2,
                                                             "user": users[k % len(users)]})
                except httpx.HTTPError as e:
                    record("chat", None, started, error=type(e).__name__)
                    continue
                record("chat", r, started, sessions=r.json().get("fpps", {}).get("sessions")
                       if r.status_code == 200 else None)
                if r.status_code >= 500:
                    time.sleep(0.2)

    def prober() -> None:
        with server.client(timeout=30) as c:
            while not stop.is_set():
                r = c.get("/ready")
                ready_log.append((time.monotonic() - t0, r.status_code, r.json()))
                time.sleep(0.5)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=chatter, args=(k,)) for k in range(2)]
    threads.append(threading.Thread(target=prober))
    for th in threads:
        th.start()
    try:
        time.sleep(3)
        cluster.stop()
        t_stop = time.monotonic() - t0
        time.sleep(10)
        cluster.start()
        t_start = time.monotonic() - t0

        def recovered() -> bool:
            with lock:
                return any(x["kind"] == "write" and x["status"] == 201 and x["t"] > t_start for x in results) and \
                    any(x["kind"] == "chat" and x["status"] == 200 and x["t"] > t_start for x in results)

        wait_for("writes and personalized chats after PostgreSQL came back", recovered, 60)
        wait_for("/ready back to 200", lambda: ready_log and ready_log[-1][1] == 200 and ready_log[-1][0] > t_start, 30)
        # Then it hangs (connections open, nothing answers) for 3 bounds: answered within the bound.
        t_freeze = time.monotonic() - t0
        cluster.freeze()
        time.sleep(3 * BOUND_S)
        cluster.thaw()
        t_thaw = time.monotonic() - t0
        wait_for("a write after PostgreSQL answered again", lambda: any(
            x["kind"] == "write" and x["status"] == 201 and x["t"] > t_thaw for x in list(results)), 60)
        time.sleep(1)
    finally:
        stop.set()
        for th in threads:
            th.join(90)

    # Every answer: a 2xx, or a 503 store_unavailable with Retry-After. No 500, no transport error.
    bad = [x for x in results if not (x["status"] in (200, 201) or
                                      (x["status"] == 503 and x["retry_after"] and x["code"] == "store_unavailable"))]
    assert bad == [], bad[:5]
    longest = max(x["seconds"] for x in results if x["t"] < t_freeze)
    assert longest < BOUND_S + 10, longest  # the store bound, plus a 2-token answer on a busy CPU
    outage = [x for x in results if t_stop + 0.5 < x["t"] < t_start - 0.5]
    stop_phase = [x for x in results if x["t"] < t_freeze]
    assert outage and all(x["status"] == 503 for x in outage if x["kind"] == "write")
    hung = [x for x in results if t_freeze + 0.5 < x["t"] < t_thaw - BOUND_S - 1]
    assert hung and all(x["status"] == 503 and x["seconds"] < BOUND_S + 5 for x in hung), hung[:3]
    # Personalized chats are never silently unpersonalized: a 200 always used the user's sessions.
    assert all(x["sessions"] and x["sessions"] >= 1 for x in results if x["kind"] == "chat" and x["status"] == 200)
    # /ready named the store while it was down, and came back.
    down = [body for t, code, body in ready_log if code == 503 and t < t_freeze]
    assert any(code == 503 and body["components"]["store"]["kind"] == "timeout"
               for t, code, body in ready_log if t_freeze < t < t_thaw)
    assert down and all(b["failing"] == ["store"] and b["components"]["store"]["kind"] == "unreachable"
                        for b in down)
    assert ready_log[-1][1] == 200 and ready_log[-1][2]["components"]["store"]["status"] == "ok"

    with server.client(timeout=60) as c:
        assert _metric(c, "unreachable") > 0
        stored = {u: {s["session_id"] for s in c.get(f"/v1/users/{u}/sessions").json()["data"]} for u in users}
    acked = [x for x in results if x["kind"] == "write" and x["status"] == 201]
    lost = [x["session_id"] for x in acked if x["session_id"] not in stored[x["user"]]]
    assert lost == []
    after = [x["t"] for x in results if x["status"] in (200, 201) and x["t"] > t_start]
    after_hang = [x["t"] for x in results if x["status"] in (200, 201) and x["t"] > t_thaw]
    report = {"requests": len(stop_phase), "status_2xx": sum(x["status"] in (200, 201) for x in stop_phase),
              "status_503": sum(x["status"] == 503 for x in stop_phase),
              "status_500": sum(x["status"] == 500 for x in stop_phase),
              "other": sum(x["status"] not in (200, 201, 503, 500) for x in stop_phase),
              "longest_request_s": round(longest, 3),
              "restart_to_first_2xx_s": round(min(after) - t_start, 3),
              "ready_503_probes": len(down), "writes_acknowledged": len(acked), "writes_lost": len(lost),
              "outage_s": round(t_start - t_stop, 2),
              "hang_s": round(t_thaw - t_freeze, 2), "hang_503": sum(x["status"] == 503 for x in hung),
              "hang_longest_s": round(max(x["seconds"] for x in hung), 3),
              "thaw_to_first_2xx_s": round(min(after_hang) - t_thaw, 3)}
    (work / "pg-outage.json").write_text(json.dumps(report, indent=2))
    print("\nPostgreSQL outage:", json.dumps(report))


# ---- SQLite on a disk that goes read-only, then full ---------------------------------------

def _fill(path: Path) -> None:
    """Append to `path` until the disk is full."""
    with open(path, "ab", buffering=0) as f:
        chunk = b"\0" * 65536
        while True:
            try:
                f.write(chunk)
            except OSError:
                if len(chunk) == 1:
                    return
                chunk = chunk[: len(chunk) // 2]


def test_sqlite_read_only_and_full_disk_are_503_and_507_then_writes_resume(tmp_path, small_disk):
    disk = small_disk("2m")
    db = disk / "memory.db"
    server = Server(tmp_path, _args(tmp_path, f"sqlite:///{db}")).start()
    try:
        with server.client(timeout=60) as c:
            acked = []

            def write(sid: str) -> httpx.Response:
                r = c.post("/v1/users/ann/sessions", json={"messages": SESSION, "session_id": sid})
                if r.status_code == 201:
                    acked.append(sid)
                return r

            assert write("before").status_code == 201
            # Read-only.
            remount(disk, "ro")
            _assert_store_error(write("ro-1"), kind_words="read-only")
            _assert_store_error(c.post("/v1/chat/completions", json={"messages": Q, "user": "ann"}),
                                kind_words="read-only")
            assert c.post("/v1/chat/completions", json={"messages": Q}).status_code == 200  # no memory needed
            ready = c.get("/ready")
            assert ready.status_code == 503 and ready.json()["components"]["store"]["kind"] == "read_only"
            remount(disk, "rw")
            assert write("after-ro").status_code == 201
            assert c.get("/ready").status_code == 200
            # Full.
            junk = disk / "junk"
            _fill(junk)
            r = write("full-1")
            _assert_store_error(r, 507, "store_full", "full disk")
            ready = c.get("/ready")
            assert ready.status_code == 503 and ready.json()["components"]["store"]["kind"] == "disk_full"
            assert _metric(c, "read_only") >= 2 and _metric(c, "disk_full") >= 1
            junk.unlink()
            assert write("after-full").status_code == 201
            assert c.get("/ready").status_code == 200
            listed = [s["session_id"] for s in c.get("/v1/users/ann/sessions").json()["data"]]
            assert listed == acked == ["before", "after-ro", "after-full"]
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        server.stop()
        server.kill()


# ---- the audit file ---------------------------------------------------------------------------

def test_audit_log_that_cannot_be_written_fails_closed_and_refusals_are_audited(tmp_path, small_disk):
    audit = small_disk("2m") / "audit.jsonl"
    keys = tmp_path / "keys.yaml"
    keys.write_text("keys:\n  tenant:\n    key: sk-tenant-secret\n    users: [ann]\n")
    server = Server(tmp_path, _args(tmp_path, f"sqlite:///{tmp_path / 'memory.db'}", audit_log=str(audit),
                                    api_key_file=str(keys))).start()
    try:
        with server.client(timeout=60, headers={"authorization": "Bearer sk-tenant-secret"}) as c:
            ok = c.post("/v1/chat/completions", json={"messages": Q})
            assert ok.status_code == 200
            denied = c.post("/v1/chat/completions", json={"messages": Q, "user": "bob"})
            assert denied.status_code == 403
            with server.client(timeout=60) as anon:
                assert anon.post("/v1/chat/completions", json={"messages": Q}).status_code == 401
            lines = [json.loads(ln) for ln in audit.read_text().splitlines()]
            refusals = [ln for ln in lines if ln["event"] == "denied"]
            assert {(ln["status"], ln["key_id"], ln["user"], ln["param"]) for ln in refusals} == {
                (403, "tenant", "bob", "user"), (401, "unauthenticated", None, None)}
            assert all(ln["route"] == "/v1/chat/completions" and ln["method"] == "POST" for ln in refusals)
            assert "sk-tenant-secret" not in audit.read_text() and "capital" not in audit.read_text()
            # The disk fills: the answer is withheld (fail closed), plainly and streamed.
            size = audit.stat().st_size
            _fill(audit)
            r = c.post("/v1/chat/completions", json={"messages": Q})
            assert r.status_code == 503 and r.json()["error"]["code"] == "audit_unavailable"
            assert r.headers["retry-after"]
            with c.stream("POST", "/v1/chat/completions", json={"messages": Q, "stream": True}) as s:
                events = [ln for ln in s.iter_lines() if ln.startswith("data: ")]
            assert json.loads(events[-1][6:])["error"]["code"] == "audit_unavailable"
            # Room again: served and audited again.
            os.truncate(audit, size)
            again = c.post("/v1/chat/completions", json={"messages": Q})
            assert again.status_code == 200
            assert again.headers["x-fpps-request-id"] in audit.read_text()
    finally:
        server.stop()
        server.kill()
