"""What one forward pass steers (`PassState`) and the hooks that read it (`SteeringHooks`).

The engine builds a `PassState` per prefill or decode pass and hands it to `SteeringHooks` for
the duration of that pass. Two permanent hooks read it: the probe hook at the probe block (at
prefill it reads each row's last prompt position once; p_hat is then fixed for the request) and
the edit hook at block L, which applies the FPPS edit to every row's newest position with that
row's parameters through the kernel dispatcher (`fpps.kernels.apply_fpps_edit`). With a
twin-aware gate (`fpps.steering.gate`), rows that prefilled a history-free twin get their p_hat
and branch at block L instead, from the probe's logit and both streams' block-L states, with no
extra pass.

Rows of the pass are the requests' own streams; in a joint pass (every prefill with twins, and
decode with joint twins) the twins ride as extra rows of the same tensor, and `main_slots` /
`twin_slots` say which is which. Only opted-in rows are ever edited: the rest carry mode off
(the logits-processor shape).

Host reads: only at prefill, where the host needs each row's p_hat to choose its branch (which
rows follow their twin, which keep one): the probe hook reads p_hat once per pass, and the
twin-aware gate reads its p_hat once more. Decode passes read nothing: p_hat and every branch
are fixed then, and whether to launch the edit at all is decided from host-side row state.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from fpps.kernels import MODE_HARD, MODE_MIXED, MODE_OFF, MODE_SOFT, apply_fpps_edit
from fpps.steering.adapter import ModelAdapter
from fpps.steering.artifact import SteeringArtifact
from fpps.steering.edit import choose_branch

from .rows import Row

__all__ = ["PassState", "RowTensors", "SteeringHooks"]

_MODE_CODE = {"off": MODE_OFF, "hard": MODE_HARD, "soft": MODE_SOFT, "mixed": MODE_MIXED}


@dataclass(frozen=True)
class RowTensors:
    """Per-row steering parameters of one pass, as the kernel takes them (one entry per row)."""

    mode: torch.Tensor
    """int32 kernel mode codes; rows that follow their twin carry off (they *are* the twin)."""
    alpha: torch.Tensor
    gamma: torch.Tensor
    tau: torch.Tensor
    twin_idx: torch.Tensor
    """int32: the row's twin among the pass's twins, or -1."""
    twin_host: tuple[int, ...] = ()
    """`twin_idx` on the host, so that picking the rows with a twin reads nothing back."""

    @classmethod
    def build(cls, rows: Sequence[Row], twin_rows: Sequence[Row], device: torch.device) -> "RowTensors":
        """The pass's per-row tensors on `device` (one upload each, from host values)."""
        tpos = {r: i for i, r in enumerate(twin_rows)}
        f32 = torch.float32
        twin_host = tuple(tpos.get(r, -1) for r in rows)
        return cls(
            mode=torch.tensor([_MODE_CODE["off" if r.follows_twin else r.params.mode] for r in rows],
                              dtype=torch.int32, device=device),
            alpha=torch.tensor([r.params.alpha for r in rows], dtype=f32, device=device),
            gamma=torch.tensor([r.params.gamma or 0.0 for r in rows], dtype=f32, device=device),
            tau=torch.tensor([r.params.tau if r.params.tau is not None else 1.0 for r in rows],
                             dtype=f32, device=device),
            twin_idx=torch.tensor(twin_host, dtype=torch.int32, device=device),
            twin_host=twin_host,
        )


@dataclass(eq=False)
class PassState:
    """The steering state of one forward pass."""

    rows: Sequence[Row]
    """The requests' own rows, in the order of `main_slots` (or of the batch)."""
    tensors: RowTensors
    p_hat: torch.Tensor | None
    """Per row; None at prefill until the probe hook reads it."""
    twin: torch.Tensor | None = None
    """Block-L states of separately decoded twins (`[twins, d]`), or None."""
    main_slots: torch.Tensor | None = None
    """Batch rows that are requests (joint pass); None: every batch row is."""
    twin_slots: torch.Tensor | None = None
    """Batch rows that are twins (joint pass)."""
    has_twins: bool = False
    """A prefill with history-free twins in the pass (the twin-aware gate can read them)."""
    probe_logit: torch.Tensor | None = None
    gate_pending: bool = False
    """Set by the probe hook: the twin-aware gate decides at block L of this pass."""
    gate_states: tuple[torch.Tensor, torch.Tensor] | None = None
    """The personalized and twin last-position states at the gate's block G (`[rows, d]`,
    `[twins, d]`), kept by the G hook for a gate with a state term."""
    twin_gate_states: torch.Tensor | None = None
    """Block-G states of twins prefilled in a pass of their own (`[twins, d]`), or None."""


