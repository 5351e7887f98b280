"""Fused kernels for FPPS serving, each with a plain-torch twin.

`apply_fpps_edit` is what the engine calls. Which implementation runs is the *backend*:

- `"auto"` (the default): the Triton launcher `fpps_edit` for CUDA tensors when Triton
  imports, else the reference `fpps_edit_ref` (CPU, or a CUDA box without Triton).
- `"triton"`: always `fpps_edit`, whatever the device. On CPU this needs `TRITON_INTERPRET=1`
  set before Triton is first imported (the launcher raises `ValueError` otherwise); tests use
  it to run the engine through the real kernel without a GPU.
- `"reference"`: always `fpps_edit_ref` (debugging a kernel on a GPU, say).

The backend comes from `use_backend(...)` (a context manager, process-wide while it is open,
so the engine's background thread sees it too), else from the environment variable
`FPPS_KERNEL_BACKEND`, read at every call, else `"auto"`. Choosing `"triton"` when Triton is
not importable raises `RuntimeError`; a name outside the three raises `ValueError`.

This package imports only torch and triton, and imports even when triton is missing or broken.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator, Literal, cast, get_args

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
    "BACKEND_ENV",
    "Backend",
    "apply_fpps_edit",
    "fpps_edit",
    "fpps_edit_ref",
    "kernel_backend",
    "use_backend",
    "uses_triton",
]

Backend = Literal["auto", "triton", "reference"]
BACKEND_ENV = "FPPS_KERNEL_BACKEND"

_lock = threading.Lock()
_forced: list[tuple[object, Backend]] = []  # the open `use_backend` blocks, innermost last


def _checked(name: str, source: str) -> Backend:
    """`name` as a `Backend`, or the error that says what went wrong and where it came from."""
    if name not in get_args(Backend):
        raise ValueError(f"{source}: expected one of {list(get_args(Backend))}, got {name!r}")
    if name == "triton" and not HAS_TRITON:
        raise RuntimeError(f"{source} asks for the Triton kernel, but triton is not importable "
                           "(install triton, or choose 'auto' or 'reference')")
    return cast(Backend, name)


def kernel_backend() -> Backend:
    """The backend `apply_fpps_edit` uses now: the innermost `use_backend`, else
    `$FPPS_KERNEL_BACKEND`, else `"auto"`.

    Raises:
        ValueError: `$FPPS_KERNEL_BACKEND` names no backend.
        RuntimeError: it names `"triton"` and Triton is not importable.
    """
    with _lock:
        if _forced:
            return _forced[-1][1]
    env = os.environ.get(BACKEND_ENV, "").strip()
    return _checked(env, BACKEND_ENV) if env else "auto"


@contextmanager
def use_backend(name: Backend) -> Iterator[None]:
    """Run every `apply_fpps_edit` inside the block with backend `name` (in all threads).

    Raises:
        ValueError: `name` is not a backend.
        RuntimeError: `name` is `"triton"` and Triton is not importable.
    """
    entry = (object(), _checked(name, "use_backend"))  # a token: blocks may close out of order
    with _lock:
        _forced.append(entry)
    try:
        yield
    finally:
        with _lock:
            _forced[:] = [e for e in _forced if e[0] is not entry[0]]


def uses_triton(device: torch.device | str) -> bool:
    """Whether `apply_fpps_edit` runs the Triton kernel for tensors on `device` (under the
    current backend)."""
    backend = kernel_backend()
    if backend != "auto":
        return backend == "triton"
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
    """The FPPS row edit on whatever `h` lives on, by the current backend; see
    `fpps_edit_ref` for the contract.

    Returns:
        `(out, p_hat)`.

    Raises:
        ValueError: naming the argument whose shape, dtype or device is wrong (or a bad
            `$FPPS_KERNEL_BACKEND`).
        RuntimeError: the backend is `"triton"` and Triton is not importable.
    """
    edit = fpps_edit if uses_triton(h.device) else fpps_edit_ref
    return edit(
        h, s_f, mode, alpha, gamma, tau,
        p_hat=p_hat, probe_w=probe_w, probe_b=probe_b,
        h_twin=h_twin, twin_idx=twin_idx, out=out,
    )
