"""The fused FPPS row edit: probe, branch and `alpha`-scaled edit of `h[B, d]` in one pass.

For each row `i` of the layer-`L` states `h[B, d]` (fpps-method.md §6.2-6.3), in fp32:

    p_hat[i] = sigmoid(h[i] . probe_w + probe_b)          # only when p_hat is not given
    branch   = OFF: none | HARD: hard if p_hat >= tau else none
             | SOFT: soft | MIXED: hard if p_hat >= tau else soft
    soft:  c = (alpha * gamma) * (p_hat - 0.5);  out[i] = h[i] + c * s_f
    hard:  out[i] = h_twin[twin_idx[i]]                               if alpha == 1 (exact copy)
           out[i] = (1 - alpha) * h[i] + alpha * h_twin[twin_idx[i]]  otherwise

A row whose branch is none, whose `alpha` is 0, whose soft coefficient `c` is 0, or that is
hard without a twin (`twin_idx < 0`, or no `h_twin` at all) is *untouched*: never written in
place, and copied bit for bit when the output is freshly allocated. Hard rows without a twin are
treated as off rather than refused, because refusing would need a device-to-host sync; the
engine guarantees a twin for every H/M row that can reach the hard branch.

When it is fast: the op is memory bound (about two bytes moved per flop). The Triton kernel reads
each edited row once and writes it once, whatever mix of modes the batch holds, where the unfused
torch sequence (probe dot, sigmoid, gate, soft add, twin gather, blend) launches a dozen-odd kernels
and passes over `[B, d]` several times. It pays off on CUDA for decode batches; on CPU use
`fpps_edit_ref`.

Launch policy: the launcher never reads device tensors on the host, so it cannot know without a
GPU sync whether any row will be edited; it always launches, and programs of untouched rows only
read four scalars and exit. Skipping the call when no row opted in is the caller's job (the
engine knows every row's mode and `alpha` on the host). Computing `p_hat` always needs a launch.
"""

from __future__ import annotations

import os
from typing import Any

import torch

try:  # triton missing or broken (no compiler, wrong driver): the reference below still works
    import triton  # type: ignore[import-untyped, unused-ignore]
    import triton.language as tl  # type: ignore[import-untyped, unused-ignore]

    HAS_TRITON = True
except Exception:  # noqa: BLE001 - any import failure means "no Triton"
    HAS_TRITON = False

__all__ = [
    "MODE_OFF",
    "MODE_HARD",
    "MODE_SOFT",
    "MODE_MIXED",
    "HAS_TRITON",
    "fpps_edit_ref",
    "fpps_edit",
]

MODE_OFF, MODE_HARD, MODE_SOFT, MODE_MIXED = 0, 1, 2, 3

_STORAGE_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


# --------------------------------------------------------------------------- validation


def _fail(name: str, expected: str, got: Any) -> ValueError:
    return ValueError(f"{name}: expected {expected}, got {got}")


def _check_vector(name: str, x: Any, n: int, device: torch.device, kind: str) -> None:
    """`x` must be a 1-D tensor of length `n` on `device`; `kind` is "float32", "float" or "int"."""
    if not isinstance(x, torch.Tensor):
        raise _fail(name, "a torch.Tensor", type(x).__name__)
    if x.dim() != 1 or x.shape[0] != n:
        raise _fail(name, f"shape [{n}]", list(x.shape))
    if x.device != device:
        raise _fail(name, f"device {device} (same as h)", x.device)
    ok = {
        "float32": x.dtype == torch.float32,
        "float": x.dtype.is_floating_point,
        "int": not x.dtype.is_floating_point and not x.dtype.is_complex and x.dtype != torch.bool,
    }[kind]
    if not ok:
        raise _fail(name, f"a {kind} dtype", x.dtype)


