"""Correctness judges for PFQABench answers (fpps-method.md §8.6, D17).

A judge is any `steering.judge.Judge`: `(question, answers, response) -> bool`. Two ship:

- `contains` (default, offline): normalized containment of any gold alias (`ContainsJudge`).
- `llm`: the paper's yes/no prompt, verbatim, sent to any OpenAI-compatible chat endpoint, so a
  user can point it at a big model (the paper used Qwen2.5-32B-Instruct). Greedy decoding; the
  verdict is the first word of the reply, lower-cased and stripped of punctuation; `yes` means
  correct, anything else incorrect (and is kept in `unparsed` for the report). The correct answer
  is the canonical (first) gold answer (D17).

`judge_all` runs a judge over many items (threads for the LLM judge) through an optional
`VerdictCache`, and `agreement` compares two judges' verdicts when both ran.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

from fpps.steering.judge import ContainsJudge, Judge

__all__ = ["JUDGE_PROMPT", "ContainsJudge", "LLMJudge", "VerdictCache", "agreement", "judge_all",
           "make_judge", "parse_verdict"]

#: The paper's judge prompt, verbatim (§8.6). Filled with `str.format`.
JUDGE_PROMPT = (
    "I will give you a question, a correct answer, and a response from a model. Please answer yes "
    "if the response contains the correct answer. Otherwise, answer no. If the response is "
    "equivalent to the correct answer or contains all the intermediate steps to get the correct "
    "answer, you should also answer yes. If the response only contains a subset of the "
    "information required by the answer, answer no. Question: {question} Correct Answer: "
    "{correct_answer} Model Response: {model_response} Is the model response correct? Answer yes "
    "or no only.")

Item = tuple[str, Sequence[str], str]  # (question, answers, response)


def parse_verdict(reply: str) -> bool:
    """D17: the first word, lower-cased and stripped of punctuation, is `yes` -> correct."""
    words = reply.strip().split()
    return bool(words) and re.sub(r"[^\w]", "", words[0].lower()) == "yes"


def chat_url(base: str) -> str:
    """`http://host:port`, `.../v1` or the full route -> the chat-completions URL."""
    base = base.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


class LLMJudge:
    """The paper's yes/no judge on any OpenAI-compatible `POST /v1/chat/completions` endpoint.

    Args:
        url: server base (`http://host:port`, `.../v1`) or the full chat-completions URL.
        model: model name sent in the request and recorded in reports.
        api_key: optional Bearer key.
        max_tokens: reply budget (the verdict is one word).
        timeout: seconds per request.
        retries: extra attempts on transport errors and 429/5xx.
        transport: an `httpx` transport (tests pass `httpx.MockTransport`).
    """

    def __init__(self, url: str, model: str, *, api_key: str | None = None, max_tokens: int = 4,
                 timeout: float = 120.0, retries: int = 3, transport: Any = None) -> None:
        import httpx

        self.url, self.model, self.max_tokens, self.retries = chat_url(url), model, max_tokens, retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)
        self._lock = threading.Lock()
        self.unparsed: list[dict[str, str]] = []
        """Replies whose first word was not yes/no (counted as incorrect)."""

    @property
    def name(self) -> str:
        return f"llm:{self.model}"

    def reply(self, question: str, answers: Sequence[str], response: str) -> str:
        """The judge model's raw reply for one item."""
        import httpx

        prompt = JUDGE_PROMPT.format(question=question, correct_answer=answers[0],
                                     model_response=response)
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}],
                "temperature": 0.0, "max_tokens": self.max_tokens}
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                r = self._client.post(self.url, json=body)
                if r.status_code in (429, 500, 502, 503, 504) and attempt < self.retries:
                    last = RuntimeError(f"judge returned HTTP {r.status_code}")
                    _sleep(attempt)
                    continue
                r.raise_for_status()
                return str(r.json()["choices"][0]["message"]["content"] or "")
            except httpx.TransportError as e:
                last = e
                _sleep(attempt)
        raise RuntimeError(f"LLM judge at {self.url} failed: {last}")

    def __call__(self, question: str, answers: Sequence[str], response: str) -> bool:
        text = self.reply(question, answers, response)
        verdict = parse_verdict(text)
        first = re.sub(r"[^\w]", "", (text.split() or [""])[0].lower())
        if first not in ("yes", "no"):
            with self._lock:
                self.unparsed.append({"question": question, "reply": text})
        return verdict

    def close(self) -> None:
        self._client.close()


