"""User memory: each user's past chat sessions, stored through SQLAlchemy 2 (`MemoryStore`).

Three tables: `fpps_users`, `fpps_sessions` (one row per stored session, ordered by insertion)
and `fpps_messages` (one row per message, ordered by position). The default is a SQLite file
in WAL mode with `synchronous=FULL` (an acknowledged write survives a power cut); any SQLAlchemy
URL works, e.g. `postgresql+psycopg://user:pw@host/db` when several replicas share one store.

The store is synchronous; async callers run it in a worker thread. Unknown users and sessions
raise `UnknownUserError` / `UnknownSessionError` (`LookupError`s, HTTP 404 at the edge).
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import (Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, delete, event, func, insert, select)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .types import SESSION_ID_PATTERN, USER_ID_PATTERN, UnknownSessionError, UnknownUserError

__all__ = ["MemoryStore", "StoredSession", "sqlite_url"]

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
    """Per-user session memory in a SQL database (tables are created if missing)."""

    def __init__(self, url: str) -> None:
        kw: dict[str, Any] = {"future": True, "pool_pre_ping": True}
        if url.startswith("sqlite"):
            kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.url = url
        self.engine: Engine = create_engine(url, **kw)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        _meta.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

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
        with self.engine.begin() as conn:
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
        with self.engine.begin() as conn:
            self._require_user(conn, user_id)
            pk = conn.execute(select(_sessions.c.pk).where(
                _sessions.c.user_id == user_id, _sessions.c.session_id == session_id)).scalar()
            if pk is None:
                raise UnknownSessionError(user_id, session_id)
            conn.execute(delete(_messages).where(_messages.c.session_pk == pk))
            conn.execute(delete(_sessions).where(_sessions.c.pk == pk))

    def delete_user(self, user_id: str) -> int:
        """Forget a user and all their sessions; returns how many sessions were deleted."""
        with self.engine.begin() as conn:
            self._require_user(conn, user_id)
            pks = select(_sessions.c.pk).where(_sessions.c.user_id == user_id)
            n = conn.execute(select(func.count()).select_from(pks.subquery())).scalar() or 0
            conn.execute(delete(_messages).where(_messages.c.session_pk.in_(pks)))
            conn.execute(delete(_sessions).where(_sessions.c.user_id == user_id))
            conn.execute(delete(_users).where(_users.c.user_id == user_id))
        return int(n)

    # ---- reads --------------------------------------------------------------------------
    def has_user(self, user_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(_users.c.user_id).where(_users.c.user_id == user_id)).first() is not None

    def list_sessions(self, user_id: str) -> list[StoredSession]:
        """The user's sessions in the order they were stored. Raises `UnknownUserError`."""
        with self.engine.connect() as conn:
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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers and one writer work at once (several ingress replicas on one host);
    # synchronous=FULL fsyncs every commit, so an acknowledged session survives a crash.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