def _check_rows(name: str, x: Any, like: torch.Tensor, n_rows: int | None) -> None:
    """`x` must be [n_rows, d] with `like`'s dtype and device and a contiguous last dim."""
    if not isinstance(x, torch.Tensor):
        raise _fail(name, "a torch.Tensor", type(x).__name__)
    if x.dim() != 2 or x.shape[1] != like.shape[1] or (n_rows is not None and x.shape[0] != n_rows):
        rows = "B2" if n_rows is None else str(n_rows)
        raise _fail(name, f"shape [{rows}, {like.shape[1]}]", list(x.shape))
    if x.dtype != like.dtype:
        raise _fail(name, f"dtype {like.dtype} (same as h)", x.dtype)
    if x.device != like.device:
        raise _fail(name, f"device {like.device} (same as h)", x.device)
    if x.shape[1] > 1 and x.stride(1) != 1:
        raise _fail(name, "a contiguous last dim (stride 1)", f"stride {x.stride()}")


def _validate(
    h: Any, s_f: Any, mode: Any, alpha: Any, gamma: Any, tau: Any, p_hat: Any, probe_w: Any,
    probe_b: Any, h_twin: Any, twin_idx: Any, out: Any,
) -> None:
    """Raise ValueError naming the first bad argument. Reads shapes only: never syncs."""
    if not isinstance(h, torch.Tensor) or h.dim() != 2:
        raise _fail("h", "a 2-D tensor [B, d]", getattr(h, "shape", type(h).__name__))
    if h.dtype not in _STORAGE_DTYPES:
        raise _fail("h", "dtype float32, float16 or bfloat16", h.dtype)
    if h.shape[1] < 1:
        raise _fail("h", "d >= 1", list(h.shape))
    _check_rows("h", h, h, None)
    n, d, dev = h.shape[0], h.shape[1], h.device
    _check_vector("s_f", s_f, d, dev, "float")
    _check_vector("mode", mode, n, dev, "int")
    for name, x in (("alpha", alpha), ("gamma", gamma), ("tau", tau)):
        _check_vector(name, x, n, dev, "float32")
    if p_hat is not None:
        _check_vector("p_hat", p_hat, n, dev, "float32")
    else:
        if probe_w is None:
            raise _fail("probe_w", "a [d] tensor when p_hat is None", None)
        if probe_b is None:
            raise _fail("probe_b", "a float or 1-element tensor when p_hat is None", None)
    if probe_w is not None:
        _check_vector("probe_w", probe_w, d, dev, "float")
    if isinstance(probe_b, torch.Tensor):
        if probe_b.numel() != 1 or not probe_b.dtype.is_floating_point:
            got = f"{probe_b.dtype} {list(probe_b.shape)}"
            raise _fail("probe_b", "a 1-element float tensor", got)
        if probe_b.device not in (dev, torch.device("cpu")):
            raise _fail("probe_b", f"device {dev} or cpu", probe_b.device)
    elif probe_b is not None and not isinstance(probe_b, (int, float)):
        raise _fail("probe_b", "a float or 1-element tensor", type(probe_b).__name__)
    if h_twin is not None:
        _check_rows("h_twin", h_twin, h, None)
    if twin_idx is not None:
        _check_vector("twin_idx", twin_idx, n, dev, "int")
        if twin_idx.dtype not in (torch.int32, torch.int64):
            raise _fail("twin_idx", "dtype int32 or int64", twin_idx.dtype)
    if out is not None:
        _check_rows("out", out, h, n)


# --------------------------------------------------------------------------- reference


