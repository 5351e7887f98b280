"""The audit trail: one JSON line per steering decision, on the `fpps.audit` logger.

Each line says who asked (the API key id, never the key), for which user, and what steering
did: mode, `p_hat`, gate, effective strength, with the request id that ties it to the access log
and the `x-fpps-request-id` response header. It never holds message text, history or answers:
an audit trail is kept longer and read by more people than the data it describes.

The operator chooses where lines go: `--audit-log PATH` (or `audit_log` in serve.yaml) appends
them to a file; otherwise they go wherever the `fpps.audit` logger is configured to send them.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import threading
from pathlib import Path
from typing import Any

__all__ = ["AUDIT_LOGGER", "audit_steering", "configure_audit_log"]

AUDIT_LOGGER = "fpps.audit"
log = logging.getLogger(AUDIT_LOGGER)
_lock = threading.Lock()
_files: set[str] = set()


def configure_audit_log(path: str | None) -> None:
    """Append audit lines to `path` (once per process; parent folders are created)."""
    if not path:
        return
    target = str(Path(path).expanduser().resolve())
    with _lock:
        if target in _files:
            return
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(target, mode="a", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        _files.add(target)


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
    """
    record: dict[str, Any] = {
        "ts": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
        "event": "steering", "request_id": request_id, "key_id": key_id, "user": user,
        "choice": choice, "mode": mode, "p_hat": None if p_hat is None else round(float(p_hat), 6),
        "gate": gate, "strength": float(strength), "sessions": sessions, "finish_reason": finish_reason,
    }
    log.info(json.dumps(record, separators=(",", ":")))
