"""The two ways `fpps eval` gets answers: an in-process engine or a running fpps server.

- `EngineBackend`: `fpps.server.engine.SteeredEngine.generate` in batches (greedy), in this
  process (the only server module `eval` imports: it is Ray-free).
- `HttpBackend`: concurrent `POST /v1/chat/completions` to an fpps server, the question as the
  last user message and the sessions as `fpps.history`. The history-free condition is sent as a
  plain chat whose user turn is the history-free prompt, which the server answers unsteered.

Both render the same prompts (`runner.prompts`), so greedy numbers agree. Each yields
`(item, result)` as answers finish, so the runner can cache them one by one.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Iterator, Sequence

from fpps.steering.personalize import Message, history_free_messages

from .runner import OFF, Condition, EvalConfig, Result, WorkItem, prompts

__all__ = ["EngineBackend", "HttpBackend"]

def _steering(cond: Condition) -> Any:
    from fpps.steering.params import SteeringParams

    return SteeringParams(mode=cond.mode, alpha=cond.strength, gamma=cond.gamma,  # type: ignore[arg-type]
                          tau=cond.tau)


class EngineBackend:
    """In-process batched generation through `SteeredEngine.generate`."""

    def __init__(self, adapter: Any, artifact: Any, *, batch_size: int = 8) -> None:
        from fpps.server.engine import EngineConfig, SteeredEngine

        self.engine = SteeredEngine(adapter, artifact, EngineConfig(max_batch_size=batch_size,
                                                                    max_prefill_rows=batch_size))
        self.batch_size = batch_size
        art_id = artifact.artifact_id if artifact is not None else None
        # The id names the tensors only; tau, gamma and reach live in the defaults, and answers
        # cached under one set of defaults must not be served for another.
        defaults = json.dumps(dict(artifact.defaults), sort_keys=True) if artifact is not None else ""
        self.system_id = f"{adapter.fingerprint[:16]}|{art_id}|{hashlib.sha256(defaults.encode()).hexdigest()[:8]}"
        self.info = {"backend": "in-process", "model": str(adapter.name),
                     "model_fingerprint": adapter.fingerprint, "artifact_id": art_id,
                     "layer": getattr(artifact, "layer", None),
                     "artifact_defaults": dict(artifact.defaults) if artifact is not None else {}}

    def _request(self, item: WorkItem, config: EvalConfig, profiles: dict[str, str] | None) -> Any:
        from fpps.server.engine import GenerationRequest
        from fpps.steering.params import SamplingParams

        msgs, twin = prompts(item, config, profiles)
        steering = _steering(item.cond if item.history else OFF)
        return GenerationRequest(messages=msgs, twin_messages=twin if steering.is_active else None,
                                 steering=steering,
                                 sampling=SamplingParams(max_tokens=config.max_tokens),
                                 request_id=item.key)

    @staticmethod
    def _result(out: Any) -> Result:
        return {"text": out.text, "p_hat": out.p_hat, "gate": out.gate,
                "finish_reason": out.finish_reason, "completion_tokens": out.completion_tokens,
                "error": out.error}

    def summarize(self, chats: Sequence[list[Message]], max_tokens: int) -> list[str]:
        """Unsteered greedy answers to plain prompts (PAG profile summaries)."""
        from fpps.server.engine import GenerationRequest
        from fpps.steering.params import SamplingParams

        out: list[str] = []
        for start in range(0, len(chats), self.batch_size):
            reqs = [GenerationRequest(messages=c, sampling=SamplingParams(max_tokens=max_tokens))
                    for c in chats[start:start + self.batch_size]]
            out += [o.text.strip() for o in self.engine.generate(reqs)]
        return out

    def run(self, items: Sequence[WorkItem], config: EvalConfig,
            profiles: dict[str, str] | None = None) -> Iterator[tuple[WorkItem, Result]]:
        # Prefill dominates on CPU and a batch is padded to its longest prompt, so items are
        # batched by prompt length within windows of a few batches (windows keep a partial run
        # covering whole users, in plan order).
        window = self.batch_size * 8
        for w in range(0, len(items), window):
            part = list(items[w:w + window])
            size = {i.key: sum(len(m["content"]) for m in prompts(i, config, profiles)[0]) for i in part}
            part.sort(key=lambda i: size[i.key])
            yield from self._run_sorted(part, config, profiles)

    def _run_sorted(self, items: Sequence[WorkItem], config: EvalConfig,
                    profiles: dict[str, str] | None) -> Iterator[tuple[WorkItem, Result]]:
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            try:
                outs = self.engine.generate([self._request(i, config, profiles) for i in chunk])
                results = [self._result(o) for o in outs]
            except ValueError:  # one invalid request (e.g. too long) fails the call: go one by one
                results = []
                for item in chunk:
                    try:
                        results.append(self._result(
                            self.engine.generate([self._request(item, config, profiles)])[0]))
                    except ValueError as e:
                        results.append({"text": "", "error": f"{type(e).__name__}: {e}"})
            yield from zip(chunk, results)

    def close(self) -> None:
        self.engine.shutdown()


class HttpBackend:
    """Concurrent requests to an fpps server's OpenAI-compatible chat route."""

    def __init__(self, url: str, *, api_key: str | None = None, concurrency: int = 8,
                 timeout: float = 600.0, retries: int = 4, transport: Any = None) -> None:
        import httpx

        from .judges import chat_url

        self.url, self.concurrency, self.retries = chat_url(url), concurrency, retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout, headers=headers, transport=transport)
        card: dict[str, Any] = {}
        try:
            r = self.client.get(self.url.rsplit("/chat/completions", 1)[0] + "/models")
            r.raise_for_status()
            card = (r.json().get("data") or [{}])[0]
        except (httpx.HTTPError, ValueError):
            pass
        fp = card.get("fpps") or {}
        self.info = {"backend": "http", "url": self.url, "model": card.get("id"),
                     "artifact_id": fp.get("artifact_id"), "layer": fp.get("layer"),
                     "artifact_defaults": fp.get("defaults") or {}}
        self.system_id = f"url:{card.get('id')}|{fp.get('artifact_id')}"

    def body(self, item: WorkItem, config: EvalConfig) -> dict[str, Any]:
        r, q = item.record, item.qa.question
        body: dict[str, Any] = {"max_tokens": config.max_tokens, "temperature": 0.0}
        if not item.history:
            # No history: the server answers a plain chat unsteered, so send the history-free
            # prompt itself as the question (what the in-process backend generates from).
            body["messages"] = history_free_messages(q, r.current_date)
            body["fpps"] = {"mode": "off"}
            return body
        c = item.cond
        fpps: dict[str, Any] = {
            "mode": c.mode, "strength": c.strength, "top_k": config.top_k,
            "history": [[{"role": t["role"], "content": t["content"]} for t in s] for s in r.sessions]}
        if c.gamma is not None:
            fpps["gamma"] = c.gamma
        if c.tau is not None:
            fpps["tau"] = c.tau
        if r.dates is not None:
            fpps["dates"] = list(r.dates)
        if r.current_date is not None:
            fpps["current_date"] = r.current_date
        body["messages"] = [{"role": "user", "content": q}]
        body["fpps"] = fpps
        return body

    def one(self, item: WorkItem, config: EvalConfig) -> Result:
        import time

        import httpx

        last = ""
        for attempt in range(self.retries + 1):
            try:
                resp = self.client.post(self.url, json=self.body(item, config))
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}"
            else:
                if resp.status_code == 200:
                    data = resp.json()
                    choice = data["choices"][0]
                    diag = data.get("fpps") or choice.get("fpps") or {}
                    return {"text": choice["message"]["content"], "p_hat": diag.get("p_hat"),
                            "gate": diag.get("gate"), "finish_reason": choice.get("finish_reason"),
                            "completion_tokens": (data.get("usage") or {}).get("completion_tokens"),
                            "error": None}
                last = f"HTTP {resp.status_code}: {resp.text[:300]}"
                if resp.status_code not in (429, 500, 502, 503, 504):
                    break
            time.sleep(min(10.0, 0.5 * 2 ** attempt))
        return {"text": "", "error": last}

    def run(self, items: Sequence[WorkItem], config: EvalConfig,
            profiles: dict[str, str] | None = None) -> Iterator[tuple[WorkItem, Result]]:
        if config.method != "rag":
            raise ValueError(f"--url evaluates the server's personalization (rag); run method "
                             f"{config.method!r} in-process")
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(self.one, item, config): item for item in items}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()

    def close(self) -> None:
        self.client.close()
