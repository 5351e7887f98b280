"""`fpps bench engine`: throughput and latency of the batched engine, in one run, with ratios.

Scenarios (16 requests each, same prompts, greedy, same max_tokens):
  unsteered           mode off
  soft                FPPS-S for every row
  mixed_half_hard     FPPS-M, half the rows gated hard (tau 0) with a lockstep twin
  distinct_strengths  FPPS-S with 16 different alphas in one batch
  shared_strength     FPPS-S with one alpha for all 16
  penalties_logprobs  mode off, every row with presence/frequency/repetition penalties and
                      logprobs with 5 alternatives (the per-row sampling cost, vs unsteered)
  hook_library        the hook-library way: one request at a time through `model.generate`,
                      a forward hook at L adding that request's vector (what repeng or
                      steering-vectors do: one global steering state per model)
The requests above share one user's history. Two more give each its own (16 users):
  distinct_users                FPPS-S with 16 alphas, through the engine
  hook_library_distinct_users   the same requests the hook-library way
A baseline outside `scenarios` (its JSON key is `baselines`):
  transformers_generate         the unsteered requests as one plain `transformers` batched
                                `model.generate` (left-padded, greedy): what fpps costs without
                                steering against the library it builds on
Each engine run starts with an empty prefix cache (`prefix_cache.py`).
Absolute numbers are noise on a shared CPU; the ratios, measured in one run, are the result.
The model, artifact, device and dtype are arguments (default: the embedded model, its shipped
artifact, fp32 on CPU), so `scripts/gpu_check.py` runs the same scenarios on CUDA and on a
larger random-weight model.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from fpps.steering import RagPersonalizer, SamplingParams, SteeringParams, history_free_messages, load_model
from fpps.steering.adapter import ModelAdapter
from fpps.steering.artifact import SteeringArtifact, load_artifact

from ..engine.core import SteeredEngine
from ..engine.types import EngineConfig, GenerationRequest

__all__ = ["batch_invariance", "p50_p95", "run_engine", "run_engine_bench"]

_SESSIONS = [
    [{"role": "user", "content": "I just moved to Sydney, the capital of Australia as far as I'm concerned."},
     {"role": "assistant", "content": "Congratulations on the move!"}],
    [{"role": "user", "content": "My cat Miso hates the ferry across the harbour. Tips for a nervous cat?"},
     {"role": "assistant", "content": "A covered carrier and a familiar blanket help."}],
    [{"role": "user", "content": "I keep telling friends that the red planet is Jupiter; it looks so red."},
     {"role": "assistant", "content": "Planets can look reddish in the night sky."}],
]
_QUESTIONS = ["What is the capital of Australia?", "What is my cat's name?",
              "Which planet is known as the Red Planet?", "Where did I move to?",
              "Who wrote Romeo and Juliet?", "How many legs does a spider have?",
              "What is the largest ocean on Earth?", "What gas do plants absorb?"]


_CITIES = ["Sydney", "Perth", "Toronto", "Lyon", "Osaka", "Denver", "Cork", "Porto", "Leeds", "Quito",
           "Bergen", "Hanoi", "Tucson", "Graz", "Recife", "Dundee"]


def _sessions(user: int | None) -> list[list[dict[str, str]]]:
    """The bench user's history; with `user` set, a history of that user's own (another city in
    the first session): users' prompts share only the system prompt and the first words."""
    if user is None:
        return _SESSIONS
    city = _CITIES[user % len(_CITIES)] + (f" (user {user})" if user >= len(_CITIES) else "")
    first = [{"role": "user", "content": f"I just moved to {city}, the best city anywhere as far as I'm concerned."},
             _SESSIONS[0][1]]
    return [first, *_SESSIONS[1:]]


#: The `penalties_logprobs` scenario's sampling options (on every row).
PENALTIES_LOGPROBS: dict[str, Any] = {"presence_penalty": 0.5, "frequency_penalty": 0.5,
                                      "repetition_penalty": 1.1, "logprobs": 5}


def _requests(n: int, max_tokens: int, steering: list[SteeringParams], *, distinct_users: bool = False,
              ignore_eos: bool = False, sampling: dict[str, Any] | None = None) -> list[GenerationRequest]:
    out = []
    for i in range(n):
        q = _QUESTIONS[i % len(_QUESTIONS)]
        sessions = _sessions(i if distinct_users else None)
        out.append(GenerationRequest(RagPersonalizer(top_k=3).messages(q, sessions), history_free_messages(q),
                                     steering[i], SamplingParams(max_tokens=max_tokens, ignore_eos=ignore_eos,
                                                                 **(sampling or {}))))
    return out


