"""The audit trail: one JSON line per steering decision and one per refused request.

A steering line says who asked (the API key id, never the key), for which user, and what
steering did: mode, `p_hat`, gate, effective strength, with the request id that ties it to the
access log and the `x-fpps-request-id` response header. A refusal line (every 401 and 403) says
which key (or `unauthenticated`) tried which route for which user, and the refused field, so
the trail shows who tried as well as who was served. No line ever holds message text, history
or answers: an audit trail is kept longer and read by more people than the data it describes.

Where lines go: always to the `fpps.audit` logger (configure it as you like); with
`--audit-log PATH` (or `audit_log` in serve.yaml) also appended to that file, one `write` of an
`O_APPEND` descriptor per line, so several ingress replicas can share one file. Rotate it by
copy-and-truncate.

When the file cannot be written (disk full, read-only, removed folder):
- at start, `configure_audit_log` raises `AuditUnavailableError`: the server does not start;
- at run time, a steering line that cannot be written fails the request closed: 503
  `audit_unavailable` and no answer (a streamed answer ends with that error event instead of its
  finish chunk). `audit_fail_open` (serve.yaml) serves the answer instead and logs the lost line
  as an error. A refusal line that cannot be written is logged as an error: the request is
  refused either way.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["AUDIT_LOGGER", "AuditUnavailableError", "audit_denied", "audit_steering", "configure_audit_log"]

AUDIT_LOGGER = "fpps.audit"
log = logging.getLogger(AUDIT_LOGGER)
_errors = logging.getLogger("fpps.server")
_lock = threading.Lock()


class AuditUnavailableError(RuntimeError):
    """The audit file cannot be written (HTTP 503 `audit_unavailable` when failing closed)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"audit log {path} cannot be written: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.path, self.reason)


class _AuditFile:
    """An append-only file written one line per `os.write`; errors are raised, never swallowed
    (`logging.FileHandler` would print them to stderr and drop the line)."""

    def __init__(self, path: str, fail_open: bool) -> None:
        self.path, self.fail_open = path, fail_open
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as e:
            raise AuditUnavailableError(path, e.strerror or str(e)) from None

    def write(self, line: str) -> None:
        data = (line + "\n").encode("utf-8")
        try:
            written = os.write(self.fd, data)
        except OSError as e:
            raise AuditUnavailableError(self.path, e.strerror or str(e)) from None
        if written != len(data):  # a short write: the disk filled during it
            raise AuditUnavailableError(self.path, f"short write ({written} of {len(data)} bytes)")


_files: dict[str, _AuditFile] = {}


def configure_audit_log(path: str | None, *, fail_open: bool = False) -> None:
    """Also append audit lines to `path` (once per process; parent folders are created).

    Raises:
        AuditUnavailableError: the file cannot be created or opened for appending.
    """
    if not path:
        return
    target = str(Path(path).expanduser().resolve())
    with _lock:
        if target in _files:
            _files[target].fail_open = fail_open
            return
        _files[target] = _AuditFile(target, fail_open)
        log.setLevel(logging.INFO)


def _emit(record: dict[str, Any], *, refusal: bool) -> None:
    line = json.dumps(record, separators=(",", ":"))
    log.info(line)
    for f in list(_files.values()):
        try:
            f.write(line)
        except AuditUnavailableError as e:
            if refusal or f.fail_open:
                _errors.error("audit line lost (%s): request %s", e, record.get("request_id"))
            else:
                raise


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def audit_steering(*, request_id: str, key_id: str, user: str | None, choice: int, mode: str,
                   p_hat: float | None, gate: str, strength: float, sessions: int,
                   finish_reason: str) -> None:
    """Log one steering decision (one choice of one chat request) as a JSON line.

    Args:
        request_id: the chat request's id (`chatcmpl-...`).
        key_id: the API key's id from the key file (or `key-<digest prefix>`, `anonymous`).
        user: the stored-memory user the answer was personalized with, if any.
        choice: index of the choice within the response.
        mode, p_hat, gate, strength: what steering did (`strength` is the effective alpha).
        sessions: how many history sessions personalized the prompt (a count, not content).
        finish_reason: why decoding stopped.

    Raises:
        AuditUnavailableError: the audit file cannot be written and it fails closed.
    """
    _emit({
        "ts": _now(), "event": "steering", "request_id": request_id, "key_id": key_id, "user": user,
        "choice": choice, "mode": mode, "p_hat": None if p_hat is None else round(float(p_hat), 6),
        "gate": gate, "strength": float(strength), "sessions": sessions, "finish_reason": finish_reason,
    }, refusal=False)


def audit_denied(*, request_id: str, status: int, key_id: str | None, route: str, method: str,
                 user: str | None, param: str | None) -> None:
    """Log one refused request (a 401 or 403) as a JSON line; never raises for the file.

    Args:
        key_id: the API key's id, or None when the request did not authenticate
            (`"unauthenticated"` in the line).
        route: the route template (`/v1/users/{user_id}/sessions`), not the raw path.
        user: the user the request acted for, when the refusal names one.
        param: the refused field (`user`, `fpps.mode`, `fpps.strength`, ...), if any.
    """
    _emit({"ts": _now(), "event": "denied", "request_id": request_id, "status": status,
           "key_id": key_id or "unauthenticated", "route": route, "method": method, "user": user,
           "param": param}, refusal=True)
