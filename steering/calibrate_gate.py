"""Fit, choose and report the twin-aware gate of an existing artifact (`fpps calibrate-gate`).

The gate decides everything FPPS does to a request, and a gate fitted on one set of generated
questions learns their surface. So the gate is calibrated apart from the layer, the steering
vector and gamma (which `calibrate.py` fits once and which do not depend on how questions are
phrased), in three roles kept apart on purpose:

- **fit** on training questions (labels: factual = 1, personalized = 0): every candidate's
  weights, and the refitted probe;
- **choose** on a dev set of different authorship (hand-written, `eval/data/README.md`): the
  candidate that gates the most factual questions while gating at most `max_personal` of the
  personal ones (the product's promise: never erase the answer the user asked for); nothing
  is fitted to it, and the threshold stays the logistic 0.5;
- **report** on whatever else is given (e.g. the bundled test split), never used to decide.

Everything is read at the last prompt position of a prefill (no decoding): the personalized
state at the probe block and at L, and the twin's state at L, exactly what the engine has when
it gates. States are cached per (data, artifact) in `cache_dir` as safetensors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .adapter import ModelAdapter
from .artifact import SteeringArtifact
from .calibrate import CalibrationExample
from .gate import fit_twin_gate, gate_features
from .personalize import RagPersonalizer, history_free_messages
from .probe import fit_probe

__all__ = ["CANDIDATES", "GateStates", "choose_gate", "gate_states", "score_gate"]

CANDIDATES: dict[str, tuple[str, ...]] = {
    "probe": (),                                  # the artifact's probe as it is
    "probe_refit": (),                            # the probe refitted on the training questions
    "vu_sf": ("vu_sf",),                          # twin-aware features alone
    "twin_sf+vu_sf": ("twin_sf", "vu_sf"),
    "twin_sf+vu_sf+vu_norm": ("twin_sf", "vu_sf", "vu_norm"),
    "probe_logit+twin_sf+vu_sf": ("probe_logit", "twin_sf", "vu_sf"),  # combination with the probe
}
"""The gates `fpps calibrate-gate` fits and compares (names are recorded in the manifest)."""


@dataclass
class GateStates:
    """Per question: personalized state at the probe block, at L, the twin's at L; labels."""

    h_probe: torch.Tensor  # [n, d]
    h: torch.Tensor        # [n, d]
    h_twin: torch.Tensor   # [n, d]
    y: np.ndarray          # [n] 1 = factual
    questions: list[str]
    user_ids: list[str]


def _key(artifact: SteeringArtifact, examples: Sequence[CalibrationExample], top_k: int) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([artifact.fingerprint, artifact.layer, artifact.probe_layer, top_k]).encode())
    for ex in examples:
        h.update(json.dumps([ex.user_id, ex.kind, ex.question, ex.sessions, ex.dates, ex.current_date],
                            default=str).encode())
    return h.hexdigest()[:20]


@torch.inference_mode()
def _last_states(adapter: ModelAdapter, ids: list[int], layers: Sequence[int], stop: int) -> dict[int, torch.Tensor]:
    """Block outputs at the last position for `layers`, running blocks 0..`stop` only."""
    from .twin import run_to_layer

    got: dict[int, torch.Tensor] = {}
    handles = [adapter.hook_block_output(l, (lambda l: lambda h: got.__setitem__(l, h[0, -1].float().clone()))(l))
               for l in layers if l != stop]
    try:
        got[stop] = run_to_layer(adapter, stop, torch.tensor([ids], device=adapter.device))[0, -1].float().clone()
    finally:
        for hd in handles:
            hd.remove()
    return got


def gate_states(adapter: ModelAdapter, artifact: SteeringArtifact, examples: Sequence[CalibrationExample],
                *, top_k: int = 3, cache_dir: str | Path | None = None, log: Any = None) -> GateStates:
    """Prefill every question with and without its history (RAG top-k) and keep the states the
    gate reads; cached as `gate-states-<key>.safetensors` when `cache_dir` is given."""
    from safetensors.torch import load_file, save_file

    L, PL = artifact.layer, int(artifact.probe_layer)  # type: ignore[arg-type]
    path = Path(cache_dir) / f"gate-states-{_key(artifact, examples, top_k)}.safetensors" if cache_dir else None
    y = np.array([ex.kind == "factual" for ex in examples], dtype=int)
    qs, us = [ex.question for ex in examples], [ex.user_id for ex in examples]
    if path is not None and path.is_file():
        t = load_file(str(path))
        return GateStates(t["h_probe"], t["h"], t["h_twin"], y, qs, us)
    hp, hl, ht = [], [], []
    rag = RagPersonalizer(top_k=top_k)
    for i, ex in enumerate(examples):
        sessions = [list(s) for s in ex.sessions]
        msgs = rag.messages(ex.question, sessions, list(ex.dates) if ex.dates else None, ex.current_date)
        twin = history_free_messages(ex.question, ex.current_date)
        pers = _last_states(adapter, adapter.encode_chat(msgs), [PL, L], L)
        hp.append(pers[PL]), hl.append(pers[L])
        ht.append(_last_states(adapter, adapter.encode_chat(twin), [L], L)[L])
        if log is not None and (i + 1) % 50 == 0:
            log(f"gate states: {i + 1}/{len(examples)}")
    states = GateStates(torch.stack(hp), torch.stack(hl), torch.stack(ht), y, qs, us)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"h_probe": states.h_probe, "h": states.h, "h_twin": states.h_twin}, str(path))
    return states


