"""Prompt-prefix KV reuse: prompts that begin like an earlier one skip that part of the prefill.

A personalized assistant resends the same user's history with every request (and every turn of
a conversation resends the turns before it), so prompts share long prefixes. The keys and values
of a prompt position depend only on the tokens up to it (causal attention), and FPPS edits only
a row's newest position, so the KV of every prompt position but the last is the same for every
steering setting and can be reused as is. vLLM's automatic prefix caching and SGLang's radix
cache do the same; this one is the small version for one engine: a least-recently-used set of
entries, each one earlier prompt's KV (all positions but its last), matched by the longest
common prefix.

Entries are keyed by their token ids on the host (matching never reads the device); their keys
and values stay where the model computed them.

Exactness: a reused prefix saves the arithmetic but not its rounding; the suffix is computed
against stored keys/values instead of in one pass with them, which can change low-order bits of
the suffix's states. The engine's tests check that greedy tokens are unchanged (fp32).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch

__all__ = ["PrefixCache", "PrefixHit", "common_prefix", "prefix_columns"]

Layers = list[tuple[torch.Tensor, torch.Tensor]]  # per block: keys, values [kv_heads, tokens, head_dim]
_HOST = torch.device("cpu")  # token-id keys: host data, compared on the host


@dataclass(frozen=True)
class PrefixHit:
    """The first `length` positions of a stored entry match the prompt; `layers` holds their KV."""

    length: int
    layers: Layers


class PrefixCache:
    """LRU store of prompt KV, bounded in tokens.

    Args:
        max_tokens: positions kept in all entries together (each costs
            `2 * layers * kv_heads * head_dim` numbers); 0 disables the cache.
        min_tokens: shortest prefix worth reusing (shorter matches, such as a shared system
            prompt alone, are prefilled as usual and not stored either).
    """

    def __init__(self, max_tokens: int, min_tokens: int = 32) -> None:
        if max_tokens < 0 or min_tokens < 1:
            raise ValueError("max_tokens must be >= 0 and min_tokens >= 1")
        self.max_tokens, self.min_tokens = max_tokens, min_tokens
        self._entries: OrderedDict[int, tuple[torch.Tensor, Layers]] = OrderedDict()
        self._next = 0
        self.tokens = 0
        self.stats = {"lookups": 0, "hits": 0, "reused_tokens": 0, "stored": 0, "evicted": 0}

    @property
    def enabled(self) -> bool:
        return self.max_tokens > 0

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, ids: list[int]) -> int:
        """Length of the longest stored prefix of `ids`, capped below `len(ids)` (the last prompt
        position is always computed: the probe reads it and the edit changes it); 0 if shorter
        than `min_tokens`. Does not touch the LRU order."""
        return self._best(ids)[1]

    def lookup(self, ids: list[int]) -> PrefixHit | None:
        """The reusable KV for a prompt `ids`, or None; a hit becomes most recently used."""
        if not self.enabled:
            return None
        self.stats["lookups"] += 1
        key, n = self._best(ids)
        if key is None or n == 0:
            return None
        self._entries.move_to_end(key)
        _, layers = self._entries[key]
        self.stats["hits"] += 1
        self.stats["reused_tokens"] += n
        return PrefixHit(n, [(k[:, :n], v[:, :n]) for k, v in layers])

    def store(self, ids: list[int], layers: Layers) -> None:
        """Keep the KV of prompt `ids` minus its last position (`layers` may cover more).

        An entry the new one extends is replaced; a prompt an entry already covers is skipped."""
        if not self.enabled:
            return
        n = len(ids) - 1
        if n < self.min_tokens or n > self.max_tokens:
            return
        t = torch.tensor(ids[:n], dtype=torch.long, device=_HOST)
        for key, (old, _) in list(self._entries.items()):
            m = min(len(old), n)
            if bool(torch.equal(old[:m], t[:m])):
                if len(old) >= n:  # covered already
                    self._entries.move_to_end(key)
                    return
                self._drop(key)  # the new entry extends it
        kept = [(k[:, :n].clone(), v[:, :n].clone()) for k, v in layers]
        self._entries[self._next] = (t, kept)
        self._next += 1
        self.tokens += n
        self.stats["stored"] += 1
        while self.tokens > self.max_tokens:
            self._drop(next(iter(self._entries)))
            self.stats["evicted"] += 1

    def clear(self) -> None:
        self._entries.clear()
        self.tokens = 0

    def _drop(self, key: int) -> None:
        t, _ = self._entries.pop(key)
        self.tokens -= len(t)

    def _best(self, ids: list[int]) -> tuple[int | None, int]:
        if not self._entries or len(ids) <= self.min_tokens:
            return None, 0
        cap = len(ids) - 1
        q = torch.tensor(ids[:cap], dtype=torch.long, device=_HOST)
        best_key, best = None, 0
        for key, (t, _) in self._entries.items():
            m = min(len(t), cap)
            diff = (t[:m] != q[:m]).nonzero()
            n = int(diff[0]) if diff.numel() else m
            if n > best:
                best_key, best = key, n
        return (best_key, best) if best >= self.min_tokens else (None, 0)


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def prefix_columns(hits: list[PrefixHit | None], mask: torch.Tensor) -> tuple[torch.Tensor, Layers]:
    """The attention mask and batched KV of a pass whose rows start from cached prefixes.

    `mask` `[rows, S]` marks each row's new (left-padded) tokens. Row i's columns become
    [padding, its cached prefix, padding, its new tokens]: the holes are masked, and position ids
    taken from the cumulative mask count real columns only. Returns `(mask [rows, P + S],
    layers)` with per-block keys/values `[rows, kv_heads, P, head_dim]`, P the longest hit; no
    layers when no row hit. The mask stays on `mask`'s device (the engine passes the host one),
    the layers on the cached keys/values' device."""
    width = max((h.length for h in hits if h is not None), default=0)
    if width == 0:
        return mask, []
    rows = len(hits)
    ref = next(h for h in hits if h is not None).layers
    pmask = torch.zeros((rows, width), dtype=mask.dtype, device=mask.device)
    layers = [(k0.new_zeros((rows, k0.shape[0], width, k0.shape[2])),
               v0.new_zeros((rows, v0.shape[0], width, v0.shape[2]))) for k0, v0 in ref]
    for i, h in enumerate(hits):
        if h is None:
            continue
        pmask[i, width - h.length:] = 1
        for (k, v), (hk, hv) in zip(layers, h.layers):
            k[i, :, width - h.length:] = hk
            v[i, :, width - h.length:] = hv
    return torch.cat([pmask, mask], dim=1), layers
