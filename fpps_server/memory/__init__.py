"""fpps.server.memory: each user's stored chat sessions (`store`), and their ids and errors (`types`).

Imported by the HTTP edge only; the engine never reads the store (its requests carry messages).
The package root resolves its names on first use (PEP 562), so `memory.types` stays light.
"""

from __future__ import annotations

from fpps.lazy import lazy_exports

_EXPORTS = {
    "MemoryStore": "store", "StoredSession": "store", "sqlite_url": "store",
    "SESSION_ID_PATTERN": "types", "USER_ID_PATTERN": "types", "UnknownSessionError": "types",
    "UnknownUserError": "types",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