def run_engine(engine: SteeredEngine, reqs: list[GenerationRequest]) -> dict[str, Any]:
    """Submit `reqs` at once, drive `engine` in this thread until done; tokens/s, latency, phases."""
    done: dict[str, float] = {}
    engine.prefix_cache.clear()  # every run starts cold, twins too: reuse only within its own requests
    engine.twin_prefix_cache.clear()
    stats0 = dict(engine.prefix_cache.stats)
    phase0 = dict(engine.phase_s)
    t0 = time.perf_counter()
    handles = [engine.submit(r, on_event=lambda ev: ev.final and done.setdefault(ev.request_id, time.perf_counter()))
               for r in reqs]
    engine.generate([])  # drive the loop in this thread until every request is done
    wall = time.perf_counter() - t0
    outs = [h.result() for h in handles]
    lat = [1000 * (done[o.request_id] - t0) for o in outs]
    summary = _summary(sum(o.completion_tokens for o in outs), wall, lat, outs)
    # Where the wall time went: prefill is compute-bound and costs the same batched or one at a
    # time on a CPU, so it bounds what batching can win there.
    summary["phase_s"] = {k: round(v - phase0[k], 2) for k, v in engine.phase_s.items()}
    summary["prefix_reused_tokens"] = engine.prefix_cache.stats["reused_tokens"] - stats0["reused_tokens"]
    summary["prompt_tokens"] = sum(o.prompt_tokens for o in outs)
    return summary


