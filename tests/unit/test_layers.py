"""Layer selection: logit-lens PPL, Delta, rank fusion and `select_layer` (fpps-method.md §4, D5)."""

from __future__ import annotations

import pytest
import torch

from fpps.steering import wrap_model
from fpps.steering.layers import RRF_K, answer_lens_ppl, delta, rank_layers, rrf_scores, select_layer


@pytest.fixture(scope="module")
def tiny():
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from fpps.steering import default_model_dir

    tok = AutoTokenizer.from_pretrained(str(default_model_dir()))
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    return wrap_model(LlamaForCausalLM(cfg), tok, name="tiny-llama")


def test_delta_matches_formula():
    w, wo = torch.tensor([10.0, 4.0, 2.0]), torch.tensor([5.0, 8.0, 2.0])
    torch.testing.assert_close(delta(w, wo), torch.tensor([0.5, -1.0, 0.0]))
    with pytest.raises(ValueError):
        delta(w, wo[:2])


def test_rank_layers_best_first_from_one():
    assert rank_layers(torch.tensor([0.1, 0.5, -0.2, 0.5])).tolist() == [3, 1, 4, 2]


def test_rrf_scores_sum_reciprocal_ranks():
    s = rrf_scores([torch.tensor([1, 2]), torch.tensor([2, 1])])
    expected = 1 / (RRF_K + 1) + 1 / (RRF_K + 2)
    torch.testing.assert_close(s, torch.tensor([expected, expected], dtype=torch.float64))


def test_select_layer_picks_layer_strong_in_both_groups():
    # degraded: Delta > 0 peaks at 3; beneficial: Delta < 0 peaks at 3.
    deg = torch.tensor([[0.0, 0.1, 0.2, 0.6, 0.3], [0.0, 0.1, 0.3, 0.5, 0.2]])
    ben = torch.tensor([[0.0, -0.1, -0.2, -0.4, -0.3]])
    sel = select_layer(deg, ben)
    assert sel.layer == 3
    assert sel.rank_degraded[3] == 1 and sel.rank_beneficial[3] == 1


def test_select_layer_never_rewards_wrong_sign():
    # Layer 0 has the largest |Delta| for beneficial but with the wrong sign.
    deg = torch.tensor([[0.1, 0.5, 0.4]])
    ben = torch.tensor([[0.9, -0.3, -0.2]])
    sel = select_layer(deg, ben)
    assert sel.layer == 1
    assert sel.rank_beneficial[0] == 3


def test_select_layer_respects_min_layer_and_rejects_empty_groups():
    deg, ben = torch.tensor([[0.9, 0.1, 0.2]]), torch.tensor([[-0.9, -0.1, -0.2]])
    assert select_layer(deg, ben).layer == 0
    assert select_layer(deg, ben, min_layer=1).layer == 2
    with pytest.raises(ValueError):
        select_layer(deg[:0], ben)


def test_select_layer_ties_go_to_larger_magnitude():
    # Ranks swap between groups so RRF ties; layer 1 has the larger summed |mean Delta|.
    deg = torch.tensor([[0.5, 0.4]])
    ben = torch.tensor([[-0.1, -0.3]])
    assert select_layer(deg, ben).layer == 0 or select_layer(deg, ben).layer == 1
    sel = select_layer(deg, ben)
    assert float(sel.scores[0]) == pytest.approx(float(sel.scores[1]))
    assert sel.layer == 1  # 0.4 + 0.3 > 0.5 + 0.1


def test_answer_lens_ppl_matches_naive_logit_lens(tiny):
    prompt = tiny.encode_chat([{"role": "user", "content": "Capital of France?"}])
    answer = tiny.tokenizer("Paris is the capital", add_special_tokens=False)["input_ids"]
    got = answer_lens_ppl(tiny, prompt, answer)
    with torch.no_grad():
        out = tiny.model(input_ids=torch.tensor([prompt + answer]), output_hidden_states=True)
    n, t = len(prompt), len(answer)
    tgt = torch.tensor(answer)
    for layer in range(tiny.num_layers):
        if layer == tiny.num_layers - 1:
            logits = out.logits[0, n - 1:n - 1 + t]  # last entry of hidden_states is normed
        else:
            h = out.hidden_states[layer + 1][0, n - 1:n - 1 + t]
            logits = tiny.lm_head(tiny.final_norm(h)).detach()
        lp = torch.log_softmax(logits.float(), -1).gather(-1, tgt[:, None])[:, 0]
        assert float(got[layer]) == pytest.approx(float(torch.exp(-lp.mean())), rel=1e-4)
