"""The one owner of transformers' KV-cache internals: create, read, crop, save and load.

Every module that holds keys/values (the engine's batches and prefix cache, the reference
decoder, the calibration's stored prefixes) goes through these functions and never touches
`DynamicCache` attributes itself: the pin on transformers (5.23) broke once on a renamed cache
keyword, and one module is where the next rename gets fixed. Works on `DynamicCache` with
full-attention layers (`[rows, kv_heads, positions, head_dim]` per layer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

__all__ = ["Layers", "cache_layers", "crop", "load_cache", "new_cache", "save_cache"]

Layers = Sequence[tuple[torch.Tensor, torch.Tensor]]
"""Per-block `(keys, values)`."""


def new_cache(layers: Layers | None = None) -> Any:
    """A `DynamicCache`, empty or holding `layers`: the tensors themselves, not a copy.

    `DynamicCache(ddp_cache_data=...)` fills each layer with `update`, a concatenation onto an
    empty tensor: a full copy of every key and value. The engine builds a cache for every prefill
    pass and every batch change, so that copy (a fresh allocation each, page faults included on a
    CPU) cost as much as the model's own arithmetic in a prefill. Sharing is safe: a
    `DynamicLayer` never writes into its tensors (`update` concatenates into new ones, `crop`
    slices)."""
    from transformers import DynamicCache

    if not layers:
        return DynamicCache()
    layers = list(layers)
    cache = DynamicCache(ddp_cache_data=[(None, None)] * len(layers))  # empty layers, no copy
    for layer, (k, v) in zip(cache.layers, layers):
        layer.lazy_initialization(k, v)
        layer.keys, layer.values = k, v
    return cache


def cache_layers(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The filled `(keys, values)` of each layer of a cache, stopping at the first empty one
    (a twin decoded through blocks 0..L only fills those)."""
    out = []
    for layer in cache.layers:
        if getattr(layer, "keys", None) is None or not getattr(layer, "is_initialized", False):
            break
        out.append((layer.keys, layer.values))
    return out


def crop(cache: Any, length: int) -> None:
    """Cut `cache` back to its first `length` positions, in place."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


def save_cache(cache: Any, path: Path) -> None:
    """Store a cache as safetensors (`k{i}`, `v{i}` per layer)."""
    from safetensors.torch import save_file

    tensors = {}
    for i, (k, v) in enumerate(cache_layers(cache)):
        tensors[f"k{i}"], tensors[f"v{i}"] = k.contiguous(), v.contiguous()
    save_file(tensors, str(path))


def load_cache(path: Path, num_layers: int) -> Any:
    """The cache that `save_cache` stored."""
    from safetensors.torch import load_file

    t = load_file(str(path))
    return new_cache([(t[f"k{i}"], t[f"v{i}"]) for i in range(num_layers)])
