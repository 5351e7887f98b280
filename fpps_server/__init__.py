"""fpps.server: the batched steered generation engine (Ray-free) and the HTTP server.

`fpps.server.engine` and `fpps.server.async_engine` import neither Ray nor FastAPI, so the
evaluation can run them in-process.
"""

from .engine import (EngineConfig, EngineOutput, EngineOverloaded, GenerationRequest, SteeredEngine,
                     TokenEvent)

__all__ = ["EngineConfig", "EngineOutput", "EngineOverloaded", "GenerationRequest", "SteeredEngine",
           "TokenEvent"]