def _sleep(attempt: int) -> None:
    import time

    time.sleep(min(8.0, 0.5 * 2 ** attempt))


def make_judge(kind: str, *, url: str | None = None, model: str | None = None,
               api_key: str | None = None) -> Judge:
    """`contains` or `llm` (which needs `url` and `model`)."""
    if kind == "contains":
        return ContainsJudge()
    if kind == "llm":
        if not url or not model:
            raise ValueError("the llm judge needs --judge-url and --judge-model")
        return LLMJudge(url, model, api_key=api_key)
    raise ValueError(f"unknown judge {kind!r}; use 'contains' or 'llm'")


def judge_name(judge: Judge) -> str:
    return str(getattr(judge, "name", type(judge).__name__))


class VerdictCache:
    """Append-only JSONL of verdicts keyed by (judge, question, answers, response)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._data: dict[str, bool] = {}
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                    self._data[rec["key"]] = bool(rec["correct"])
                except (json.JSONDecodeError, KeyError):
                    continue  # a torn last line after a crash
        self._lock = threading.Lock()

    @staticmethod
    def key(judge: str, item: Item) -> str:
        q, answers, resp = item
        raw = json.dumps([judge, q, list(answers), resp], ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    def get(self, key: str) -> bool | None:
        return self._data.get(key)

    def put(self, key: str, correct: bool) -> None:
        with self._lock:
            self._data[key] = correct
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(json.dumps({"key": key, "correct": correct}) + "\n")


def judge_all(judge: Judge, items: Sequence[Item], *, cache: VerdictCache | None = None,
              workers: int = 8, on_done: Callable[[int], None] | None = None) -> list[bool]:
    """Verdicts for `items`, in order. LLM judges run `workers` requests at a time."""
    name = judge_name(judge)
    out: list[bool | None] = [None] * len(items)
    todo = []
    for i, item in enumerate(items):
        hit = cache.get(VerdictCache.key(name, item)) if cache is not None else None
        if hit is None:
            todo.append(i)
        else:
            out[i] = hit

    def one(i: int) -> None:
        q, answers, resp = items[i]
        out[i] = bool(judge(q, answers, resp))
        if cache is not None:
            cache.put(VerdictCache.key(name, items[i]), out[i])
        if on_done is not None:
            on_done(1)

    if isinstance(judge, LLMJudge) and workers > 1 and len(todo) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, todo))
    else:
        for i in todo:
            one(i)
    return [bool(v) for v in out]


def agreement(a: Sequence[bool], b: Sequence[bool]) -> dict[str, Any]:
    """How often two judges agree: raw rate (%), Cohen's kappa, and the two disagreement counts."""
    if len(a) != len(b):
        raise ValueError(f"verdict lists differ in length ({len(a)} vs {len(b)})")
    n = len(a)
    if n == 0:
        return {"n": 0, "agreement": None, "kappa": None, "only_first": 0, "only_second": 0}
    agree = sum(x == y for x, y in zip(a, b))
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    observed = agree / n
    kappa = 1.0 if math.isclose(expected, 1.0) else (observed - expected) / (1 - expected)
    return {"n": n, "agreement": round(100 * observed, 2), "kappa": round(kappa, 4),
            "only_first": sum(x and not y for x, y in zip(a, b)),
            "only_second": sum(y and not x for x, y in zip(a, b))}
