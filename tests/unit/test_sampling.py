"""Per-row logits processing (`fpps_server/engine/sampling.py`) against a naive reference of each
option's published formula, and the log-probability helpers."""

import math

import pytest
import torch

from fpps.server.engine.sampling import RowLogits, prompt_logprobs, token_logprob
from fpps.steering import SamplingParams, SteeringValidationError

V = 50
EOS = {0}


def _naive(logits, sp, prompt, generated):
    """OpenAI's and vLLM's formulas, one token at a time."""
    out = [float(x) for x in logits]
    seen = set(prompt) | set(generated)
    for t in range(V):
        if sp.repetition_penalty != 1.0 and t in seen:
            out[t] = out[t] / sp.repetition_penalty if out[t] > 0 else out[t] * sp.repetition_penalty
        c = generated.count(t)
        out[t] -= sp.frequency_penalty * c + sp.presence_penalty * (c > 0)
    for t, b in sp.logit_bias:
        out[t] += b
    if len(generated) < sp.min_tokens:
        for t in EOS:
            out[t] = -math.inf
    return torch.tensor(out)


@pytest.mark.parametrize("kw", [
    dict(presence_penalty=1.5), dict(frequency_penalty=-0.7), dict(repetition_penalty=1.7),
    dict(repetition_penalty=0.5, frequency_penalty=2.0, presence_penalty=-2.0),
    dict(logit_bias={3: 100.0, 7: -100.0, 0: 2.5}), dict(min_tokens=3, frequency_penalty=0.3),
])
def test_row_logits_match_the_naive_formulas_token_by_token(kw):
    g = torch.Generator().manual_seed(0)
    sp = SamplingParams(max_tokens=8, **kw)
    prompt, generated = [1, 2, 2, 9], []
    row = RowLogits(sp, prompt, V, EOS, torch.device("cpu"))
    for step in range(6):
        logits = torch.randn(V, generator=g) * 3
        got = row.apply(logits)
        torch.testing.assert_close(got, _naive(logits, sp, prompt, generated), rtol=0, atol=1e-5)
        token = [4, 4, 9, 4, 11, 0][step]
        row.accept(token)
        generated.append(token)


def test_no_option_returns_the_logits_object_itself():
    logits = torch.randn(V)
    assert RowLogits(SamplingParams(), [1], V, EOS, torch.device("cpu")).apply(logits) is logits


def test_logit_bias_past_the_vocabulary_names_the_field():
    with pytest.raises(SteeringValidationError) as e:
        RowLogits(SamplingParams(logit_bias={V: 1.0}), [1], V, EOS, torch.device("cpu"))
    assert e.value.parameter == "logit_bias"


def test_token_and_prompt_logprobs_are_log_softmax_entries():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, V, generator=g)
    lp = torch.log_softmax(logits, -1)
    text = lambda i: f"<{i}>"  # noqa: E731
    one = token_logprob(logits[0], 5, 3, text)
    assert one.token == "<5>" and one.logprob == pytest.approx(float(lp[0, 5]))
    assert [t.token for t in one.top] == [text(i) for i in lp[0].topk(3).indices.tolist()]
    ids = [7, 8, 9, 10]
    scored = prompt_logprobs(logits, ids, 2, text)
    assert scored[0].logprob is None and [s.token for s in scored] == [text(i) for i in ids]
    for j in range(1, 4):  # position j - 1 predicts token j
        assert scored[j].logprob == pytest.approx(float(lp[j - 1, ids[j]]))
        assert len(scored[j].top) == 2 and scored[j].top[0].logprob == pytest.approx(float(lp[j - 1].max()))
