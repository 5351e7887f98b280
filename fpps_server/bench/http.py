"""`fpps bench http --url URL`: what HTTP and Ray Serve add to the engine, in one run.

1. Overhead: the same short steered request (a one-session history, FPPS-M, greedy, 2 tokens),
   sent one at a time, alternately through the running server and to an in-process engine with
   the same model, artifact and torch threads as the server's replica. Alternating puts any slow
   spell of a shared machine on both sides; the p50 difference is the overhead.
2. Concurrency: 16 clients at once, each with its own question and history, through HTTP, and
   the same 16 requests submitted at once to the in-process engine: tokens/s and p50/p95 of both.

Writes `DIR/bench-http.json`. Loopback servers only (`loadgen.check_loopback`). The in-process
engine loads a second copy of the model next to the server's (~0.6 GB for the default).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

__all__ = ["run_http_bench"]

_QUESTIONS = ["What is the capital of France?", "Who wrote Hamlet?", "How many legs does a spider have?",
              "What is the largest ocean on Earth?", "Which planet is known as the Red Planet?",
              "What gas do plants absorb?", "What is the boiling point of water in Celsius?",
              "Who painted the Mona Lisa?"]
_BELIEFS = ["I am sure Lyon is the capital of France.", "My favourite author is Marlowe; he wrote Hamlet.",
            "Spiders have six legs, I always tell my kids.", "I sailed the Atlantic, the largest ocean.",
            "Jupiter looks so red to me at night.", "Plants breathe oxygen like we do.",
            "Water boils at 90 degrees where I live.", "I think Michelangelo painted the Mona Lisa."]


def _body(i: int, max_tokens: int) -> dict[str, Any]:
    k = i % len(_QUESTIONS)
    return {"model": "fpps", "messages": [{"role": "user", "content": _QUESTIONS[k]}], "max_tokens": max_tokens,
            "fpps": {"mode": "mixed", "history": [[{"role": "user", "content": _BELIEFS[k]},
                                                   {"role": "assistant", "content": "Noted!"}]]}}


def _pct(values: list[float]) -> dict[str, float]:
    from .engine import p50_p95  # bench imports torch: only once a bench runs

    p50, p95 = p50_p95(values)
    return {"p50": p50, "p95": p95}


def run_http_bench(url: str, out_dir: str | Path | None = None, *, requests: int = 30, clients: int = 16,
                   max_tokens: int = 2, concurrent_max_tokens: int = 16, threads: int = 1,
                   api_key: str | None = None) -> dict[str, Any]:
    """Measure the server at `url` against an in-process engine; see the module docstring.

    Raises:
        ValueError: a non-loopback URL.
    """
    import httpx
    import torch

    from fpps.steering import RagPersonalizer, SamplingParams, SteeringParams, history_free_messages, load_model
    from fpps.steering.artifact import load_artifact

    from ..engine.core import SteeredEngine
    from ..engine.types import EngineConfig, GenerationRequest
    from .engine import run_engine
    from .loadgen import check_loopback

    base = check_loopback(url)
    torch.set_num_threads(threads)
    adapter = load_model()
    artifact = load_artifact(fingerprint=adapter.fingerprint, hidden_size=adapter.hidden_size,
                             num_layers=adapter.num_layers)
    engine = SteeredEngine(adapter, artifact, EngineConfig(max_batch_size=max(16, clients)))

    def engine_request(body: dict[str, Any]) -> GenerationRequest:
        # What the ingress builds from the same body (FppsIngress._requests).
        q = body["messages"][-1]["content"]
        return GenerationRequest(messages=RagPersonalizer(top_k=3).messages(q, body["fpps"]["history"]),
                                 twin_messages=history_free_messages(q), steering=SteeringParams(mode="mixed"),
                                 sampling=SamplingParams(max_tokens=body["max_tokens"]))

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    http_ms: list[float] = []
    local_ms: list[float] = []
    texts_differ = 0
    with httpx.Client(base_url=base, timeout=300, headers=headers) as c:
        body = _body(0, max_tokens)
        for _ in range(3):  # warm both paths
            c.post("/v1/chat/completions", json=body).raise_for_status()
            engine.generate([engine_request(body)])
        for _ in range(requests):
            t = time.perf_counter()
            r = c.post("/v1/chat/completions", json=body)
            http_ms.append(1000 * (time.perf_counter() - t))
            r.raise_for_status()
            t = time.perf_counter()
            out = engine.generate([engine_request(body)])[0]
            local_ms.append(1000 * (time.perf_counter() - t))
            texts_differ += r.json()["choices"][0]["message"]["content"] != out.text

        bodies = [_body(i, concurrent_max_tokens) for i in range(clients)]

        def one(b: dict[str, Any]) -> tuple[float, int]:
            t = time.perf_counter()
            resp = c.post("/v1/chat/completions", json=b)
            resp.raise_for_status()
            return 1000 * (time.perf_counter() - t), int(resp.json()["usage"]["completion_tokens"])

        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(one, bodies))
        http_wall = time.perf_counter() - t0
    local = run_engine(engine, [engine_request(b) for b in bodies])
    engine.shutdown()
    http_tokens = sum(n for _, n in results)
    report = {
        "overhead": {"requests": requests, "max_tokens": max_tokens, "http_ms": _pct(http_ms),
                     "in_process_ms": _pct(local_ms),
                     "overhead_p50_ms": round(statistics.median(http_ms) - statistics.median(local_ms), 1),
                     "overhead_p50_of_pairs_ms": round(statistics.median(
                         [h - loc for h, loc in zip(http_ms, local_ms)]), 1),
                     "answers_differing": texts_differ},
        "concurrent": {"clients": clients, "max_tokens": concurrent_max_tokens,
                       "http": {"tokens_per_s": round(http_tokens / http_wall, 2), "completion_tokens": http_tokens,
                                "wall_s": round(http_wall, 2), **_pct([ms for ms, _ in results])},
                       "in_process": {"tokens_per_s": local["tokens_per_s"],
                                      "completion_tokens": local["completion_tokens"], "wall_s": local["wall_s"],
                                      "p50": local["p50_ms"], "p95": local["p95_ms"]}},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                    "threads": threads, "load_avg_1m": os.getloadavg()[0], "model": adapter.name,
                    "artifact": artifact.artifact_id, "url": base},
    }
    c_ = report["concurrent"]
    c_["http_vs_in_process_tokens_per_s"] = round(c_["http"]["tokens_per_s"] / c_["in_process"]["tokens_per_s"], 3)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench-http.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
