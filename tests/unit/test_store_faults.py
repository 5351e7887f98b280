"""`MemoryStore` when its database fails (a private PostgreSQL server, SQLite on a small tmpfs),
how those faults become HTTP errors, and the audit file's failure policy."""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
import threading
import time

import pytest

from fpps.server.http import audit
from fpps.server.http.errors import to_http
from fpps.server.memory.store import MemoryStore
from fpps.server.memory.types import StoreUnavailableError
from tests.faultdisk import remount

MSG = [{"role": "user", "content": "I live in Lyon."}]


def _raises(kind: str, fn, *args, **kw) -> float:
    t = time.monotonic()
    with pytest.raises(StoreUnavailableError) as e:
        fn(*args, **kw)
    assert e.value.kind == kind, (e.value.kind, e.value.detail)
    return time.monotonic() - t


# ---- PostgreSQL ---------------------------------------------------------------------------

def test_postgres_stopped_is_unreachable_at_once_and_recovers_without_a_new_store(pg_cluster):
    store = MemoryStore(pg_cluster.url, timeout_s=2)
    store.add_session("ann", MSG, session_id="a")
    pg_cluster.stop()
    for call in (lambda: store.add_session("ann", MSG, session_id="b"), lambda: store.list_sessions("ann"),
                 store.check, lambda: store.delete_user("ann")):
        assert _raises("unreachable", call) < 2
    pg_cluster.start()
    store.check()
    store.add_session("ann", MSG, session_id="c")
    assert [s.session_id for s in store.list_sessions("ann")] == ["a", "c"]
    err = pytest.raises(StoreUnavailableError, lambda: (pg_cluster.stop(), store.check())).value
    assert "postgresql" in str(err) and "fpps_test" in str(err)
    assert "@" not in err.store  # no credentials in what clients see


def test_postgres_down_at_start_creates_its_tables_once_it_answers(pg_cluster):
    pg_cluster.stop()
    store = MemoryStore(pg_cluster.url, timeout_s=2)  # does not raise: the server starts unready
    _raises("unreachable", store.check)
    pg_cluster.start()
    store.add_session("ann", MSG)
    assert len(store.list_sessions("ann")) == 1


def test_postgres_lock_held_elsewhere_is_a_timeout_within_the_bound(pg_cluster):
    store = MemoryStore(pg_cluster.url, timeout_s=1)
    store.add_session("ann", MSG, session_id="a")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        from sqlalchemy import text

        with store.engine.begin() as conn:  # another client locks the user's rows
            conn.execute(text("SELECT * FROM fpps_users WHERE user_id = 'ann' FOR UPDATE"))
            held.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    try:
        held.wait(10)
        assert _raises("timeout", store.delete_user, "ann") < 3
    finally:
        release.set()
        t.join()
    assert store.delete_user("ann") == 1


# ---- SQLite ---------------------------------------------------------------------------------

def test_sqlite_locked_by_another_writer_is_a_timeout(tmp_path):
    db = tmp_path / "m.db"
    store = MemoryStore(f"sqlite:///{db}", timeout_s=0.5)
    store.add_session("ann", MSG)
    other = sqlite3.connect(db, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        assert _raises("timeout", store.add_session, "ann", MSG) < 3
    finally:
        other.rollback()
        other.close()
    store.add_session("ann", MSG)
    assert len(store.list_sessions("ann")) == 2


def test_sqlite_read_only_then_full_disk_keeps_the_file_intact(small_disk):
    disk = small_disk("512k")
    db = disk / "m.db"
    store = MemoryStore(f"sqlite:///{db}", timeout_s=1)
    store.add_session("ann", MSG, session_id="s0")
    remount(disk, "ro")
    _raises("read_only", store.add_session, "ann", MSG)
    _raises("read_only", store.check)
    remount(disk, "rw")
    store.check()
    reserve = disk / "reserve"  # what the operator frees afterwards
    reserve.write_bytes(b"\0" * 128 * 1024)
    acked = ["s0"]
    big = [{"role": "user", "content": "x" * 4000}]
    with pytest.raises(StoreUnavailableError) as full:
        for i in range(1, 1000):
            store.add_session("ann", big, session_id=f"s{i}")
            acked.append(f"s{i}")
    assert full.value.kind == "disk_full"
    _raises("disk_full", store.add_session, "ann", big, session_id="again")
    assert [s.session_id for s in store.list_sessions("ann")] == acked  # reads still work
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    _raises("disk_full", store.delete_user, "ann")  # even a delete needs room for its WAL frames
    reserve.unlink()
    store.check()
    store.add_session("ann", MSG, session_id="after")  # writes resume, with the same store
    assert [s.session_id for s in store.list_sessions("ann")] == acked + ["after"]


# ---- HTTP mapping -------------------------------------------------------------------------

@pytest.mark.parametrize("kind,status,code", [("unreachable", 503, "store_unavailable"),
                                              ("timeout", 503, "store_unavailable"),
                                              ("read_only", 503, "store_unavailable"),
                                              ("disk_full", 507, "store_full")])
def test_store_faults_are_503_or_507_with_retry_after_and_cross_pickling(kind, status, code):
    err = pickle.loads(pickle.dumps(StoreUnavailableError(kind, "postgresql db:5432/fpps", "boom")))
    assert (err.kind, err.store, err.detail) == (kind, "postgresql db:5432/fpps", "boom")
    got, body, headers = to_http(err, "rid")
    assert got == status and body["error"]["code"] == code and int(headers["Retry-After"]) > 0
    assert "postgresql db:5432/fpps" in body["error"]["message"] and "boom" not in body["error"]["message"]
    with pytest.raises(ValueError):
        StoreUnavailableError("sad", "x")


# ---- the audit file ---------------------------------------------------------------------------

@pytest.fixture
def no_audit_files(monkeypatch):
    monkeypatch.setattr(audit, "_files", {})


def _steer() -> None:
    audit.audit_steering(request_id="r1", key_id="k", user=None, choice=0, mode="off", p_hat=None,
                         gate="none", strength=0.0, sessions=0, finish_reason="stop")


def test_audit_file_that_cannot_be_opened_refuses_at_start(tmp_path, no_audit_files):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(audit.AuditUnavailableError, match="a-file"):
        audit.configure_audit_log(str(blocker / "audit.jsonl"))


def test_audit_write_failure_fails_closed_unless_fail_open(no_audit_files, caplog):
    audit.configure_audit_log("/dev/full")  # every write: ENOSPC
    with pytest.raises(audit.AuditUnavailableError, match="No space"):
        _steer()
    with caplog.at_level(logging.ERROR, logger="fpps.server"):
        audit.audit_denied(request_id="r2", status=403, key_id="k", route="/v1/chat/completions",
                           method="POST", user="bob", param="user")  # a refusal is refused anyway
    assert "audit line lost" in caplog.text
    audit.configure_audit_log("/dev/full", fail_open=True)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="fpps.server"):
        _steer()  # served; the loss is logged
    assert "audit line lost" in caplog.text and "r1" in caplog.text


def test_audit_lines_are_appended_one_per_call(tmp_path, no_audit_files):
    path = tmp_path / "sub" / "audit.jsonl"
    audit.configure_audit_log(str(path))
    _steer()
    audit.audit_denied(request_id="r2", status=401, key_id=None, route="/v1/models", method="GET",
                       user=None, param=None)
    lines = [json.loads(ln) for ln in path.read_text().splitlines()]
    assert [ln["event"] for ln in lines] == ["steering", "denied"]
    assert lines[1]["key_id"] == "unauthenticated" and lines[1]["status"] == 401
