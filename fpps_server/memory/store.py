"""User memory: each user's past chat sessions, stored through SQLAlchemy 2 (`MemoryStore`).

Three tables: `fpps_users`, `fpps_sessions` (one row per stored session, ordered by insertion)
and `fpps_messages` (one row per message, ordered by position). The default is a SQLite file
in WAL mode with `synchronous=FULL` (an acknowledged write survives a power cut); any SQLAlchemy
URL works, e.g. `postgresql+psycopg://user:pw@host/db` when several replicas share one store.

The store is synchronous; async callers run it in a worker thread. Unknown users and sessions
raise `UnknownUserError` / `UnknownSessionError` (`LookupError`s, HTTP 404 at the edge).

Faults of the database itself (it refuses or drops connections, does not answer within
`timeout_s`, is read-only, or its disk is full) raise `StoreUnavailableError` with a `kind`
(HTTP 503, 507 for a full disk), never a driver exception: every write is one transaction, so
a failed call wrote nothing and may be retried as is. The pool pings a connection before use
(`pool_pre_ping`), so a database that comes back is used again without a restart.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from sqlalchemy import (Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, delete, event, func, insert, select, text)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import IntegrityError

from .types import (SESSION_ID_PATTERN, USER_ID_PATTERN, StoreUnavailableError, UnknownSessionError,
                    UnknownUserError)

__all__ = ["DEFAULT_TIMEOUT_S", "MemoryStore", "StoredSession", "sqlite_url"]

DEFAULT_TIMEOUT_S = 5.0
"""Seconds the store waits for a connection, a lock or a statement before it gives up with
`StoreUnavailableError("timeout")`: a personalized chat waits on its history lookup, so a
database that hangs must cost a client seconds, not the request timeout."""
_MIN_FREE_BYTES = 64 * 1024  # a SQLite disk with less than this (16 pages) cannot take a session

_USER_RE, _SESSION_RE = re.compile(USER_ID_PATTERN), re.compile(SESSION_ID_PATTERN)


@dataclass(frozen=True)
class StoredSession:
    """One stored session: its id, optional date and messages (`{"role", "content"}` dicts)."""

    session_id: str
    date: str | None
    messages: tuple[dict[str, str], ...]
    created: str


_meta = MetaData()
_users = Table(
    "fpps_users", _meta,
    Column("user_id", String(128), primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
)
_sessions = Table(
    "fpps_sessions", _meta,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(128), ForeignKey("fpps_users.user_id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("session_id", String(128), nullable=False),
    Column("date", String(64), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "session_id", name="uq_fpps_session"),
)
_messages = Table(
    "fpps_messages", _meta,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("session_pk", Integer, ForeignKey("fpps_sessions.pk", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
)


def sqlite_url(path: str | Path) -> str:
    """SQLAlchemy URL of a SQLite file (parent folders are created)."""
    p = Path(path).expanduser().resolve()
    p.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{p}"


def _check_id(kind: str, value: str, pattern: re.Pattern[str]) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"invalid {kind} {value!r}: must match {pattern.pattern}")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class MemoryStore:
    """Per-user session memory in a SQL database (tables are created if missing).

    Args:
        url: SQLAlchemy URL (`sqlite:///path.db`, `postgresql+psycopg://user:pw@host/db`, ...).
        timeout_s: the bound on connecting, waiting for a pooled connection or a lock, and one
            statement (PostgreSQL: `connect_timeout`, `statement_timeout`, `lock_timeout`,
            `tcp_user_timeout`; SQLite: the busy timeout). Options given in the URL win.

    The tables are created at once, or by the first call once the database answers: a store
    that is down when the server starts makes it unready, not dead.
    """

    def __init__(self, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        u = make_url(url)
        self.url, self.timeout_s = url, float(timeout_s)
        self.dialect = u.get_backend_name()
        self.description = _describe(u)
        self._sqlite_file = Path(u.database) if self.dialect == "sqlite" and u.database not in (None, "", ":memory:") \
            else None
        self.engine: Engine = create_engine(u, **_engine_options(u, self.timeout_s))
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas(self.timeout_s))
        self._tables = False
        try:
            with self._guard():
                pass  # creates the tables
        except StoreUnavailableError:
            pass  # down at start: the server starts unready; the first call that gets through creates them

    def close(self) -> None:
        self.engine.dispose()

    # ---- faults -------------------------------------------------------------------------
    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn the database's own faults into `StoreUnavailableError`; everything else (bad
        ids, unknown users, bugs) passes through unchanged."""
        try:
            if not self._tables:
                _meta.create_all(self.engine)
                self._tables = True
            yield
        except sa_exc.TimeoutError as e:  # no pooled connection freed within pool_timeout
            raise self._fault("timeout", e) from None
        except sa_exc.DBAPIError as e:
            kind = _fault_kind(e, self.dialect)
            if kind is None:
                raise
            raise self._fault(kind, e) from None

    def _fault(self, kind: str, exc: BaseException) -> StoreUnavailableError:
        if kind == "unreachable" and self._sqlite_file is not None:
            # WAL needs its -shm and -wal files: on a read-only or full disk even opening fails.
            folder = self._sqlite_file.parent
            if not os.access(folder, os.W_OK):
                kind = "read_only"
            elif _free_bytes(folder) < _MIN_FREE_BYTES:
                kind = "disk_full"
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return StoreUnavailableError(kind, self.description, detail[0] if detail else type(exc).__name__)

    def check(self) -> None:
        """Raise `StoreUnavailableError` unless the store can take reads and writes now.

        Reads one row (so a database that refuses connections or hangs fails here), asks
        PostgreSQL whether it is read-only (a standby), and checks that a SQLite file's folder
        is writable and its disk has room. Writes nothing: readiness probes run often."""
        with self._guard():
            with self.engine.connect() as conn:
                conn.execute(select(1)).scalar()
                if self.dialect == "postgresql" and conn.execute(text("SHOW transaction_read_only")).scalar() == "on":
                    raise StoreUnavailableError("read_only", self.description, "transaction_read_only is on")
        if self._sqlite_file is not None:
            folder = self._sqlite_file.parent
            if not os.access(folder, os.W_OK) or (self._sqlite_file.exists() and not os.access(self._sqlite_file, os.W_OK)):
                raise StoreUnavailableError("read_only", self.description, f"{folder} is not writable")
            free = _free_bytes(folder)
            if free < _MIN_FREE_BYTES:
                raise StoreUnavailableError("disk_full", self.description, f"{free} bytes free")

    # ---- writes -------------------------------------------------------------------------
    def add_session(self, user_id: str, messages: Sequence[dict[str, str]], *,
                    session_id: str | None = None, date: str | None = None) -> StoredSession:
        """Store one session for `user_id` (created on first use) and return it.

        Raises:
            ValueError: bad ids, empty messages, or `session_id` already stored for this user.
        """
        _check_id("user_id", user_id, _USER_RE)
        session_id = session_id or uuid.uuid4().hex
        _check_id("session_id", session_id, _SESSION_RE)
        if not messages:
            raise ValueError("a session needs at least one message")
        msgs = tuple({"role": str(m["role"]), "content": str(m["content"])} for m in messages)
        now = _now()
        with self._guard(), self.engine.begin() as conn:
            if conn.execute(select(_users.c.user_id).where(_users.c.user_id == user_id)).first() is None:
                try:  # another replica may create the same user at the same moment
                    with conn.begin_nested():
                        conn.execute(insert(_users).values(user_id=user_id, created=now))
                except IntegrityError:
                    pass
            dup = conn.execute(select(_sessions.c.pk).where(
                _sessions.c.user_id == user_id, _sessions.c.session_id == session_id)).first()
            if dup is not None:
                raise ValueError(f"user '{user_id}' already has a session '{session_id}'")
            try:
                with conn.begin_nested():
                    pk = conn.execute(insert(_sessions).values(
                        user_id=user_id, session_id=session_id, date=date, created=now)).inserted_primary_key[0]
            except IntegrityError:
                raise ValueError(f"user '{user_id}' already has a session '{session_id}'") from None
            conn.execute(insert(_messages), [
                {"session_pk": pk, "position": i, "role": m["role"], "content": m["content"]}
                for i, m in enumerate(msgs)])
        return StoredSession(session_id, date, msgs, now.isoformat())

    def delete_session(self, user_id: str, session_id: str) -> None:
        """Raises `UnknownUserError` or `UnknownSessionError` if there is nothing to delete."""
        with self._guard(), self.engine.begin() as conn:
            self._require_user(conn, user_id)
            pk = conn.execute(select(_sessions.c.pk).where(
                _sessions.c.user_id == user_id, _sessions.c.session_id == session_id)).scalar()
            if pk is None:
                raise UnknownSessionError(user_id, session_id)
            conn.execute(delete(_messages).where(_messages.c.session_pk == pk))
            conn.execute(delete(_sessions).where(_sessions.c.pk == pk))

    def delete_user(self, user_id: str) -> int:
        """Forget a user and all their sessions; returns how many sessions were deleted."""
        with self._guard(), self.engine.begin() as conn:
            self._require_user(conn, user_id)
            pks = select(_sessions.c.pk).where(_sessions.c.user_id == user_id)
            n = conn.execute(select(func.count()).select_from(pks.subquery())).scalar() or 0
            conn.execute(delete(_messages).where(_messages.c.session_pk.in_(pks)))
            conn.execute(delete(_sessions).where(_sessions.c.user_id == user_id))
            conn.execute(delete(_users).where(_users.c.user_id == user_id))
        return int(n)

    # ---- reads --------------------------------------------------------------------------
    def has_user(self, user_id: str) -> bool:
        with self._guard(), self.engine.connect() as conn:
            return conn.execute(select(_users.c.user_id).where(_users.c.user_id == user_id)).first() is not None

    def list_sessions(self, user_id: str) -> list[StoredSession]:
        """The user's sessions in the order they were stored. Raises `UnknownUserError`."""
        with self._guard(), self.engine.connect() as conn:
            self._require_user(conn, user_id)
            rows = conn.execute(select(_sessions).where(_sessions.c.user_id == user_id)
                                .order_by(_sessions.c.pk)).all()
            msgs: dict[int, list[dict[str, str]]] = {r.pk: [] for r in rows}
            if rows:
                for m in conn.execute(select(_messages).where(_messages.c.session_pk.in_(list(msgs)))
                                      .order_by(_messages.c.session_pk, _messages.c.position)):
                    msgs[m.session_pk].append({"role": m.role, "content": m.content})
        return [StoredSession(r.session_id, r.date, tuple(msgs[r.pk]), _iso(r.created)) for r in rows]

    @staticmethod
    def _require_user(conn: Any, user_id: str) -> None:
        if conn.execute(select(_users.c.user_id).where(_users.c.user_id == user_id)).first() is None:
            raise UnknownUserError(user_id)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _sqlite_pragmas(timeout_s: float) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers and one writer work at once (several ingress replicas on one host);
        # synchronous=FULL fsyncs every commit, so an acknowledged session survives a crash.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        cur.close()
    return on_connect


