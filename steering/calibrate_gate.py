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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .adapter import ModelAdapter
from .artifact import SteeringArtifact
from .calibrate import CalibrationExample
from .gate import TwinGate, fit_twin_gate, gate_features, state_vector
from .personalize import RagPersonalizer, history_free_messages
from .probe import fit_probe

__all__ = ["CANDIDATES", "GateSpec", "GateStates", "choose_gate", "gate_states", "score_gate", "state_layers"]

@dataclass(frozen=True)
class GateSpec:
    """One gate candidate: scalar `features` (from `gate.FEATURES`) and an optional linear
    state term (`state` from `gate.STATES` at block `state_layer`, None: the artifact's L),
    fitted at L2 strength `C` (None: the command's `--C`)."""

    features: tuple[str, ...] = ()
    state: str | None = None
    state_layer: int | None = None
    C: float | None = None


CANDIDATES: dict[str, GateSpec] = {
    "probe": GateSpec(),                              # the artifact's probe as it is
    "probe_refit": GateSpec(),                        # the probe refitted on the training questions
    "vu_sf": GateSpec(("vu_sf",)),                    # twin-aware scalar features alone
    "twin_sf+vu_sf": GateSpec(("twin_sf", "vu_sf")),
    "twin_sf+vu_sf+vu_norm": GateSpec(("twin_sf", "vu_sf", "vu_norm")),
    "probe_logit+twin_sf+vu_sf": GateSpec(("probe_logit", "twin_sf", "vu_sf")),  # with the probe
    # A linear probe over the whole shift v_u = h_G - h'_G (or the twin's state) at block G:
    # what the history does to the state, in every direction, not only along s_f.
    "vu@L": GateSpec(state="vu", C=0.01),
    "vu@18": GateSpec(state="vu", state_layer=18, C=0.01),
    "vu@22": GateSpec(state="vu", state_layer=22, C=0.01),
    "twin@22": GateSpec(state="twin", state_layer=22, C=0.01),
    "vu+twin@22": GateSpec(state="vu+twin", state_layer=22, C=0.01),
}
"""The gates `fpps calibrate-gate` fits and compares (names are recorded in the manifest)."""


def state_layers(artifact: SteeringArtifact, names: Sequence[str]) -> list[int]:
    """The blocks other than L whose states the candidates `names` read."""
    return sorted({CANDIDATES[n].state_layer for n in names if CANDIDATES[n].state is not None}
                  - {None, artifact.layer})  # type: ignore[arg-type]


