"""Device audit of the engine (issue 20, item 2): what fpps code creates and reads back.

A `TorchFunctionMode` sees every torch call made while the engine runs on a tiny random model.
It keeps the ones whose caller (the first frame outside torch) is fpps code (`fpps/`,
`fpps_server/`, `steering/`, `kernels/`):

- *strays*: tensor factories (`torch.zeros`, `tensor`, `arange`, ... : torch's own list of
  device-taking constructors) called without `device=`. On a GPU they would land on the CPU
  (or wherever the default device points), so there must be none; host tensors say
  `device="cpu"` on purpose.
- *reads*: calls that bring a value back to the host (`item`, `tolist`, `bool`/`int`/`float`
  of a tensor, `cpu`, `numpy`, `nonzero`, `equal`). On a GPU each waits for the device. During
  decode steps only the documented ones may happen (fpps_server/engine/core.py docstring).

The CPU cannot tell a host tensor from a device one, so reads are checked by where they come
from (file and function), not by device.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.overrides import TorchFunctionMode

import fpps.kernels as kernels
from fpps.server.engine import EngineConfig, GenerationRequest, SteeredEngine
from fpps.server.engine.kvbatch import KVBatch
from fpps.steering import SamplingParams, SteeringParams
from fpps.steering.artifact import SteeringArtifact

ROOT = Path(__file__).resolve().parents[2]
FPPS_DIRS = tuple(str(ROOT / d) + os.sep for d in ("fpps", "fpps_server", "steering", "kernels"))
TORCH_DIR = str(Path(torch.__file__).parent) + os.sep
try:  # the constructors `torch.set_default_device` redirects: exactly the ones that take device=
    from torch.utils._device import _device_constructors

    FACTORIES = frozenset(_device_constructors())
except ImportError:  # a torch that moved it: the usual suspects
    FACTORIES = frozenset([torch.zeros, torch.ones, torch.empty, torch.full, torch.tensor, torch.arange,
                           torch.as_tensor, torch.rand, torch.randn, torch.randint, torch.eye, torch.linspace])
READS = frozenset(["item", "tolist", "__bool__", "__int__", "__float__", "__index__", "cpu", "numpy",
                   "nonzero", "equal"])
# Reads a decode step may make, by (file, function): the step's token read, bookkeeping on the
# host copy of the mask when rows leave, and the log-probabilities a row asked for.
DECODE_READS = {("core.py", "_accept_all"), ("kvbatch.py", "select"), ("sampling.py", "token_logprob")}
LAYER = 1


class DeviceAudit(TorchFunctionMode):
    """Records fpps code's factory calls without `device=` and its host reads, by phase."""

    def __init__(self) -> None:
        super().__init__()
        self.strays: list[str] = []
        self.reads: Counter[tuple[str, str, str]] = Counter()  # (phase, file, function)
        self.phase = "prefill"
        self.decode_steps = 0

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if (func in FACTORIES and kwargs.get("device") is None) or name in READS:
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith(TORCH_DIR):
                frame = frame.f_back
            if frame is not None and frame.f_code.co_filename.startswith(FPPS_DIRS):
                where = Path(frame.f_code.co_filename)
                if name in READS:
                    self.reads[(self.phase, where.name, frame.f_code.co_name)] += 1
                else:
                    self.strays.append(f"{where.relative_to(ROOT)}:{frame.f_lineno} torch.{name}")
        return func(*args, **kwargs)


def _artifact(adapter: Any) -> SteeringArtifact:
    torch.manual_seed(3)
    d = adapter.hidden_size
    return SteeringArtifact(layer=LAYER, w=torch.randn(d) * 0.1, b=0.0, s_f=torch.randn(d) * 3,
                            fingerprint=adapter.fingerprint,
                            defaults={"gamma": 2.0, "tau_hard": 0.0, "tau_mixed": 0.5})


HISTORY = "My cat is Miso and I live in Lisbon."  # with the template's head: a 35-token shared prefix


