"""HTTP models of `POST /v1/completions` (OpenAI's legacy text completions), for completion-style
harnesses and clients (lm-evaluation-harness `local-completions`, LangChain's `OpenAI` LLM).

The prompt is text or token ids, one or a list. Without personalization it is tokenized as is
(no chat template) and answered unsteered. With the `fpps` extension's `history` (or a `user`
with stored sessions) a text prompt is the question of the same RAG prompt chat builds, steered
the same way. `echo` with `logprobs` scores the prompt itself (vLLM's `prompt_logprobs`), which
is only defined for the raw prompt, so it is refused together with personalization. Streaming
sends OpenAI's `text_completion` chunks: the echoed prompt first, then text deltas.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from fpps.steering.params import MAX_TOP_LOGPROBS, SamplingParams

from .protocol import FppsDiagnostics, GenerationFields, Usage, _Content

__all__ = ["CompletionRequest", "CompletionResponse", "CompletionChoice", "CompletionChunk",
           "CompletionLogprobs", "COMPLETIONS_PATH", "Prompt", "legacy_logprobs"]

COMPLETIONS_PATH = "/v1/completions"
_MAX_PROMPTS = 64
_MAX_IDS = 32768
_Ids = Annotated[list[Annotated[int, Field(ge=0, lt=2**31)]], Field(min_length=1, max_length=_MAX_IDS)]

Prompt = str | tuple[int, ...]
"""One prompt as the engine takes it (`GenerationRequest.prompt`)."""


class CompletionRequest(GenerationFields):
    """`POST /v1/completions`."""

    prompt: (_Content | Annotated[list[_Content], Field(min_length=1, max_length=_MAX_PROMPTS)]
             | _Ids | Annotated[list[_Ids], Field(min_length=1, max_length=_MAX_PROMPTS)])
    """A text, a list of texts, a list of token ids, or a list of such lists (at most 64)."""
    echo: bool = False
    """Prepend the prompt to each choice's text (and, with `logprobs`, score its tokens)."""
    logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    """Legacy logprobs: each token's log-probability and this many top alternatives."""
    suffix: Any = None
    best_of: int | None = Field(default=None, ge=1)

    @field_validator("suffix", mode="before")
    @classmethod
    def _refuse(cls, value: Any, info: ValidationInfo) -> None:
        if value is not None:
            raise ValueError(f"'{info.field_name}' (insertion) is not supported by this server; omit it")
        return None

    @field_validator("best_of")
    @classmethod
    def _best_of_one(cls, value: int | None) -> int | None:
        if value is not None and value != 1:
            raise ValueError("'best_of' other than 1 is not supported; use 'n' for several choices")
        return value

    def prompts(self) -> list[Prompt]:
        """The prompts one by one (a single one is a list of one)."""
        p = self.prompt
        if isinstance(p, str):
            return [p]
        if p and isinstance(p[0], int):
            return [tuple(p)]  # type: ignore[arg-type]
        return [x if isinstance(x, str) else tuple(x) for x in p]  # type: ignore[union-attr]

    def to_sampling_params(self, default_max_tokens: int, score_prompt: bool) -> SamplingParams:
        """Decoding options (raises `SteeringValidationError`); `score_prompt` also asks for
        the prompt's log-probabilities (echo)."""
        top = self.logprobs
        return self._sampling(self.max_tokens or default_max_tokens, top,
                              prompt_logprobs=(top or 0) if score_prompt else None)


class CompletionLogprobs(BaseModel):
    """The legacy logprobs shape: parallel lists over the choice's tokens."""

    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class CompletionChoice(BaseModel):
    index: int
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: str | None
    """None only in a streamed chunk before the choice's last."""
    fpps: FppsDiagnostics | None = None


class CompletionChunk(BaseModel):
    """One streamed event of `/v1/completions` (OpenAI streams the same object, text deltas)."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


class CompletionResponse(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionChoice]
    usage: Usage
    fpps: FppsDiagnostics


def legacy_logprobs(entries: Any, start: int = 0) -> CompletionLogprobs:
    """`CompletionLogprobs` of engine `TokenLogprob`s (prompt ones first when echoed);
    `text_offset` counts characters from `start`, the offset of the first entry's text."""
    offsets, at = [], start
    for e in entries:
        offsets.append(at)
        at += len(e.token)
    return CompletionLogprobs(
        tokens=[e.token for e in entries], token_logprobs=[e.logprob for e in entries],
        top_logprobs=[None if e.logprob is None else {t.token: t.logprob for t in e.top} for e in entries],
        text_offset=offsets)
