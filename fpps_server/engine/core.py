"""Batched steered generation: every request its own FPPS mode, strength, gamma, tau and p_hat.

One forward pass per decode step serves the whole batch. A permanent hook on the output of
block L (`blocks.{L}.hook_resid_post`) applies the FPPS edit to each row's newest position with
that row's parameters through the kernel dispatcher (`fpps.kernels.apply_fpps_edit`: Triton on
CUDA, the torch reference on CPU). Rows that can go hard (modes hard and mixed) prefill a
history-free twin first, through every block: the gate reads its block-L state, and a row gated
hard then either follows its twin (reach `all` at strength 1: blocks L..N-1 all take the twin's
state, so the row *is* the twin from then on: its cache, its logits, one row to decode) or keeps
a twin decoded in lockstep for the block-L edit (reach `layer`, fpps-method.md §6.5). Each
decode step lockstep twins either run blocks 0..L in a pass of their own ("separate"), or ride
in the personalized rows' pass as extra rows ("joint"): one pass instead of two reads the weights
once, which is what a decode step costs on a CPU and at small batches; the twin rows' work above
L is wasted but never read. `EngineConfig.twin_decode` chooses; `auto` takes joint when the
blocks above L are at most a quarter of the model. At prefill the twins ride in their requests'
pass, or run in a pass of their own just before it when the padding that saves (a cached twin
beside a cold history) outweighs reading the weights once more (`EngineConfig.twin_prefill`).

Batching is iteration-level (continuous): requests that arrive while others decode are
prefilled together at the next step and join the running batch (their KV caches left-padded
to a common length); finished or cancelled rows leave after any step. Admission is FIFO under
a cap on rows and on tokens in flight (prompt + max_tokens per row); a bounded queue rejects
excess work with `EngineOverloaded` rather than letting it wait without bound.

Prompts that begin like an earlier one reuse its keys/values (`prefix_cache.py`): a prefill
computes only what each prompt adds past its longest stored prefix, and rows of one step that
share a longer prefix among themselves are prefilled in two passes, so the shared part is
computed once. FPPS edits only the newest position, so stored prompt states never carry an edit.

The engine is Ray-free: `generate()` runs the loop in the calling thread (evaluation,
calibration), `start()` runs it in a background thread and `AsyncEngine` streams from it.

Devices and host syncs. Every tensor the engine, its KV batches, the prefix cache, the hooks
and the sampler create lands on the model's device (`adapter.device`) with the dtype the
consumer takes (token ids and positions int64, the kernel's per-row parameters fp32/int32);
the only deliberate host tensors are bookkeeping that never feeds the model: the host copy of
each batch's attention mask (`KVBatch.host_mask`), the prefix cache's token-id keys and the
seed drawn for an unseeded sampled request. `tests/engine/test_device_audit.py` checks that no
factory call in fpps code goes without an explicit `device=`. Where the host reads the device:

- Decode step: once, `_accept_all` reads every row's sampled token in one `.tolist()`; the
  host needs them for stop strings, end-of-sequence, grammars and the next step's input ids.
  Nothing else is read: p_hat and branches are fixed after prefill, the per-row kernel
  tensors are uploaded once per batch composition (`_decode_tensors`), rows leaving the batch
  trim columns by the host mask, and the edit hook decides from host row state whether to
  launch. A decode step's uploads (its new token ids and position ids) are issued before its
  first kernel, so they wait on nothing; on a GPU they are the step's only other copies.
- Prefill pass: the probe hook reads p_hat (and a twin-aware gate its own p_hat) mid-pass,
  because the host chooses each row's branch (which rows follow their twin, which keep one);
  then the tokens are read as in decode.
- Opt-in extras read more, only for the rows that ask: `logprobs` (the chosen token's
  log-probability and its top alternatives per step) and `prompt_logprobs` (once, at prefill).
  Structured rows upload their grammar's bitmask (computed on the CPU) each step.
- The CPU fallback of the edit (`fpps_edit_ref`, used when the Triton kernel is not) selects
  rows with `nonzero`, which syncs on a GPU; the Triton launcher never does.
"""

