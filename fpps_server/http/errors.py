"""The one place where exceptions become HTTP errors.

Every error body has the OpenAI shape `{"error": {"message", "type", "param", "code"}}`;
streaming sends the same object as its final event. Anything unexpected is a 500 whose message
names only the request id; the traceback goes to the log.

| Exception                                   | HTTP                           |
|---------------------------------------------|--------------------------------|
| `RequestValidationError` (pydantic)         | 400, `param` = the field path  |
| body not parseable (bad JSON, UTF-8, depth) | 400, `param` = "body"          |
| `SteeringValidationError`                   | 400, `param`                   |
| other `ValueError`, `TypeError`             | 400                            |
| `ApiError` (auth, unknown route, 413, ...)  | its own status                 |
| `InvalidApiKey`                             | 401                            |
| `AccessDenied` (key scope or limits)        | 403, `param`                   |
| `UnknownUserError`, `UnknownSessionError`,  | 404                            |
| `UnknownArtifactError`, `UnknownModelError` |                                |
| `EngineOverloaded`, Serve back-pressure     | 503 + `Retry-After`            |
| `StoreUnavailableError` (memory database)   | 503 `store_unavailable` + `Retry-After`; 507 `store_full` for a full disk |
| `AuditUnavailableError` (fail-closed audit) | 503 `audit_unavailable` + `Retry-After` |
| model replica died (Ray `RayActorError`)    | 503 + `Retry-After`            |
| `TimeoutError`                              | 504                            |
| `NotImplementedError`                       | 501                            |
| anything else                               | 500, sanitized, with request id|
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fpps.steering.errors import SteeringValidationError, UnknownArtifactError

from .admission import RETRY_AFTER_S
from ..engine.types import EngineOverloaded
from ..memory.types import StoreUnavailableError, UnknownSessionError, UnknownUserError
from .audit import AuditUnavailableError
from .tenancy import AccessDenied, InvalidApiKey

__all__ = ["ApiError", "UnknownModelError", "RETRY_AFTER_S", "REPLICA_LOST_RETRY_AFTER_S",
           "STORE_RETRY_AFTER_S", "to_http", "error_body"]

log = logging.getLogger("fpps.server")
"""Seconds a client waits after an overload 503: a batch slot frees within a few decode steps."""
REPLICA_LOST_RETRY_AFTER_S = 15
"""Seconds a client waits after its model replica died: Ray starts a new one, which loads the
model first (~18 s measured for the default model on the 2-core CPU box)."""
STORE_RETRY_AFTER_S = 5
"""Seconds a client waits after the memory store failed: a restarted database or a failed-over
one is back within seconds; a full or read-only disk needs an operator, and the client's retries
keep getting this answer (with its `code`) until one comes."""


class ApiError(Exception):
    """An error the server raises on purpose with its status and OpenAI error fields."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers or {}


class UnknownModelError(LookupError):
    """The request names a model this server does not serve."""


_MAX_MESSAGE, _MAX_PARAM = 1000, 200


