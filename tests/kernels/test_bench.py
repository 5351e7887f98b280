"""`run_kernel_bench` on a tiny grid, and the unfused baseline it times against."""

from __future__ import annotations

import json
import pathlib

import pytest
import torch

from fpps.kernels import fpps_edit_ref
from fpps.kernels.bench import kernel as bench


def test_cpu_bench_writes_json_and_says_the_kernel_needs_cuda(tmp_path: pathlib.Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("on a GPU machine the bench times the kernel instead")
    report = bench.run_kernel_bench(
        tmp_path, sizes_b=(2,), sizes_d=(8,), dtypes=(torch.float32,)
    )
    written = json.loads((tmp_path / "bench-kernel.json").read_text())
    assert written == report
    assert report["kernel"] == "needs CUDA; not run"
    assert {"torch", "device", "cpu_count"} <= set(report["machine"])
    shapes = [(r["B"], r["d"], r["case"]) for r in report["rows"]]
    assert shapes == [(2, 8, "decode"), (2, 8, "prefill")]
    assert all(r["ref_us"] > 0 for r in report["rows"])


@pytest.mark.parametrize("compute_p", [False, True])
def test_unfused_baseline_computes_the_same_edit(compute_p: bool) -> None:
    args, _ = bench._make_case(8, 64, torch.float32, torch.device("cpu"), compute_p)
    unfused = bench._unfused_torch(**args, out=torch.empty_like(args["h"]))
    ref, _ = fpps_edit_ref(**args)
    torch.testing.assert_close(unfused, ref, rtol=1e-6, atol=1e-6)
