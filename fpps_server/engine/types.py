"""The engine's public types: requests, outputs, streamed events, limits and `EngineOverloaded`.

Torch-free on purpose: the HTTP edge builds `GenerationRequest`s, reads `EngineOutput`s and maps
`EngineOverloaded` without loading torch, Triton or the model (its replica reserves no CPU), and
these objects cross the Ray hop between the ingress and the model replica as plain pickles.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal, Sequence

from fpps.steering.params import Branch, SamplingParams, SteeringParams

__all__ = ["EngineConfig", "EngineOutput", "EngineOverloaded", "GenerationRequest", "TokenEvent",
           "TokenLogprob", "TopLogprob"]

_ids = itertools.count()

@dataclass(frozen=True)
class TopLogprob:
    """One alternative at a position: its text, log-probability and UTF-8 bytes (OpenAI shape)."""

    token: str
    logprob: float
    bytes: tuple[int, ...]


@dataclass(frozen=True)
class TokenLogprob:
    """A generated token's log-probability and its `top` alternatives, most likely first."""

    token: str
    logprob: float | None
    """None only for a prompt's first token, which nothing before it predicts."""
    bytes: tuple[int, ...]
    top: tuple[TopLogprob, ...] = ()

class EngineOverloaded(RuntimeError):
    """The engine's queue is full; retry later (HTTP 503 with Retry-After)."""


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """Process-wide engine limits."""

    max_batch_size: int = 16
    """Rows decoded together."""
    max_tokens_in_flight: int = 65536
    """Sum over running rows of prompt tokens + max_tokens."""
    max_queue: int = 256
    """Requests waiting beyond the free batch rows; more raise `EngineOverloaded`. Requests that
    a free row will take at the next step do not count, so a burst fills the batch first."""
    max_prefill_rows: int = 8
    """New rows prefilled together in one step."""
    twin_decode: Literal["auto", "joint", "separate"] = "auto"
    """How hard rows' twins decode (module docstring); `auto`: joint if the blocks above L are at
    most a quarter of the model."""
    twin_prefill: Literal["auto", "joint", "separate"] = "auto"
    """How twins prefill: as extra rows of their requests' pass ("joint"), or in a pass of their
    own just before it ("separate"); `auto` goes separate when that saves more padding than a
    pass costs (a cold history beside a cached twin: `core._TWIN_PASS_TOKENS`)."""
    prefix_cache_tokens: int = 4096
    """Prompt positions whose KV is kept for reuse by later prompts with the same beginning
    (`prefix_cache.py`; about 46 KB each for the default model in fp32); 0 turns reuse off."""
    twin_prefix_cache_tokens: int = 1024
    """Positions of history-free twin prompts kept for reuse (the template's
    head and repeated questions); 0 turns it off."""

    def __post_init__(self) -> None:
        if self.twin_decode not in ("auto", "joint", "separate"):
            raise ValueError(f"twin_decode must be auto, joint or separate, not {self.twin_decode!r}")
        if self.twin_prefill not in ("auto", "joint", "separate"):
            raise ValueError(f"twin_prefill must be auto, joint or separate, not {self.twin_prefill!r}")
        if self.prefix_cache_tokens < 0 or self.twin_prefix_cache_tokens < 0:
            raise ValueError("prefix_cache_tokens and twin_prefix_cache_tokens must be >= 0")


@dataclass(frozen=True)
class GenerationRequest:
    """One request: personalized prompt, history-free twin prompt, steering and sampling."""

    messages: Sequence[dict[str, str]]
    twin_messages: Sequence[dict[str, str]] | None = None
    steering: SteeringParams = field(default_factory=lambda: SteeringParams(mode="off"))
    sampling: SamplingParams = field(default_factory=SamplingParams)
    request_id: str = field(default_factory=lambda: f"req-{next(_ids)}")
    prompt: str | tuple[int, ...] | None = None
    """A raw completion prompt (text, or token ids) used as is instead of the chat template of
    `messages` (`/v1/completions` without history)."""


@dataclass(frozen=True)
class EngineOutput:
    """Final record of a request: text, usage and steering diagnostics."""

    request_id: str
    text: str
    token_ids: tuple[int, ...]
    finish_reason: str  # "stop", "length", "cancelled" or "error"
    prompt_tokens: int
    completion_tokens: int
    p_hat: float | None
    gate: Branch
    mode: str
    effective_alpha: float
    gamma: float | None
    tau: float | None
    layer: int | None
    artifact_id: str | None
    error: str | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None
    """Per generated token, when the request asked (`SamplingParams.logprobs`)."""
    prompt_logprobs: tuple[TokenLogprob, ...] | None = None
    """Per prompt token, when asked (`SamplingParams.prompt_logprobs`)."""


@dataclass(frozen=True)
class TokenEvent:
    """A streamed text delta (`final` is None) or the end of a request (`final` set)."""

    request_id: str
    delta: str
    token_id: int | None = None
    final: EngineOutput | None = None
    logprobs: tuple[TokenLogprob, ...] = ()
    """Log-probabilities of the tokens generated since the previous event (when asked)."""
    prompt_logprobs: tuple[TokenLogprob, ...] | None = None
    """The scored prompt (`SamplingParams.prompt_logprobs`), in the request's first event only."""
