"""fpps.server: the batched steered generation engine and the HTTP server, in four rooms.

- `engine/`: Ray-free; the scheduler, the typed pass state with the probe and layer-L hooks,
  the core loop, batching helpers and the asyncio wrapper. `fpps.eval` imports only this.
- `http/`: everything that imports Ray or FastAPI: the Serve app, the model deployment, the
  ingress, the OpenAI-shaped protocol, errors, admission, tenancy, audit and the playground.
- `memory/`: the user-memory store (SQLAlchemy), imported by `http` only.
- `bench/`: the engine, HTTP and load benchmarks (`fpps bench`).

Doors open one way: `http → engine, memory`; `bench → engine` (and `http` over the network);
`engine → fpps.steering → fpps.kernels`. The package root imports nothing eagerly: Serve's
HTTP proxy loads `fpps.server.http.admission` and must not pay for torch; the engine's names
below resolve on first use (PEP 562).
"""

from fpps.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    name: "engine" for name in ("EngineConfig", "EngineOutput", "EngineOverloaded", "GenerationRequest",
                                "SteeredEngine", "TokenEvent")})
