"""Record residual-stream states at chosen layers, and read them through the logit lens.

The FPPS read/write point is `blocks.{L}.hook_resid_post`: the output of 0-based decoder block
`L` (fpps-method.md D4). Two ways to record it:

- `TransformerBridge` (TransformerLens 4.x) via `boot_bridge` and `bridge_resid_post`: the
  vocabulary's source of truth, used to prove that the basis we read is the basis the server
  edits (`tests/unit/test_capture.py`).
- `capture_residuals`: plain forward hooks on the adapter's decoder blocks. The bridge forces
  eager attention and routes every op through hook points, which is several times slower on a
  CPU; calibration loops therefore record with block hooks, which the test above ties to the
  bridge's `hook_resid_post` (equal up to sdpa-vs-eager rounding).

Never use Hugging Face `output_hidden_states` for this: its last entry is already normalized.

`logit_lens_logprobs` applies the model's final norm and LM head to recorded states (§4).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch

from .adapter import ModelAdapter

__all__ = [
    "ResidualRecord",
    "boot_bridge",
    "bridge_resid_post",
    "capture_residuals",
    "hook_name",
    "logit_lens_logprobs",
]


def hook_name(layer: int) -> str:
    """TransformerLens name of the FPPS site at `layer`: `blocks.{layer}.hook_resid_post`."""
    return f"blocks.{layer}.hook_resid_post"


class ResidualRecord:
    """States recorded by `capture_residuals`: per layer, one tensor per forward call.

    Attributes:
        layers: the recorded layers, in the order given.
        states: `states[layer]` is a list of `[batch, pos, d]` fp32 CPU tensors, one per forward.
    """

    def __init__(self, layers: Sequence[int]) -> None:
        self.layers = list(layers)
        self.states: dict[int, list[torch.Tensor]] = {layer: [] for layer in self.layers}

    def clear(self) -> None:
        for layer in self.layers:
            self.states[layer].clear()

    def last(self) -> dict[int, torch.Tensor]:
        """The most recent forward's states per layer, `{layer: [batch, pos, d]}`."""
        return {layer: s[-1] for layer, s in self.states.items() if s}

    def stacked(self, row: int = 0) -> torch.Tensor:
        """All forwards of batch row `row`, concatenated along positions: `[n_layers, pos, d]`."""
        return torch.stack([torch.cat([s[row] for s in self.states[layer]], dim=0)
                            for layer in self.layers])


@contextlib.contextmanager
def capture_residuals(adapter: ModelAdapter, layers: Sequence[int] | None = None, *,
                      enabled: bool = True) -> Iterator[ResidualRecord]:
    """Record the output of each block in `layers` (default: all) on every forward pass.

    The hooks only read (they return None), run after any editing hook registered before them,
    and are removed on exit, also on error. With `enabled=False` nothing is installed.
    """
    layers = list(range(adapter.num_layers)) if layers is None else list(layers)
    for layer in layers:
        if not 0 <= layer < adapter.num_layers:
            raise ValueError(f"layer {layer} out of range [0, {adapter.num_layers})")
    record = ResidualRecord(layers)
    handles = []
    try:
        if enabled:
            for layer in layers:
                def read(hidden: torch.Tensor, _layer: int = layer) -> None:
                    record.states[_layer].append(hidden.detach().to("cpu", torch.float32))
                handles.append(adapter.hook_block_output(layer, read))
        yield record
    finally:
        for h in handles:
            h.remove()


@torch.inference_mode()
def logit_lens_logprobs(adapter: ModelAdapter, states: torch.Tensor,
                        targets: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of `targets` under the logit lens of `states`.

    Args:
        states: residual states `[n_layers, T, d]` at the positions that predict the targets.
        targets: token ids `[T]`.

    Returns:
        `[n_layers, T]` fp32: `log softmax(lm_head(final_norm(h)))[target]` per layer and position.
    """
    if states.ndim != 3 or targets.ndim != 1 or states.shape[1] != targets.shape[0]:
        raise ValueError(f"states {tuple(states.shape)} and targets {tuple(targets.shape)} do not align")
    dev, dtype = adapter.device, adapter.dtype
    normed = adapter.final_norm(states.to(dev, dtype))  # [n_layers, T, d]
    logits = adapter.lm_head(normed).float()  # [n_layers, T, vocab]
    logp = torch.log_softmax(logits, dim=-1)
    idx = targets.to(dev).view(1, -1, 1).expand(logp.shape[0], -1, 1)
    return logp.gather(-1, idx).squeeze(-1).cpu()  # [n_layers, T]


def boot_bridge(source: str | Path | ModelAdapter, *, tokenizer: Any = None,
                device: str = "cpu", dtype: torch.dtype = torch.float32) -> Any:
    """Boot a TransformerLens 4.x `TransformerBridge` over a local Hugging Face folder.

    Args:
        source: a local model folder, or a `ModelAdapter` whose model is wrapped as is
            (`hf_model=` with its tokenizer). Booting from the folder loads a separate copy;
            wrapping an adapter switches its attention to eager (the bridge needs it for hooks).
        tokenizer: optional tokenizer for the folder case.
    """
    from transformer_lens.model_bridge import TransformerBridge

    if isinstance(source, ModelAdapter):
        return TransformerBridge.boot_transformers(
            source.name, hf_model=source.model, tokenizer=source.tokenizer, device=device,
            dtype=dtype)
    return TransformerBridge.boot_transformers(str(source), tokenizer=tokenizer, device=device,
                                               dtype=dtype)


@torch.inference_mode()
def bridge_resid_post(bridge: Any, input_ids: torch.Tensor,
                      layers: Sequence[int]) -> dict[int, torch.Tensor]:
    """`blocks.{L}.hook_resid_post` for each layer, read with `run_with_cache`.

    Args:
        input_ids: `[batch, pos]`.

    Returns:
        `{layer: [batch, pos, d]}` fp32 CPU tensors.
    """
    names = {hook_name(layer) for layer in layers}
    _, cache = bridge.run_with_cache(input_ids, names_filter=lambda n: n in names)
    return {layer: cache[hook_name(layer)].detach().to("cpu", torch.float32) for layer in layers}