from __future__ import annotations

import contextlib

import threading
import time
from typing import Any, Callable, Sequence

import torch

from fpps.steering.adapter import ModelAdapter
from fpps.steering.artifact import SteeringArtifact
from fpps.steering.errors import SteeringValidationError
from fpps.steering.kv import cache_layers, new_cache
from fpps.steering.twin import run_to_layer

from .detok import TextTracker, next_token
from .kvbatch import KVBatch, left_pad_host
from .pass_state import PassState, RowTensors, SteeringHooks
from .prefix_cache import PrefixCache, PrefixHit, common_prefix, prefix_columns
from .rows import RequestHandle, Row, Slot
from .sampling import RowLogits, prompt_logprobs, token_logprob
from .scheduler import Scheduler
from .structured import Grammars
from .types import EngineConfig, EngineOutput, GenerationRequest, TokenEvent, TokenLogprob

__all__ = ["SteeredEngine"]

#: Padded positions (rows x columns) a pass of its own for the twins must save before it pays for
#: itself: a prefill pass reads every weight once however few positions it computes, and on a CPU
#: (fp32, the embedded model, 1-2 cores) that costs about as much as 30 positions' arithmetic.
_TWIN_PASS_TOKENS = 32


def _distinct(seqs: list[list[int]]) -> tuple[list[list[int]], list[int]]:
    """The distinct sequences of `seqs` in first-seen order, and for each sequence its index
    among them (`seqs[i] == distinct[index[i]]`)."""
    seen: dict[tuple[int, ...], int] = {}  # insertion-ordered: first seen first
    index = [seen.setdefault(tuple(s), len(seen)) for s in seqs]
    return [list(t) for t in seen], index


