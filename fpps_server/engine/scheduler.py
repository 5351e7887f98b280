"""Admission: a bounded FIFO queue in front of the batch, under caps on rows and tokens.

Requests wait in arrival order; each step takes as many as fit the free batch rows, the
prefill-rows cap and the budget of tokens in flight (prompt + max_tokens per row). A full queue
raises `EngineOverloaded` at submit rather than letting work wait without bound. Not
thread-safe by itself: the engine calls it under its condition variable.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Sequence

from .rows import Row
from .types import EngineConfig, EngineOverloaded

__all__ = ["Scheduler"]


class Scheduler:
    """The waiting rows and the admission rule (`EngineConfig` caps)."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.pending: deque[Row] = deque()

    def enqueue(self, row: Row, running: int) -> None:
        """Queue `row` behind the others, or raise `EngineOverloaded` if the queue is full.

        Arrivals during a decode step all wait here until the next one; those the free rows will
        take are not counted, or a burst would be turned away from an idle batch."""
        free_rows = max(0, self.config.max_batch_size - running)
        if len(self.pending) >= self.config.max_queue + free_rows:
            raise EngineOverloaded(f"queue full ({self.config.max_queue} waiting)")
        self.pending.append(row)

    def admit(self, running: Sequence[Row], drop_cancelled: Callable[[Row], None]) -> list[Row]:
        """Pop waiting rows (FIFO) while they fit the row and token caps; cancelled ones found
        on the way go to `drop_cancelled`. A row larger than the token budget still runs alone."""
        new: list[Row] = []
        used = sum(r.budget for r in running)
        while self.pending and len(new) < self.config.max_prefill_rows:
            row = self.pending[0]
            if row.cancelled:
                self.pending.popleft()
                drop_cancelled(row)
                continue
            if len(running) + len(new) >= self.config.max_batch_size:
                break
            if used + row.budget > self.config.max_tokens_in_flight and (running or new):
                break
            new.append(self.pending.popleft())
            used += row.budget
        return new
