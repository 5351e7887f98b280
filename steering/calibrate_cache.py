"""The calibration's resumable on-disk cache: JSONL records and stored prefix KV caches.

Everything `calibrate` generates is keyed by `key_hash` of its inputs and appended to a
`JsonlCache`, which several workers may share; the personalized prompts' prefix caches (all but
the last token, never edited: D18) are stored as safetensors, so each configuration decodes
from the last prompt token without a second prefill.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from .adapter import ModelAdapter

__all__ = ["JsonlCache", "crop", "key_hash", "load_prefix", "prefix_cache", "save_prefix"]


def key_hash(*parts: Any) -> str:
    """24-hex-digit key of JSON-able parts (cache keys)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


class JsonlCache:
    """Append-only JSONL cache `{key: record}`; the last line for a key wins."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, dict[str, Any]] = {}
        self._read = 0  # bytes of the file already parsed
        path.parent.mkdir(parents=True, exist_ok=True)
        self._refresh()

    def _refresh(self) -> None:
        """Parse lines appended since the last read (another worker may share the file)."""
        if not self.path.is_file() or self.path.stat().st_size <= self._read:
            return
        with open(self.path, "rb") as f:
            f.seek(self._read)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1  # only whole lines; a torn tail is re-read later
        for line in chunk[:end].decode().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.data[rec["key"]] = rec
        self._read += end

    def get(self, key: str) -> dict[str, Any] | None:
        if key not in self.data:
            self._refresh()
        return self.data.get(key)

    def put(self, rec: dict[str, Any]) -> None:
        self.data[rec["key"]] = rec
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")


def save_prefix(cache: Any, path: Path) -> None:
    """Store a `DynamicCache` as safetensors (`k{i}`, `v{i}` per layer)."""
    from safetensors.torch import save_file

    tensors = {}
    for i, layer in enumerate(cache.layers):
        tensors[f"k{i}"], tensors[f"v{i}"] = layer.keys.contiguous(), layer.values.contiguous()
    save_file(tensors, str(path))


def load_prefix(path: Path, num_layers: int) -> Any:
    """The `DynamicCache` that `save_prefix` stored."""
    from safetensors.torch import load_file
    from transformers import DynamicCache

    t = load_file(str(path))
    return DynamicCache([(t[f"k{i}"], t[f"v{i}"]) for i in range(num_layers)])


def crop(cache: Any, length: int) -> None:
    """Cut `cache` back to its first `length` positions."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


def prefix_cache(adapter: ModelAdapter, path: Path, ids: list[int]) -> Any:
    """The personalized prompt's prefix cache (all but the last token): stored, else recomputed."""
    if path.is_file():
        return load_prefix(path, adapter.num_layers)
    from transformers import DynamicCache

    cache = DynamicCache()
    with torch.inference_mode():
        adapter.model(input_ids=torch.tensor([ids[:-1]], device=adapter.device),
                      past_key_values=cache, use_cache=True)
    return cache
