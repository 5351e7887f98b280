"""fpps.server: the batched steered generation engine (Ray-free) and the HTTP server.

`fpps.server.engine` and `fpps.server.async_engine` import neither Ray nor FastAPI, so the
evaluation can run them in-process. The package root imports nothing eagerly: Serve's HTTP
proxy loads `fpps.server.admission` and must not pay for torch; the engine's names below are
resolved on first use (PEP 562).
"""

from typing import Any

__all__ = ["EngineConfig", "EngineOutput", "EngineOverloaded", "GenerationRequest", "SteeredEngine",
           "TokenEvent"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
