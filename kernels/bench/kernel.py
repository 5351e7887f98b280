"""Benchmark of the FPPS edit (`fpps bench kernel`): a measurement, not a test.

On CUDA it times the fused Triton launch against the unfused torch sequence (probe dot, sigmoid,
gate, soft add, twin gather, strength blend as separate ops) over B x d x dtype, and reports
microseconds and achieved GB/s against the device's peak memory bandwidth. On CPU the kernel
cannot run; it times the torch reference `fpps_edit_ref` alone and says so in the JSON.

Two cases per shape: `decode` (p_hat given: every decode step) and `prefill` (p_hat computed from
the probe in the same pass: the last prompt position). Every row of the batch is edited, cycling
through soft, hard blend, hard exact copy and mixed-below-tau, so the fused kernel skips nothing.

GB/s uses `BYTES_MODEL` below; on CUDA, L2 is flushed between timed runs (triton's do_bench).
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from ..fpps_edit import HAS_TRITON, MODE_HARD, MODE_MIXED, MODE_SOFT, fpps_edit, fpps_edit_ref

__all__ = ["HBM_PEAK_GBPS", "peak_gbps_by_name", "run_kernel_bench"]

BYTES_MODEL = (
    "each distinct byte the op must move, counted once: the h rows it reads (soft and blend rows;"
    " every row when it computes p_hat), the twin rows it reads, the rows it writes, s_f, probe_w"
    " and the per-row scalars"
)
SIZES_B = (1, 8, 64, 256)
SIZES_D = (576, 4096, 8192)
DTYPES = (torch.bfloat16, torch.float32)

# Peak HBM bandwidth by device name (GB/s, vendor figures), first substring match wins: the
# fallback when the device properties give no memory clock and bus width, and the figure
# `scripts/gpu_check.py` reports its share against.
HBM_PEAK_GBPS = (
    ("H200", 4800.0),
    ("H100 PCIe", 2000.0),
    ("H100 NVL", 3900.0),
    ("H100", 3350.0),  # SXM: "NVIDIA H100 80GB HBM3"
    ("A100-SXM4-80GB", 2039.0),
    ("A100 80GB", 2039.0),
    ("A100", 1555.0),  # the 40 GB parts
)


def peak_gbps_by_name(name: str) -> float | None:
    """The table's peak HBM bandwidth for a device name (`torch.cuda.get_device_name`), or None."""
    return next((gbps for key, gbps in HBM_PEAK_GBPS if key in name), None)