def _safe(text: str, limit: int) -> str:
    """Text a client sent may come back in a message or param: make it encodable as UTF-8 (lone
    surrogates become escapes) and bounded, so that echoing it can never fail or flood."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "..."


def error_body(message: str, type: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": _safe(message, _MAX_MESSAGE), "type": type,
                      "param": None if param is None else _safe(param, _MAX_PARAM), "code": code}}


# pydantic names the member of a union a value was tried against (`str`, `list[TextPart]`,
# `function-after[...]`); those are types, not fields, and stay out of `param`.
_UNION_TAG = re.compile(r"^(str|int|float|bool|none|list|dict)$|[\[(]")


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        if _UNION_TAG.search(p):
            continue
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def _most_specific(errs: list[dict[str, Any]]) -> dict[str, Any]:
    """The error to report first: a failed constraint beats a plain type mismatch (in a union
    such as `str | list[str]` the mismatching member says nothing useful), then the deepest."""
    return max(errs, key=lambda e: (not str(e.get("type", "")).endswith("_type"), len(e.get("loc", ()))))


def _unparseable_body(exc: BaseException) -> str | None:
    """Why FastAPI could not parse the body (it wraps the cause in a plain 400), if it is that."""
    cause = exc.__cause__
    if isinstance(cause, RecursionError):
        return "request body JSON is nested too deeply"
    if isinstance(cause, UnicodeDecodeError):
        return "request body is not valid UTF-8"
    if isinstance(cause, json.JSONDecodeError):
        return "request body is not valid JSON"
    if isinstance(cause, ValueError):  # e.g. an integer literal over Python's 4300-digit limit
        return "request body is not acceptable JSON (a number literal is too long)" if "digits" in str(cause) \
            else "request body is not acceptable JSON"
    return None


def _is_backpressure(exc: BaseException) -> bool:
    return type(exc).__name__ == "BackPressureError"  # ray.serve.exceptions, without importing Ray


def _is_replica_lost(exc: BaseException) -> bool:
    """The model replica died under the call (Ray `ActorDiedError`/`ActorUnavailableError`, both
    `RayActorError`s): Serve starts a new one, so the client may retry; not an internal bug."""
    return any(c.__name__ == "RayActorError" for c in type(exc).__mro__)


def _remote_cause(exc: BaseException) -> BaseException:
    """The exception the model replica raised: Ray wraps it in a `RayTaskError` (whose text is
    the remote traceback) with the original, pickled as itself (`__reduce__`), as `.cause`."""
    while any(c.__name__ == "RayTaskError" for c in type(exc).__mro__):
        cause = getattr(exc, "cause", None)
        if not isinstance(cause, BaseException) or cause is exc:
            break
        exc = cause
    return exc


def to_http(exc: BaseException, request_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Map any exception to `(status, body, headers)`. The only exception-to-HTTP function;
    errors raised in the model replica arrive as themselves (`_remote_cause`)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    exc = _remote_cause(exc)

    if isinstance(exc, ApiError):
        return exc.status, error_body(exc.message, exc.type, exc.param, exc.code), exc.headers
    if isinstance(exc, InvalidApiKey):
        return 401, error_body(str(exc), "authentication_error", None, "invalid_api_key"), {}
    if isinstance(exc, AccessDenied):
        return 403, error_body(str(exc), "permission_error", exc.param, "forbidden"), {}
    if isinstance(exc, RequestValidationError):
        errs = list(exc.errors())
        first = _most_specific(errs) if errs else {"loc": (), "msg": "invalid request", "type": "invalid"}
        param = _field_path(tuple(first.get("loc", ())))
        if first.get("type") == "extra_forbidden":
            msg = f"unknown field '{param}'"
        elif first.get("type") == "json_invalid":
            msg, param = "request body is not valid JSON", "body"
        else:
            msg = f"invalid '{param}': {first.get('msg', 'invalid value')}"
        if len(errs) > 1:
            msg += f" (and {len(errs) - 1} more error{'s' if len(errs) > 2 else ''})"
        return 400, error_body(msg, "invalid_request_error", param, "invalid_value"), {}
    if isinstance(exc, SteeringValidationError):
        return 400, error_body(str(exc), "invalid_request_error", exc.parameter, "invalid_value"), {}
    if isinstance(exc, (UnknownUserError, UnknownSessionError)):
        param = "session_id" if isinstance(exc, UnknownSessionError) else "user"
        return 404, error_body(str(exc), "not_found_error", param, "not_found"), {}
    if isinstance(exc, UnknownModelError):
        return 404, error_body(str(exc), "not_found_error", "model", "model_not_found"), {}
    if isinstance(exc, UnknownArtifactError):
        return 404, error_body(str(exc), "not_found_error", "artifact", "artifact_not_found"), {}
    if isinstance(exc, EngineOverloaded) or _is_backpressure(exc):
        return 503, error_body(f"server overloaded ({exc}); retry after {RETRY_AFTER_S} s",
                               "overloaded_error", None, "overloaded"), {"Retry-After": str(RETRY_AFTER_S)}
    if isinstance(exc, StoreUnavailableError):
        log.warning("request %s: memory store unavailable (%s: %s)", request_id, exc.kind, exc.detail)
        full = exc.kind == "disk_full"
        return (507 if full else 503), error_body(
            f"{exc}; retry after {STORE_RETRY_AFTER_S} s", "server_error",
            None, "store_full" if full else "store_unavailable"), {"Retry-After": str(STORE_RETRY_AFTER_S)}
    if isinstance(exc, AuditUnavailableError):
        log.error("request %s: %s", request_id, exc)
        return 503, error_body(f"the audit log cannot be written, so no answer is served; retry after "
                               f"{STORE_RETRY_AFTER_S} s", "server_error", None, "audit_unavailable"), \
            {"Retry-After": str(STORE_RETRY_AFTER_S)}
    if _is_replica_lost(exc):
        log.warning("request %s: model replica lost (%s)", request_id, type(exc).__name__)
        return 503, error_body("the model replica serving this request stopped; retry after "
                               f"{REPLICA_LOST_RETRY_AFTER_S} s", "server_error", None, "model_unavailable"), \
            {"Retry-After": str(REPLICA_LOST_RETRY_AFTER_S)}
    if isinstance(exc, TimeoutError):
        return 504, error_body(f"request {request_id} timed out", "timeout_error", None, "timeout"), {}
    if isinstance(exc, NotImplementedError):
        return 501, error_body(str(exc) or "not implemented", "not_implemented_error"), {}
    if isinstance(exc, HTTPException) and exc.status_code == 400 and _unparseable_body(exc):
        return 400, error_body(str(_unparseable_body(exc)), "invalid_request_error", "body", "invalid_json"), {}
    if isinstance(exc, HTTPException):
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return exc.status_code, error_body(str(exc.detail), kind), dict(exc.headers or {})
    if isinstance(exc, (ValueError, TypeError)):
        return 400, error_body(str(exc), "invalid_request_error", None, "invalid_value"), {}
    log.error("request %s failed", request_id, exc_info=(type(exc), exc, exc.__traceback__))
    return 500, error_body(f"internal error (request id {request_id})", "server_error", None,
                           "internal_error"), {}
