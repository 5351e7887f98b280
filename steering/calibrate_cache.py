"""The calibration's resumable on-disk cache: JSONL records and the personalized prompts' prefix KV caches
(stored through `kv.save_cache`).

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
from .kv import load_cache, new_cache

__all__ = ["JsonlCache", "key_hash", "prefix_cache"]


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


def prefix_cache(adapter: ModelAdapter, path: Path, ids: list[int]) -> Any:
    """The personalized prompt's prefix cache (all but the last token): stored, else recomputed."""
    if path.is_file():
        return load_cache(path, adapter.num_layers)
    cache = new_cache()
    with torch.inference_mode():
        adapter.model(input_ids=torch.tensor([ids[:-1]], device=adapter.device),
                      past_key_values=cache, use_cache=True)
    return cache
