"""Single-process generation helpers over a `ModelAdapter`.

`greedy_generate` decodes unsteered prompts in left-padded batches (measurement and the data
card). `steered_generate` (in `steering.reference`) is the one-request-at-a-time FPPS reference.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .adapter import ModelAdapter
from .personalize import Message

__all__ = ["greedy_generate"]


@torch.inference_mode()
def greedy_generate(adapter: ModelAdapter, prompts: Sequence[Sequence[Message]],
                    max_new_tokens: int = 48, batch_size: int = 8) -> list[str]:
    """Greedy answers to chat prompts, batched with left padding, special tokens stripped."""
    tok = adapter.tokenizer
    out: list[str] = []
    # Sort by length so that batches pad little; restore the order at the end.
    order = sorted(range(len(prompts)), key=lambda i: len(adapter.render_chat(prompts[i])))
    texts: dict[int, str] = {}
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tok([adapter.render_chat(prompts[i]) for i in idx], add_special_tokens=False,
                  padding=True, return_tensors="pt").to(adapter.device)
        gen = adapter.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id)
        for row, i in enumerate(idx):
            texts[i] = adapter.decode(gen[row, enc["input_ids"].shape[1]:].tolist()).strip()
    out = [texts[i] for i in range(len(prompts))]
    return out