def _probe_logit(artifact: SteeringArtifact, s: GateStates, w: torch.Tensor | None = None,
                 b: float | None = None) -> torch.Tensor:
    w = artifact.w if w is None else w
    return s.h_probe @ w + (artifact.b if b is None else b)


def _features(names: Sequence[str], artifact: SteeringArtifact, s: GateStates) -> np.ndarray:
    return gate_features(names, _probe_logit(artifact, s), s.h, s.h_twin, artifact.s_f).numpy()


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, p)), 4) if 0 < y.sum() < len(y) else None


def score_gate(p_hat: np.ndarray, s: GateStates, tau: float, *, max_misses: int = 10) -> dict[str, Any]:
    """Share of personal questions gated (p_hat >= tau), share of factual ones, AUC, misses."""
    gated = p_hat >= tau
    pers, fact = s.y == 0, s.y == 1

    def misses(mask: np.ndarray, order: int) -> list[dict[str, Any]]:
        idx = np.nonzero(mask)[0]
        idx = idx[np.argsort(order * p_hat[idx])][:max_misses]
        return [{"user_id": s.user_ids[i], "question": s.questions[i], "p_hat": round(float(p_hat[i]), 4)}
                for i in idx]

    return {"n_personal": int(pers.sum()), "n_factual": int(fact.sum()), "tau": tau,
            "personal_gated": round(100.0 * float(gated[pers].mean()), 2) if pers.any() else None,
            "factual_gated": round(100.0 * float(gated[fact].mean()), 2) if fact.any() else None,
            "auc": _auc(s.y, p_hat),
            "personal_misses": misses(pers & gated, -1), "factual_misses": misses(fact & ~gated, 1)}


@dataclass
class GateChoice:
    """The chosen candidate, the artifact to save, and every candidate's scores."""

    name: str
    artifact: SteeringArtifact
    table: list[dict[str, Any]]


def choose_gate(artifact: SteeringArtifact, train: GateStates, dev: GateStates,
                reports: dict[str, GateStates] | None = None, *, C: float = 1.0,
                max_personal: float = 5.0, candidates: Sequence[str] | None = None) -> GateChoice:
    """Fit every candidate on `train`, score it on `dev` (and on `reports`), choose by `dev`.

    Rule: the candidate with the most factual questions gated among those gating at most
    `max_personal`% of the personal ones; if none does, the one with the fewest personal plus
    ungated factual questions. Ties go to the earlier (simpler) candidate in `CANDIDATES`."""
    import dataclasses

    reports = reports or {}
    table: list[dict[str, Any]] = []
    built: dict[str, SteeringArtifact] = {}
    for name in candidates or list(CANDIDATES):
        feats = CANDIDATES[name]
        if name == "probe":
            art, tau = artifact, float(artifact.defaults.get("tau_mixed", 0.5))
            score = lambda s, a=art: torch.sigmoid(_probe_logit(a, s)).numpy()  # noqa: E731
        elif name == "probe_refit":
            probe = fit_probe(train.h_probe, train.y.tolist())
            w, b = probe.export()
            art = dataclasses.replace(artifact, w=w.float(), b=float(b), gate=None)
            tau = 0.5
            score = lambda s, a=art: torch.sigmoid(_probe_logit(a, s)).numpy()  # noqa: E731
        else:
            gate = fit_twin_gate(_features(feats, artifact, train), train.y.tolist(), feats, C=C)
            art, tau = dataclasses.replace(artifact, gate=gate), 0.5
            score = lambda s, g=gate: g.p_hat(_probe_logit(artifact, s), s.h, s.h_twin, artifact.s_f).numpy()  # noqa: E731
        row = {"candidate": name, "features": list(feats), "tau": tau,
               "train": score_gate(score(train), train, tau, max_misses=0),
               "dev": score_gate(score(dev), dev, tau),
               **{k: score_gate(score(v), v, tau) for k, v in reports.items()}}
        table.append(row)
        built[name] = dataclasses.replace(art, defaults={**dict(art.defaults), "tau_hard": tau, "tau_mixed": tau})

    def key(r: dict[str, Any]) -> tuple[float, ...]:
        d = r["dev"]
        ok = d["personal_gated"] <= max_personal
        return (0.0 if ok else 1.0, -d["factual_gated"] if ok else d["personal_gated"] - d["factual_gated"])

    best = min(table, key=key)  # min keeps the first of equals
    return GateChoice(best["candidate"], built[best["candidate"]], table)
