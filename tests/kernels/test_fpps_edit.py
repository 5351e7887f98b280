"""`fpps_edit` (Triton) against `fpps_edit_ref` (torch) and a per-row fp64 oracle of the spec.

Tolerance (flash-attention's rule): the kernel's max error against the fp64 oracle is at most
twice the torch reference's own max error in the same dtype, plus atol (1e-4 fp32, 1e-2 fp16,
5e-2 bf16). The factor 2 leaves room for a different but equally valid rounding order (fused
multiply-add on GPU; the interpreter also rounds fp32 -> bf16 by truncation, one ulp, not half).
Untouched rows and hard rows at alpha 1 are compared bit for bit.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from fpps.kernels import MODE_HARD, MODE_MIXED, MODE_OFF, MODE_SOFT, fpps_edit, fpps_edit_ref

ATOL = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 5e-2}
INT_VIEW = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}
TAU = 0.6


def dtype_id(value: object) -> str | None:
    """Readable test ids: `float32` rather than `dtype0`."""
    return str(value).removeprefix("torch.") if isinstance(value, torch.dtype) else None


# (mode, alpha, p_hat, has_twin, expected branch); tau = 0.6 on every row
ROWS = [
    (MODE_MIXED, 1.0, 0.9, True, "hard"),  # exact twin copy
    (MODE_SOFT, 0.5, 0.2, False, "soft"),  # pushes toward personalization
    (MODE_HARD, 0.3, 0.8, True, "hard"),  # blend
    (MODE_MIXED, 0.7, 0.4, True, "soft"),  # below tau, twin unused
    (MODE_OFF, 1.0, 0.9, True, "none"),
    (MODE_HARD, 1.0, 0.3, True, "none"),  # below tau
    (MODE_MIXED, 0.0, 0.9, True, "none"),  # alpha 0
    (MODE_SOFT, 1.0, 0.5, False, "none"),  # c == 0
    (MODE_HARD, 1.0, 0.95, False, "none"),  # hard without a twin is treated as off
    (MODE_SOFT, 1.0, 0.85, False, "soft"),
    (MODE_MIXED, 0.4, TAU, True, "hard"),  # p_hat == tau is hard
    (MODE_MIXED, 0.0, 0.1, False, "none"),  # alpha 0 on the soft side
]


def make_batch(
    n: int,
    d: int,
    dtype: torch.dtype,
    device: torch.device,
    *,
    strided: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Kwargs for the edit: rows cycle through ROWS, so n >= 12 holds every branch."""
    g = torch.Generator().manual_seed(seed)
    spec = [ROWS[i % len(ROWS)] for i in range(n)]
    if strided:  # h = hidden[:, -1, :] of a [B, T, d] tensor: row stride 3 * d
        h = torch.randn(n, 3, d, generator=g).to(dtype).to(device)[:, -1, :]
    else:
        h = torch.randn(n, d, generator=g).to(dtype).to(device)
    n_twin = n + 2
    twin_idx = [(7 * i + 1) % n_twin if row[3] else -1 for i, row in enumerate(spec)]

    def f32(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float32, device=device)

    return dict(
        h=h,
        s_f=torch.randn(d, generator=g).to(device),
        mode=torch.tensor([r[0] for r in spec], dtype=torch.int8, device=device),
        alpha=f32([r[1] for r in spec]),
        gamma=f32([2.0] * n),
        tau=f32([TAU] * n),
        p_hat=f32([r[2] for r in spec]),
        probe_w=(torch.randn(d, generator=g) / d**0.5).to(device),
        probe_b=0.1,
        h_twin=torch.randn(n_twin, d, generator=g).to(dtype).to(device),
        twin_idx=torch.tensor(twin_idx, dtype=torch.int32, device=device),
    )


