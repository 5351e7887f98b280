"""asyncio front of `SteeredEngine`: stream a request's text deltas, cancel on disconnect.

The engine decodes in its own thread; events cross into the caller's event loop with
`call_soon_threadsafe`. Closing the async iterator early (the client went away) cancels the
request, and its batch slot is freed at the next step.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from .core import SteeredEngine
from .types import EngineOutput, GenerationRequest, TokenEvent

__all__ = ["AsyncEngine"]


class AsyncEngine:
    """Wraps a `SteeredEngine` and starts its background loop."""

    def __init__(self, engine: SteeredEngine) -> None:
        self.engine = engine
        engine.start()

    async def stream(self, request: GenerationRequest) -> AsyncIterator[TokenEvent]:
        """Yield text deltas, then one event whose `final` holds the `EngineOutput`.

        Raises `SteeringValidationError` / `EngineOverloaded` before yielding anything.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[TokenEvent] = asyncio.Queue()
        handle = self.engine.submit(request, lambda ev: loop.call_soon_threadsafe(queue.put_nowait, ev))
        finished = False
        try:
            while True:
                event = await queue.get()
                if event.final is not None:
                    finished = True
                yield event
                if finished:
                    return
        finally:
            if not finished:
                handle.cancel()

    async def generate(self, request: GenerationRequest) -> EngineOutput:
        """The final output of one request (deltas are dropped)."""
        async for event in self.stream(request):
            if event.final is not None:
                return event.final
        raise RuntimeError("engine ended a request without a final event")

    def shutdown(self) -> None:
        self.engine.shutdown()
