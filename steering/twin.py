"""The history-free twin's partial forward pass: blocks 0..L only, nothing above.

The hard branch reads the twin's state at block L and nothing else, so the twin never runs the
blocks above L (a hook at L stops the pass). Shared by the reference decoder, the batched engine
(separately decoded twins) and calibration; it lives apart from the reference so that the engine
does not import the oracle it is tested against.
"""

from __future__ import annotations

from typing import Any

import torch

from .adapter import ModelAdapter

__all__ = ["run_to_layer"]


class _StopForward(Exception):
    """Raised by the layer-L hook of a twin pass: nothing above L is ever computed."""


def run_to_layer(adapter: ModelAdapter, layer: int, input_ids: torch.Tensor,
                 past_key_values: Any = None, **kwargs: Any) -> torch.Tensor:
    """Run blocks 0..layer only and return the output of block `layer`, `[batch, pos, d]`.

    With a cache, the cache of blocks 0..layer is extended in place; blocks above stay empty.
    """
    captured: list[torch.Tensor] = []

    def stop(hidden: torch.Tensor) -> None:
        captured.append(hidden)
        raise _StopForward

    with adapter.block_output_hook(layer, stop):
        try:
            adapter.model(input_ids=input_ids, past_key_values=past_key_values,
                          use_cache=past_key_values is not None, **kwargs)
        except _StopForward:
            pass
    if not captured:
        raise RuntimeError(f"block {layer} never ran")
    return captured[0]
