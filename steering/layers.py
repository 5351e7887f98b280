"""Stage 1 of FPPS: pick the layer where personalization bends the model's belief the most.

fpps-method.md §4 with D2, D3, D5: teacher-force the gold answer after the personalized and the
history-free prompt, read every layer through the logit lens, and compare per-layer perplexities

    PPL_l^c = exp(-(1/T) sum_t log p_l(a_t | prefix))      c in {with, without}
    Delta_l = (PPL_l^with - PPL_l^without) / PPL_l^with

Per group, average `Delta_l` over examples; rank layers (degraded by descending mean `Delta`,
beneficial by descending mean `-Delta`, ranks from 1); fuse with reciprocal-rank fusion,
`score(l) = sum_g 1 / (k + rank_g(l))` with k = 60; `L = argmax score`, ties to the larger
summed `|mean Delta|`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .adapter import ModelAdapter
from .capture import capture_residuals, logit_lens_logprobs

__all__ = [
    "RRF_K",
    "LayerSelection",
    "answer_lens_ppl",
    "delta",
    "rank_layers",
    "rrf_scores",
    "select_layer",
]

RRF_K = 60


@torch.inference_mode()
def answer_lens_ppl(adapter: ModelAdapter, prompt_ids: Sequence[int],
                    answer_ids: Sequence[int]) -> torch.Tensor:
    """Per-layer logit-lens perplexity of `answer_ids` teacher-forced after `prompt_ids`.

    The answer tokens are the answer content only (D3): no template or end-of-turn tokens.

    Returns:
        `[num_layers]` fp32 (fp64 exponent, then cast; early layers reach 1e5..1e7).
    """
    if not prompt_ids or not answer_ids:
        raise ValueError("prompt and answer must both be non-empty")
    ids = torch.tensor([list(prompt_ids) + list(answer_ids)], device=adapter.device)
    n_prompt, n_ans = len(prompt_ids), len(answer_ids)
    with capture_residuals(adapter) as rec:
        adapter.model(input_ids=ids)
    # Positions n_prompt-1 .. n_prompt+T-2 predict the T answer tokens.
    states = rec.stacked()[:, n_prompt - 1:n_prompt - 1 + n_ans]  # [N, T, d]
    logp = logit_lens_logprobs(adapter, states, torch.tensor(list(answer_ids)))  # [N, T]
    return torch.exp(-logp.double().mean(dim=1)).float()


def delta(ppl_with: torch.Tensor, ppl_without: torch.Tensor) -> torch.Tensor:
    """`(PPL^with - PPL^without) / PPL^with`, elementwise (any shape, typically `[..., N]`)."""
    if ppl_with.shape != ppl_without.shape:
        raise ValueError(f"shapes differ: {tuple(ppl_with.shape)} vs {tuple(ppl_without.shape)}")
    w = ppl_with.double()
    return ((w - ppl_without.double()) / w).float()


def rank_layers(values: torch.Tensor) -> torch.Tensor:
    """Ranks (1 = best = largest value) of a `[N]` score vector; ties keep the lower layer first."""
    order = sorted(range(values.shape[0]), key=lambda i: (-float(values[i]), i))
    ranks = torch.empty(values.shape[0], dtype=torch.long)
    for r, i in enumerate(order):
        ranks[i] = r + 1
    return ranks


def rrf_scores(rankings: Sequence[torch.Tensor], k: int = RRF_K) -> torch.Tensor:
    """Reciprocal-rank fusion: `sum_g 1 / (k + rank_g)` over the given `[N]` rank vectors."""
    if not rankings:
        raise ValueError("need at least one ranking")
    return torch.stack([1.0 / (k + r.double()) for r in rankings]).sum(dim=0)


@dataclass(frozen=True)
class LayerSelection:
    """Outcome of `select_layer`.

    Attributes:
        layer: the chosen 0-based block.
        scores: fused RRF score per layer, `[N]`.
        mean_delta_degraded, mean_delta_beneficial: group means of `Delta_l`, `[N]`.
        rank_degraded, rank_beneficial: per-group ranks, `[N]` (1 = best).
    """

    layer: int
    scores: torch.Tensor
    mean_delta_degraded: torch.Tensor
    mean_delta_beneficial: torch.Tensor
    rank_degraded: torch.Tensor
    rank_beneficial: torch.Tensor

    def to_json(self) -> dict[str, object]:
        return {
            "layer": self.layer,
            "rrf_k": RRF_K,
            "scores": [round(float(x), 6) for x in self.scores],
            "mean_delta_degraded": [round(float(x), 6) for x in self.mean_delta_degraded],
            "mean_delta_beneficial": [round(float(x), 6) for x in self.mean_delta_beneficial],
            "rank_degraded": [int(x) for x in self.rank_degraded],
            "rank_beneficial": [int(x) for x in self.rank_beneficial],
        }


def select_layer(delta_degraded: torch.Tensor, delta_beneficial: torch.Tensor, *,
                 k: int = RRF_K, min_layer: int = 0) -> LayerSelection:
    """Choose `L` from per-example `Delta_l` of the two groups (D5).

    Args:
        delta_degraded: `[n_degraded, N]` per-example `Delta_l` of factual-degraded examples.
        delta_beneficial: `[n_beneficial, N]` of personalized-beneficial examples.
        min_layer: layers below it are never chosen (their lens readouts are noise); 0 = any.

    Raises:
        ValueError: a group is empty or the layer counts differ.
    """
    if delta_degraded.ndim != 2 or delta_beneficial.ndim != 2:
        raise ValueError("Delta matrices must be [n_examples, num_layers]")
    if delta_degraded.shape[0] == 0 or delta_beneficial.shape[0] == 0:
        raise ValueError(f"both groups need examples (degraded {delta_degraded.shape[0]}, "
                         f"beneficial {delta_beneficial.shape[0]})")
    if delta_degraded.shape[1] != delta_beneficial.shape[1]:
        raise ValueError("groups disagree on the number of layers")
    m_deg = delta_degraded.double().mean(dim=0)
    m_ben = delta_beneficial.double().mean(dim=0)
    r_deg, r_ben = rank_layers(m_deg), rank_layers(-m_ben)
    scores = rrf_scores([r_deg, r_ben], k=k)
    magnitude = m_deg.abs() + m_ben.abs()
    candidates = range(min_layer, scores.shape[0])
    layer = max(candidates, key=lambda i: (round(float(scores[i]), 12), float(magnitude[i])))
    return LayerSelection(layer=int(layer), scores=scores.float(), mean_delta_degraded=m_deg.float(),
                          mean_delta_beneficial=m_ben.float(), rank_degraded=r_deg,
                          rank_beneficial=r_ben)
