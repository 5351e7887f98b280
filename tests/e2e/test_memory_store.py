"""`MemoryStore` on a real SQLite file, and on PostgreSQL when `FPPS_TEST_PG_URL` is set."""

import os
import sqlite3
import threading
import uuid

import pytest

from fpps.server.memory import MemoryStore, UnknownSessionError, UnknownUserError, sqlite_url

pytestmark = pytest.mark.slow

PG_URL = os.environ.get("FPPS_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = MemoryStore(sqlite_url(tmp_path / "memory.db"))
    else:
        if not PG_URL:
            pytest.skip("FPPS_TEST_PG_URL not set (.ci/postgres.sh starts a server)")
        s = MemoryStore(PG_URL)
    yield s
    s.close()


def _uid() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"  # PostgreSQL is shared between runs


def test_round_trip_keeps_order_and_content(store):
    user = _uid()
    a = store.add_session(user, [{"role": "user", "content": "I live in Sydney."},
                                 {"role": "assistant", "content": "Nice city!"}], date="2024-01-02")
    b = store.add_session(user, [{"role": "user", "content": "ünïcödé ✓"}], session_id="s-2")
    got = store.list_sessions(user)
    assert [s.session_id for s in got] == [a.session_id, "s-2"]
    assert got[0].date == "2024-01-02" and got[1].date is None
    assert list(got[0].messages) == [{"role": "user", "content": "I live in Sydney."},
                                     {"role": "assistant", "content": "Nice city!"}]
    assert got[1].messages[0]["content"] == "ünïcödé ✓"
    assert b.session_id == "s-2"


def test_unknown_user_and_session_raise_lookup_errors(store):
    user = _uid()
    with pytest.raises(UnknownUserError):
        store.list_sessions(user)
    with pytest.raises(UnknownUserError):
        store.delete_user(user)
    store.add_session(user, [{"role": "user", "content": "x"}], session_id="a")
    with pytest.raises(UnknownSessionError):
        store.delete_session(user, "missing")


def test_duplicate_session_id_and_bad_ids_are_rejected(store):
    user = _uid()
    store.add_session(user, [{"role": "user", "content": "x"}], session_id="a")
    with pytest.raises(ValueError, match="already has"):
        store.add_session(user, [{"role": "user", "content": "y"}], session_id="a")
    with pytest.raises(ValueError):
        store.add_session("bad id/..", [{"role": "user", "content": "y"}])
    with pytest.raises(ValueError):
        store.add_session(user, [])


def test_delete_session_and_user(store):
    user, other = _uid(), _uid()
    store.add_session(user, [{"role": "user", "content": "1"}], session_id="a")
    store.add_session(user, [{"role": "user", "content": "2"}], session_id="b")
    store.add_session(other, [{"role": "user", "content": "3"}], session_id="a")
    store.delete_session(user, "a")
    assert [s.session_id for s in store.list_sessions(user)] == ["b"]
    assert store.delete_user(user) == 1
    with pytest.raises(UnknownUserError):
        store.list_sessions(user)
    assert [s.session_id for s in store.list_sessions(other)] == ["a"]  # untouched


def test_concurrent_writers_lose_nothing(store):
    user = _uid()
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for j in range(5):
                store.add_session(user, [{"role": "user", "content": f"{k}-{j}"}], session_id=f"s{k}-{j}")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    # The first write creates the user; the rest race on sessions only.
    store.add_session(user, [{"role": "user", "content": "seed"}], session_id="seed")
    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(store.list_sessions(user)) == 21


def test_sqlite_file_is_wal_with_full_sync(tmp_path):
    path = tmp_path / "m.db"
    s = MemoryStore(sqlite_url(path))
    s.add_session("alice", [{"role": "user", "content": "x"}])
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    s.close()
    # A fresh store (a restarted server) sees the same data.
    assert sqlite3.connect(path).execute("select count(*) from fpps_sessions").fetchone()[0] == 1
    again = MemoryStore(sqlite_url(path))
    assert len(again.list_sessions("alice")) == 1
    again.close()