def oracle(args: dict[str, Any], p_hat: torch.Tensor) -> tuple[torch.Tensor, list[str]]:
    """The spec row by row in fp64 (c itself is defined in fp32); returns (out, branches)."""
    h, out, branches = args["h"], args["h"].double().clone(), []
    for i in range(h.shape[0]):
        mode, p, tau = int(args["mode"][i]), p_hat[i], args["tau"][i]
        alpha, gamma, idx = args["alpha"][i], args["gamma"][i], int(args["twin_idx"][i])
        branch = {MODE_OFF: "none", MODE_SOFT: "soft"}.get(mode)
        if branch is None:
            branch = "hard" if p >= tau else ("none" if mode == MODE_HARD else "soft")
        c = (alpha * gamma) * (p - 0.5)  # fp32 tensors: fp32 arithmetic
        if alpha == 0 or (branch == "soft" and c == 0) or (branch == "hard" and idx < 0):
            branch = "none"
        if branch == "soft":
            out[i] = h[i].double() + float(c) * args["s_f"].double()
        elif branch == "hard":
            a = float(alpha)
            out[i] = (1 - a) * h[i].double() + a * args["h_twin"][idx].double()
        branches.append(branch)
    return out, branches


def bits(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous().view(INT_VIEW[x.dtype])


def assert_within_tolerance(kernel: torch.Tensor, ref: torch.Tensor, exact: torch.Tensor) -> None:
    kernel_err = (kernel.double() - exact).abs().max().item()
    ref_err = (ref.double() - exact).abs().max().item()
    bound = 2 * ref_err + ATOL[kernel.dtype]
    assert kernel_err <= bound, f"kernel error {kernel_err:.3g} > {bound:.3g} (ref {ref_err:.3g})"


def assert_untouched_and_twins_exact(
    out: torch.Tensor, args: dict[str, Any], h_before: torch.Tensor, branches: list[str]
) -> None:
    for i, branch in enumerate(branches):
        if branch == "none":
            assert torch.equal(bits(out[i]), bits(h_before[i])), f"row {i} was changed"
        if branch == "hard" and float(args["alpha"][i]) == 1.0:
            twin = args["h_twin"][int(args["twin_idx"][i])]
            assert torch.equal(bits(out[i]), bits(twin)), f"row {i} is not its twin"


# the full grid in fp32; fp16 and bf16 at B = 3; one wide bf16 spot check
SHAPES = (
    [(n, d, torch.float32) for n in (1, 3, 64) for d in (1, 7, 576, 1000, 4096)]
    + [(3, d, dt) for dt in (torch.float16, torch.bfloat16) for d in (1, 7, 576, 1000, 4096)]
    + [(16, 8192, torch.bfloat16)]
)


@pytest.mark.parametrize(("n", "d", "dtype"), SHAPES, ids=dtype_id)
def test_kernel_matches_reference_on_irregular_shapes(
    n: int, d: int, dtype: torch.dtype, device: torch.device
) -> None:
    args = make_batch(n, d, dtype, device, strided=(n == 3), seed=n * d)
    exact, branches = oracle(args, args["p_hat"])
    ref, _ = fpps_edit_ref(**args)
    out, p_hat = fpps_edit(**args)
    assert p_hat is args["p_hat"]
    assert_within_tolerance(out, ref, exact)
    assert_untouched_and_twins_exact(out, args, args["h"], branches)

    h_before = args["h"].clone()
    edited, _ = fpps_edit(**args, out=args["h"])  # in place
    assert edited is args["h"]
    assert torch.equal(bits(edited), bits(out))
    assert_untouched_and_twins_exact(edited, args, h_before, branches)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=dtype_id)
@pytest.mark.parametrize(("n", "d"), [(64, 576), (5, 4096), (13, 1000)])
def test_each_dtype_is_within_twice_the_reference_error(
    dtype: torch.dtype, n: int, d: int, device: torch.device
) -> None:
    args = make_batch(n, d, dtype, device, strided=True, seed=d)
    exact, branches = oracle(args, args["p_hat"])
    ref, _ = fpps_edit_ref(**args)  # reference first: the kernel then works in place
    h_before = args["h"].clone()
    out, _ = fpps_edit(**args, out=args["h"])
    assert_within_tolerance(out, ref, exact)
    assert_untouched_and_twins_exact(out, args, h_before, branches)


