"""The dispatcher `apply_fpps_edit`, argument validation, and importing without Triton."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import torch

import fpps.kernels as kernels
from fpps.kernels import MODE_SOFT, apply_fpps_edit, fpps_edit, fpps_edit_ref, uses_triton


def small_args(n: int = 3, d: int = 8) -> dict[str, Any]:
    return dict(
        h=torch.randn(n, d),
        s_f=torch.randn(d),
        mode=torch.full((n,), MODE_SOFT, dtype=torch.int32),
        alpha=torch.ones(n),
        gamma=torch.ones(n),
        tau=torch.full((n,), 0.5),
        p_hat=torch.full((n,), 0.9),
        probe_w=torch.randn(d),
        probe_b=0.0,
        h_twin=torch.randn(2, d),
        twin_idx=torch.zeros(n, dtype=torch.int64),
    )


def test_dispatcher_uses_reference_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not uses_triton(torch.device("cpu"))
    assert uses_triton(torch.device("cuda")) == kernels.HAS_TRITON
    calls: list[str] = []

    def spy(*args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        calls.append("ref")
        return fpps_edit_ref(*args, **kwargs)

    def kernel_must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the Triton launcher ran for CPU tensors")

    monkeypatch.setattr(kernels, "fpps_edit_ref", spy)
    monkeypatch.setattr(kernels, "fpps_edit", kernel_must_not_run)
    args = small_args()
    out, _ = apply_fpps_edit(**args)
    assert calls == ["ref"]
    torch.testing.assert_close(out, fpps_edit_ref(**args)[0], rtol=0, atol=0)


BAD_ARGUMENTS = [
    ("h", dict(h=torch.randn(3, 8, dtype=torch.float64))),
    ("h", dict(h=torch.randn(3, 8, 2)[:, :, 0])),  # last dim not contiguous
    ("h", dict(h=torch.randn(3, 0))),
    ("s_f", dict(s_f=torch.randn(9))),
    ("mode", dict(mode=torch.ones(3))),
    ("mode", dict(mode=torch.ones(4, dtype=torch.int8))),
    ("alpha", dict(alpha=torch.ones(3, dtype=torch.float64))),
    ("gamma", dict(gamma=torch.ones(2))),
    ("tau", dict(tau=[0.5, 0.5, 0.5])),
    ("p_hat", dict(p_hat=torch.ones(3, dtype=torch.float16))),
    ("probe_w", dict(p_hat=None, probe_w=None)),
    ("probe_w", dict(probe_w=torch.randn(7))),
    ("probe_b", dict(p_hat=None, probe_b=None)),
    ("probe_b", dict(probe_b=torch.ones(2))),
    ("probe_b", dict(probe_b="0.1")),
    ("h_twin", dict(h_twin=torch.randn(2, 8, dtype=torch.float16))),
    ("h_twin", dict(h_twin=torch.randn(2, 9))),
    ("twin_idx", dict(twin_idx=torch.zeros(3, dtype=torch.int8))),
    ("out", dict(out=torch.empty(3, 8, dtype=torch.bfloat16))),
    ("out", dict(out=torch.empty(4, 8))),
]


@pytest.mark.parametrize(("name", "bad"), BAD_ARGUMENTS)
@pytest.mark.parametrize("edit", [fpps_edit, fpps_edit_ref], ids=["kernel", "reference"])
def test_bad_arguments_raise_value_error_naming_them(
    name: str, bad: dict[str, Any], edit: Any
) -> None:
    with pytest.raises(ValueError, match=f"^{name}: "):
        edit(**dict(small_args(), **bad))


def test_launcher_refuses_cpu_tensors_without_the_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ValueError, match="^h: .*CUDA"):
        fpps_edit(**small_args())


def test_package_imports_and_falls_back_without_triton() -> None:
    code = (
        "import sys; sys.modules['triton'] = None\n"  # makes `import triton` raise ImportError
        "import torch, fpps.kernels as k\n"
        "assert not k.uses_triton(torch.device('cuda'))\n"
        "h = torch.randn(2, 4)\n"
        "out, p = k.apply_fpps_edit(h, torch.ones(4), torch.tensor([2, 0]), torch.ones(2),\n"
        "                           torch.ones(2), torch.ones(2), p_hat=torch.tensor([1.0, 1.0]))\n"
        "assert torch.equal(out, torch.stack([h[0] + 0.5, h[1]]))\n"
    )
    env = dict(os.environ, TRITON_INTERPRET="0")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
