"""Residual capture: the bridge's `hook_resid_post` is the HF block output the server edits."""

from __future__ import annotations

import pytest
import torch

from fpps.steering import wrap_model
from fpps.steering.capture import (boot_bridge, bridge_resid_post, capture_residuals, hook_name,
                                   logit_lens_logprobs)


@pytest.fixture(scope="module")
def tiny():
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from fpps.steering import default_model_dir

    tok = AutoTokenizer.from_pretrained(str(default_model_dir()))
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      attn_implementation="eager")
    return wrap_model(LlamaForCausalLM(cfg), tok, name="tiny-llama")


def _ids(adapter):
    return torch.tensor([adapter.encode_chat([{"role": "user", "content": "What is the capital of France?"}])])


def test_hook_name_uses_transformer_lens_vocabulary():
    assert hook_name(7) == "blocks.7.hook_resid_post"


def test_capture_records_every_block_output_and_removes_hooks(tiny):
    ids = _ids(tiny)
    tiny.model(input_ids=ids, output_hidden_states=True)  # transformers installs its own hooks lazily
    before = [len(b._forward_hooks) for b in tiny.blocks]
    with capture_residuals(tiny) as rec:
        out = tiny.model(input_ids=ids, output_hidden_states=True)
    hs = out.hidden_states
    for layer in range(tiny.num_layers - 1):  # hidden_states[L + 1] is block L's raw output (D4)
        torch.testing.assert_close(rec.states[layer][0], hs[layer + 1].float(), rtol=0, atol=0)
    assert [len(b._forward_hooks) for b in tiny.blocks] == before
    assert rec.stacked().shape == (tiny.num_layers, ids.shape[1], tiny.hidden_size)


def test_logit_lens_of_last_block_equals_model_logits(tiny):
    ids = _ids(tiny)
    with capture_residuals(tiny, [tiny.num_layers - 1]) as rec:
        logits = tiny.model(input_ids=ids).logits[0]
    targets = ids[0, 1:]
    lens = logit_lens_logprobs(tiny, rec.stacked()[:, :-1], targets)[0]
    ref = torch.log_softmax(logits[:-1].float(), -1).gather(-1, targets[:, None])[:, 0]
    torch.testing.assert_close(lens, ref, rtol=1e-5, atol=1e-5)


def test_bridge_resid_post_equals_hf_block_output_tiny(tiny):
    ids = _ids(tiny)
    with capture_residuals(tiny) as rec:
        tiny.model(input_ids=ids)
    bridge = boot_bridge(tiny)
    got = bridge_resid_post(bridge, ids, range(tiny.num_layers))
    for layer in range(tiny.num_layers):
        torch.testing.assert_close(got[layer], rec.states[layer][0], rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_bridge_resid_post_equals_hf_block_output_default_model():
    from fpps.steering import default_model_dir, load_model

    adapter = load_model(None)
    ids = _ids(adapter)
    layers = [0, adapter.num_layers // 2, adapter.num_layers - 3, adapter.num_layers - 1]
    with capture_residuals(adapter, layers) as rec:
        adapter.model(input_ids=ids)
    bridge = boot_bridge(default_model_dir(), tokenizer=adapter.tokenizer)
    got = bridge_resid_post(bridge, ids, layers)
    for layer in layers:
        ref = rec.states[layer][0]
        # The bridge runs eager attention, the adapter sdpa: equal up to kernel rounding.
        scale = float(ref.abs().max())
        assert float((got[layer] - ref).abs().max()) <= 1e-4 * scale + 1e-3, layer
