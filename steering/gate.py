"""The twin-aware gate: p_hat for rows that prefill a history-free twin (modes hard and mixed).

The probe (`probe.py`) reads one block of the personalized prompt, so it can only learn what
the question looks like; fitted on generated questions, it learns their surface ("my", "I") and
calls "Where does my sister live?" trivia. A row that can reach the hard branch already has its
twin's state at the edit block L when the gate is needed (fpps-method.md §6.5), so it can also
read what the history *does*: the shift v_u = h'_L - h_L between the personalized and the
history-free state, projected on the factual-minus-personal direction s_f. On a factual
question the history pushes the state away from the factual side (v_u . s_f < 0); on a personal
question the history is what the answer needs and the shift goes the other way. The gate is a
small logistic model over named features (the probe's logit among them), fitted with
scikit-learn and exported as plain weights (standardization folded in), like the probe.

Rows without a twin (mode soft) keep the probe's p_hat: the soft edit's size depends on it.
One p_hat per row, fixed at prefill: the engine/kernel contract is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

__all__ = ["FEATURES", "TwinGate", "fit_twin_gate", "gate_features"]


def _vu_sf(probe_logit: torch.Tensor, h: torch.Tensor, h_twin: torch.Tensor, s_f: torch.Tensor) -> torch.Tensor:
    return (h - h_twin) @ s_f


def _vu_norm(probe_logit: torch.Tensor, h: torch.Tensor, h_twin: torch.Tensor, s_f: torch.Tensor) -> torch.Tensor:
    return (h - h_twin).norm(dim=-1)


def _probe_logit(probe_logit: torch.Tensor, h: torch.Tensor, h_twin: torch.Tensor, s_f: torch.Tensor) -> torch.Tensor:
    return probe_logit


def _twin_sf(probe_logit: torch.Tensor, h: torch.Tensor, h_twin: torch.Tensor, s_f: torch.Tensor) -> torch.Tensor:
    return h_twin @ s_f


FEATURES: Mapping[str, Callable[..., torch.Tensor]] = {
    "probe_logit": _probe_logit,  # w . h_probe + b: the probe's own score (question type)
    "vu_sf": _vu_sf,              # (h'_L - h_L) . s_f: does the history push away from the facts?
    "vu_norm": _vu_norm,          # ||h'_L - h_L||: how much the history moves the state at all
    "twin_sf": _twin_sf,          # h_L . s_f: the history-free state's side (question type again)
}
"""Every feature the gate may read, each `[rows]` fp32 from `(probe_logit [rows], h [rows, d],
h_twin [rows, d], s_f [d])`: all known at block L of the prefill, with no extra pass."""


def gate_features(names: Sequence[str], probe_logit: torch.Tensor, h: torch.Tensor,
                  h_twin: torch.Tensor, s_f: torch.Tensor) -> torch.Tensor:
    """The named features `[rows, k]`, in fp32, for personalized states `h` and twin states
    `h_twin` at block L (last prompt position) and the probe's logits."""
    f32 = torch.float32
    args = (probe_logit.to(f32).reshape(-1), h.to(f32), h_twin.to(f32), s_f.to(h.device, f32))
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"unknown gate features {unknown}; known: {sorted(FEATURES)}")
    return torch.stack([FEATURES[n](*args) for n in names], dim=-1)


@dataclass(frozen=True)
class TwinGate:
    """`p_hat = sigmoid(features . w + b)` over `features` (names from `FEATURES`), fp32."""

    features: tuple[str, ...]
    w: torch.Tensor  # [k]
    b: float

    def __post_init__(self) -> None:
        if self.w.shape != (len(self.features),):
            raise ValueError(f"gate weights {tuple(self.w.shape)} do not match {len(self.features)} features")
        if not torch.isfinite(self.w).all() or not np.isfinite(self.b):
            raise ValueError("gate weights must be finite")
        z = torch.zeros((1, 1), device="cpu")  # a dry run on the host: are the feature names known?
        gate_features(self.features, z[0], z, z, z[0])

    def p_hat(self, probe_logit: torch.Tensor, h: torch.Tensor, h_twin: torch.Tensor,
              s_f: torch.Tensor) -> torch.Tensor:
        """`[rows]` gate outputs in fp32."""
        x = gate_features(self.features, probe_logit, h, h_twin, s_f)
        return torch.sigmoid(x @ self.w.to(x.device) + self.b)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "twin-logistic", "features": list(self.features)}


def fit_twin_gate(X: np.ndarray, y: Sequence[int], features: Sequence[str], *, C: float = 1.0) -> TwinGate:
    """Fit a standardized L2 logistic regression on `X` `[n, k]` (labels 1 = factual) and fold
    the scaler into plain weights, so serving is one dot product."""
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(X, dtype=np.float64)
    mu, sd = X.mean(0), X.std(0)
    sd[sd == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=2000).fit((X - mu) / sd, np.asarray(y))
    coef = lr.coef_[0] / sd
    bias = float(lr.intercept_[0] - (coef * mu).sum())
    return TwinGate(tuple(features), torch.tensor(coef, dtype=torch.float32), bias)