def test_every_branch_occurs_in_one_mixed_batch(device: torch.device) -> None:
    args = make_batch(len(ROWS), 64, torch.float32, device)
    _, branches = oracle(args, args["p_hat"])
    assert branches == [row[4] for row in ROWS]


@pytest.mark.parametrize(
    ("dtype", "n", "d"),
    [(torch.float32, 64, 576), (torch.bfloat16, 13, 1000), (torch.float16, 3, 7)],
    ids=dtype_id,
)
@pytest.mark.parametrize("in_place", [False, True])
def test_p_hat_computed_in_kernel_matches_reference(
    dtype: torch.dtype, n: int, d: int, in_place: bool, device: torch.device
) -> None:
    args = make_batch(n, d, dtype, device, strided=True, seed=n + d)
    args["p_hat"] = None
    # tau near the middle of the computed probabilities, so both sides of it are exercised
    ref_full, p_ref = fpps_edit_ref(**args)
    args["tau"] = torch.full_like(args["tau"], float(p_ref.median()))
    ref_full, p_ref = fpps_edit_ref(**args)
    h_before = args["h"].clone()
    out, p_kernel = fpps_edit(**args, out=args["h"] if in_place else None)
    torch.testing.assert_close(p_kernel, p_ref, rtol=1e-5, atol=1e-6)
    # the branch is a threshold on p_hat: compare edits under the kernel's own p_hat
    h_for_ref = dict(args, h=h_before, p_hat=p_kernel)
    ref, _ = fpps_edit_ref(**h_for_ref)
    exact, branches = oracle(h_for_ref, p_kernel)
    assert_within_tolerance(out, ref, exact)
    assert_untouched_and_twins_exact(out, h_for_ref, h_before, branches)


@pytest.mark.parametrize("kind", ["float", "int", "device-tensor", "0-dim cpu tensor"])
def test_probe_bias_forms_agree(kind: str, device: torch.device) -> None:
    args = make_batch(4, 33, torch.float32, device)
    args["p_hat"] = None
    b = {
        "float": 2.0,
        "int": 2,
        "device-tensor": torch.tensor([2.0], device=device),
        "0-dim cpu tensor": torch.tensor(2.0),
    }[kind]
    _, p_kernel = fpps_edit(**dict(args, probe_b=b))
    _, p_ref = fpps_edit_ref(**dict(args, probe_b=2.0))
    torch.testing.assert_close(p_kernel, p_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NaN in edited rows
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=dtype_id)
@pytest.mark.parametrize("in_place", [False, True])
def test_alpha_zero_and_off_rows_are_bit_identical(
    dtype: torch.dtype, in_place: bool, device: torch.device
) -> None:
    args = make_batch(len(ROWS), 100, dtype, device, strided=True)
    raw = args["h"].view(INT_VIEW[dtype])  # plant -0.0, quiet and signalling NaN payloads
    sign, qnan, snan = {  # -0.0, a quiet NaN and a signalling NaN, each with a payload
        torch.float32: (-(2**31), 0x7FC00001, 0x7F800001),
        torch.float16: (-(2**15), 0x7E01, 0x7C01),
        torch.bfloat16: (-(2**15), 0x7FC1, 0x7F81),
    }[dtype]
    raw[:, :3] = torch.tensor([sign, qnan, snan], dtype=raw.dtype, device=device)
    _, branches = oracle(args, args["p_hat"])
    h_before = args["h"].clone()
    out, _ = fpps_edit(**args, out=args["h"] if in_place else None)
    for i, branch in enumerate(branches):
        if branch == "none":
            assert torch.equal(bits(out[i]), bits(h_before[i])), f"row {i} was changed"


