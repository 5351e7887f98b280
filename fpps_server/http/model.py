"""The model deployment: the model, the artifact and the batched engine of one replica.

`FppsModel` owns the model (and the GPU when there is one). The engine batches at iteration
level itself (requests join a running batch at the next decode step), so the deployment does
not add `@serve.batch`, which would only hold requests back until a window closes.
`reconfigure(user_config)` retunes the gamma/tau overrides and the batch/queue limits live.
"""

import asyncio
import dataclasses
import logging
import time
from typing import Any, AsyncIterator

from ray import serve

from ..engine.types import EngineOutput, GenerationRequest
from .config import ServerArgs

__all__ = ["FppsModel"]

log = logging.getLogger("fpps.server")


@serve.deployment(name="FppsModel")
class FppsModel:
    """Holds the model, the artifact and the engine; generates for the ingress."""

    def __init__(self, args: ServerArgs) -> None:
        import torch
        from fpps.steering import load_model
        from fpps.steering.artifact import load_artifact, shipped_artifact_dir

        from ..engine.async_engine import AsyncEngine
        from ..engine.core import SteeredEngine
        from ..engine.types import EngineConfig

        # Intra-op threads follow the replica's CPU reservation: on a shared or busy host, more
        # threads than reserved cores spin against each other (7x slower measured on 2 cores).
        torch.set_num_threads(args.torch_threads or max(1, int(args.num_cpus)))
        self.args = args
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        kw = {"device": device} if device != "cpu" else {}
        adapter = load_model(args.model, **kw)
        artifact = None
        if args.artifact is None and not (shipped_artifact_dir() / "manifest.json").is_file():
            log.warning("no shipped artifact at %s: serving without steering", shipped_artifact_dir())
        elif (args.artifact or "").lower() != "none":
            artifact = load_artifact(args.artifact, fingerprint=adapter.fingerprint,
                                     hidden_size=adapter.hidden_size, num_layers=adapter.num_layers)
        self.name = args.served_model_name or getattr(adapter, "name", None) or "fpps"
        self.adapter, self.artifact = adapter, artifact
        self.engine = SteeredEngine(adapter, artifact, EngineConfig(
            max_batch_size=args.max_batch_size, max_queue=args.max_queue,
            max_tokens_in_flight=args.max_tokens_in_flight, prefix_cache_tokens=args.prefix_cache_tokens))
        self.aengine = AsyncEngine(self.engine)
        self.overrides: dict[str, float] = {}
        self.created = int(time.time())

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Live settings: `gamma`, `tau` (server overrides for requests that leave them unset),
        `max_batch_size`, `max_queue`. A null value clears an override."""
        from fpps.steering.params import SteeringParams

        known = {"gamma", "tau", "max_batch_size", "max_queue"}
        unknown = set(user_config) - known
        if unknown:
            raise ValueError(f"unknown user_config keys {sorted(unknown)}; known: {sorted(known)}")
        over = {k: user_config[k] for k in ("gamma", "tau") if user_config.get(k) is not None}
        SteeringParams(mode="mixed", **over)  # validates the ranges
        self.overrides = over
        limits = {k: int(user_config[k]) for k in ("max_batch_size", "max_queue") if user_config.get(k)}
        if limits:
            self.engine.config = dataclasses.replace(self.engine.config, **limits)

    def info(self) -> dict[str, Any]:
        art = self.artifact
        return {"id": self.name, "created": self.created, "max_context": self.adapter.max_context,
                "artifact_id": art.artifact_id if art else None, "layer": art.layer if art else None,
                "probe_layer": art.probe_layer if art else None,
                "defaults": dict(art.defaults) if art else {}, "overrides": dict(self.overrides),
                "load": self.engine.load,
                "capacity": {"max_batch_size": self.engine.config.max_batch_size,
                             "max_queue": self.engine.config.max_queue}}

    def _prepare(self, req: GenerationRequest) -> GenerationRequest:
        s = req.steering
        fill = {k: v for k, v in self.overrides.items() if getattr(s, k) is None}
        return dataclasses.replace(req, steering=dataclasses.replace(s, **fill)) if fill else req

    async def generate(self, reqs: list[GenerationRequest]) -> list[EngineOutput]:
        """Run the requests together. A validation or overload error raises as itself: the
        errors pickle (`__reduce__`), and the ingress maps them with `to_http` like its own."""
        tasks: list[asyncio.Future[EngineOutput]] = []
        try:
            for r in reqs:
                tasks.append(asyncio.ensure_future(self.aengine.generate(self._prepare(r))))
            return list(await asyncio.gather(*tasks))
        finally:
            for t in tasks:
                t.cancel()

    async def stream(self, reqs: list[GenerationRequest]) -> AsyncIterator[dict[str, Any]]:
        """Merged events of the requests: `{"i", "delta", "logprobs"}`, then `{"i", "final"}` per
        request (`logprobs`: the events' `TokenEvent.logprobs`).

        An error before the first token (validation, overload at submit) raises as itself."""
        queue: asyncio.Queue[tuple[int, Any, Exception | None]] = asyncio.Queue()

        async def pump(i: int, req: GenerationRequest) -> None:
            try:
                async for ev in self.aengine.stream(self._prepare(req)):
                    queue.put_nowait((i, ev, None))
            except Exception as e:  # validation/overload at submit
                queue.put_nowait((i, None, e))

        tasks = [asyncio.ensure_future(pump(i, r)) for i, r in enumerate(reqs)]
        left = len(reqs)
        try:
            while left:
                i, ev, err = await queue.get()
                if err is not None:
                    raise err
                if ev.final is not None:
                    left -= 1
                    yield {"i": i, "delta": ev.delta, "final": ev.final, "logprobs": ev.logprobs,
                           "prompt_logprobs": ev.prompt_logprobs}
                elif ev.delta:
                    yield {"i": i, "delta": ev.delta, "logprobs": ev.logprobs, "prompt_logprobs": ev.prompt_logprobs}
        finally:
            for t in tasks:
                t.cancel()

    def __del__(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.shutdown()


