"""fpps.server.engine: the Ray-free batched steered generation engine.

Rooms, in the order a request walks them: `types` (the public, torch-free request/output types
and limits), `scheduler` (bounded FIFO admission), `rows` (a request inside the engine),
`pass_state` (what one forward pass steers, and the probe and layer-L hooks), `core`
(`SteeredEngine`: prefill, decode, twins), with `kvbatch`, `prefix_cache`, `sampling`,
`structured` and `detok` as its helpers, and `async_engine` (asyncio streaming over it).

Nothing here imports Ray or FastAPI, so the evaluation and calibration run it in-process. The
package root imports nothing eagerly: `fpps.server.engine.types` is what the HTTP edge needs,
and it must not pay for torch; the names below resolve on first use (PEP 562).
"""

from __future__ import annotations

from fpps.lazy import lazy_exports

_EXPORTS = {
    "EngineConfig": "types", "EngineOutput": "types", "EngineOverloaded": "types",
    "GenerationRequest": "types", "TokenEvent": "types", "TokenLogprob": "types",
    "TopLogprob": "types", "SteeredEngine": "core", "RequestHandle": "rows",
    "AsyncEngine": "async_engine",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