def test_given_out_receives_edited_rows_only(device: torch.device) -> None:
    args = make_batch(len(ROWS), 50, torch.float32, device)
    _, branches = oracle(args, args["p_hat"])
    sentinel = torch.full_like(args["h"], 12345.0)
    out, _ = fpps_edit(**args, out=sentinel)
    ref, _ = fpps_edit_ref(**args, out=torch.full_like(args["h"], 12345.0))
    for i, branch in enumerate(branches):
        assert (out[i] == 12345.0).all().item() == (branch == "none"), f"row {i} ({branch})"
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)


def test_hard_at_alpha_one_equals_the_twin_bitwise(device: torch.device) -> None:
    args = make_batch(3, 300, torch.bfloat16, device)
    args["mode"][:] = MODE_HARD
    args["alpha"][:] = 1.0
    args["p_hat"][:] = 0.99
    args["twin_idx"] = torch.tensor([2, 0, 4], dtype=torch.int64, device=device)
    args["h"][:, 0] = float("inf")  # 0 * inf would be NaN if alpha 1 were a blend
    args["h_twin"][:, 1] = -0.0
    out, _ = fpps_edit(**args)
    assert torch.equal(bits(out), bits(args["h_twin"][args["twin_idx"]]))


@pytest.mark.parametrize("missing", ["index -1", "no h_twin", "neither"])
def test_hard_rows_without_a_twin_are_treated_as_off(missing: str, device: torch.device) -> None:
    args = make_batch(4, 40, torch.float16, device)
    args["mode"][:] = torch.tensor([MODE_HARD, MODE_MIXED, MODE_HARD, MODE_MIXED])
    args["alpha"][:] = 1.0
    args["p_hat"][:] = 0.9
    if missing == "index -1":
        args["twin_idx"][:] = -1
    if missing in ("no h_twin", "neither"):
        args["h_twin"] = None
    if missing == "neither":
        args["twin_idx"] = None
    out, _ = fpps_edit(**args)
    ref, _ = fpps_edit_ref(**args)
    assert torch.equal(bits(out), bits(args["h"]))
    assert torch.equal(bits(ref), bits(args["h"]))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_p_hat_takes_the_same_branch_as_the_reference(device: torch.device) -> None:
    args = make_batch(4, 20, torch.float32, device)
    args["mode"][:] = torch.tensor([MODE_HARD, MODE_MIXED, MODE_SOFT, MODE_OFF])
    args["p_hat"][:] = float("nan")  # never >= tau: HARD -> none, MIXED and SOFT -> soft (NaN)
    out, _ = fpps_edit(**args)
    ref, _ = fpps_edit_ref(**args)
    assert torch.equal(bits(out[[0, 3]]), bits(args["h"][[0, 3]]))
    assert out[1:3].isnan().all() and ref[1:3].isnan().all()


def test_strided_in_place_edit_leaves_other_positions_alone(device: torch.device) -> None:
    args = make_batch(len(ROWS), 257, torch.bfloat16, device, strided=True)
    hidden = args["h"]._base  # the [B, 3, d] tensor the rows are a view of
    assert hidden is not None
    before = hidden.clone()
    ref, _ = fpps_edit_ref(**args)
    fpps_edit(**args, out=args["h"])
    assert torch.equal(bits(hidden[:, :2]), bits(before[:, :2]))
    torch.testing.assert_close(hidden[:, -1].float(), ref.float(), rtol=0, atol=0.07)


def test_empty_batch_returns_empty(device: torch.device) -> None:
    args = make_batch(0, 16, torch.float32, device)
    out, p_hat = fpps_edit(**dict(args, p_hat=None))
    assert out.shape == (0, 16) and p_hat.shape == (0,)


def test_reference_agrees_with_the_spec_oracle() -> None:
    for dtype in (torch.float32, torch.bfloat16):
        args = make_batch(30, 70, dtype, torch.device("cpu"), strided=True)
        exact, branches = oracle(args, args["p_hat"])
        ref, _ = fpps_edit_ref(**args)
        tol = {torch.float32: 1e-5, torch.bfloat16: 3e-2}[dtype]
        assert (ref.double() - exact).abs().max().item() <= tol
        assert_untouched_and_twins_exact(ref, args, args["h"], branches)
