"""The one-request reference generator on a tiny random model: identities the method promises."""

import pytest
import torch

from fpps.steering import SamplingParams, SteeringParams
from fpps.steering.artifact import SteeringArtifact
from fpps.steering.reference import steered_generate
from fpps.steering.twin import run_to_layer

LAYER = 1
MSGS = [{"role": "user", "content": "History: I love Sydney, the capital. Question: capital of Australia?"}]
TWIN = [{"role": "user", "content": "Question: capital of Australia?"}]


def _artifact(adapter, p_hat=0.9):
    torch.manual_seed(3)
    d = adapter.hidden_size
    b = float(torch.logit(torch.tensor(p_hat)))
    return SteeringArtifact(layer=LAYER, w=torch.zeros(d), b=b, s_f=torch.randn(d) * 3,
                            fingerprint=adapter.fingerprint,
                            defaults={"gamma": 2.0, "tau_hard": 0.5, "tau_mixed": 0.5})


SAMPLING = SamplingParams(max_tokens=12)


@pytest.mark.parametrize("mode", ["hard", "soft", "mixed"])
def test_alpha_zero_is_byte_identical_to_unsteered(tiny_llama, mode):
    art = _artifact(tiny_llama)
    base = steered_generate(tiny_llama, art, MSGS, TWIN, SteeringParams(mode="off"), SAMPLING)
    zero = steered_generate(tiny_llama, art, MSGS, TWIN, SteeringParams(mode=mode, alpha=0.0), SAMPLING)
    assert zero.token_ids == base.token_ids and zero.text == base.text


def test_soft_steering_changes_the_output(tiny_llama):
    art = _artifact(tiny_llama)
    base = steered_generate(tiny_llama, art, MSGS, TWIN, SteeringParams(mode="off"), SAMPLING)
    steered = steered_generate(tiny_llama, art, MSGS, TWIN, SteeringParams(mode="soft"), SAMPLING)
    assert steered.token_ids != base.token_ids


@pytest.mark.parametrize("mode,p_hat", [("hard", 0.9), ("soft", 0.9), ("mixed", 0.9), ("mixed", 0.2)])
def test_kv_cached_equals_uncached(tiny_llama, mode, p_hat):
    art = _artifact(tiny_llama, p_hat)
    cached = steered_generate(tiny_llama, art, MSGS, TWIN, SteeringParams(mode=mode), SAMPLING)
    full = steered_generate(tiny_llama, art, MSGS, TWIN, SteeringParams(mode=mode), SAMPLING, use_cache=False)
    assert cached.token_ids == full.token_ids
    assert cached.branch == full.branch


@torch.inference_mode()
def test_hard_alpha_one_makes_block_l_state_the_twins(tiny_llama):
    art = _artifact(tiny_llama)
    seen = []  # what block L+1 reads at the newest position, per personalized pass
    hook = tiny_llama.blocks[LAYER + 1].register_forward_pre_hook(
        lambda mod, args, kwargs: seen.append(args[0][0, -1].clone()) if args else
        seen.append(kwargs["hidden_states"][0, -1].clone()), with_kwargs=True)
    try:
        out = steered_generate(tiny_llama, art, MSGS, TWIN, SteeringParams(mode="hard"), SAMPLING)
    finally:
        hook.remove()
    assert out.branch == "hard"
    twin_ids = tiny_llama.encode_chat(TWIN) + list(out.token_ids)
    twin = run_to_layer(tiny_llama, LAYER, torch.tensor([twin_ids]))[0]
    n = len(seen)
    aligned = twin[len(tiny_llama.encode_chat(TWIN)) - 1:][:n]
    torch.testing.assert_close(torch.stack(seen), aligned, rtol=0, atol=1e-5)


def test_run_to_layer_never_runs_blocks_above(tiny_llama):
    calls = []
    hook = tiny_llama.blocks[LAYER + 1].register_forward_hook(lambda *a: calls.append(1))
    try:
        h = run_to_layer(tiny_llama, LAYER, torch.tensor([[1, 2, 3]]))
    finally:
        hook.remove()
    assert h.shape == (1, 3, tiny_llama.hidden_size) and not calls


@torch.inference_mode()
def test_probe_reads_its_own_block_when_earlier_than_the_edit(tiny_llama):
    """Format-2 artifacts: `p_hat` comes from block `probe_layer` at the last prompt position,
    and the edit still happens at `layer`, in the same forward pass."""
    torch.manual_seed(5)
    d = tiny_llama.hidden_size
    art = SteeringArtifact(layer=LAYER, w=torch.randn(d), b=0.1, s_f=torch.randn(d) * 3,
                           fingerprint=tiny_llama.fingerprint, probe_layer=0,
                           defaults={"gamma": 2.0, "tau_hard": 0.5, "tau_mixed": 0.5})
    out = steered_generate(tiny_llama, art, MSGS, TWIN, SteeringParams(mode="soft"), SAMPLING)
    ids = torch.tensor([tiny_llama.encode_chat(MSGS)])
    want = float(art.p_hat(run_to_layer(tiny_llama, 0, ids)[0, -1]))
    at_edit = float(art.p_hat(run_to_layer(tiny_llama, LAYER, ids)[0, -1]))
    assert out.p_hat == pytest.approx(want, abs=1e-6) and abs(want - at_edit) > 1e-3
    full = steered_generate(tiny_llama, art, MSGS, TWIN, SteeringParams(mode="soft"), SAMPLING,
                            use_cache=False)
    assert full.token_ids == out.token_ids and full.p_hat == pytest.approx(out.p_hat, abs=1e-6)


@pytest.mark.parametrize("branch", ["none", "soft", "hard"])
def test_calibration_decoder_matches_the_reference(tiny_llama, branch):
    """The calibration grid's decoder (`calibrate.decode_config`: one shared prefix cache, a fixed
    branch, lockstep twin) chooses gamma and tau: it must decode what the reference does for the
    same branch at strength 1 (reach `layer`; tau 0 forces the gated branch)."""
    from fpps.steering.calibrate import decode_config
    from fpps.steering.kv import new_cache

    art = _artifact(tiny_llama, p_hat=0.7)
    d = tiny_llama.hidden_size
    p_hat = float(torch.sigmoid(torch.zeros(d) @ art.w + art.b))
    mode = {"none": "off", "soft": "soft", "hard": "hard"}[branch]
    ref = steered_generate(tiny_llama, art, MSGS, TWIN,
                           SteeringParams(mode=mode, gamma=2.0, tau=0.0, reach="layer"), SAMPLING)
    assert ref.branch == branch
    ids, twin_ids = tiny_llama.encode_chat(MSGS), tiny_llama.encode_chat(TWIN)
    prefix = new_cache()
    with torch.inference_mode():
        tiny_llama.model(input_ids=torch.tensor([ids[:-1]]), past_key_values=prefix, use_cache=True)
    out = decode_config(tiny_llama, prefix, len(ids) - 1, ids[-1], twin_ids, layer=LAYER, s_f=art.s_f,
                        p_hat=p_hat, branch=branch, gamma=2.0, max_tokens=SAMPLING.max_tokens)
    assert tuple(out) == ref.token_ids
    assert prefix.get_seq_length() == len(ids) - 1  # cropped back for the next configuration