class SteeringHooks:
    """The artifact's probe and edit, hooked on the adapter's blocks; idle unless `state` is set."""

    def __init__(self, adapter: ModelAdapter, artifact: SteeringArtifact) -> None:
        dev, f32 = adapter.device, torch.float32
        self.layer, self.probe_layer = artifact.layer, artifact.probe_layer
        self._s_f = artifact.s_f.to(dev, f32)
        self._w = artifact.w.to(dev, f32)
        self._b = float(artifact.b)
        gate = artifact.gate  # its weights on the device once, not per prefill
        self._gate = None if gate is None else dataclasses.replace(gate, w=gate.w.to(dev, f32))
        self.state: PassState | None = None
        self._handles: list[Any] = []
        if self.probe_layer != self.layer:  # an earlier block gates; the same pass edits at L
            self._handles.append(adapter.hook_block_output(self.probe_layer, self._probe_hook))
        g_layer = None if self._gate is None or self._gate.u is None else self._gate.state_layer
        self._gate_layer = g_layer
        if g_layer is not None and g_layer != self.layer:  # after the probe's hook at a shared block
            self._handles.append(adapter.hook_block_output(g_layer, self._gate_state_hook))
        self._handles.append(adapter.hook_block_output(self.layer, self._edit_hook))

    def remove(self) -> None:
        """Detach both hooks (idempotent)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def _probe_hook(self, hidden: torch.Tensor) -> None:
        # hidden: [rows, pos, d] at the probe layer; at prefill the last column is each row's
        # last prompt position (left padding), read once and held for the request.
        # With a twin-aware gate, rows that prefilled a twin get their p_hat and branch at
        # block L instead (`_twin_gate`); the others keep the probe's.
        st = self.state
        if st is None or st.p_hat is not None:
            return None
        last = hidden[:, -1, :]
        main = st.main_slots
        z = (last if main is None else last.index_select(0, main)).float() @ self._w + self._b
        p = torch.sigmoid(z)
        st.p_hat, st.probe_logit = p, z
        gated = self._gate is not None and st.has_twins
        for row, pv in zip(st.rows, p.tolist()):  # prefill only: the host decides each branch
            row.p_hat = pv
            row.branch = "none" if gated and row.twin_ids is not None else choose_branch(row.params, pv)
        st.gate_pending = gated
        return None

    def _gate_state_hook(self, hidden: torch.Tensor) -> None:
        # Block G of a prefill with twins: keep both prompts' last positions for the gate's
        # state term (the twins' from this pass, or from their own pass just before); decode
        # passes return at once.
        st = self.state
        if st is None or not st.gate_pending:
            return None
        last = hidden[:, -1, :]
        if st.main_slots is not None and st.twin_slots is not None:  # twins are rows of this pass
            st.gate_states = (last.index_select(0, st.main_slots).float(),
                              last.index_select(0, st.twin_slots).float())
        elif st.twin_gate_states is not None:  # twins ran first, in a pass of their own
            st.gate_states = (last.float(), st.twin_gate_states)
        return None

    def _twin_gate(self, h: torch.Tensor, h_twin: torch.Tensor, st: PassState) -> None:
        """At block L of a prefill: p_hat and branch of every row with a twin from the gate,
        reading the probe's logit and the personalized (`h`) and twin (`h_twin`, rows in twin
        order) states there: no extra pass."""
        st.gate_pending = False
        assert self._gate is not None and st.p_hat is not None and st.probe_logit is not None
        with_twin = [i for i, t in enumerate(st.tensors.twin_host) if t >= 0]  # host: no sync
        if not with_twin:
            return
        dev = h.device
        rows = torch.tensor(with_twin, dtype=torch.long, device=dev)
        twins = torch.tensor([st.tensors.twin_host[i] for i in with_twin], dtype=torch.long, device=dev)
        h_g = ht_g = None
        if self._gate_layer is not None:  # the state term's block: L itself or the G hook's
            h_g, ht_g = (h, h_twin) if self._gate_layer == self.layer else st.gate_states  # type: ignore[misc]
            h_g, ht_g = h_g.index_select(0, rows), ht_g.index_select(0, twins)
        g = self._gate.p_hat(st.probe_logit.index_select(0, rows), h.index_select(0, rows),
                             h_twin.index_select(0, twins), self._s_f, h_g, ht_g)
        p = st.p_hat.clone()
        p.index_copy_(0, rows, g)
        st.p_hat = p
        for i, pv in zip(with_twin, g.tolist()):  # the branch is decided on the host: one read
            row = st.rows[i]
            row.p_hat = pv
            row.branch = choose_branch(row.params, pv)

    def _edit_hook(self, hidden: torch.Tensor) -> None:
        # hidden: [rows, pos, d]; the steered position of every row is the last column.
        st = self.state
        if st is None:
            return None
        if st.p_hat is None:  # prefill with the probe at L: it reads the last prompt position
            self._probe_hook(hidden)
        last = hidden[:, -1, :]
        main = st.main_slots
        # A joint pass: the twins' block-L states are rows of this very tensor. Otherwise they
        # come from a pass of their own (`st.twin`).
        h = last if main is None else last.index_select(0, main)
        h_twin = st.twin if main is None else last.index_select(0, st.twin_slots)
        if st.gate_pending:  # prefill: the twin-aware gate reads block L before the edit
            assert h_twin is not None
            self._twin_gate(h, h_twin, st)
        if not any(r.branch != "none" and not r.follows_twin for r in st.rows):
            return None  # nothing to edit: launch nothing
        t = st.tensors
        apply_fpps_edit(h, self._s_f, t.mode, t.alpha, t.gamma, t.tau, p_hat=st.p_hat,
                        h_twin=h_twin, twin_idx=t.twin_idx, out=h)
        if main is not None:
            last.index_copy_(0, main, h)
        return None
