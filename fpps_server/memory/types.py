"""The store's identifier formats and its errors: what the HTTP edge validates and maps.

SQLAlchemy-free, so the request models (`fpps.server.http.protocol`) check ids against the same
patterns the store enforces without importing the store.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SESSION_ID_PATTERN", "STORE_FAULT_KINDS", "StoreUnavailableError", "USER_ID_PATTERN",
           "UnknownSessionError", "UnknownUserError"]

USER_ID_PATTERN = r"^[A-Za-z0-9_.@-]{1,128}$"
SESSION_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"


class UnknownUserError(LookupError):
    """No stored sessions exist for this user id."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        super().__init__(f"unknown user '{user_id}'")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.user_id,)


class UnknownSessionError(LookupError):
    """The user has no session with this id."""

    def __init__(self, user_id: str, session_id: str) -> None:
        self.user_id, self.session_id = user_id, session_id
        super().__init__(f"user '{user_id}' has no session '{session_id}'")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.user_id, self.session_id)


STORE_FAULT_KINDS = ("unreachable", "timeout", "read_only", "disk_full")
"""Why a store cannot serve: it refuses or drops connections; it does not answer within the
bound; its file or server is read-only; its disk is full. The label of
`fpps_store_errors_total{kind=...}` and the `kind` of `/ready`'s store component."""


class StoreUnavailableError(RuntimeError):
    """The memory store cannot serve now (HTTP 503 `store_unavailable`; 507 `store_full` for a
    full disk). Nothing was written: the operation's transaction was rolled back or never began,
    so a client may retry it as is.

    Attributes:
        kind: one of `STORE_FAULT_KINDS`.
        store: what the store is, for operators (dialect and host or file name; never a password).
        detail: the driver's one-line reason (for the log; not sent to clients).
    """

    def __init__(self, kind: str, store: str, detail: str = "") -> None:
        if kind not in STORE_FAULT_KINDS:
            raise ValueError(f"unknown store fault kind {kind!r}")
        self.kind, self.store, self.detail = kind, store, detail
        what = {"unreachable": "is unreachable", "timeout": "did not answer in time",
                "read_only": "is read-only", "disk_full": "has a full disk"}[kind]
        super().__init__(f"the memory store ({store}) {what}")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.kind, self.store, self.detail)