def _free_bytes(folder: Path) -> int:
    try:
        st = os.statvfs(folder)
    except OSError:
        return 0
    return st.f_bavail * st.f_frsize


def _describe(u: URL) -> str:
    """The store as operators name it: dialect and host/database, or the SQLite file's name
    (not its folder: a client sees this in error messages)."""
    name = u.get_backend_name()
    if name == "sqlite":
        return f"sqlite {Path(u.database).name if u.database else ':memory:'}"
    host = f"{u.host or 'localhost'}{f':{u.port}' if u.port else ''}"
    return f"{name} {host}/{u.database or ''}"


_LIBPQ = {"psycopg", "psycopg2", "psycopg2cffi"}


def _engine_options(u: URL, timeout_s: float) -> dict[str, Any]:
    """`create_engine` keywords that bound every wait by `timeout_s` for the URL's driver."""
    kw: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    ms = int(timeout_s * 1000)
    if u.get_backend_name() == "sqlite":
        kw["connect_args"] = {"check_same_thread": False, "timeout": timeout_s}
        if u.database not in (None, "", ":memory:"):
            # A file: a connection per call (opening one costs ~0.1 ms). No descriptor stays
            # open between calls, so a disk that went read-only or full and came back is seen
            # afresh by the next call, and an idle server never pins the file.
            from sqlalchemy.pool import NullPool

            kw["poolclass"] = NullPool
        return kw
    elif u.get_backend_name() == "postgresql" and (u.get_driver_name() in _LIBPQ):
        # libpq: connect_timeout bounds connecting; statement/lock timeouts are enforced by the
        # server; tcp_user_timeout bounds a write to a server that vanished without a FIN.
        wanted: dict[str, Any] = {"connect_timeout": max(1, math.ceil(timeout_s)),
                                  "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
                                  "tcp_user_timeout": ms, "keepalives": 1,
                                  "keepalives_idle": max(1, math.ceil(timeout_s)),
                                  "keepalives_interval": 1, "keepalives_count": 3}
        kw["connect_args"] = {k: v for k, v in wanted.items() if k not in u.query}
    kw["pool_timeout"] = timeout_s
    return kw


