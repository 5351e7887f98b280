"""One request at a time: FPPS generation with a forward hook at layer L and a lockstep twin.

This is the plain reference the batched engine is tested against, the engine behind
`fpps chat`, and what a hook library does (one steering state per model at a time).

Per request (fpps-method.md §6.4–6.5):
1. If the mode can reach the hard branch, prefill the history-free twin through blocks 0..L
   only (a hook at L stops the forward pass), keeping its cache for those blocks.
2. Prefill the personalized prompt; at the probe's block (L, or an earlier one) read the last
   prompt position and compute `p_hat` (with a twin-aware gate, `gate.py`, at block L from the
   probe's logit and the personalized and twin states there), pick the branch; at block L edit
   that position. Drop the twin unless the branch is hard.
3. A hard row with reach `all` at strength 1 takes the twin's state at every block L..N-1, so
   from here on it decodes the history-free prompt with no edit (its tokens are the twin's).
4. Otherwise, each decode step: feed the emitted token to the twin first (blocks 0..L), then run
   the personalized step, whose hook edits the new position with the twin's state.

`use_cache=False` recomputes the whole sequence every step (twin included) and edits every
steered position again; it exists to prove that KV-cached decoding changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from .adapter import ModelAdapter
from .artifact import SteeringArtifact
from .edit import Branch, choose_branch, edit_state
from .kv import new_cache
from .params import SamplingParams, SteeringParams
from .personalize import Message
from .twin import run_to_layer

__all__ = ["SteeredOutput", "steered_generate"]


@dataclass(frozen=True)
class SteeredOutput:
    """Result of one steered generation."""

    text: str
    token_ids: tuple[int, ...]
    p_hat: float | None
    branch: Branch
    finish_reason: str  # "stop" (EOS or stop string) or "length"
    prompt_tokens: int


def _stop_at(text: str, stops: Sequence[str]) -> int | None:
    cut = [text.find(s) for s in stops if s in text]
    return min(cut) if cut else None


@torch.inference_mode()
def steered_generate(adapter: ModelAdapter, artifact: SteeringArtifact | None,
                     messages: Sequence[Message], twin_messages: Sequence[Message] | None,
                     steering: SteeringParams = SteeringParams(mode="off"),
                     sampling: SamplingParams = SamplingParams(), *,
                     use_cache: bool = True) -> SteeredOutput:
    """Greedy FPPS generation for one request (see the module docstring).

    Args:
        messages: the personalized chat prompt.
        twin_messages: the history-free prompt of the same question (needed for hard/mixed).
        steering: the request's steering; resolved here against the artifact's defaults.
        sampling: only greedy decoding is supported by the reference.
    """
    if not sampling.is_greedy:
        raise ValueError("the reference generator decodes greedily only (temperature 0)")
    params = steering.resolved(artifact.defaults if artifact else None)
    if params.is_active and artifact is None:
        raise ValueError("steering needs an artifact")
    dev = adapter.device
    ids = adapter.encode_chat(messages)
    prompt_len = len(ids)
    layer = artifact.layer if artifact is not None else 0
    needs_twin = params.can_go_hard
    if needs_twin and twin_messages is None:
        raise ValueError("hard and mixed steering need the history-free twin prompt")
    twin_ids = adapter.encode_chat(twin_messages) if needs_twin else []
    twin_cache = new_cache() if needs_twin and use_cache else None
    twin_states: list[torch.Tensor] = []  # twin's layer-L state per steered position, [d]
    state: dict[str, Any] = {"p_hat": None, "branch": "none", "in_twin": False}

    def twin_step(new_ids: list[int]) -> None:
        state["in_twin"] = True  # the steering hook at L must not touch twin passes
        try:
            _twin_step(new_ids)
        finally:
            state["in_twin"] = False

    def _twin_step(new_ids: list[int]) -> None:
        if use_cache:
            h = run_to_layer(adapter, layer, torch.tensor([new_ids], device=dev), twin_cache)
            twin_states.append(h[0, -1])
        else:  # recompute the whole twin sequence, keep the aligned positions only
            h = run_to_layer(adapter, layer, torch.tensor([twin_ids + generated], device=dev))
            twin_states[:] = list(h[0, len(twin_ids) - 1:])

    def probe(hidden: torch.Tensor) -> None:
        # hidden: [1, pos, d] at the probe layer; read once, at the prefill's last prompt position.
        if state["in_twin"] or state["p_hat"] is not None:
            return None
        if artifact is None:
            state["p_hat"], state["branch"] = 0.0, choose_branch(params, 0.0)
            return None
        z = hidden[0, prompt_len - 1].float() @ artifact.w.to(hidden.device) + artifact.b
        p = float(torch.sigmoid(z))
        state["p_hat"], state["probe_logit"] = p, z
        if artifact.gate is not None and needs_twin:
            state["gate_pending"] = True  # the twin-aware gate decides at block L (`gate.py`)
        else:
            state["branch"] = choose_branch(params, p)
        return None

    def twin_gate(hidden: torch.Tensor) -> None:
        # Block L of the prefill: p_hat from the probe's logit and the personalized/twin states.
        assert artifact is not None and artifact.gate is not None
        state["gate_pending"] = False
        gate, h = artifact.gate, hidden[0, prompt_len - 1][None]
        h_g = ht_g = None
        if gate.u is not None:  # the state term's block G: L itself, or what `gate_state` kept
            h_g, ht_g = ((h, twin_states[0][None]) if gate.state_layer == layer
                         else (state["g_pers"][None], state["g_twin"][None]))
        p = float(gate.p_hat(state["probe_logit"].reshape(1), h, twin_states[0][None], artifact.s_f,
                             h_g, ht_g)[0])
        state["p_hat"], state["branch"] = p, choose_branch(params, p)

    def gate_state(hidden: torch.Tensor) -> None:
        # Block G of a gate with a state term: the twin's and the personalized prompt's last
        # positions, each read once, at its prefill.
        if state["in_twin"]:
            if "g_twin" not in state:
                state["g_twin"] = hidden[0, -1].float().clone()
        elif state.get("gate_pending") and "g_pers" not in state:
            state["g_pers"] = hidden[0, prompt_len - 1].float().clone()
        return None

    def hook(hidden: torch.Tensor) -> torch.Tensor | None:
        # hidden: [1, pos, d]. Steered positions: the last prompt one and every generated one.
        if state["in_twin"]:
            return None
        probe(hidden)  # no-op once p_hat is known (always, when the probe reads an earlier block)
        if state.get("gate_pending"):
            twin_gate(hidden)
        first = hidden.shape[1] - 1 if use_cache else prompt_len - 1
        span = hidden[0, first:]  # [n_steered, d]
        twin = torch.stack(twin_states[-span.shape[0]:]) if state["branch"] == "hard" else None
        new = edit_state(span, params=params, branch=state["branch"], p_hat=state["p_hat"],
                         s_f=artifact.s_f if artifact is not None else torch.zeros(1), h_twin=twin)
        if new is None:
            return None
        hidden = hidden.clone()
        hidden[0, first:] = new
        return hidden

    generated: list[int] = []
    eos = adapter.eos_token_ids
    cache = new_cache() if use_cache else None
    finish = "length"
    handles = []
    if artifact is not None:
        if artifact.probe_layer != layer:
            handles.append(adapter.hook_block_output(int(artifact.probe_layer), probe))  # type: ignore[arg-type]
        g = artifact.gate
        if g is not None and g.u is not None and g.state_layer != layer and needs_twin:
            handles.append(adapter.hook_block_output(int(g.state_layer), gate_state))  # type: ignore[arg-type]
        handles.append(adapter.hook_block_output(layer, hook))
    try:
        if needs_twin:
            twin_step(twin_ids)
        step_ids = ids
        for _ in range(sampling.max_tokens):
            if not use_cache:
                step_ids = (twin_ids if state.get("follow") else ids) + generated
            out = adapter.model(input_ids=torch.tensor([step_ids], device=dev),
                                past_key_values=cache, use_cache=use_cache, logits_to_keep=1)
            if needs_twin and state["branch"] == "hard" and params.follows_twin:
                # Reach `all`: answer from the twin, a fresh full-depth pass over its prompt.
                needs_twin, state["follow"], state["in_twin"] = False, True, True
                twin_states.clear()
                cache = new_cache() if use_cache else None
                out = adapter.model(input_ids=torch.tensor([twin_ids], device=dev),
                                    past_key_values=cache, use_cache=use_cache, logits_to_keep=1)
            if needs_twin and state["branch"] != "hard":
                needs_twin = False  # gate stayed off/soft at prefill: drop the twin
                twin_states.clear()
            token = int(out.logits[0, -1].argmax())
            if token in eos and not sampling.ignore_eos:
                finish = "stop"
                break
            generated.append(token)
            if sampling.stop and _stop_at(adapter.decode(generated), sampling.stop) is not None:
                finish = "stop"
                break
            if needs_twin:
                twin_step([token])
            step_ids = [token]
    finally:
        for handle in handles:
            handle.remove()
    text = adapter.decode(generated)
    if sampling.stop:
        cut = _stop_at(text, sampling.stop)
        text = text if cut is None else text[:cut]
    return SteeredOutput(text=text, token_ids=tuple(generated), p_hat=state["p_hat"],
                         branch=state["branch"], finish_reason=finish, prompt_tokens=prompt_len)
