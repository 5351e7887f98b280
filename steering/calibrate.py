"""The FPPS calibration pipeline for one (model, personalization method) pair (fpps-method.md §3).

    greedy answers with and without history on the training split -> judge
    -> factual-degraded (label 1) and personalized-beneficial (label 0) groups
    -> layer selection (§4) -> probe + held-out accuracy per layer (§5) -> s_f (§6.1)
    -> grid search of gamma and tau for FPPS-S/M/H (§7) -> artifact (§6.7) + plots

The module is longer than the house ~400 lines because the CPU cost forces one idea through all
of it: **one expensive prefill per question**. Pass A prefills the personalized prompt up to its
last token once, stores that prefix cache (D18: prompt positions before the last one are never
edited, so every steering configuration may share it), and from the last token on records
everything the later stages need, at every layer: the probe feature, the response states of the
greedy answer (for `s_f`) and the logit-lens perplexity of the teacher-forced gold answer (for
layer selection). Pass B reloads the prefix and decodes each configuration from the last token.
`p_hat` is fixed per request, so for a given `gamma` each question has only two FPPS-M outputs
(soft with that `gamma`, or hard); they are generated once and `tau` is swept analytically.

Everything generated is cached in `<out>/cache` (JSONL keyed by a hash of prompt and config), so
an interrupted run resumes where it stopped. Plots and reports live in `plots.py`-free helpers
at the end of this module; matplotlib is imported lazily.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

import torch

from .adapter import ModelAdapter, load_model
from .artifact import SteeringArtifact, save_artifact
from .capture import capture_residuals, logit_lens_logprobs
from .edit import edit_state
from .judge import contains_answer
from .layers import delta, select_layer
from .params import SteeringParams
from .personalize import Message, RagPersonalizer, history_free_messages
from .probe import cross_val_accuracy, fit_probe
from .reference import run_to_layer
from .vector import steering_vector

__all__ = ["CalibrationConfig", "CalibrationExample", "QuestionState", "calibrate",
           "choose_tau", "decode_config", "run_pass_a"]

Kind = Literal["personalized", "factual"]


@dataclass(frozen=True)
class CalibrationExample:
    """One question of one user, steering-side (no `fpps.eval` types)."""

    user_id: str
    kind: Kind
    question: str
    answers: tuple[str, ...]
    sessions: tuple[tuple[Mapping[str, str], ...], ...] = ()
    dates: tuple[str | None, ...] | None = None
    current_date: str | None = None


@dataclass(frozen=True, kw_only=True)
class CalibrationConfig:
    """Process-wide settings of one calibration run."""

    max_tokens: int = 32
    """Greedy answer length (the paper uses 500; short answers keep CPU runs feasible)."""
    top_k: int = 3
    """Sessions retrieved into the RAG prompt (D20)."""
    gammas: tuple[float, ...] = (0.0, 0.1, 0.3, 0.5, 1.0, 2.0, 3.0)
    taus: tuple[float, ...] = tuple(round(0.05 + 0.01 * i, 2) for i in range(96))
    min_layer: int = 0
    """Layers below this are never selected (0 = any, the paper's rule)."""
    probe_folds: int = 5
    split_seed: int = 0
    normalize_s_f: bool = False
    plateau_tol: float = 0.5
    """Overall points below the best that still count as the plateau tau is centred in."""
    method: str = "rag"


@dataclass
class QuestionState:
    """Pass-A results of one question."""

    example: CalibrationExample
    key: str
    text_with: str
    text_without: str
    correct_with: bool
    correct_without: bool
    feature: torch.Tensor  # [N, d] at the last personalized prompt token
    resp_with: torch.Tensor  # [N, d] mean over the with-history response positions
    resp_without: torch.Tensor  # [N, d] same, no-history response
    ppl_with: torch.Tensor | None = None  # [N] lens PPL of the gold answer, with history
    ppl_without: torch.Tensor | None = None

    @property
    def group(self) -> str | None:
        ex = self.example
        if ex.kind == "factual" and self.correct_without and not self.correct_with:
            return "degraded"
        if ex.kind == "personalized" and self.correct_with and not self.correct_without:
            return "beneficial"
        return None


# --------------------------------------------------------------------------- prompts and cache

def _prompts(ex: CalibrationExample, cfg: CalibrationConfig) -> tuple[list[Message], list[Message]]:
    sessions = [list(s) for s in ex.sessions]
    dates = list(ex.dates) if ex.dates is not None else None
    msgs = RagPersonalizer(top_k=cfg.top_k).messages(ex.question, sessions, dates, ex.current_date)
    return msgs, history_free_messages(ex.question, ex.current_date)


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


class _JsonlCache:
    """Append-only JSONL cache `{key: record}`; the last line for a key wins."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:  # a torn last line from an interrupted run
                    continue
                self.data[rec["key"]] = rec
        path.parent.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def put(self, rec: dict[str, Any]) -> None:
        self.data[rec["key"]] = rec
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")


def _save_prefix(cache: Any, path: Path) -> None:
    from safetensors.torch import save_file

    tensors = {}
    for i, layer in enumerate(cache.layers):
        tensors[f"k{i}"], tensors[f"v{i}"] = layer.keys.contiguous(), layer.values.contiguous()
    save_file(tensors, str(path))


def _load_prefix(path: Path, num_layers: int) -> Any:
    from safetensors.torch import load_file
    from transformers import DynamicCache

    t = load_file(str(path))
    return DynamicCache([(t[f"k{i}"], t[f"v{i}"]) for i in range(num_layers)])


def _crop(cache: Any, length: int) -> None:
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


# --------------------------------------------------------------------------- decoding

def _greedy(adapter: ModelAdapter, cache: Any, first: list[int], max_tokens: int,
            on_token: Callable[[int], None] | None = None) -> list[int]:
    """Greedy decode from `first` (fed first) into `cache`; the reference loop of `steered_generate`."""
    eos, out, step = adapter.eos_token_ids, [], first
    for _ in range(max_tokens):
        logits = adapter.model(input_ids=torch.tensor([step], device=adapter.device),
                               past_key_values=cache, use_cache=True).logits
        token = int(logits[0, -1].argmax())
        if token in eos:
            break
        out.append(token)
        if on_token is not None:
            on_token(token)
        step = [token]
    return out


@torch.inference_mode()
def decode_config(adapter: ModelAdapter, prefix: Any, prefix_len: int, last_token: int,
                  twin_ids: list[int], *, layer: int, s_f: torch.Tensor, p_hat: float,
                  branch: Literal["none", "soft", "hard"], gamma: float,
                  max_tokens: int) -> list[int]:
    """Decode one steering configuration from a shared prefix cache (`prefix_len` positions).

    Same semantics as `reference.steered_generate` with `alpha = 1`: the last prompt position
    and every generated one are edited at `blocks.{layer}.hook_resid_post`; the hard branch reads
    a lockstep twin. `prefix` is cropped back to `prefix_len` before returning.
    """
    from transformers import DynamicCache

    params = SteeringParams(mode="soft" if branch != "hard" else "hard", gamma=gamma, tau=0.0)
    twin_cache, twin_states, in_twin = DynamicCache(), [], [False]

    def twin_step(ids: list[int]) -> None:
        in_twin[0] = True
        try:
            h = run_to_layer(adapter, layer, torch.tensor([ids], device=adapter.device), twin_cache)
        finally:
            in_twin[0] = False
        twin_states.append(h[0, -1])

    def hook(hidden: torch.Tensor) -> torch.Tensor | None:  # hidden: [1, 1, d], one new position
        if in_twin[0] or branch == "none":
            return None
        twin = twin_states[-1].view(1, 1, -1) if branch == "hard" else None
        return edit_state(hidden, params=params, branch=branch, p_hat=p_hat, s_f=s_f, h_twin=twin)

    try:
        if branch == "hard":
            twin_step(twin_ids)
        with adapter.block_output_hook(layer, hook):
            return _greedy(adapter, prefix, [last_token], max_tokens,
                           twin_step_token(twin_step) if branch == "hard" else None)
    finally:
        _crop(prefix, prefix_len)


def twin_step_token(step: Callable[[list[int]], None]) -> Callable[[int], None]:
    return lambda token: step([token])


@torch.inference_mode()
def run_pass_a(adapter: ModelAdapter, ex: CalibrationExample, cfg: CalibrationConfig,
               kv_dir: Path, need_gold: Callable[[CalibrationExample, bool, bool], bool]
               ) -> tuple[QuestionState, dict[str, Any]]:
    """Greedy answers with and without history, all-layer features, gold lens PPL; saves the prefix."""
    msgs, twin = _prompts(ex, cfg)
    ids, twin_ids = adapter.encode_chat(msgs), adapter.encode_chat(twin)
    key = _hash(ids, cfg.max_tokens)
    from transformers import DynamicCache

    with capture_residuals(adapter) as rec:  # no history: short prompt, full capture
        gen_wo = _greedy(adapter, DynamicCache(), twin_ids, cfg.max_tokens)
        states_wo = rec.stacked()  # [N, pos, d]
    n_wo = max(len(gen_wo), 1)
    resp_wo = states_wo[:, len(twin_ids) - 1:len(twin_ids) - 1 + n_wo].mean(dim=1)

    prefix = DynamicCache()
    adapter.model(input_ids=torch.tensor([ids[:-1]], device=adapter.device), past_key_values=prefix,
                  use_cache=True)
    _save_prefix(prefix, kv_dir / f"{key}.safetensors")
    with capture_residuals(adapter) as rec:
        gen_w = _greedy(adapter, prefix, [ids[-1]], cfg.max_tokens)
        states_w = rec.stacked()  # [N, 1 + fed generated tokens, d], starts at the last prompt pos
    feature, resp_w = states_w[:, 0], states_w[:, :max(len(gen_w), 1)].mean(dim=1)
    text_w, text_wo = adapter.decode(gen_w).strip(), adapter.decode(gen_wo).strip()
    cw, cwo = contains_answer(text_w, ex.answers), contains_answer(text_wo, ex.answers)
    qs = QuestionState(ex, key, text_w, text_wo, cw, cwo, feature, resp_w, resp_wo)
    if need_gold(ex, cw, cwo):
        gold = list(adapter.tokenizer(ex.answers[0], add_special_tokens=False)["input_ids"])
        _crop(prefix, len(ids) - 1)
        with capture_residuals(adapter) as rec:
            adapter.model(input_ids=torch.tensor([[ids[-1], *gold]], device=adapter.device),
                          past_key_values=prefix, use_cache=True)
            s = rec.stacked()[:, :len(gold)]  # positions predicting the gold tokens
        qs.ppl_with = torch.exp(-logit_lens_logprobs(adapter, s, torch.tensor(gold)).double().mean(1)).float()
        with capture_residuals(adapter) as rec:
            adapter.model(input_ids=torch.tensor([twin_ids + gold], device=adapter.device))
            s = rec.stacked()[:, len(twin_ids) - 1:len(twin_ids) - 1 + len(gold)]
        qs.ppl_without = torch.exp(-logit_lens_logprobs(adapter, s, torch.tensor(gold)).double().mean(1)).float()
    meta = {"prompt_tokens": len(ids), "twin_tokens": len(twin_ids), "tokens_with": len(gen_w),
            "tokens_without": len(gen_wo)}
    return qs, meta
