"""The FPPS edit in plain torch, as the method states it (fpps-method.md §6.2–6.3).

This is the specification. It works on one request at a time, in method terms (mode, branch,
alpha); `fpps.kernels.fpps_edit_ref` and the Triton kernel implement the same arithmetic for a
whole batch from per-row codes, and tests tie them to this module.

Numerics: computed in fp32 and cast back. The hard branch is a blend, and `alpha == 1` returns
the twin state exactly. A request with nothing to edit (mode off, alpha 0, or a zero soft
coefficient) returns None: its rows are never written, so steering at strength 0 is
byte-identical to no steering (`h + 0 * v` would flip -0.0 and propagate NaN).
"""

from __future__ import annotations

import torch

from .errors import SteeringValidationError
from .params import Branch, SteeringParams

__all__ = ["Branch", "choose_branch", "edit_state", "soft_coefficient"]


def choose_branch(params: SteeringParams, p_hat: float) -> Branch:
    """The branch a request takes for its (fixed) `p_hat`: the table of §6.2, `p_hat >= tau`."""
    if not params.is_active:
        return "none"
    if params.tau is None or params.gamma is None:
        raise SteeringValidationError("tau", params.tau, "resolve params against the artifact first")
    # fp32 host scalars: the comparison the kernel makes, without touching the device
    p = torch.tensor(p_hat, dtype=torch.float32, device="cpu")
    is_high = bool(p >= torch.tensor(params.tau, dtype=torch.float32, device="cpu"))
    if params.mode == "hard":
        return "hard" if is_high else "none"
    if params.mode == "soft":
        return "soft"
    return "hard" if is_high else "soft"  # mixed


def soft_coefficient(params: SteeringParams, p_hat: float) -> torch.Tensor:
    """`alpha * gamma * (p_hat - 0.5)` in fp32, evaluated in exactly this order."""
    f32 = torch.float32
    cpu = torch.device("cpu")  # host scalars; a 0-d CPU tensor is a scalar to a device op
    alpha, gamma = torch.tensor(params.alpha, dtype=f32, device=cpu), torch.tensor(params.gamma, dtype=f32, device=cpu)
    return (alpha * gamma) * (torch.tensor(p_hat, dtype=f32, device=cpu) - 0.5)


def edit_state(h: torch.Tensor, *, params: SteeringParams, branch: Branch, p_hat: float,
               s_f: torch.Tensor, h_twin: torch.Tensor | None = None) -> torch.Tensor | None:
    """The edited layer-L state(s) of one request, or None when nothing is to be written.

    Args:
        h: personalized states at the edited positions, `[..., d]`, any float dtype.
        params: the request's resolved `SteeringParams`.
        branch: from `choose_branch`.
        p_hat: the request's probe output, fixed at prefill.
        s_f: steering vector `[d]`.
        h_twin: the twin's states at the aligned positions, same shape as `h` (hard branch only).

    Returns:
        A new tensor of `h`'s shape and dtype, or None (leave `h` untouched).
    """
    if branch == "none" or params.alpha == 0.0:
        return None
    if branch == "soft":
        c = soft_coefficient(params, p_hat)
        if c == 0:
            return None
        return (h.float() + c * s_f.to(h.device, torch.float32)).to(h.dtype)
    if h_twin is None:
        raise ValueError("the hard branch needs the twin's state")
    if h_twin.shape != h.shape:
        raise ValueError(f"twin state {tuple(h_twin.shape)} does not match {tuple(h.shape)}")
    if params.alpha == 1.0:
        return h_twin.to(h.dtype).clone()
    a = torch.tensor(params.alpha, dtype=torch.float32, device="cpu")  # a host scalar
    return ((1 - a) * h.float() + a * h_twin.float()).to(h.dtype)