def _requests() -> list[GenerationRequest]:
    """Every kind of row: steering off/hard/soft/mixed (hard rows keep a lockstep twin),
    seeded top-p sampling, penalties with a bias and log-probabilities, one short row that
    leaves the batch early; all share a prefix (reuse within the step)."""
    rows = [(SteeringParams(mode="off"), SamplingParams(max_tokens=4)),
            (SteeringParams(mode="hard", reach="layer"), SamplingParams(max_tokens=4, ignore_eos=True)),
            (SteeringParams(mode="soft"), SamplingParams(max_tokens=4, temperature=0.8, top_p=0.9, seed=1)),
            (SteeringParams(mode="mixed", alpha=0.5, reach="layer"), SamplingParams(max_tokens=2)),
            (SteeringParams(mode="mixed", tau=1.0), SamplingParams(
                max_tokens=4, frequency_penalty=0.5, repetition_penalty=1.2, logit_bias=((5, 1.0),),
                logprobs=2, min_tokens=2))]
    out = []
    for i, (steer, samp) in enumerate(rows):
        q = f"Question number {i}?"
        out.append(GenerationRequest([{"role": "user", "content": f"{HISTORY} {q}"}],
                                     [{"role": "user", "content": q}], steer, samp))
    return out


def _audited_run(adapter: Any, twin_decode: str) -> tuple[DeviceAudit, list[Any], SteeredEngine]:
    """Build an engine and run the batch, then one more request (its prefix from the store),
    under the audit; the backend is the Triton kernel when it can run here (the GPU path)."""
    interpreting = os.environ.get("TRITON_INTERPRET") == "1"
    backend: kernels.Backend = "triton" if kernels.HAS_TRITON and interpreting else "auto"
    audit = DeviceAudit()
    with kernels.use_backend(backend), audit:
        eng = SteeredEngine(adapter, _artifact(adapter), EngineConfig(twin_decode=twin_decode))
        decode = eng._decode

        def tagged_decode() -> None:
            audit.phase = "decode"
            audit.decode_steps += 1
            try:
                decode()
            finally:
                audit.phase = "prefill"

        eng._decode = tagged_decode  # type: ignore[method-assign]
        try:
            outs = eng.generate(_requests()) + eng.generate(_requests()[:1])
        finally:
            eng.shutdown()
    return audit, outs, eng


@pytest.mark.parametrize("twin_decode", ["joint", "separate"])
def test_engine_creates_every_tensor_with_a_device_and_reads_once_per_decode_step(tiny_llama, twin_decode):
    audit, outs, eng = _audited_run(tiny_llama, twin_decode)
    assert audit.strays == []
    assert {o.gate for o in outs} >= {"none", "hard", "soft"}
    assert eng.prefix_cache.stats["hits"] >= 4, eng.prefix_cache.stats
    decode_reads = {(f, fn) for (phase, f, fn) in audit.reads if phase == "decode"}
    assert decode_reads <= DECODE_READS, decode_reads - DECODE_READS
    assert audit.decode_steps == eng.steps - 2 > 0  # every step but the two prefills decoded
    assert audit.reads[("decode", "core.py", "_accept_all")] == audit.decode_steps  # one read a step


def test_the_audit_catches_a_stray_factory_call_and_a_stray_read(tiny_llama, monkeypatch):
    """The audit can fail: a `torch.zeros(3)` and a `.item()` compiled as if they were lines of
    fpps_server/engine/kvbatch.py, run at every decode step, are both reported."""
    fake = str(ROOT / "fpps_server" / "engine" / "kvbatch.py")
    ns: dict[str, Any] = {"torch": torch}
    exec(compile("def advance_with_strays(batch, new_mask, advance):\n"
                 "    torch.zeros(3)\n"
                 "    new_mask.sum().item()\n"
                 "    advance(batch, new_mask)\n", fake, "exec"), ns)
    real = KVBatch.advance
    monkeypatch.setattr(KVBatch, "advance", lambda self, m: ns["advance_with_strays"](self, m, real))
    audit, _, _ = _audited_run(tiny_llama, "joint")
    assert audit.strays and all(s.startswith("fpps_server/engine/kvbatch.py:2 torch.zeros") for s in audit.strays)
    assert ("decode", "kvbatch.py", "advance_with_strays") in audit.reads
