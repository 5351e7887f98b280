"""fpps.server.memory: each user's stored chat sessions (`store`), and their ids and errors (`types`).

Imported by the HTTP edge only; the engine never reads the store (its requests carry messages).
The package root resolves its names on first use (PEP 562), so `memory.types` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MemoryStore": "store", "StoredSession": "store", "sqlite_url": "store",
    "SESSION_ID_PATTERN": "types", "USER_ID_PATTERN": "types", "UnknownSessionError": "types",
    "UnknownUserError": "types",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
