"""Fused kernels for FPPS serving, each with a plain-torch twin.

`apply_fpps_edit` is what the engine calls: the Triton launcher `fpps_edit` for CUDA tensors
when Triton imports, else the reference `fpps_edit_ref` (CPU, or a CUDA box without Triton).
This package imports only torch and triton, and imports even when triton is missing or broken.
"""

from __future__ import annotations

import torch

from .fpps_edit import (
    HAS_TRITON,
    MODE_HARD,
    MODE_MIXED,
    MODE_OFF,
    MODE_SOFT,
    fpps_edit,
    fpps_edit_ref,
)

__all__ = [
    "MODE_OFF",
    "MODE_HARD",
    "MODE_SOFT",
    "MODE_MIXED",
    "apply_fpps_edit",
    "fpps_edit",
    "fpps_edit_ref",
    "uses_triton",
]


def uses_triton(device: torch.device | str) -> bool:
    """Whether `apply_fpps_edit` runs the Triton kernel for tensors on `device`."""
    return torch.device(device).type == "cuda" and HAS_TRITON


def apply_fpps_edit(
    h: torch.Tensor,
    s_f: torch.Tensor,
    mode: torch.Tensor,
    alpha: torch.Tensor,
    gamma: torch.Tensor,
    tau: torch.Tensor,
    p_hat: torch.Tensor | None = None,
    probe_w: torch.Tensor | None = None,
    probe_b: float | torch.Tensor | None = None,
    h_twin: torch.Tensor | None = None,
    twin_idx: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The FPPS row edit on whatever `h` lives on; see `fpps_edit_ref` for the contract.

    Returns:
        `(out, p_hat)`.

    Raises:
        ValueError: naming the argument whose shape, dtype or device is wrong.
    """
    edit = fpps_edit if uses_triton(h.device) else fpps_edit_ref
    return edit(
        h, s_f, mode, alpha, gamma, tau,
        p_hat=p_hat, probe_w=probe_w, probe_b=probe_b,
        h_twin=h_twin, twin_idx=twin_idx, out=out,
    )
