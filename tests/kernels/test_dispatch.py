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


def _spy_both(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which implementation `apply_fpps_edit` picks ("kernel" or "ref")."""
    calls: list[str] = []
    real_kernel, real_ref = kernels.fpps_edit, kernels.fpps_edit_ref

    def kernel(*args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        calls.append("kernel")
        return real_kernel(*args, **kwargs)

    def ref(*args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        calls.append("ref")
        return real_ref(*args, **kwargs)

    monkeypatch.setattr(kernels, "fpps_edit", kernel)
    monkeypatch.setattr(kernels, "fpps_edit_ref", ref)
    return calls


def test_use_backend_forces_the_kernel_on_cpu_and_restores_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(kernels.BACKEND_ENV, raising=False)
    calls = _spy_both(monkeypatch)
    args = small_args()
    with kernels.use_backend("triton"):
        assert kernels.kernel_backend() == "triton" and uses_triton("cpu")
        out, _ = apply_fpps_edit(**args)
        with kernels.use_backend("reference"):  # nested: the innermost wins
            assert not uses_triton("cuda")
            apply_fpps_edit(**args)
        apply_fpps_edit(**args)
    assert kernels.kernel_backend() == "auto"
    apply_fpps_edit(**args)
    assert calls == ["kernel", "ref", "kernel", "ref"]
    torch.testing.assert_close(out, fpps_edit_ref(**args)[0], rtol=0, atol=1e-4)


def test_backend_env_var_is_read_at_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy_both(monkeypatch)
    monkeypatch.setenv(kernels.BACKEND_ENV, "triton")
    apply_fpps_edit(**small_args())
    monkeypatch.setenv(kernels.BACKEND_ENV, "reference")
    apply_fpps_edit(**small_args())
    with kernels.use_backend("triton"):  # the context manager wins over the environment
        apply_fpps_edit(**small_args())
    assert calls == ["kernel", "ref", "kernel"]
    monkeypatch.setenv(kernels.BACKEND_ENV, "cuda")
    with pytest.raises(ValueError, match=f"^{kernels.BACKEND_ENV}: "):
        apply_fpps_edit(**small_args())


def test_unknown_backend_name_raises_value_error() -> None:
    with pytest.raises(ValueError, match="^use_backend: expected one of"):
        with kernels.use_backend("cuda"):  # type: ignore[arg-type]
            pass
    assert kernels.kernel_backend() == "auto"


def test_forcing_triton_without_triton_raises_a_clear_error() -> None:
    code = (
        "import os, sys; sys.modules['triton'] = None\n"
        "import fpps.kernels as k\n"
        "try:\n"
        "    with k.use_backend('triton'): pass\n"
        "except RuntimeError as e: assert 'triton is not importable' in str(e), e\n"
        "else: raise SystemExit('use_backend did not raise')\n"
        "os.environ[k.BACKEND_ENV] = 'triton'\n"
        "try: k.uses_triton('cpu')\n"
        "except RuntimeError as e: assert k.BACKEND_ENV in str(e), e\n"
        "else: raise SystemExit('the environment variable did not raise')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FPPS_KERNEL_BACKEND"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
