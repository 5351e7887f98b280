"""Per-row token sampling and incremental detokenization with stop strings."""

from __future__ import annotations

from typing import Sequence

import torch

from fpps.steering.params import SamplingParams

__all__ = ["next_token", "sample_next", "TextTracker"]


def next_token(logits: torch.Tensor, sampling: SamplingParams, generator: torch.Generator | None) -> torch.Tensor:
    """Next token from one row's logits `[vocab]` as a 0-d long tensor on the logits' device:
    argmax when greedy, else temperature/top-p. Reads nothing back, so the engine can read a
    whole step's tokens at once; `generator` must live on the logits' device."""
    if sampling.is_greedy:
        return logits.argmax()
    probs = torch.softmax(logits.float() / sampling.temperature, dim=-1)
    if sampling.top_p < 1.0:
        sorted_p, order = probs.sort(descending=True)
        keep = sorted_p.cumsum(0) - sorted_p < sampling.top_p  # always keeps the top token
        # zero the tail in place of boolean indexing, which would sync to count the kept tokens
        probs = torch.zeros_like(probs).scatter(0, order, sorted_p.masked_fill(~keep, 0.0))
    return torch.multinomial(probs, 1, generator=generator)[0]


def sample_next(logits: torch.Tensor, sampling: SamplingParams, generator: torch.Generator | None) -> int:
    """`next_token` read back as an int (one device-to-host sync)."""
    return int(next_token(logits, sampling, generator))


class TextTracker:
    """Turns a growing token list into text deltas, honouring stop strings.

    A delta never ends inside a possible stop string or a partial UTF-8 character, so a
    streamed answer equals the final text exactly.
    """

    def __init__(self, decode, stops: Sequence[str]) -> None:  # type: ignore[no-untyped-def]
        self._decode = decode
        self._stops = tuple(stops)
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self.emitted = 0
        self.text = ""
        self.stopped = False

    def update(self, token_ids: Sequence[int]) -> str:
        """Decode `token_ids` (all generated so far); return the new safe-to-emit text."""
        text = self._decode(token_ids)
        cut = min((i for i in (text.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.text, self.stopped = text[:cut], True
            return self.flush()
        self.text = text
        safe = len(text) - self._hold
        if text.endswith("\ufffd"):  # an incomplete multi-byte character
            safe = min(safe, len(text.rstrip("\ufffd")))
        if safe <= self.emitted:
            return ""
        delta, self.emitted = text[self.emitted:safe], safe
        return delta

    def flush(self) -> str:
        """Everything not yet emitted (at the end of generation)."""
        delta, self.emitted = self.text[self.emitted:], len(self.text)
        return delta
