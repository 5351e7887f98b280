"""A request inside the engine (`Row`), the handle `submit` returns, and a KV-cache slot.

A `Row` is made when a request is validated and lives until it finishes; it is hashed by
identity (`eq=False`), so the engine keeps sets and maps of rows, never of `id()`s.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

import torch

from fpps.steering.params import Branch, SteeringParams

from .detok import TextTracker
from .sampling import RowLogits
from .structured import RowGrammar
from .types import EngineOutput, GenerationRequest, TokenEvent, TokenLogprob

__all__ = ["RequestHandle", "Row", "Slot"]


@dataclass(eq=False)
class Row:
    """One request's state: its prompts, steering, sampling state, tokens and result."""

    req: GenerationRequest
    params: SteeringParams
    prompt_ids: list[int]
    twin_ids: list[int] | None
    on_event: Callable[[TokenEvent], None] | None
    tracker: TextTracker
    generator: torch.Generator | None
    logits: RowLogits
    """This row's penalties, bias and min_tokens (`sampling.py`)."""
    grammar: RowGrammar | None = None
    """This row's `response_format` mask (`structured.py`), if it asked for JSON."""
    generated: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    logprobs_sent: int = 0
    """How many of `logprobs` went out in events already."""
    prompt_logprobs: tuple[TokenLogprob, ...] | None = None
    events_sent: int = 0
    p_hat: float | None = None
    branch: Branch = "none"
    follows_twin: bool = False
    """Gated hard with reach `all`: this row's cache and tokens are its twin's."""
    finish: str | None = None
    cancelled: bool = False
    result: EngineOutput | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def budget(self) -> int:
        """Tokens this row may hold in flight: its prompt plus `max_tokens`."""
        return len(self.prompt_ids) + self.req.sampling.max_tokens


@dataclass(frozen=True, eq=False)
class Slot:
    """A row of the main KV batch: a request's own stream, or (joint decoding) its lockstep twin."""

    row: Row
    twin: bool = False


class RequestHandle:
    """What `submit` returns: wait for the result or cancel the request."""

    def __init__(self, row: Row, wake: Callable[[], None]) -> None:
        self._row, self._wake = row, wake

    @property
    def request_id(self) -> str:
        return self._row.req.request_id

    def cancel(self) -> None:
        """Mark the request cancelled; the engine frees its row at the next step."""
        self._row.cancelled = True
        self._wake()

    def result(self, timeout: float | None = None) -> EngineOutput:
        """Block until the request finishes (raises `TimeoutError` after `timeout` s)."""
        if not self._row.done.wait(timeout):
            raise TimeoutError(f"request {self.request_id} did not finish in {timeout} s")
        assert self._row.result is not None
        return self._row.result