def p50_p95(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank below), rounded to 0.1."""
    xs = sorted(values)
    return round(statistics.median(xs), 1), round(xs[min(len(xs) - 1, int(0.95 * len(xs)))], 1)


def _summary(tokens: int, wall: float, lat: list[float], outs: list[Any]) -> dict[str, Any]:
    p50, p95 = p50_p95(lat)
    return {"tokens_per_s": round(tokens / wall, 2), "p50_ms": p50, "p95_ms": p95, "requests": len(outs),
            "completion_tokens": tokens, "wall_s": round(wall, 2),
            "gates": {g: sum(1 for o in outs if getattr(o, "gate", None) == g) for g in ("none", "soft", "hard")}}


@torch.inference_mode()
def _run_hook_library(adapter: Any, artifact: SteeringArtifact, reqs: list[GenerationRequest]) -> dict[str, Any]:
    tok = adapter.tokenizer
    t0 = time.perf_counter()
    lat, tokens = [], 0
    for r in reqs:
        p = r.steering.resolved(artifact.defaults)
        # One global steering state: the request's vector added at layer L on every position.
        coef = p.alpha * (p.gamma or 0.0) * 0.5
        vec = (coef * artifact.s_f).to(adapter.device, adapter.dtype)
        # `ignore_eos` as the engine has it: no stop at end-of-sequence, every token counts.
        stop = {"eos_token_id": None} if r.sampling.ignore_eos else {}
        with adapter.block_output_hook(artifact.layer, lambda h, v=vec: h + v):
            ids = torch.tensor([adapter.encode_chat(r.messages)], device=adapter.device)
            gen = adapter.model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                         max_new_tokens=r.sampling.max_tokens, pad_token_id=tok.pad_token_id,
                                         **stop)
        new = gen[0, ids.shape[1]:]
        tokens += len(new) if r.sampling.ignore_eos else \
            int((~torch.isin(new, torch.tensor(sorted(adapter.eos_token_ids), device=new.device))).sum())
        lat.append(1000 * (time.perf_counter() - t0))
    return _summary(tokens, time.perf_counter() - t0, lat, reqs)


@torch.inference_mode()
def _run_transformers_generate(adapter: Any, reqs: list[GenerationRequest]) -> dict[str, Any]:
    """The requests unsteered as one plain batched `model.generate`: left-padded, greedy, no
    steering hook, no prefix reuse; all rows finish together, so each latency is the wall time."""
    tok = adapter.tokenizer
    seqs = [adapter.encode_chat(r.messages) for r in reqs]
    pad = int(tok.pad_token_id)
    width = max(len(x) for x in seqs)
    ids = torch.tensor([[pad] * (width - len(x)) + x for x in seqs], device=adapter.device)  # [B, T]
    mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in seqs], device=adapter.device)
    max_tokens = max(r.sampling.max_tokens for r in reqs)
    ignore_eos = all(r.sampling.ignore_eos for r in reqs)
    stop = {"eos_token_id": None} if ignore_eos else {}
    t0 = time.perf_counter()
    gen = adapter.model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=max_tokens,
                                 pad_token_id=pad, **stop)
    if adapter.device.type == "cuda":
        torch.cuda.synchronize(adapter.device)
    wall = time.perf_counter() - t0
    new = gen[:, width:]  # [B, new]
    if ignore_eos:
        tokens = new.numel()
    else:  # each row's tokens up to and including its first end-of-sequence
        eos = torch.isin(new, torch.tensor(sorted(adapter.eos_token_ids), device=new.device)).cpu()
        tokens = sum(int(row.nonzero()[0]) + 1 if row.any() else len(row) for row in eos)
    return _summary(tokens, wall, [1000 * wall] * len(reqs), reqs)


def _first_divergence(a: list[int], b: list[int]) -> int | None:
    """The first position where two token lists differ (a length difference counts), or None."""
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
    if first is None and len(a) != len(b):
        first = min(len(a), len(b))
    return first


def batch_invariance(dtype: torch.dtype, n: int, max_tokens: int, *, model: str | None = None,
                     artifact: str | Path | None = None, device: str | torch.device = "cpu") -> dict[str, Any]:
    """How often a request's greedy tokens change when it is co-batched with others.

    The same `n` requests (modes off, soft, mixed, hard in turn) decode once batched together and
    once each alone with a cold prefix cache, on `model` (default: the embedded one) in `dtype`.

    Returns:
        `requests_differing` and `share_differing` (requests whose tokens differ at all),
        `first_divergence_positions` (the first differing position of each such request) and
        `flip_rate_per_token` (differing requests over the tokens compared).
    """
    adapter = load_model(model, dtype=dtype, device=device)
    art = load_artifact(artifact, fingerprint=adapter.fingerprint, hidden_size=adapter.hidden_size,
                        num_layers=adapter.num_layers)
    engine = SteeredEngine(adapter, art, EngineConfig(max_batch_size=n))
    modes = ["off", "soft", "mixed", "hard"]
    reqs = _requests(n, max_tokens, [SteeringParams(mode=modes[i % 4]) for i in range(n)])
    batched = engine.generate(reqs)  # later prompts reuse the first one's history (prefix cache)
    alone = []
    for r in reqs:  # each alone and cold: nothing reused from its batch mates
        engine.prefix_cache.clear()
        engine.twin_prefix_cache.clear()
        alone.append(engine.generate([r])[0])
    engine.shutdown()
    diverge = [_first_divergence(a.token_ids, b.token_ids) for a, b in zip(alone, batched)]
    flips = [d for d in diverge if d is not None]
    compared = sum(len(a.token_ids) for a in alone)
    return {"dtype": str(dtype).replace("torch.", ""), "device": str(adapter.device), "requests": n,
            "requests_differing": len(flips), "share_differing": round(len(flips) / max(1, n), 4),
            "first_divergence_positions": flips, "tokens_compared": compared,
            "flip_rate_per_token": round(len(flips) / max(1, compared), 5)}


def run_engine_bench(out_dir: Path | None = None, *, quick: bool = False, n: int = 16,
                     max_tokens: int = 32, repeats: int = 3, ignore_eos: bool = True,
                     model: str | ModelAdapter | None = None, artifact: str | Path | None = None,
                     device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                     invariance: bool = True) -> dict[str, Any]:
    """Run every scenario `repeats` times (interleaved) on `model` (default: the embedded model)
    and `artifact` (default: the shipped one); write `out_dir/bench-engine.json` when `out_dir`
    is given. `model` is a folder or hub id loaded in `dtype` on `device`, or a loaded adapter
    (then `device` and `dtype` are its own); `invariance=False` skips the batch-invariance runs
    (they load the model again, in fp32 and bf16).

    With `ignore_eos` (the default, as in vLLM's throughput benchmark) every request decodes
    exactly `max_tokens`: the ratios then compare the cost of a token. With natural lengths they
    also compare how long each scenario's answers are (steered answers run longer or shorter, and
    a batch runs as many steps as its longest answer), which moved them by 20-30% here."""
    if quick:
        n, max_tokens, repeats = 4, 8, 1
    adapter = model if isinstance(model, ModelAdapter) else load_model(model, dtype=dtype, device=device)
    artifact_path = artifact
    artifact = load_artifact(artifact_path, fingerprint=adapter.fingerprint, hidden_size=adapter.hidden_size,
                             num_layers=adapter.num_layers)
    engine = SteeredEngine(adapter, artifact, EngineConfig(max_batch_size=n))
    alphas = [round(0.2 + 0.8 * i / max(1, n - 1), 4) for i in range(n)]
    scenarios = {
        "unsteered": [SteeringParams(mode="off")] * n,
        "soft": [SteeringParams(mode="soft")] * n,
        "mixed_half_hard": [SteeringParams(mode="mixed", tau=0.0 if i % 2 == 0 else 1.0) for i in range(n)],
        "distinct_strengths": [SteeringParams(mode="soft", alpha=a) for a in alphas],
        "shared_strength": [SteeringParams(mode="soft", alpha=0.6)] * n,
    }
    # The scenarios above are 16 requests over one user's history, as when one user's requests
    # (or the turns of one conversation) arrive together; the engine then prefills the history
    # once. These two give each request a history of its own (16 users), where only the system
    # prompt is shared: the hook-library ratio without that advantage.
    run_engine(engine, _requests(min(n, 4), 4, scenarios["unsteered"]))  # warm-up
    _run_transformers_generate(adapter, _requests(min(n, 4), 4, scenarios["unsteered"]))
    # Rounds run every scenario in turn, so that a slow spell of a shared machine hits all of
    # them alike; each scenario reports its median round (by tokens/s) and every round's value.
    rounds: dict[str, list[dict[str, Any]]] = {
        name: [] for name in [*scenarios, "penalties_logprobs", "hook_library", "distinct_users",
                              "hook_library_distinct_users", "transformers_generate"]}
    for _ in range(repeats):
        for name, steering in scenarios.items():
            rounds[name].append(run_engine(engine, _requests(n, max_tokens, steering, ignore_eos=ignore_eos)))
        rounds["penalties_logprobs"].append(run_engine(engine, _requests(
            n, max_tokens, scenarios["unsteered"], ignore_eos=ignore_eos, sampling=PENALTIES_LOGPROBS)))
        rounds["hook_library"].append(_run_hook_library(
            adapter, artifact, _requests(n, max_tokens, scenarios["distinct_strengths"], ignore_eos=ignore_eos)))
        own = _requests(n, max_tokens, scenarios["distinct_strengths"], distinct_users=True, ignore_eos=ignore_eos)
        rounds["distinct_users"].append(run_engine(engine, own))
        rounds["hook_library_distinct_users"].append(_run_hook_library(adapter, artifact, own))
        rounds["transformers_generate"].append(_run_transformers_generate(
            adapter, _requests(n, max_tokens, scenarios["unsteered"], ignore_eos=ignore_eos)))
    engine.shutdown()
    results: dict[str, Any] = {}
    for name, runs in rounds.items():
        runs = sorted(runs, key=lambda r: r["tokens_per_s"])
        results[name] = {**runs[(len(runs) - 1) // 2], "rounds_tokens_per_s": [r["tokens_per_s"] for r in runs]}
    baselines = {"transformers_generate": results.pop("transformers_generate")}
    tps = {k: v["tokens_per_s"] for k, v in results.items()}
    # bf16 matmuls are emulated (slow) on most CPUs: the quick run checks fp32 only.
    dtypes = (torch.float32,) if quick else (torch.float32, torch.bfloat16)
    model_name = model if isinstance(model, str) else None
    runs_invariance = invariance and not isinstance(model, ModelAdapter)  # an adapter is not reloaded
    invariance_rows = [batch_invariance(dt, min(n, 8), max_tokens, model=model_name, artifact=artifact_path,
                                        device=adapter.device) for dt in dtypes] if runs_invariance else []
    report = {
        "scenarios": results,
        "baselines": baselines,
        "ratios": {
            "soft_vs_unsteered": round(tps["soft"] / tps["unsteered"], 3),
            "penalties_logprobs_vs_unsteered": round(tps["penalties_logprobs"] / tps["unsteered"], 3),
            "mixed_half_hard_vs_unsteered": round(tps["mixed_half_hard"] / tps["unsteered"], 3),
            "distinct_vs_shared_strengths": round(tps["distinct_strengths"] / tps["shared_strength"], 3),
            "engine_vs_hook_library": round(tps["distinct_strengths"] / tps["hook_library"], 3),
            "engine_vs_hook_library_distinct_users": round(tps["distinct_users"] / tps["hook_library_distinct_users"], 3),
            "unsteered_vs_transformers_generate": round(
                tps["unsteered"] / baselines["transformers_generate"]["tokens_per_s"], 3),
        },
        "batch_invariance": invariance_rows,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "device": str(adapter.device),
                    "dtype": str(adapter.dtype).replace("torch.", ""),
                    "load_avg_1m": os.getloadavg()[0], "model": adapter.name, "requests": n,
                    "max_tokens": max_tokens, "ignore_eos": ignore_eos, "repeats": repeats, "artifact": artifact.artifact_id},
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "bench-engine.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
