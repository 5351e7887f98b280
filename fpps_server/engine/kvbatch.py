"""A left-padded batch of sequences with its KV cache: the bookkeeping of continuous batching.

Rows hold their real tokens at the right end; `mask` marks real columns. Rows join (their
prefilled cache is left-padded to the common length and concatenated on the batch axis) and
leave (selected away) between decode steps; columns that became padding in every row are
trimmed. The cache itself is handled through `fpps.steering.kv`.

The mask lives twice: on the model's device for the forward pass, and on the host
(`host_mask`) for the bookkeeping that needs its values (which columns to trim, which positions
of a row are real). Reading the device copy instead would cost a device-to-host sync every time
a row leaves. The host copy is extended lazily: decode steps only count the all-ones columns
they append, and the copy is materialized when a row joins, leaves or is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from fpps.steering.kv import cache_layers, new_cache

__all__ = ["KVBatch", "left_pad", "left_pad_host"]

_HOST = torch.device("cpu")


def left_pad_host(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids `[n, T]` left-padded with `pad_id` and the attention mask `[n, T]`, on the host."""
    width = max(len(s) for s in seqs)
    ids = [[pad_id] * (width - len(s)) + list(s) for s in seqs]
    mask = [[0] * (width - len(s)) + [1] * len(s) for s in seqs]
    return (torch.tensor(ids, dtype=torch.long, device=_HOST),
            torch.tensor(mask, dtype=torch.long, device=_HOST))


def left_pad(seqs: list[list[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """`left_pad_host`, uploaded to `device` (one copy per tensor)."""
    ids, mask = left_pad_host(seqs, pad_id)
    return ids.to(device), mask.to(device)


def _pad_left(t: torch.Tensor, dim: int, width: int) -> torch.Tensor:
    """`t` zero-padded on the left of `dim` to `width` columns."""
    extra = width - t.shape[dim]
    if extra == 0:
        return t
    return F.pad(t, [0, 0] * (t.ndim - 1 - dim) + [extra, 0])


def _cat_left(parts: list[torch.Tensor], width: int) -> torch.Tensor:
    """Keys or values `[rows, kv_heads, cols, head_dim]` of several batches stacked on the row
    axis, each left-padded with zeros to `width` columns: every part is copied once (padding
    each first and then concatenating would copy the narrower ones twice)."""
    if all(t.shape[2] == width for t in parts):
        return torch.cat(parts)
    first = parts[0]
    out = first.new_zeros((sum(t.shape[0] for t in parts), first.shape[1], width, first.shape[3]))
    row = 0
    for t in parts:
        out[row:row + t.shape[0], :, width - t.shape[2]:] = t
        row += t.shape[0]
    return out


@dataclass
class KVBatch:
    """Rows of left-padded sequences sharing one KV cache.

    Attributes:
        cache: the `DynamicCache` ([rows, heads, cols, head_dim] per layer), or None when empty.
        mask: `[rows, cols]` 1 for real tokens, 0 for padding, on the model's device.
        lengths: real tokens per row (the next position id of each row).
        host_mask: `mask` on the host. Given None with a `mask`, it is read from the device
            once; the engine always passes it (it builds the mask on the host first).
    """

    cache: object | None = None
    mask: torch.Tensor | None = None
    lengths: list[int] = field(default_factory=list)
    host_mask: torch.Tensor | None = None
    _pending_cols: int = field(default=0, repr=False)
    """All-ones columns appended by decode steps and not yet in `host_mask`."""

    def __post_init__(self) -> None:
        if self.mask is not None and self.host_mask is None:
            self.host_mask = self.mask.cpu()

    @property
    def rows(self) -> int:
        return len(self.lengths)

    def real_columns(self) -> torch.Tensor:
        """The host mask `[rows, cols]`, up to date (materializes the decode steps' columns)."""
        assert self.host_mask is not None
        if self._pending_cols:
            ones = torch.ones((self.rows, self._pending_cols), dtype=self.host_mask.dtype, device=_HOST)
            self.host_mask = torch.cat([self.host_mask, ones], dim=1)
            self._pending_cols = 0
        return self.host_mask

    def step_inputs(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention mask for one more column and the position ids `[rows, 1]` of that column,
        both on `device` (the positions are uploaded from the host `lengths`)."""
        assert self.mask is not None
        mask = torch.cat([self.mask, torch.ones((self.rows, 1), dtype=self.mask.dtype,
                                                device=self.mask.device)], dim=1)
        pos = torch.tensor(self.lengths, dtype=torch.long, device=device).unsqueeze(1)
        return mask, pos

    def advance(self, new_mask: torch.Tensor) -> None:
        """Record that one column was appended to every row (after a decode step)."""
        self.mask = new_mask
        self._pending_cols += 1
        self.lengths = [n + 1 for n in self.lengths]

    def join(self, *others: "KVBatch") -> None:
        """Append the rows of `others` (in order), left-padding every part's cache and mask to
        the widest: one concatenation per tensor however many batches join, so the rows
        already here are copied once."""
        parts = [b for b in (self, *others) if b.rows]
        if len(parts) <= 1:
            if parts and parts[0] is not self:  # an empty batch takes the other's tensors
                other = parts[0]
                self.cache, self.mask, self.lengths = other.cache, other.mask, list(other.lengths)
                self.host_mask, self._pending_cols = other.real_columns(), 0
            return
        width = max(b.mask.shape[1] for b in parts if b.mask is not None)
        caches = [cache_layers(b.cache) for b in parts]
        if len({len(c) for c in caches}) != 1:
            raise RuntimeError("cannot join caches with different numbers of layers")
        layers = [(_cat_left([c[i][0] for c in caches], width), _cat_left([c[i][1] for c in caches], width))
                  for i in range(len(caches[0]))]
        self.cache = new_cache(layers)
        self.host_mask = torch.cat([_pad_left(b.real_columns(), 1, width) for b in parts])
        self.mask = torch.cat([_pad_left(b.mask, 1, width) for b in parts if b.mask is not None])
        self.lengths = [n for b in parts for n in b.lengths]
        self._pending_cols = 0

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
        host = self.real_columns() if self.mask is not None else None
        out = KVBatch(self.cache, self.mask, list(self.lengths), host)
        out.select(keep)
        return out

    def select(self, keep: list[int]) -> None:
        """Keep only rows `keep` (in that order), then trim all-padding columns on the left.
        Reads nothing from the device: the columns to trim come from the host mask."""
        if len(keep) == 0:
            self.cache, self.mask, self.lengths, self.host_mask = None, None, [], None
            self._pending_cols = 0
            return
        if keep == list(range(self.rows)):
            return
        assert self.mask is not None
        host = self.real_columns()[keep]  # [kept, cols]
        real_cols = host.any(dim=0).nonzero()  # a host tensor: no sync
        start = int(real_cols[0]) if real_cols.numel() else 0
        idx = torch.tensor(keep, dtype=torch.long, device=self.mask.device)
        layers = [(k.index_select(0, idx)[:, :, start:], v.index_select(0, idx)[:, :, start:])
                  for k, v in cache_layers(self.cache)]
        self.cache = new_cache(layers)
        self.mask = self.mask.index_select(0, idx)[:, start:]
        self.host_mask = host[:, start:]
        self.lengths = [self.lengths[i] for i in keep]