def _branch_masks(
    mode: torch.Tensor, alpha: torch.Tensor, gamma: torch.Tensor, tau: torch.Tensor,
    p_hat: torch.Tensor, twin_idx: torch.Tensor | None, has_twin: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-row `(is_hard, is_soft, c)`, all [B]; both masks already exclude untouched rows."""
    m = mode.long()
    above = p_hat >= tau  # NaN p_hat is never above: MIXED falls to soft, HARD to none
    c = (alpha * gamma) * (p_hat - 0.5)  # this evaluation order is the contract
    active = alpha != 0
    is_hard = ((m == MODE_HARD) | (m == MODE_MIXED)) & above & active
    if has_twin and twin_idx is not None:
        is_hard &= twin_idx >= 0
    else:  # hard without a twin is treated as off
        is_hard = torch.zeros_like(is_hard)
    is_soft = ((m == MODE_SOFT) | ((m == MODE_MIXED) & ~above)) & active & (c != 0)
    return is_hard, is_soft, c


def fpps_edit_ref(
    h: torch.Tensor,  # [B, d] fp32/fp16/bf16, last dim contiguous, any row stride
    s_f: torch.Tensor,  # [d]
    mode: torch.Tensor,  # [B] int, MODE_* codes
    alpha: torch.Tensor,  # [B] fp32
    gamma: torch.Tensor,  # [B] fp32
    tau: torch.Tensor,  # [B] fp32
    p_hat: torch.Tensor | None = None,  # [B] fp32
    probe_w: torch.Tensor | None = None,  # [d]
    probe_b: float | torch.Tensor | None = None,
    h_twin: torch.Tensor | None = None,  # [B2, d], h's dtype
    twin_idx: torch.Tensor | None = None,  # [B] int32/int64, -1 = no twin
    out: torch.Tensor | None = None,  # [B, d] or h itself
) -> tuple[torch.Tensor, torch.Tensor]:
    """The FPPS edit in plain torch; the specification the Triton kernel must match.

    Args:
        h: layer-`L` states, one row per sequence.
        s_f: steering vector (any float dtype; used in fp32).
        mode: per-row `MODE_OFF/HARD/SOFT/MIXED`.
        alpha, gamma, tau: per-row strength, soft scale and hard threshold.
        p_hat: per-row probe output; None computes `sigmoid(h . probe_w + probe_b)` in fp32.
        probe_w, probe_b: the probe, required when `p_hat` is None.
        h_twin, twin_idx: twin states and each row's index into them (-1 = no twin; a hard row
            without a twin is left untouched). `h_twin` must not overlap `out`.
        out: None allocates `[B, d]` with untouched rows copied bit for bit; a given tensor
            (e.g. `h` for in place) receives the edited rows only.

    Returns:
        `(out, p_hat)`; `p_hat` is the given tensor unchanged, or the computed fp32 one.

    Raises:
        ValueError: naming the argument whose shape, dtype or device is wrong.

    On CUDA the row selection (`nonzero`) syncs; this is the fallback path, not the fast one.
    """
    _validate(h, s_f, mode, alpha, gamma, tau, p_hat, probe_w, probe_b, h_twin, twin_idx, out)
    n, d = h.shape
    if p_hat is None:
        assert probe_w is not None and probe_b is not None  # checked by _validate
        b = torch.as_tensor(probe_b, dtype=torch.float32).to(h.device).reshape(())
        p_hat = torch.sigmoid(h.float() @ probe_w.float() + b)  # [B] fp32
    if out is None:
        out = torch.empty((n, d), dtype=h.dtype, device=h.device)
        out.copy_(h)  # same dtype: a bitwise copy, -0.0 and NaN payloads included
    is_hard, is_soft, c = _branch_masks(
        mode, alpha, gamma, tau, p_hat, twin_idx, h_twin is not None
    )

    soft_rows = is_soft.nonzero().flatten()  # [n_soft]
    if soft_rows.numel():
        x = h[soft_rows].float()  # [n_soft, d]
        out[soft_rows] = (x + c[soft_rows, None] * s_f.float()).to(h.dtype)

    hard_rows = is_hard.nonzero().flatten()  # [n_hard]
    if hard_rows.numel():
        assert h_twin is not None and twin_idx is not None
        twin = h_twin[twin_idx[hard_rows].long()]  # [n_hard, d], h's dtype
        a = alpha[hard_rows, None]  # [n_hard, 1]
        blend = ((1 - a) * h[hard_rows].float() + a * twin.float()).to(h.dtype)
        # alpha == 1 copies the twin exactly: 0 * h' would turn inf into NaN
        out[hard_rows] = torch.where(a == 1, twin, blend)
    return out, p_hat


# --------------------------------------------------------------------------- Triton kernel

if HAS_TRITON:

    @triton.jit  # type: ignore[untyped-decorator, unused-ignore]
    def _fpps_edit_kernel(  # type: ignore[no-untyped-def]  # triton reads the annotations
        h_ptr, out_ptr, s_f_ptr, probe_w_ptr, probe_b_ptr, h_twin_ptr,
        mode_ptr, alpha_ptr, gamma_ptr, tau_ptr, p_hat_ptr, twin_idx_ptr,
        probe_b, d,
        stride_hb, stride_outb, stride_twinb,
        COMPUTE_P: tl.constexpr,  # compute p_hat from the probe and store it
        PROBE_B_IN_PTR: tl.constexpr,  # probe_b lives on the device (else the scalar arg)
        HAS_TWIN: tl.constexpr,
        COPY_UNTOUCHED: tl.constexpr,  # out is a fresh tensor: untouched rows are copied
        BLOCK_D: tl.constexpr,
    ):
        # grid = (B, n_tiles). Program (row, tile) owns columns tile*BLOCK_D + k*n_tiles*BLOCK_D.
        # With COMPUTE_P n_tiles is 1: the whole row's dot must finish before any of the row is
        # overwritten in place, which only holds inside one program.
        row = tl.program_id(0).to(tl.int64)  # int64: row * stride may pass 2**31
        tile = tl.program_id(1)
        n_tiles = tl.num_programs(1)
        offs = tl.arange(0, BLOCK_D)
        h_row = h_ptr + row * stride_hb
        out_row = out_ptr + row * stride_outb
        first = tile * BLOCK_D
        step = n_tiles * BLOCK_D

        if COMPUTE_P:
            acc = tl.zeros([BLOCK_D], dtype=tl.float32)
            for start in range(0, d, BLOCK_D):
                cols = start + offs
                x = tl.load(h_row + cols, mask=cols < d, other=0.0).to(tl.float32)
                w = tl.load(probe_w_ptr + cols, mask=cols < d, other=0.0).to(tl.float32)
                acc += x * w
            if PROBE_B_IN_PTR:
                b = tl.load(probe_b_ptr).to(tl.float32)
            else:
                b = probe_b
            p = 1.0 / (1.0 + tl.exp(-(tl.sum(acc, axis=0) + b)))  # sigmoid, fp32
            tl.store(p_hat_ptr + row, p)
        else:
            p = tl.load(p_hat_ptr + row)

        mode = tl.load(mode_ptr + row).to(tl.int32)
        alpha = tl.load(alpha_ptr + row)
        gamma = tl.load(gamma_ptr + row)
        tau = tl.load(tau_ptr + row)
        above = p >= tau
        c = (alpha * gamma) * (p - 0.5)
        active = alpha != 0.0
        if HAS_TWIN:
            idx = tl.load(twin_idx_ptr + row).to(tl.int64)
        else:
            idx = tl.full([], -1, tl.int64)
        # mode codes: 1 = MODE_HARD, 2 = MODE_SOFT, 3 = MODE_MIXED (jit code cannot read globals)
        is_hard = ((mode == 1) | (mode == 3)) & above & active & (idx >= 0)
        is_soft = ((mode == 2) | ((mode == 3) & ~above)) & active & (c != 0.0)

        if is_hard:
            twin_row = h_twin_ptr + idx * stride_twinb
            if alpha == 1.0:  # exact copy of the twin, no arithmetic
                for start in range(first, d, step):
                    cols = start + offs
                    t = tl.load(twin_row + cols, mask=cols < d)
                    tl.store(out_row + cols, t.to(out_ptr.dtype.element_ty), mask=cols < d)
            else:
                for start in range(first, d, step):
                    cols = start + offs
                    x = tl.load(h_row + cols, mask=cols < d).to(tl.float32)
                    t = tl.load(twin_row + cols, mask=cols < d).to(tl.float32)
                    y = (1.0 - alpha) * x + alpha * t
                    tl.store(out_row + cols, y.to(out_ptr.dtype.element_ty), mask=cols < d)
        elif is_soft:
            for start in range(first, d, step):
                cols = start + offs
                x = tl.load(h_row + cols, mask=cols < d).to(tl.float32)
                s = tl.load(s_f_ptr + cols, mask=cols < d).to(tl.float32)
                tl.store(out_row + cols, (x + c * s).to(out_ptr.dtype.element_ty), mask=cols < d)
        else:
            if COPY_UNTOUCHED:  # same dtype, no arithmetic: bitwise
                for start in range(first, d, step):
                    cols = start + offs
                    x = tl.load(h_row + cols, mask=cols < d)
                    tl.store(out_row + cols, x, mask=cols < d)


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _autotune_configs() -> list[Any]:
    """Tile width and warps; one config under the interpreter (no benchmarking on CPU)."""
    if _interpreting():
        return [triton.Config({"BLOCK_D": 1024}, num_warps=4)]
    shapes = ((256, 2), (512, 4), (1024, 4), (1024, 8), (2048, 8), (4096, 8))
    return [triton.Config({"BLOCK_D": bd}, num_warps=nw) for bd, nw in shapes]


def _prune_configs(configs: list[Any], named_args: dict[str, Any], **_: Any) -> list[Any]:
    """Drop tiles wider than the row needs (keeps the narrowest one if none fit)."""
    width = max(256, triton.next_power_of_2(int(named_args["d"])))
    kept = [c for c in configs if c.kwargs["BLOCK_D"] <= width]
    return kept or configs[:1]


if HAS_TRITON:
    # restore_value: autotuning runs the kernel several times, which must not re-apply an
    # in-place edit. Tuning happens once per (d, dtypes, flags); do not capture it in a graph.
    _fpps_edit_tuned = triton.autotune(
        configs=_autotune_configs(),
        key=["d", "COMPUTE_P", "HAS_TWIN", "COPY_UNTOUCHED"],
        prune_configs_by={"early_config_prune": _prune_configs},
        restore_value=["out_ptr"],
    )(_fpps_edit_kernel)


# --------------------------------------------------------------------------- launcher


def fpps_edit(
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
    """The FPPS edit as one Triton launch; same contract as `fpps_edit_ref`.

    Needs CUDA tensors, or CPU tensors under `TRITON_INTERPRET=1`. Never syncs with the host.
    `p_hat`, when computed, comes back in a fresh fp32 [B] tensor that the kernel fills.

    Raises:
        ValueError: naming the argument whose shape, dtype or device is wrong.
        RuntimeError: Triton is not importable.
    """
    if not HAS_TRITON:
        raise RuntimeError("fpps_edit needs triton; use fpps_edit_ref (or apply_fpps_edit)")
    _validate(h, s_f, mode, alpha, gamma, tau, p_hat, probe_w, probe_b, h_twin, twin_idx, out)
    if h.device.type != "cuda" and not _interpreting():
        raise _fail("h", "a CUDA tensor (or TRITON_INTERPRET=1)", h.device)
    n, d = h.shape
    compute_p = p_hat is None
    p_out = torch.empty(n, dtype=torch.float32, device=h.device) if compute_p else p_hat
    assert p_out is not None
    copy_untouched = out is None
    if out is None:
        out = torch.empty((n, d), dtype=h.dtype, device=h.device)
    if n == 0:
        return out, p_out

    has_twin = h_twin is not None and twin_idx is not None
    b_in_ptr = isinstance(probe_b, torch.Tensor) and probe_b.device == h.device
    b_scalar = 0.0
    if isinstance(probe_b, torch.Tensor) and not b_in_ptr:
        b_scalar = float(probe_b.item())  # a CPU tensor: no device sync
    elif isinstance(probe_b, (int, float)):
        b_scalar = float(probe_b)
    b_ptr = probe_b.reshape(1) if b_in_ptr else alpha  # type: ignore[union-attr]
    s = s_f.contiguous()

    def grid(meta: dict[str, Any]) -> tuple[int, int]:
        return (n, 1 if compute_p else triton.cdiv(d, meta["BLOCK_D"]))

    _fpps_edit_tuned[grid](
        h, out, s, s if probe_w is None else probe_w.contiguous(), b_ptr,
        h if h_twin is None else h_twin,
        mode.contiguous(), alpha.contiguous(), gamma.contiguous(), tau.contiguous(),
        p_out if compute_p else p_out.contiguous(),
        mode if twin_idx is None else twin_idx.contiguous(),
        b_scalar, d,
        h.stride(0), out.stride(0), 0 if h_twin is None else h_twin.stride(0),
        COMPUTE_P=compute_p,
        PROBE_B_IN_PTR=b_in_ptr,
        HAS_TWIN=has_twin,
        COPY_UNTOUCHED=copy_untouched,
    )
    return out, p_out
