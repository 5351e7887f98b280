"""Stage 3a of FPPS: the steering vector `s_f = m_fact - m_pers` (fpps-method.md §6.1, D8, D9).

- `m_fact`: layer-`L` states of factual training questions answered correctly without history,
  read from the no-history replay of the greedy answer.
- `m_pers`: the same for the personalized-beneficial group, read from the with-history replay.

Pooling: mean over the response positions of one example, then mean over examples, so long
answers do not outweigh short ones. The response positions are those FPPS edits while
generating that response: the last prompt position and every generated position that feeds a
next token (`prompt_len - 1 .. prompt_len + T - 2`). Raw difference of means; `normalize`
rescales to unit norm and needs a re-tuned `gamma` (off by default).
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["mean_response_state", "steering_vector"]


def mean_response_state(states: torch.Tensor, prompt_len: int, response_len: int) -> torch.Tensor:
    """Mean of `states` `[pos, d]` (or `[n_layers, pos, d]`) over the response positions.

    Raises:
        ValueError: empty response or positions out of range.
    """
    if response_len < 1 or prompt_len < 1:
        raise ValueError("need a non-empty prompt and response")
    lo, hi = prompt_len - 1, prompt_len - 1 + response_len
    if hi > states.shape[-2]:
        raise ValueError(f"response positions [{lo}, {hi}) exceed {states.shape[-2]} states")
    return states[..., lo:hi, :].float().mean(dim=-2)


def steering_vector(fact: Sequence[torch.Tensor], pers: Sequence[torch.Tensor], *,
                    normalize: bool = False) -> torch.Tensor:
    """`s_f = mean(fact) - mean(pers)` over per-example mean states (`[d]` each, or `[..., d]`).

    Raises:
        ValueError: a side is empty or shapes differ.
    """
    if not fact or not pers:
        raise ValueError(f"both sides need examples (fact {len(fact)}, pers {len(pers)})")
    m_fact = torch.stack([x.double() for x in fact]).mean(dim=0)
    m_pers = torch.stack([x.double() for x in pers]).mean(dim=0)
    s_f = m_fact - m_pers
    if normalize:
        s_f = s_f / s_f.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return s_f.float()