# SQLite result codes (the low byte of `sqlite3.Error.sqlite_errorcode`).
_SQLITE_KIND = {5: "timeout", 6: "timeout", 8: "read_only", 13: "disk_full", 14: "unreachable",
                10: "unreachable", 26: "unreachable"}  # BUSY, LOCKED, READONLY, FULL, CANTOPEN, IOERR, NOTADB


def _fault_kind(e: "sa_exc.DBAPIError", dialect: str) -> str | None:
    """The `STORE_FAULT_KINDS` entry of a driver error, or None when it is not a store fault
    (a constraint, a bad statement: those are bugs or bad input and stay what they are)."""
    if isinstance(e, (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.DataError)):
        return None
    orig = getattr(e, "orig", None)
    text_ = str(orig or e).lower()
    if dialect == "sqlite":
        code = getattr(orig, "sqlite_errorcode", None)
        if isinstance(code, int) and (code & 0xFF) in _SQLITE_KIND:
            return _SQLITE_KIND[code & 0xFF]
        for needle, kind in (("readonly", "read_only"), ("read-only", "read_only"), ("disk is full", "disk_full"),
                             ("locked", "timeout"), ("unable to open", "unreachable"), ("disk i/o", "unreachable")):
            if needle in text_:
                return kind
    sqlstate = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    if sqlstate:
        if sqlstate in ("57014", "55P03"):  # query_canceled (statement_timeout), lock_not_available
            return "timeout"
        if sqlstate == "25006":  # read_only_sql_transaction (a standby, or default_transaction_read_only)
            return "read_only"
        if sqlstate == "53100":  # disk_full
            return "disk_full"
        if sqlstate[:2] in ("08", "57", "53"):  # connection exception, operator intervention, resources
            return "unreachable"
    if e.connection_invalidated or isinstance(e, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return "timeout" if "timeout" in text_ or "timed out" in text_ else "unreachable"
    return None