@dataclass
class GateStates:
    """Per question: personalized state at the probe block, at L, the twin's at L; labels."""

    h_probe: torch.Tensor  # [n, d]
    h: torch.Tensor        # [n, d]
    h_twin: torch.Tensor   # [n, d]
    y: np.ndarray          # [n] 1 = factual
    questions: list[str]
    user_ids: list[str]
    at: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    """Personalized and twin states `[n, d]` at other blocks G that state terms read."""

    def states_at(self, layer: int | None, L: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(h_G, h'_G) at block `layer` (None or L: the block-L states)."""
        return (self.h, self.h_twin) if layer is None or layer == L else self.at[layer]

    @staticmethod
    def concat(parts: Sequence["GateStates"]) -> "GateStates":
        """One set from several (every part must hold the same extra blocks)."""
        keys = set(parts[0].at)
        return GateStates(torch.cat([p.h_probe for p in parts]), torch.cat([p.h for p in parts]),
                          torch.cat([p.h_twin for p in parts]), np.concatenate([p.y for p in parts]),
                          sum((p.questions for p in parts), []), sum((p.user_ids for p in parts), []),
                          {k: (torch.cat([p.at[k][0] for p in parts]), torch.cat([p.at[k][1] for p in parts]))
                           for k in keys})


def _key(artifact: SteeringArtifact, examples: Sequence[CalibrationExample], top_k: int,
         layers: Sequence[int] = ()) -> str:
    h = hashlib.sha256()
    key: list[Any] = [artifact.fingerprint, artifact.layer, artifact.probe_layer, top_k]
    if layers:  # the key of a set without extra blocks is unchanged, so old caches still hit
        key.append(sorted(layers))
    h.update(json.dumps(key).encode())
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
                *, top_k: int = 3, cache_dir: str | Path | None = None, log: Any = None,
                layers: Sequence[int] = ()) -> GateStates:
    """Prefill every question with and without its history (RAG top-k) and keep the states the
    gate reads (at the probe block and L, and both prompts' states at the extra blocks
    `layers`, each < L); cached as `gate-states-<key>.safetensors` when `cache_dir` is given."""
    from safetensors.torch import load_file, save_file

    L, PL = artifact.layer, int(artifact.probe_layer)  # type: ignore[arg-type]
    extra = sorted(set(int(g) for g in layers) - {L})
    if any(not 0 <= g < L for g in extra):
        raise ValueError(f"gate state blocks {extra} must be in 0..{L}")
    path = Path(cache_dir) / f"gate-states-{_key(artifact, examples, top_k, extra)}.safetensors" if cache_dir else None
    y = np.array([ex.kind == "factual" for ex in examples], dtype=int)
    qs, us = [ex.question for ex in examples], [ex.user_id for ex in examples]
    if path is not None and path.is_file():
        t = load_file(str(path))
        return GateStates(t["h_probe"], t["h"], t["h_twin"], y, qs, us,
                          {g: (t[f"h@{g}"], t[f"h_twin@{g}"]) for g in extra})
    hp, hl, ht = [], [], []
    ag: dict[int, tuple[list[torch.Tensor], list[torch.Tensor]]] = {g: ([], []) for g in extra}
    rag = RagPersonalizer(top_k=top_k)
    for i, ex in enumerate(examples):
        sessions = [list(s) for s in ex.sessions]
        msgs = rag.messages(ex.question, sessions, list(ex.dates) if ex.dates else None, ex.current_date)
        twin = history_free_messages(ex.question, ex.current_date)
        pers = _last_states(adapter, adapter.encode_chat(msgs), [PL, L, *extra], L)
        hp.append(pers[PL]), hl.append(pers[L])
        tw = _last_states(adapter, adapter.encode_chat(twin), [L, *extra], L)
        ht.append(tw[L])
        for g in extra:
            ag[g][0].append(pers[g]), ag[g][1].append(tw[g])
        if log is not None and (i + 1) % 50 == 0:
            log(f"gate states: {i + 1}/{len(examples)}")
    states = GateStates(torch.stack(hp), torch.stack(hl), torch.stack(ht), y, qs, us,
                        {g: (torch.stack(a), torch.stack(b)) for g, (a, b) in ag.items()})
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"h_probe": states.h_probe, "h": states.h, "h_twin": states.h_twin}
        for g, (a, b) in states.at.items():
            tensors[f"h@{g}"], tensors[f"h_twin@{g}"] = a.contiguous(), b.contiguous()
        save_file(tensors, str(path))
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
    L = artifact.layer
    for name in candidates or list(CANDIDATES):
        spec = CANDIDATES[name]
        feats = spec.features
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
            G = spec.state_layer if spec.state_layer is not None else L
            S = state_vector(spec.state, *train.states_at(G, L)).numpy() if spec.state else None
            gate = fit_twin_gate(_features(feats, artifact, train), train.y.tolist(), feats,
                                 C=spec.C if spec.C is not None else C, S=S, state=spec.state,
                                 state_layer=G if spec.state else None)
            art, tau = dataclasses.replace(artifact, gate=gate), 0.5

            def score(s: GateStates, g: TwinGate = gate, G: int = G) -> np.ndarray:
                return g.p_hat(_probe_logit(artifact, s), s.h, s.h_twin, artifact.s_f,
                               *s.states_at(G, L)).numpy()
        row = {"candidate": name, "features": list(feats), "tau": tau,
               "C": None if name in ("probe", "probe_refit") else (spec.C if spec.C is not None else C),
               "state": spec.state, "state_layer": (spec.state_layer if spec.state_layer is not None else L)
               if spec.state else None,
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
