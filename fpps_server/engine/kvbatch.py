"""A left-padded batch of sequences with its KV cache: the bookkeeping of continuous batching.

Rows hold their real tokens at the right end; `mask` marks real columns. Rows join (their
prefilled cache is left-padded to the common length and concatenated on the batch axis) and
leave (selected away) between decode steps; columns that became padding in every row are
trimmed. The cache itself is handled through `fpps.steering.kv`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from fpps.steering.kv import cache_layers, new_cache

__all__ = ["KVBatch", "left_pad"]


def left_pad(seqs: list[list[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids `[n, T]` left-padded with `pad_id`, and the attention mask `[n, T]`."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((len(seqs), width), dtype=torch.long, device=device)
    for i, s in enumerate(seqs):
        ids[i, width - len(s):] = torch.tensor(s, dtype=torch.long, device=device)
        mask[i, width - len(s):] = 1
    return ids, mask


@dataclass
class KVBatch:
    """Rows of left-padded sequences sharing one KV cache.

    Attributes:
        cache: the `DynamicCache` ([rows, heads, cols, head_dim] per layer), or None when empty.
        mask: `[rows, cols]` 1 for real tokens, 0 for padding.
        lengths: real tokens per row (the next position id of each row).
    """

    cache: object | None = None
    mask: torch.Tensor | None = None
    lengths: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.lengths)

    def step_inputs(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention mask for one more column and the position ids `[rows, 1]` of that column."""
        assert self.mask is not None
        mask = torch.cat([self.mask, torch.ones((self.rows, 1), dtype=self.mask.dtype,
                                                device=self.mask.device)], dim=1)
        pos = torch.tensor(self.lengths, dtype=torch.long, device=device).unsqueeze(1)
        return mask, pos

    def advance(self, new_mask: torch.Tensor) -> None:
        """Record that one column was appended to every row (after a decode step)."""
        self.mask = new_mask
        self.lengths = [n + 1 for n in self.lengths]

    def join(self, other: "KVBatch") -> None:
        """Append `other`'s rows, left-padding the shorter side's cache and mask."""
        if other.rows == 0:
            return
        if self.rows == 0:
            self.cache, self.mask, self.lengths = other.cache, other.mask, list(other.lengths)
            return
        assert self.mask is not None and other.mask is not None
        width = max(self.mask.shape[1], other.mask.shape[1])

        def pad(t: torch.Tensor, dim: int) -> torch.Tensor:
            extra = width - t.shape[dim]
            if extra == 0:
                return t
            spec = [0, 0] * (t.ndim - 1 - dim) + [extra, 0]
            return F.pad(t, spec)

        mine, theirs = cache_layers(self.cache), cache_layers(other.cache)
        if len(mine) != len(theirs):
            raise RuntimeError("cannot join caches with different numbers of layers")
        layers = [(torch.cat([pad(k1, 2), pad(k2, 2)]), torch.cat([pad(v1, 2), pad(v2, 2)]))
                  for (k1, v1), (k2, v2) in zip(mine, theirs)]
        self.cache = new_cache(layers)
        self.mask = torch.cat([pad(self.mask, 1), pad(other.mask, 1)])
        self.lengths = self.lengths + list(other.lengths)

    def keep_layers(self, n_layers: int) -> None:
        """Drop the cache above the first `n_layers` (a full-depth twin that decodes blocks
        0..L only keeps 0..L)."""
        if self.cache is None:
            return
        layers = cache_layers(self.cache)
        if len(layers) > n_layers:
            self.cache = new_cache(layers[:n_layers])

    def subset(self, keep: list[int]) -> "KVBatch":
        """A batch of rows `keep` (in that order); `self` is left as it was. It shares tensors
        with `self` only when `keep` is every row."""
        out = KVBatch(self.cache, self.mask, list(self.lengths))
        out.select(keep)
        return out

    def select(self, keep: list[int]) -> None:
        """Keep only rows `keep` (in that order), then trim all-padding columns on the left."""
        if len(keep) == 0:
            self.cache, self.mask, self.lengths = None, None, []
            return
        if keep == list(range(self.rows)):
            return
        assert self.mask is not None
        idx = torch.tensor(keep, dtype=torch.long, device=self.mask.device)
        mask = self.mask.index_select(0, idx)
        real_cols = mask.any(dim=0).nonzero()
        start = int(real_cols[0]) if real_cols.numel() else 0
        layers = [(k.index_select(0, idx)[:, :, start:], v.index_select(0, idx)[:, :, start:])
                  for k, v in cache_layers(self.cache)]
        self.cache = new_cache(layers)
        self.mask = mask[:, start:]
        self.lengths = [self.lengths[i] for i in keep]
