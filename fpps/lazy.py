"""PEP 562 lazy exports for a package root: names resolve from their submodule on first use.

Package roots (`fpps.steering`, `fpps.server.engine`, `fpps.server.memory`) import nothing
eagerly, so a light submodule (request types, errors, id formats) never pays for torch,
transformers or SQLAlchemy through its package's `__init__`.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """`(__all__, __getattr__, __dir__)` for `package`, whose `exports` map a name to the
    submodule (relative to `package`) that defines it."""
    names = sorted(exports)

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(f".{exports[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(importlib.import_module(package)), *names})

    return names, __getattr__, __dir__
