"""The twin-aware gate: p_hat for rows that prefill a history-free twin (modes hard and mixed).

The probe (`probe.py`) reads one block of the personalized prompt, so it can only learn what
the question looks like; fitted on generated questions, it learns their surface ("my", "I") and
calls "Where does my sister live?" trivia. A row that can reach the hard branch already has its
twin's state at the edit block L when the gate is needed (fpps-method.md §6.5), so it can also
read what the history *does*: the shift v_u = h'_L - h_L between the personalized and the
history-free state, projected on the factual-minus-personal direction s_f. On a factual
question the history pushes the state away from the factual side (v_u . s_f < 0); on a personal
question the history is what the answer needs and the shift goes the other way. The gate is a
small logistic model over named scalar features (the probe's logit among them) and, optionally,
a linear term over a whole state at a block G between the probe's block and L: the shift
h_G - h'_G, the twin's h'_G (what the question asks, with no history to copy from), or both.
Both prompts are rows of the same prefill pass, so block G costs a hook, not a pass. It is
fitted with scikit-learn and exported as plain weights (standardization folded in), like the
probe. Which form ships is chosen on a hand-written dev set (`calibrate_gate.py`): on the
default model the twin's block-22 state, fitted on the broad calibration set, separates
personal from factual dev questions with AUC 0.996, where the scalar features reach 0.92.

Rows without a twin (mode soft) keep the probe's p_hat: the soft edit's size depends on it.
One p_hat per row, fixed at prefill: the engine/kernel contract is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

__all__ = ["FEATURES", "STATES", "TwinGate", "fit_twin_gate", "gate_features", "state_vector"]


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

STATES: Mapping[str, str] = {
    "vu": "h_G - h'_G: the shift the history causes at block G (personalized minus twin)",
    "twin": "h'_G: the history-free twin's state at block G (what the question is about)",
    "vu+twin": "[h_G - h'_G, h'_G] ([2d]): both, i.e. any linear function of h_G and h'_G",
}
"""The `[d]` states a gate's linear state term may read, at its own block G <= L."""


def gate_features(names: Sequence[str], probe_logit: torch.Tensor, h: torch.Tensor,
                  h_twin: torch.Tensor, s_f: torch.Tensor) -> torch.Tensor:
    """The named features `[rows, k]`, in fp32, for personalized states `h` and twin states
    `h_twin` at block L (last prompt position) and the probe's logits."""
    f32 = torch.float32
    args = (probe_logit.to(f32).reshape(-1), h.to(f32), h_twin.to(f32), s_f.to(h.device, f32))
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"unknown gate features {unknown}; known: {sorted(FEATURES)}")
    if not names:
        return h.new_zeros((h.shape[0], 0), dtype=f32)
    return torch.stack([FEATURES[n](*args) for n in names], dim=-1)


@dataclass(frozen=True)
class TwinGate:
    """`p_hat = sigmoid(features . w + state . u + b)`, fp32.

    `features` are scalar names from `FEATURES`, read at block L. The optional state term is a
    linear probe over a whole `[d]` state at block `state_layer` (G, between the probe's block and
    L): `"vu"` reads the shift h_G - h'_G the history causes, `"twin"` the history-free state
    h'_G alone. Both rows are in the prefill pass at block G, so the term costs no extra pass.
    """

    features: tuple[str, ...]
    w: torch.Tensor  # [k]
    b: float
    u: torch.Tensor | None = None  # [d]
    state: str | None = None       # one of STATES, with `u`
    state_layer: int | None = None  # G, with `u`

    def __post_init__(self) -> None:
        if self.w.shape != (len(self.features),):
            raise ValueError(f"gate weights {tuple(self.w.shape)} do not match {len(self.features)} features")
        if not torch.isfinite(self.w).all() or not np.isfinite(self.b):
            raise ValueError("gate weights must be finite")
        if (self.u is None) != (self.state is None) or (self.u is None) != (self.state_layer is None):
            raise ValueError("a gate's state term needs all of u, state and state_layer")
        if self.u is not None:
            if self.state not in STATES:
                raise ValueError(f"unknown gate state {self.state!r}; known: {list(STATES)}")
            if self.u.dim() != 1 or not torch.isfinite(self.u).all():
                raise ValueError("gate state weights must be one finite vector")
            if int(self.state_layer) < 0:  # type: ignore[arg-type]
                raise ValueError(f"gate state_layer {self.state_layer} must be >= 0")
        z = torch.zeros((1, 1), device="cpu")  # a dry run on the host: are the feature names known?
        gate_features(self.features, z[0], z, z, z[0])

    def p_hat(self, probe_logit: torch.Tensor, h: torch.Tensor, h_twin: torch.Tensor,
              s_f: torch.Tensor, h_g: torch.Tensor | None = None,
              h_twin_g: torch.Tensor | None = None) -> torch.Tensor:
        """`[rows]` gate outputs in fp32; `h_g`/`h_twin_g` are the states at `state_layer`
        (needed only with a state term)."""
        x = gate_features(self.features, probe_logit, h, h_twin, s_f)
        z = x @ self.w.to(x.device) + self.b
        if self.u is not None:
            if h_g is None or h_twin_g is None:
                raise ValueError(f"this gate reads block {self.state_layer}: pass h_g and h_twin_g")
            z = z + state_vector(self.state, h_g, h_twin_g) @ self.u.to(x.device)  # type: ignore[arg-type]
        return torch.sigmoid(z)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "twin-logistic", "features": list(self.features)}
        if self.u is not None:
            out.update(state=self.state, state_layer=int(self.state_layer))  # type: ignore[arg-type]
        return out


def state_vector(state: str, h_g: torch.Tensor, h_twin_g: torch.Tensor) -> torch.Tensor:
    """The `[rows, d]` (`[rows, 2d]` for "vu+twin") fp32 state a gate's term reads (`STATES`)."""
    h_g, h_twin_g = h_g.float(), h_twin_g.float()
    if state == "vu":
        return h_g - h_twin_g
    return h_twin_g if state == "twin" else torch.cat([h_g - h_twin_g, h_twin_g], dim=-1)


def fit_twin_gate(X: np.ndarray, y: Sequence[int], features: Sequence[str], *, C: float = 1.0,
                  S: np.ndarray | None = None, state: str | None = None,
                  state_layer: int | None = None) -> TwinGate:
    """Fit a standardized L2 logistic regression on the scalar features `X` `[n, k]` and,
    when given, the states `S` `[n, d]` (labels 1 = factual), and fold the scaler into plain
    weights, so serving is one dot product."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y)
    X = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
    k = X.shape[1]
    if S is not None:
        X = np.concatenate([X, np.asarray(S, dtype=np.float64)], axis=1)
    mu, sd = X.mean(0), X.std(0)
    sd[sd == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=5000).fit((X - mu) / sd, y)
    coef = lr.coef_[0] / sd
    bias = float(lr.intercept_[0] - (coef * mu).sum())
    u = torch.tensor(coef[k:], dtype=torch.float32) if S is not None else None
    return TwinGate(tuple(features), torch.tensor(coef[:k], dtype=torch.float32), bias, u,
                    state if S is not None else None, state_layer if S is not None else None)
