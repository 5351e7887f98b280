"""The calibration's records: one question (`CalibrationExample`), the run's settings
(`CalibrationConfig`) and a question's pass-A results (`QuestionState`).

Below both halves of the pipeline (`calibrate`, `calibrate_grid`) so that neither imports the
other for a type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

import torch

__all__ = ["CalibrationConfig", "CalibrationExample", "Kind", "QuestionState"]

Kind = Literal["personalized", "factual"]


@dataclass(frozen=True)
class CalibrationExample:
    """One question of one user, steering-side (no `fpps.eval` types)."""

    user_id: str
    kind: Kind
    question: str
    answers: tuple[str, ...]
    sessions: tuple[tuple[Mapping[str, str], ...], ...] = ()
    dates: tuple[str | None, ...] | None = None
    current_date: str | None = None


@dataclass(frozen=True, kw_only=True)
class CalibrationConfig:
    """Process-wide settings of one calibration run."""

    max_tokens: int = 32
    """Greedy answer length (the paper uses 500; short answers keep CPU runs feasible)."""
    top_k: int = 3
    """Sessions retrieved into the RAG prompt (D20)."""
    gammas: tuple[float, ...] = (0.0, 0.1, 0.3, 0.5, 1.0, 2.0, 3.0)
    taus: tuple[float, ...] = tuple(round(0.05 + 0.01 * i, 2) for i in range(96))
    min_layer: int = 0
    """Layers below this are never selected (0 = any, the paper's rule)."""
    probe_folds: int = 5
    split_seed: int = 0
    normalize_s_f: bool = False
    plateau_tol: float = 0.5
    """Overall points below the best that still count as the plateau tau is centred in."""
    method: str = "rag"
    probe_labels: Literal["groups", "kinds", "auto"] = "auto"
    """Probe training set. `groups` (D7): degraded = 1, beneficial = 0. `kinds`: the groups plus
    every other factual question (1) and personalized question (0), a query-type router that
    generalizes when the groups are tiny. `auto`: `kinds` if a group has < `min_group` members,
    else the set whose probe has the higher out-of-fold gate accuracy on every training
    question (`_choose_probe`)."""
    min_group: int = 8
    probe_layer: int | Literal["auto", "edit"] = "auto"
    """Block the probe reads: `edit` (= L, the paper), a block number `<= L`, or `auto`: the
    block `0..L` (with the label set, when `probe_labels` is `auto`) whose probe gates every
    training question best out of fold (`probe.select_probe`)."""
    search_grid: bool = True
    """False skips pass B (steered decoding) and keeps the paper's default gamma/tau."""


@dataclass
class QuestionState:
    """Pass-A results of one question."""

    example: CalibrationExample
    key: str
    text_with: str
    text_without: str
    correct_with: bool
    correct_without: bool
    feature: torch.Tensor  # [N, d] at the last personalized prompt token
    resp_with: torch.Tensor  # [N, d] mean over the with-history response positions
    resp_without: torch.Tensor  # [N, d] same, no-history response
    ppl_with: torch.Tensor | None = None  # [N] lens PPL of the gold answer, with history
    ppl_without: torch.Tensor | None = None

    @property
    def group(self) -> str | None:
        ex = self.example
        if ex.kind == "factual" and self.correct_without and not self.correct_with:
            return "degraded"
        if ex.kind == "personalized" and self.correct_with and not self.correct_without:
            return "beneficial"
        return None
