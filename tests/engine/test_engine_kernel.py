"""The engine through the Triton kernel (interpreted on CPU) equals the engine through the
torch reference: issue 20, item 1.

The real default model and the shipped artifact (probe at block 7, twin-aware gate, edit at
block 28) run one batch holding every kind of row (off, hard, soft, mixed gated hard and gated
soft, a hard row that follows its twin), with lockstep twins decoded jointly and separately,
prefix reuse on (rows of the batch share a history; a later request reuses it from the store)
and a few greedy steps. Both backends must give the same tokens, gates and p_hat, and every
kernel call must agree with `fpps_edit_ref` on the same inputs within the kernel's fp32
tolerance (1e-4, tests/kernels). A spy counts the launcher's calls, so the test cannot pass
without the kernel running.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch

import fpps.kernels as kernels
from fpps.server.engine import EngineConfig, GenerationRequest, SteeredEngine
from fpps.steering import SamplingParams, SteeringParams
from fpps.steering.artifact import load_artifact

pytestmark = pytest.mark.slow

HISTORY = "My cat is Miso and I live in Lisbon."  # with the template's head: a 35-token shared prefix
QUESTIONS = ["What is my cat called?", "Where do I live?", "What is the capital of France?",
             "Who is Miso?", "How many legs does a spider have?"]
# (mode, alpha, gamma, tau): tau 0 always gates hard, tau 1 never does (p_hat < 1). Hard rows
# keep a lockstep twin (reach `layer`), so decode steps edit with twins, jointly or separately.
ROWS = [("off", 1.0, None, None), ("hard", 1.0, None, 0.0), ("soft", 1.0, 3.0, None),
        ("mixed", 0.6, 3.0, 0.0), ("mixed", 1.0, 3.0, 1.0)]
GATES = ["none", "hard", "soft", "hard", "soft"]
ATOL_FP32 = 1e-4  # the kernel's fp32 tolerance against the reference (tests/kernels)


def _request(i: int, mode: str, alpha: float, gamma: float | None, tau: float | None) -> GenerationRequest:
    q = QUESTIONS[i % len(QUESTIONS)]
    return GenerationRequest([{"role": "user", "content": f"{HISTORY} {q}"}], [{"role": "user", "content": q}],
                             SteeringParams(mode=mode, alpha=alpha, gamma=gamma, tau=tau, reach="layer"),
                             SamplingParams(max_tokens=4))


BATCH = [_request(i, *row) for i, row in enumerate(ROWS)]
LATE = _request(3, "mixed", 1.0, 3.0, 0.0)  # arrives later: its history comes from the store


@pytest.fixture(scope="module")
def artifact():
    return load_artifact()


def _spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Wrap both implementations behind `apply_fpps_edit`: record every call's output, and
    check each kernel call against the reference run on copies of the same inputs."""
    calls: dict[str, list[Any]] = {"kernel": [], "ref": []}
    real_kernel, real_ref = kernels.fpps_edit, kernels.fpps_edit_ref

    def kernel(h: torch.Tensor, *args: Any, **kw: Any) -> tuple[torch.Tensor, torch.Tensor]:
        expect, _ = real_ref(h.clone(), *args, **dict(kw, out=None))
        out, p = real_kernel(h, *args, **kw)
        torch.testing.assert_close(out, expect, rtol=0, atol=ATOL_FP32)
        calls["kernel"].append(out.clone())
        return out, p

    def ref(h: torch.Tensor, *args: Any, **kw: Any) -> tuple[torch.Tensor, torch.Tensor]:
        out, p = real_ref(h, *args, **kw)
        calls["ref"].append(out.clone())
        return out, p

    monkeypatch.setattr(kernels, "fpps_edit", kernel)
    monkeypatch.setattr(kernels, "fpps_edit_ref", ref)
    return calls


def _run(adapter: Any, artifact: Any, backend: kernels.Backend, twin_decode: str) -> tuple[list[Any], dict[str, int]]:
    eng = SteeredEngine(adapter, artifact, EngineConfig(max_batch_size=8, twin_decode=twin_decode,
                                                        prefix_cache_tokens=4096))
    assert eng.joint_twins == (twin_decode == "joint")
    try:
        with kernels.use_backend(backend):
            outs = eng.generate(BATCH) + eng.generate([LATE])
    finally:
        eng.shutdown()
    return outs, dict(eng.prefix_cache.stats)


@pytest.fixture(scope="module")
def reference_run(default_adapter, artifact):
    """The engine through `fpps_edit_ref` (joint twins): outputs, every edit's output, reuse."""
    with pytest.MonkeyPatch.context() as mp:
        calls = _spy(mp)
        outs, stats = _run(default_adapter, artifact, "reference", "joint")
    assert calls["ref"] and not calls["kernel"]
    assert [o.gate for o in outs[:len(BATCH)]] == GATES
    assert stats["hits"] >= len(BATCH), stats  # rows 2..5 reuse row 1's prefix, LATE the store's
    return outs, calls["ref"], stats


@pytest.mark.parametrize("twin_decode", ["joint", "separate"])
def test_engine_with_the_triton_kernel_equals_the_engine_with_the_reference(
        default_adapter, artifact, reference_run, monkeypatch, twin_decode):
    # Separate and joint twin decoding give the same tokens (test_engine.py), so both kernel
    # runs are held to the one reference run (joint).
    if not kernels.HAS_TRITON:
        pytest.skip("triton is not importable")
    if default_adapter.device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("the kernel runs on CPU tensors only under TRITON_INTERPRET=1")
    ref_outs, ref_edits, ref_stats = reference_run
    calls = _spy(monkeypatch)
    outs, stats = _run(default_adapter, artifact, "triton", twin_decode)
    assert not calls["ref"], "the reference ran under backend 'triton'"
    assert len(calls["kernel"]) == len(ref_edits) > 0  # the launcher ran, once per edited pass
    assert stats == ref_stats
    for ref, out in zip(ref_outs, outs, strict=True):
        assert out.token_ids == ref.token_ids and out.text == ref.text, out.mode
        assert out.gate == ref.gate and out.finish_reason == ref.finish_reason
        assert out.p_hat == pytest.approx(ref.p_hat, rel=1e-5, abs=1e-6)
    if twin_decode == "joint":  # the same passes as the reference run: the same edit inputs
        for k, r in zip(calls["kernel"], ref_edits):
            torch.testing.assert_close(k, r, rtol=0, atol=ATOL_FP32)
    # Separately decoded twins batch differently, which moves low-order bits of the states
    # (about 5e-6 relative) before any edit; there the spy's per-call check holds the kernel
    # to the reference on identical inputs.