def _machine(device: torch.device) -> dict[str, Any]:
    triton_version = None
    if HAS_TRITON:
        import triton  # type: ignore[import-untyped, unused-ignore]

        triton_version = triton.__version__
    on_cuda = device.type == "cuda"
    return {
        "torch": torch.__version__,
        "triton": triton_version,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": torch.cuda.get_device_name(device) if on_cuda else "cpu",
        "cpu_name": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        # CPU timings on a loaded machine stall in thread-pool waits; record the load with them
        "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def _peak_bandwidth(device: torch.device) -> tuple[float | None, str]:
    """Peak DRAM bandwidth in GB/s and where the figure came from."""
    props = torch.cuda.get_device_properties(device)
    clock_khz = getattr(props, "memory_clock_rate", None)
    bus_bits = getattr(props, "memory_bus_width", None)
    source = "torch device properties"
    if not (clock_khz and bus_bits) and HAS_TRITON:
        try:
            import triton

            info = triton.runtime.driver.active.utils.get_device_properties(device.index or 0)
            clock_khz, bus_bits = info.get("mem_clock_rate"), info.get("mem_bus_width")
            source = "triton driver device properties"
        except Exception:  # noqa: BLE001 - fall through to the table
            clock_khz = bus_bits = None
    if clock_khz and bus_bits:  # double data rate: two transfers per clock
        return 2 * clock_khz * 1e3 * bus_bits / 8 / 1e9, source
    gbps = peak_gbps_by_name(props.name)
    return (gbps, "known-GPU table") if gbps else (None, "unknown device")


def _make_case(
    n: int, d: int, dtype: torch.dtype, device: torch.device, compute_p: bool
) -> tuple[dict[str, Any], int]:
    """Edit kwargs for a batch whose rows are all edited, and the bytes the op must move."""
    g = torch.Generator().manual_seed(n * d)
    # per row: (mode, alpha, p_hat) -> soft, hard blend, hard exact copy, mixed below tau (soft)
    cycle = [
        (MODE_SOFT, 1.0, 0.8),
        (MODE_MIXED, 0.5, 0.9),
        (MODE_HARD, 1.0, 0.9),
        (MODE_MIXED, 1.0, 0.2),
    ]
    rows = [cycle[i % len(cycle)] for i in range(n)]
    args: dict[str, Any] = dict(
        h=torch.randn(n, d, generator=g).to(device, dtype),
        s_f=torch.randn(d, generator=g).to(device),
        mode=torch.tensor([r[0] for r in rows], dtype=torch.int8, device=device),
        alpha=torch.tensor([r[1] for r in rows], device=device),
        gamma=torch.full((n,), 2.0, device=device),
        tau=torch.full((n,), 0.5, device=device),
        p_hat=torch.tensor([r[2] for r in rows], device=device),
        probe_w=(torch.randn(d, generator=g) / d**0.5).to(device),
        probe_b=0.0,
        h_twin=torch.randn(n, d, generator=g).to(device, dtype),
        twin_idx=torch.arange(n, dtype=torch.int32, device=device),
    )
    if compute_p:
        # the bench needs a known branch per row, so tau sits on the side that keeps it
        args["p_hat"] = None
        args["tau"] = torch.tensor([-1.0 if r[2] > 0.5 else 2.0 for r in rows], device=device)
    elt = args["h"].element_size()
    n_soft = sum(1 for r in rows if r[0] == MODE_SOFT or r[2] < 0.5)
    n_blend = sum(1 for r in rows if r[0] == MODE_MIXED and r[1] != 1.0 and r[2] > 0.5)
    n_copy = n - n_soft - n_blend
    h_rows_read = n if compute_p else n_soft + n_blend
    row_bytes = (h_rows_read + (n_blend + n_copy) + n) * d * elt  # h reads, twin reads, writes
    vector_bytes = d * 4 * (2 if compute_p else 1) + n * (1 + 4 * 4 + 4)
    return args, row_bytes + vector_bytes


def _unfused_torch(
    h: torch.Tensor, s_f: torch.Tensor, mode: torch.Tensor, alpha: torch.Tensor,
    gamma: torch.Tensor, tau: torch.Tensor, p_hat: torch.Tensor | None, probe_w: torch.Tensor,
    probe_b: float, h_twin: torch.Tensor, twin_idx: torch.Tensor, out: torch.Tensor,
) -> torch.Tensor:
    """The edit as separate torch ops, without host syncs (so it writes every row)."""
    hf = h.float()  # [B, d]
    if p_hat is None:
        p_hat = torch.sigmoid(hf @ probe_w.float() + probe_b)  # probe dot, sigmoid
    above = p_hat >= tau  # gate
    active = alpha != 0
    is_hard = ((mode == MODE_HARD) | (mode == MODE_MIXED)) & above & active & (twin_idx >= 0)
    is_soft = ((mode == MODE_SOFT) | ((mode == MODE_MIXED) & ~above)) & active
    c = (alpha * gamma) * (p_hat - 0.5)
    soft = hf + c[:, None] * s_f.float()  # soft add
    twin = h_twin[twin_idx.clamp(min=0).long()].float()  # hard gather
    hard = (1 - alpha)[:, None] * hf + alpha[:, None] * twin  # strength blend
    new = torch.where(is_hard[:, None], hard, torch.where(is_soft[:, None], soft, hf))
    return out.copy_(new)


def _time_cpu_us(
    fn: Callable[[], Any], min_s: float = 0.05, max_reps: int = 50
) -> tuple[float, float]:
    """Median and best wall time of `fn` in microseconds, after two warm-up calls.

    The best is the steadier figure on a shared machine, where other jobs steal whole slices.
    """
    fn()
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < min_s and len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6, min(times) * 1e6


def _time_cuda_us(fn: Callable[[], Any]) -> float:
    import triton.testing  # type: ignore[import-untyped, unused-ignore]

    return float(triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")) * 1e3


def _bench_row(
    n: int, d: int, dtype: torch.dtype, case: str, device: torch.device, peak: float | None
) -> dict[str, Any]:
    args, n_bytes = _make_case(n, d, dtype, device, compute_p=(case == "prefill"))
    buf = torch.empty_like(args["h"])
    row: dict[str, Any] = {"dtype": str(dtype).removeprefix("torch."), "B": n, "d": d, "case": case}
    row["bytes"] = n_bytes
    if device.type != "cuda":
        median_us, best_us = _time_cpu_us(lambda: fpps_edit_ref(**args, out=buf))
        row.update(ref_us=round(median_us, 2), ref_us_best=round(best_us, 2))
        return row
    fused_us = _time_cuda_us(lambda: fpps_edit(**args, out=buf))
    fused = buf.clone()
    unfused_us = _time_cuda_us(lambda: _unfused_torch(**args, out=buf))
    row.update(
        fused_us=round(fused_us, 2),
        unfused_us=round(unfused_us, 2),
        speedup=round(unfused_us / fused_us, 2),
        fused_gbps=round(n_bytes / fused_us / 1e3, 1),
        unfused_gbps=round(n_bytes / unfused_us / 1e3, 1),
        max_abs_diff_vs_unfused=float((fused.float() - buf.float()).abs().max()),
    )
    if peak:
        row["fused_pct_peak"] = round(100 * row["fused_gbps"] / peak, 1)
    return row


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets: >= 3x unfused at B >= 64; >= 70% of peak at B*d >= 64*4096."""
    big_b = [r["speedup"] for r in rows if r["B"] >= 64]
    big_bd = [
        r["fused_pct_peak"] for r in rows if r["B"] * r["d"] >= 64 * 4096 and "fused_pct_peak" in r
    ]
    return {
        "min_speedup_at_B_ge_64": min(big_b) if big_b else None,
        "min_pct_peak_at_Bd_ge_64x4096": min(big_bd) if big_bd else None,
    }


def run_kernel_bench(
    out_dir: pathlib.Path | None,
    *,
    sizes_b: tuple[int, ...] = SIZES_B,
    sizes_d: tuple[int, ...] = SIZES_D,
    dtypes: tuple[torch.dtype, ...] = DTYPES,
) -> dict[str, Any]:
    """Run the benchmark; write `out_dir/bench-kernel.json` when `out_dir` is given.

    Returns:
        The report: `machine`, `kernel` (what ran), `peak_gbps`, `rows` (one per dtype, B, d
        and case) and, on CUDA, a `summary` against the issue's targets.
    """
    on_cuda = torch.cuda.is_available() and HAS_TRITON
    device = torch.device("cuda") if on_cuda else torch.device("cpu")
    peak, source = _peak_bandwidth(device) if on_cuda else (None, "not measured on CPU")
    report: dict[str, Any] = {
        "machine": _machine(device),
        "kernel": "triton fused fpps_edit" if on_cuda else "needs CUDA; not run",
        "timed": "fpps_edit vs the unfused torch sequence" if on_cuda else "fpps_edit_ref only",
        "peak_gbps": peak,
        "peak_gbps_source": source,
        "bytes_model": BYTES_MODEL,
    }
    rows = [
        _bench_row(n, d, dtype, case, device, peak)
        for dtype in dtypes
        for case in ("decode", "prefill")
        for n in sizes_b
        for d in sizes_d
    ]
    report["rows"] = rows
    if on_cuda:
        report["summary"] = _summary(rows)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "bench-kernel.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