class SteeredEngine:
    """Batched FPPS generation over a `ModelAdapter` and a `SteeringArtifact` (or none)."""

    def __init__(self, adapter: ModelAdapter, artifact: SteeringArtifact | None,
                 config: EngineConfig = EngineConfig()) -> None:
        self.adapter, self.artifact, self.config = adapter, artifact, config
        if artifact is not None:
            artifact.check_model(adapter.fingerprint, adapter.hidden_size, adapter.num_layers)
        self.layer = artifact.layer if artifact is not None else None
        self.probe_layer = artifact.probe_layer if artifact is not None else None
        self._sched = Scheduler(config)
        self._rows: list[Row] = []
        self._main = KVBatch()
        self._twin = KVBatch()
        self._twin_rows: list[Row] = []
        self._slots: list[Slot] = []  # `_main`'s cache rows, in order
        self._decode_cache: tuple[RowTensors, torch.Tensor, torch.Tensor | None, torch.Tensor | None] | None = None
        n_above = adapter.num_layers - 1 - (self.layer or 0)
        self.joint_twins = config.twin_decode == "joint" or (
            config.twin_decode == "auto" and 4 * n_above <= adapter.num_layers)
        self._vocab = int(adapter.lm_head.weight.shape[0])
        self._texts: dict[int, str] = {}
        self._grammars = Grammars(adapter.tokenizer, self._vocab, adapter.eos_token_ids)
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.steps = 0
        self.phase_s = {"prefill": 0.0, "decode": 0.0}  # wall seconds spent in each kind of step
        self.prefix_cache = PrefixCache(config.prefix_cache_tokens)
        # Twins (history-free prompts) share the chat template's head and repeat per question:
        # a small cache of their own so they never evict users' histories.
        self.twin_prefix_cache = PrefixCache(config.twin_prefix_cache_tokens, min_tokens=8)
        self._hooks = SteeringHooks(adapter, artifact) if artifact is not None else None

    # ---- public API -------------------------------------------------------------------------
    def submit(self, req: GenerationRequest,
               on_event: Callable[[TokenEvent], None] | None = None) -> RequestHandle:
        """Validate and queue a request. Raises `SteeringValidationError` or `EngineOverloaded`."""
        row = self._make_row(req, on_event)
        with self._cv:
            self._sched.enqueue(row, len(self._rows))
            self._cv.notify_all()
        return RequestHandle(row, self._wake)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[EngineOutput]:
        """Run `requests` to completion in the calling thread (engine must not be started)."""
        if self._thread is not None:
            handles = [self.submit(r) for r in requests]
            return [h.result() for h in handles]
        rows = [self._make_row(r, None) for r in requests]
        self._sched.pending.extend(rows)
        while self._sched.pending or self._rows:
            self.step()
        return [r.result for r in rows if r.result is not None]

    def start(self) -> None:
        """Run the decode loop in a background thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="fpps-engine", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._hooks is not None:
            self._hooks.remove()

    @property
    def load(self) -> dict[str, int]:
        return {"running": len(self._rows), "waiting": len(self._sched.pending), "twins": len(self._twin_rows)}

    # ---- the loop ---------------------------------------------------------------------------
    def _wake(self) -> None:
        with self._cv:
            self._cv.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not (self._stopping or self._sched.pending or self._rows):
                    self._cv.wait()
                if self._stopping:
                    break
            self.step()
        for row in [*self._rows, *self._sched.pending]:
            row.finish = "cancelled"
            self._finish(row, error="engine shut down")

    def step(self) -> None:
        """One iteration: drop cancelled rows, admit waiting ones (prefill), decode one token."""
        try:
            self._drop([r for r in self._rows if r.cancelled], "cancelled")
            with self._cv:
                new = self._sched.admit(self._rows, self._cancel_waiting)
            t0 = time.perf_counter()
            if new:
                self._prefill(new)
                self.phase_s["prefill"] += time.perf_counter() - t0
            elif self._rows:
                self._decode()
                self.phase_s["decode"] += time.perf_counter() - t0
            self.steps += 1
        except Exception as e:  # a failed step fails its rows, never the engine
            for row in [*self._rows]:
                row.finish = "error"
                self._finish(row, error=f"{type(e).__name__}: {e}")
            self._rows, self._twin_rows, self._slots = [], [], []
            self._main, self._twin = KVBatch(), KVBatch()
            self._decode_cache = None
            if self._hooks is not None:
                self._hooks.state = None
            if self._thread is None:
                raise

    def _cancel_waiting(self, row: Row) -> None:
        """A request cancelled while it waited: finish it without running it."""
        row.finish = "cancelled"
        self._finish(row)

    # ---- rows -------------------------------------------------------------------------------
    def _make_row(self, req: GenerationRequest, on_event: Callable[[TokenEvent], None] | None) -> Row:
        params = req.steering.resolved(self.artifact.defaults if self.artifact else None)
        if params.is_active and self.artifact is None:
            raise SteeringValidationError("mode", params.mode, "steering needs an artifact; this "
                                          "engine was started without one")
        if params.can_go_hard and req.twin_messages is None:
            raise SteeringValidationError("twin_messages", None, "hard and mixed steering need "
                                          "the history-free prompt")
        prompt_ids = self._encode_prompt(req)
        twin_ids = self.adapter.encode_chat(req.twin_messages) if params.can_go_hard else None
        limit = self.adapter.max_context
        if len(prompt_ids) >= limit:
            raise SteeringValidationError("messages", f"{len(prompt_ids)} tokens",
                                          f"the prompt exceeds the model's context of {limit} tokens")
        if len(prompt_ids) + req.sampling.max_tokens > limit:
            raise SteeringValidationError(
                "max_tokens", req.sampling.max_tokens,
                f"prompt ({len(prompt_ids)} tokens) + max_tokens exceeds the context of {limit} tokens")
        if len(prompt_ids) + req.sampling.max_tokens > self.config.max_tokens_in_flight:
            raise SteeringValidationError("max_tokens", req.sampling.max_tokens,
                                          f"request exceeds the engine's {self.config.max_tokens_in_flight}-token budget")
        gen = None
        if not req.sampling.is_greedy:  # on the model's device: multinomial draws there
            gen = torch.Generator(device=self.adapter.device)
            gen.manual_seed(req.sampling.seed if req.sampling.seed is not None
                            else int(torch.randint(0, 2**62, (1,), device="cpu")))  # a host seed
        logits = RowLogits(req.sampling, prompt_ids, self._vocab, self.adapter.eos_token_ids,
                           self.adapter.device)
        sp = req.sampling
        grammar = None if sp.response_format == "text" else self._grammars.row(sp.json_schema)
        return Row(req=req, params=params, prompt_ids=prompt_ids, twin_ids=twin_ids,
                    on_event=on_event, tracker=TextTracker(self.adapter.decode, req.sampling.stop),
                    generator=gen, logits=logits, grammar=grammar)

    def _encode_prompt(self, req: GenerationRequest) -> list[int]:
        """The row's prompt ids: the chat template of `messages`, or the raw `prompt` (text
        tokenized as is, or ids checked against the vocabulary)."""
        if req.prompt is None:
            return self.adapter.encode_chat(req.messages)
        if isinstance(req.prompt, str):
            ids = list(self.adapter.tokenizer(req.prompt)["input_ids"])
        else:
            ids = list(req.prompt)
            bad = [t for t in ids if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < self._vocab]
            if bad:
                raise SteeringValidationError("prompt", bad[0], f"token ids must be in [0, {self._vocab})")
        if not ids:
            raise SteeringValidationError("prompt", req.prompt, "must have at least one token")
        return ids

    def _token_text(self, token: int) -> str:
        """One token's text for log-probabilities (special tokens by name), cached per id."""
        text = self._texts.get(token)
        if text is None:
            text = self._texts[token] = str(self.adapter.tokenizer.decode([token], skip_special_tokens=False))
        return text

    @staticmethod
    def _first_prompt_logprobs(row: Row) -> tuple[TokenLogprob, ...] | None:
        """The row's scored prompt for its first event, None for the others."""
        row.events_sent += 1
        return row.prompt_logprobs if row.events_sent == 1 else None

    def _new_logprobs(self, row: Row) -> tuple[TokenLogprob, ...]:
        """The row's log-probabilities not yet sent in an event (marked sent)."""
        new = tuple(row.logprobs[row.logprobs_sent:])
        row.logprobs_sent = len(row.logprobs)
        return new

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, cache: Any,
                 state: PassState | None, keep_all: bool = False) -> torch.Tensor:
        """The pass's last-position logits `[rows, vocab]`, or with `keep_all` every position's
        `[rows, pos, vocab]` (prompt scoring). The hooks steer by `state` during the pass only."""
        if self._hooks is not None:
            self._hooks.state = state
        try:
            out = self.adapter.model(input_ids=ids, attention_mask=mask, position_ids=pos,
                                     past_key_values=cache, use_cache=True, logits_to_keep=0 if keep_all else 1)
        finally:
            if self._hooks is not None:
                self._hooks.state = None
        return out.logits if keep_all else out.logits[:, -1, :]

    @torch.inference_mode()
    def _prefill(self, new: list[Row]) -> None:
        for rows in self._prefill_passes(new):
            self._prefill_pass(rows)

    def _prefill_passes(self, new: list[Row]) -> list[list[Row]]:
        """New rows that share a prefix with an earlier new row, longer than what the prefix
        cache holds for them, wait for a second pass: the first stores that prefix, so it is
        computed once (16 requests over one user's history prefill the history once)."""
        pc = self.prefix_cache
        if not pc.enabled or len(new) < 2:
            return [new]
        first: list[Row] = []
        second: list[Row] = []
        for r in new:
            ids = r.prompt_ids
            shared = max((common_prefix(ids, f.prompt_ids) for f in first), default=0)
            shared = min(shared, len(ids) - 1)
            (second if shared >= pc.min_tokens and shared > pc.match(ids) else first).append(r)
        return [p for p in (first, second) if p]

    @staticmethod
    def _prefix_inputs(seqs: list[list[int]], hits: list[PrefixHit | None], dev: torch.device,
                       pad: int) -> tuple[Any, ...]:
        """The pass's input ids (each prompt past its cached prefix `hits`, left-padded), the
        attention mask over cached + new columns, position ids (all three on `dev`), the cache
        to extend, each prompt's cached length and the mask on the host (built there, uploaded
        once: the batch keeps both)."""
        ids, mask = left_pad_host([s[h.length if h else 0:] for s, h in zip(seqs, hits)], pad)
        full, layers = prefix_columns(hits, mask)  # host mask, device layers
        pos = (full.cumsum(1) - 1).clamp(min=0)[:, full.shape[1] - mask.shape[1]:]
        cache = new_cache(layers)
        return ids.to(dev), full.to(dev), pos.to(dev), cache, [h.length if h else 0 for h in hits], full

    @staticmethod
    def _store_prefixes(pc: PrefixCache, seqs: list[list[int]], batch: KVBatch, cached: list[int],
                        first: int = 0) -> None:
        """Offer each prompt's KV (all positions but the last; prompt i is row `first + i` of
        `batch`) to `pc`, unless its lookup (`cached` positions) already covered it."""
        if not pc.enabled or batch.mask is None:
            return
        layers = cache_layers(batch.cache)
        real = batch.real_columns()  # host: finding a row's real positions reads no device
        for i, (ids, hit) in enumerate(zip(seqs, cached), start=first):
            n = len(ids) - 1
            if n < pc.min_tokens or hit >= n:
                continue  # too short, or held already
            cols = real[i].nonzero().squeeze(1)[:n].to(batch.mask.device)
            pc.store(ids, [(k[i].index_select(1, cols), v[i].index_select(1, cols)) for k, v in layers])

    def _run_pass(self, seqs: list[list[int]], hits: list[PrefixHit | None], state: PassState | None,
                  keep_all: bool = False) -> tuple[torch.Tensor, KVBatch, list[int]]:
        """Prefill `seqs` past their cached prefixes `hits` in one pass: the logits (`_forward`),
        the pass's batch and each row's cached length."""
        dev, pad = self.adapter.device, int(self.adapter.tokenizer.pad_token_id)
        ids, mask, pos, cache, cached, host_mask = self._prefix_inputs(seqs, hits, dev, pad)
        logits = self._forward(ids, mask, pos, cache, state, keep_all=keep_all)
        return logits, KVBatch(cache, mask, [len(s) for s in seqs], host_mask), cached

    def _twin_pass(self, tseqs: list[list[int]], thits: list[PrefixHit | None]
                   ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, KVBatch, list[int]]:
        """The twins' prefill on their own, every block and unsteered: their block-L states at
        the last prompt position `[twins, d]`, their block-G states for a gate's state term (or
        None), their logits, batch and cached lengths."""
        assert self.layer is not None
        seen: list[torch.Tensor] = []

        def at_l(hidden: torch.Tensor) -> None:  # hidden: [twins, pos, d]; read, never changed
            seen.append(hidden[:, -1, :].clone())

        gate = self.artifact.gate if self.artifact is not None else None
        g = gate.state_layer if gate is not None and gate.u is not None else None
        with contextlib.ExitStack() as hooks:
            if g is not None and g != self.layer:  # a gate's state term: the twins' block G first
                hooks.enter_context(self.adapter.block_output_hook(g, at_l))
            hooks.enter_context(self.adapter.block_output_hook(self.layer, at_l))
            logits, batch, cached = self._run_pass(tseqs, thits, None)
        return seen[-1], seen[0].float() if len(seen) == 2 else None, logits, batch, cached

    def _twins_apart(self, pseqs: list[list[int]], phits: list[PrefixHit | None],
                     tseqs: list[list[int]], thits: list[PrefixHit | None]) -> bool:
        """Whether the twins prefill in a pass of their own (`EngineConfig.twin_prefill`).

        A joint pass pads every row to the widest new part, and the personalized rows' new part
        is usually wider: a cold history is hundreds of tokens, and a twin whose question is
        cached adds one. `auto` goes apart when the padded positions the second pass saves
        outnumber what a pass costs by itself (`_TWIN_PASS_TOKENS`)."""
        mode = self.config.twin_prefill
        if mode != "auto":
            return mode == "separate"
        p = [len(s) - (h.length if h else 0) for s, h in zip(pseqs, phits)]
        t = [len(s) - (h.length if h else 0) for s, h in zip(tseqs, thits)]
        width = max(p + t)
        saved = len(p) * (width - max(p)) + len(t) * (width - max(t))
        return saved > _TWIN_PASS_TOKENS

    def _prefill_pass(self, new: list[Row]) -> None:
        """Prefill `new`. Rows that can go hard bring their history-free twin (its own prefix
        cache, every block): as extra rows of the same pass, or in a pass of their own just
        before it when that saves more padding than a pass costs (`_twins_apart`). Either way
        the gate and the edit read the twins' block-L states while the personalized rows pass
        block L."""
        dev = self.adapter.device
        twin_new = [r for r in new if r.twin_ids is not None]
        pseqs = [r.prompt_ids for r in new]
        # Twins are history-free, so requests that ask the same question bring the same twin
        # prompt whatever their users: each distinct twin prompt is computed once per pass, and
        # twin i reads row `tmap[i]` of the distinct ones (`tseqs`).
        tseqs, tmap = _distinct([r.twin_ids or [] for r in twin_new])
        scored = [r.req.sampling.prompt_logprobs is not None for r in new]
        phits = [None if sc else self.prefix_cache.lookup(s) for s, sc in zip(pseqs, scored)]
        thits = [self.twin_prefix_cache.lookup(s) for s in tseqs]
        n, m = len(new), len(twin_new)
        tsel = torch.tensor(tmap, dtype=torch.long, device=dev) if m else None  # no upload without twins
        apart = m > 0 and self._twins_apart(pseqs, phits, tseqs, thits)
        state = h_twin = h_twin_g = tlogits = tbatch = None
        if apart:  # the twins first: their block-L (and block-G) states feed the personalized pass
            h_twin, h_twin_g, tlogits, tbatch, tcached = self._twin_pass(tseqs, thits)
            assert tsel is not None
            h_twin = h_twin.index_select(0, tsel)  # one state per twin row
            h_twin_g = None if h_twin_g is None else h_twin_g.index_select(0, tsel)
        if self.layer is not None:
            joint = m > 0 and not apart
            state = PassState(rows=new, tensors=RowTensors.build(new, twin_new, dev), p_hat=None,
                              twin=h_twin, has_twins=m > 0,
                              twin_gate_states=h_twin_g,
                              main_slots=torch.arange(n, device=dev) if joint else None,
                              twin_slots=tsel + n if joint and tsel is not None else None)
        seqs, hits = (pseqs, phits) if apart else (pseqs + tseqs, phits + thits)
        logits, both, cached = self._run_pass(seqs, hits, state, keep_all=any(scored))
        if logits.dim() == 3:  # [rows, pos, vocab]: some rows score their prompt
            for r, seq, sc, lg in zip(new, pseqs, scored, logits):
                if sc:  # its prompt is the last len(seq) columns (left padding, no prefix hit)
                    r.prompt_logprobs = prompt_logprobs(lg[-len(seq):], seq, r.req.sampling.prompt_logprobs or 0,
                                                        self._token_text)
            logits = logits[:, -1, :]
        # Rows n.. of `logits` are the distinct twins' and `tbatch` holds them from row `t0` (a
        # joint pass: the same batch as the requests', from row n); twin i is distinct twin tmap[i].
        if apart:
            assert tlogits is not None and tbatch is not None
            logits = torch.cat([logits, tlogits])
            t0 = 0
        else:
            tbatch, tcached, t0 = both, cached[n:], n
        self._store_prefixes(self.prefix_cache, pseqs, both, cached[:n])
        self._store_prefixes(self.twin_prefix_cache, tseqs, tbatch, tcached, first=t0)
        # Gated hard rows with reach `all` continue as their twin (its cache, its logits); the
        # other hard rows keep a lockstep twin; the rest drop theirs. Each destination takes its
        # rows from the pass's batch in one copy, and the main batch grows in one join.
        for r in twin_new:
            r.follows_twin = r.branch == "hard" and r.params.follows_twin
        own = [i for i, r in enumerate(new) if not r.follows_twin]
        follow = [i for i, r in enumerate(twin_new) if r.follows_twin]
        lockstep = [i for i, r in enumerate(twin_new) if r.branch == "hard" and not r.follows_twin]
        followers = tbatch.subset([t0 + tmap[i] for i in follow])  # copies: twins that share a
        twin_batch = tbatch.subset([t0 + tmap[i] for i in lockstep])  # prompt decode apart
        order = [new[i] for i in own] + [twin_new[i] for i in follow]
        twins = [twin_new[i] for i in lockstep]
        joining = [both.subset(own), followers]
        self._slots.extend(Slot(r) for r in order)
        if not self.joint_twins:
            twin_batch.keep_layers(self.layer + 1 if self.layer is not None else 0)
            self._twin.join(twin_batch)
            self._twin_rows.extend(twins)
        elif twins:
            joining.append(twin_batch)
            self._slots.extend(Slot(r, twin=True) for r in twins)
        self._main.join(*joining)
        self._sync_rows()
        self._accept_all(order, logits, own + [n + tmap[i] for i in follow])

    def _sync_rows(self) -> None:
        """Derive the row lists from `_slots` (joint twins live there too); the batch changed,
        so the decode tensors are rebuilt at the next step."""
        self._rows = [s.row for s in self._slots if not s.twin]
        if self.joint_twins:
            self._twin_rows = [s.row for s in self._slots if s.twin]
        self._decode_cache = None

    def _decode_tensors(self) -> tuple[RowTensors, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Per-row kernel tensors, p_hat, and the request / twin slots of a joint batch (None
        when every slot is a request), on the device. A decode step's rows keep their
        parameters, p_hat and twin, so these are uploaded once per batch composition, not per
        step."""
        if self._decode_cache is None:
            dev = self.adapter.device
            p_hat = torch.tensor([r.p_hat if r.p_hat is not None else 0.0 for r in self._rows],
                                 dtype=torch.float32, device=dev)
            main = twin = None
            if len(self._slots) > len(self._rows):  # joint twins in this batch
                main = torch.tensor([i for i, s in enumerate(self._slots) if not s.twin], dtype=torch.long, device=dev)
                twin = torch.tensor([i for i, s in enumerate(self._slots) if s.twin], dtype=torch.long, device=dev)
            self._decode_cache = (RowTensors.build(self._rows, self._twin_rows, dev), p_hat, main, twin)
        return self._decode_cache

    @torch.inference_mode()
    def _decode(self) -> None:
        dev = self.adapter.device
        separate = bool(self._twin_rows) and not self.joint_twins
        # Uploads first: issued before the step's first kernel, they wait on nothing.
        # Every cache row is fed its request's newest token: a joint twin the same one as its row.
        ids = torch.tensor([[s.row.generated[-1]] for s in self._slots], dtype=torch.long, device=dev)
        mask, pos = self._main.step_inputs(dev)
        if separate:
            tids = torch.tensor([[r.generated[-1]] for r in self._twin_rows], dtype=torch.long, device=dev)
            tmask, tpos = self._twin.step_inputs(dev)
        state = None
        main = None
        if self.layer is not None:
            tensors, p_hat, main, twin_slots = self._decode_tensors()
            state = PassState(rows=self._rows, tensors=tensors, p_hat=p_hat,
                              main_slots=main, twin_slots=twin_slots)
        if separate:
            assert self.layer is not None and state is not None
            # The twin is fed the token the personalized stream emitted, before that stream
            # passes block L in this same step.
            state.twin = run_to_layer(self.adapter, self.layer, tids, self._twin.cache,
                                      attention_mask=tmask, position_ids=tpos)[:, -1, :]
            self._twin.advance(tmask)
        logits = self._forward(ids, mask, pos, self._main.cache, state)
        if main is not None:
            logits = logits.index_select(0, main)
        self._main.advance(mask)
        self._accept_all(self._rows, logits)

    def _accept_all(self, rows: Sequence[Row], logits: torch.Tensor, index: Sequence[int] | None = None) -> None:
        """Sample one token per row from its logits (`logits[index[i]]` for row i, default
        `logits[i]`) and record it. Every row's token is read back at once: the step's one
        device-to-host sync."""
        eos = self.adapter.eos_token_ids
        lgs = [logits[i] for i in (index if index is not None else range(len(rows)))]
        picked = []
        for row, lg in zip(rows, lgs):
            choose = row.logits.apply(lg)
            if row.grammar is not None:
                choose = row.grammar.mask(choose)
            picked.append(next_token(choose, row.req.sampling, row.generator))
        tokens: list[int] = torch.stack(picked).tolist() if picked else []
        for row, lg, token in zip(rows, lgs, tokens):
            sp = row.req.sampling
            if token in eos and not sp.ignore_eos:
                row.finish = "stop"
                continue
            row.generated.append(token)
            row.logits.accept(token)
            if row.grammar is not None:
                row.grammar.accept(token)
            if sp.logprobs is not None:
                row.logprobs.append(token_logprob(lg, token, sp.logprobs, self._token_text))
            delta = row.tracker.update(row.generated)
            if delta and row.on_event is not None:
                row.on_event(TokenEvent(row.req.request_id, delta, token, logprobs=self._new_logprobs(row),
                                        prompt_logprobs=self._first_prompt_logprobs(row)))
            if row.tracker.stopped or (row.grammar is not None and row.grammar.is_done):
                row.finish = "stop"
            elif len(row.generated) >= row.req.sampling.max_tokens:
                row.finish = "length"
        done = [r for r in self._rows if r.finish is not None]
        if done:
            self._drop(done, None)

    def _drop(self, rows: Sequence[Row], reason: str | None) -> None:
        if not rows:
            return
        gone = set(rows)
        self._main.select([i for i, s in enumerate(self._slots) if s.row not in gone])
        self._slots = [s for s in self._slots if s.row not in gone]
        if not self.joint_twins:
            self._twin.select([i for i, r in enumerate(self._twin_rows) if r not in gone])
            self._twin_rows = [r for r in self._twin_rows if r not in gone]
        self._sync_rows()
        for row in rows:
            if reason is not None:
                row.finish = reason
            self._finish(row)

    def _finish(self, row: Row, error: str | None = None) -> None:
        tail = row.tracker.flush()
        p = row.params
        row.result = EngineOutput(
            request_id=row.req.request_id, text=row.tracker.text, token_ids=tuple(row.generated),
            finish_reason=row.finish or "error", prompt_tokens=len(row.prompt_ids),
            completion_tokens=len(row.generated), p_hat=row.p_hat, gate=row.branch, mode=p.mode,
            effective_alpha=p.alpha if row.branch != "none" else 0.0, gamma=p.gamma, tau=p.tau,
            layer=self.layer, artifact_id=self.artifact.artifact_id if self.artifact else None,
            error=error, logprobs=tuple(row.logprobs) if row.req.sampling.logprobs is not None else None,
            prompt_logprobs=row.prompt_logprobs)
        if row.on_event is not None:
            row.on_event(TokenEvent(row.req.request_id, tail, None, final=row.result,
                                    logprobs=self._new_logprobs(row), prompt_logprobs=self._first_prompt_logprobs(row)))
        row.done.set()
