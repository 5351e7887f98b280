"""The store's identifier formats and its errors: what the HTTP edge validates and maps.

SQLAlchemy-free, so the request models (`fpps.server.http.protocol`) check ids against the same
patterns the store enforces without importing the store.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SESSION_ID_PATTERN", "USER_ID_PATTERN", "UnknownSessionError", "UnknownUserError"]

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
