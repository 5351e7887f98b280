"""The batched engine on the real default model: the invariants of issue 6.

Each request's greedy output must not depend on its batch mates, alpha 0 must be byte-identical
to no steering, a hard row at alpha 1 must carry exactly its twin's block-L state, and the
engine (KV-cached, batched) must agree with the uncached one-request reference.
"""

import json
from pathlib import Path

import pytest
import torch

from fpps.server.engine import EngineConfig, EngineOverloaded, GenerationRequest, SteeredEngine
from fpps.steering import RagPersonalizer, SamplingParams, SteeringParams, history_free_messages
from fpps.steering.artifact import SteeringArtifact
from fpps.steering.reference import steered_generate

pytestmark = pytest.mark.slow
LAYER = 22
HISTORY = json.loads((Path(__file__).parents[2] / "examples" / "sydney-history.json").read_text())
QUESTIONS = ["What is the capital of Australia?", "What is my cat's name?",
             "Which planet is known as the Red Planet?", "Where did I move to?",
             "Who wrote Romeo and Juliet?", "What beach should I visit?",
             "How many legs does a spider have?", "What is the largest ocean on Earth?"]
MODES = [("off", 1.0), ("hard", 1.0), ("soft", 1.0), ("mixed", 1.0), ("mixed", 0.5), ("hard", 0.0),
         ("soft", 0.3), ("mixed", 1.0)]


@pytest.fixture(scope="module")
def artifact(default_adapter):
    torch.manual_seed(0)
    d = default_adapter.hidden_size
    # A probe that depends on the state (so rows differ), scaled to land p_hat around 0.5.
    return SteeringArtifact(layer=LAYER, w=torch.randn(d) * 1e-3, b=0.0, s_f=torch.randn(d) * 0.3,
                            fingerprint=default_adapter.fingerprint,
                            defaults={"gamma": 3.0, "tau_hard": 0.3, "tau_mixed": 0.3})


def _request(i, mode="off", alpha=1.0, tau=None, max_tokens=None):
    q = QUESTIONS[i % len(QUESTIONS)]
    msgs = RagPersonalizer(top_k=3).messages(q, HISTORY["sessions"], HISTORY["dates"], HISTORY["current_date"])
    return GenerationRequest(msgs, history_free_messages(q, HISTORY["current_date"]),
                             SteeringParams(mode=mode, alpha=alpha, tau=tau),
                             SamplingParams(max_tokens=max_tokens or 10 + 3 * i))


@pytest.fixture(scope="module")
def engine(default_adapter, artifact):
    eng = SteeredEngine(default_adapter, artifact, EngineConfig(max_batch_size=8))
    yield eng
    eng.shutdown()


@pytest.fixture(scope="module")
def mixed_batch():
    return [_request(i, m, a) for i, (m, a) in enumerate(MODES)]


@pytest.fixture(scope="module")
def batched(engine, mixed_batch):
    return engine.generate(mixed_batch)


def test_output_alone_equals_output_cobatched_with_seven_others(engine, mixed_batch, batched):
    for req, out in zip(mixed_batch, batched):
        alone = engine.generate([req])[0]
        assert alone.token_ids == out.token_ids, req.steering
        assert alone.text == out.text


def test_batch_holds_every_gate(batched):
    assert {o.gate for o in batched} >= {"none", "soft", "hard"}


def test_engine_matches_one_request_reference_row_by_row(default_adapter, artifact, mixed_batch, batched):
    for req, out in zip(mixed_batch, batched):
        ref = steered_generate(default_adapter, artifact, req.messages, req.twin_messages,
                               req.steering, req.sampling)
        assert ref.token_ids == out.token_ids, req.steering
        assert ref.branch == out.gate
        assert ref.p_hat == pytest.approx(out.p_hat, abs=1e-5)


@pytest.mark.parametrize("mode", ["hard", "mixed", "soft"])
def test_kv_cached_engine_equals_uncached_reference(default_adapter, artifact, engine, mode):
    req = _request(0, mode, tau=0.0 if mode == "hard" else None, max_tokens=8)
    out = engine.generate([req])[0]
    ref = steered_generate(default_adapter, artifact, req.messages, req.twin_messages,
                           req.steering, req.sampling, use_cache=False)
    assert ref.token_ids == out.token_ids


def test_alpha_zero_is_byte_identical_to_unsteered(engine):
    reqs = [_request(i, "off") for i in range(4)] + [_request(i, m, 0.0) for i, m in
                                                      enumerate(["hard", "soft", "mixed", "mixed"])]
    outs = engine.generate(reqs)
    for off, zero in zip(outs[:4], outs[4:]):
        assert off.token_ids == zero.token_ids and off.text == zero.text


@pytest.mark.parametrize("twin_decode", ["separate", "joint"])
def test_hard_alpha_one_gives_exactly_the_twins_block_l_state(default_adapter, artifact, twin_decode):
    eng = SteeredEngine(default_adapter, artifact, EngineConfig(max_batch_size=8, twin_decode=twin_decode))
    assert eng.joint_twins == (twin_decode == "joint")
    main, twin = [], []
    blocks = default_adapter.blocks

    def at_l(mod, args, out):  # runs after the engine's own hook at L: sees the edited state
        h = out[0] if isinstance(out, tuple) else out
        if eng._hooks.state is None:  # a twin pass of its own: prefill (every block), or separate decode
            twin.append(h[0, -1].clone())
        elif h.shape[0] == 2:  # a joint pass: cache row 1 is the twin
            twin.append(h[1, -1].clone())

    def into_l_plus_1(mod, args, kwargs):
        h = args[0] if args else kwargs["hidden_states"]
        if eng._hooks.state is not None:  # the personalized rows' pass (row 0 is the request)
            main.append(h[0, -1].clone())

    handles = [blocks[LAYER].register_forward_hook(at_l),
               blocks[LAYER + 1].register_forward_pre_hook(into_l_plus_1, with_kwargs=True)]
    try:
        out = eng.generate([_request(0, "hard", 1.0, tau=0.0, max_tokens=8)])[0]
    finally:
        for h in handles:
            h.remove()
        eng.shutdown()
    assert out.gate == "hard"
    assert len(main) == len(twin) >= 2
    for m, t in zip(main, twin):
        assert torch.equal(m, t)


def test_separate_and_joint_twin_decoding_give_the_same_tokens(default_adapter, artifact, engine,
                                                               mixed_batch, batched):
    assert engine.joint_twins  # auto: 7 blocks above L = 22 of 30
    eng = SteeredEngine(default_adapter, artifact, EngineConfig(max_batch_size=8, twin_decode="separate"))
    try:
        outs = eng.generate(mixed_batch)
    finally:
        eng.shutdown()
    assert [o.token_ids for o in outs] == [o.token_ids for o in batched]
    assert [o.gate for o in outs] == [o.gate for o in batched]


@pytest.mark.parametrize("twin_prefill", ["separate", "joint"])
def test_twins_prefilled_apart_or_joint_give_the_same_tokens(default_adapter, artifact, batched, mixed_batch,
                                                             twin_prefill):
    # Issue 17 item 6: twins in a pass of their own (no padding to the history's width) or as
    # extra rows of their requests' pass; the gate and the edit read the same block-L states.
    eng = SteeredEngine(default_adapter, artifact, EngineConfig(max_batch_size=8, twin_prefill=twin_prefill))
    try:
        outs = eng.generate(mixed_batch)
        again = eng.generate(mixed_batch)  # twins and histories now come from the prefix caches
    finally:
        eng.shutdown()
    for run in (outs, again):
        assert [o.token_ids for o in run] == [o.token_ids for o in batched]
        assert [o.gate for o in run] == [o.gate for o in batched]


def test_streaming_deltas_concatenate_to_the_final_text(engine):
    events = []
    handle = engine.submit(_request(1, "mixed", max_tokens=16), on_event=events.append)
    engine.generate([])  # drive the loop in this thread until idle
    final = handle.result(timeout=60)
    assert events[-1].final == final
    assert "".join(e.delta for e in events) == final.text


def test_a_burst_fills_free_rows_before_the_queue_turns_requests_away(default_adapter, artifact):
    # Arrivals during a decode step wait in the queue until the next step; counting the ones a
    # free row will take as "queued" turned bursts away from an idle batch (issue 9 load bench).
    eng = SteeredEngine(default_adapter, artifact, EngineConfig(max_batch_size=4, max_queue=1))
    try:
        for i in range(5):  # 4 free rows + 1 queued
            eng.submit(_request(i, max_tokens=1))
        with pytest.raises(EngineOverloaded):
            eng.submit(_request(5, max_tokens=1))
        assert eng.load["waiting"] == 5
    finally:
        eng.shutdown()


def test_probe_at_an_earlier_block_gates_like_the_reference(default_adapter, artifact):
    """A format-2 artifact whose probe reads block 8 while the edit stays at L: the engine's
    batched prefill computes each row's p_hat at block 8 (left padding: the last column) and
    agrees with the one-request reference, co-batched rows of every gate included."""
    import dataclasses

    early = dataclasses.replace(artifact, probe_layer=8, w=artifact.w * 4)
    eng = SteeredEngine(default_adapter, early, EngineConfig(max_batch_size=8))
    try:
        reqs = [_request(i, m, a, max_tokens=6) for i, (m, a) in enumerate(MODES[:5])]
        outs = eng.generate(reqs)
    finally:
        eng.shutdown()
    assert {o.gate for o in outs} >= {"hard", "soft"}
    for req, out in zip(reqs, outs):
        ref = steered_generate(default_adapter, early, req.messages, req.twin_messages,
                               req.steering, req.sampling)
        assert ref.token_ids == out.token_ids and ref.branch == out.gate, req.steering
        assert ref.p_hat == pytest.approx(out.p_hat, abs=1e-5)


def test_twin_aware_gate_gates_twin_rows_like_the_reference(default_adapter, artifact):
    """A format-3 artifact with a twin-aware gate (probe block 8, edit at L): rows with a twin
    (hard, mixed) take p_hat from the gate at block L, soft rows keep the probe's; co-batched,
    the engine agrees with the one-request reference on p_hat, branch and every token."""
    import dataclasses

    from fpps.steering.gate import TwinGate

    gate = TwinGate(("probe_logit", "twin_sf", "vu_sf"), torch.tensor([0.5, 0.02, -0.05]), 0.1)
    art = dataclasses.replace(artifact, probe_layer=8, w=artifact.w * 4, gate=gate)
    eng = SteeredEngine(default_adapter, art, EngineConfig(max_batch_size=8))
    try:
        reqs = [_request(i, m, a, max_tokens=6) for i, (m, a) in enumerate(MODES)]
        outs = eng.generate(reqs)
    finally:
        eng.shutdown()
    probe_only = dataclasses.replace(art, gate=None)
    differs = 0
    for req, out in zip(reqs, outs):
        ref = steered_generate(default_adapter, art, req.messages, req.twin_messages,
                               req.steering, req.sampling)
        assert ref.token_ids == out.token_ids and ref.branch == out.gate, req.steering
        assert ref.p_hat == pytest.approx(out.p_hat, abs=1e-5)
        plain = steered_generate(default_adapter, probe_only, req.messages, req.twin_messages,
                                 req.steering, SamplingParams(max_tokens=1))
        if req.steering.mode == "soft" or req.steering.mode == "off":
            assert plain.p_hat == pytest.approx(out.p_hat, abs=1e-5)  # no twin: the probe gates
        elif req.steering.alpha > 0:
            differs += abs(plain.p_hat - out.p_hat) > 1e-3
    assert differs >= 3  # the gate, not the probe, decided the twin rows


@pytest.mark.parametrize("state,at_L,twin_prefill", [("vu", False, "joint"), ("vu", False, "separate"),
                                                     ("vu+twin", True, "auto")])
def test_state_term_gate_reads_block_G_like_the_reference(default_adapter, artifact, state, at_L, twin_prefill):
    """A gate with a linear state term (block G between the probe's block and L, or L itself):
    co-batched, the engine reads both prompts' block-G states in its prefill pass and agrees
    with the one-request reference on p_hat, branch and every token."""
    import dataclasses

    from fpps.steering.gate import TwinGate

    L = artifact.layer
    G = L if at_L else (8 + L) // 2
    d = artifact.hidden_size * (2 if state == "vu+twin" else 1)
    u = torch.randn(d, generator=torch.Generator().manual_seed(3)) * 0.05
    gate = TwinGate(("vu_sf",), torch.tensor([-0.05]), 0.2, u, state, G)
    art = dataclasses.replace(artifact, probe_layer=8, w=artifact.w * 4, gate=gate)
    eng = SteeredEngine(default_adapter, art, EngineConfig(max_batch_size=8, twin_prefill=twin_prefill))
    try:
        reqs = [_request(i, m, a, max_tokens=5) for i, (m, a) in enumerate(MODES)]
        outs = eng.generate(reqs)
    finally:
        eng.shutdown()
    p_twin = []
    for req, out in zip(reqs, outs):
        ref = steered_generate(default_adapter, art, req.messages, req.twin_messages,
                               req.steering, req.sampling)
        assert ref.token_ids == out.token_ids and ref.branch == out.gate, req.steering
        assert ref.p_hat == pytest.approx(out.p_hat, abs=1e-4)
        if req.steering.mode in ("hard", "mixed"):
            p_twin.append(out.p_hat)
    assert max(p_twin) - min(p_twin) > 1e-3  # the state term moved p_hat row by row


def test_prefix_reuse_prefills_the_history_once_and_keeps_every_greedy_token(default_adapter, artifact,
                                                                            mixed_batch):
    """The 8 requests share one user's history. With prefix reuse, later prompts skip what an
    earlier one computed (within one prefill step too); every request's tokens and gate stay
    those of an engine without reuse, including when all prefixes come from the store."""
    runs = {}
    for tokens in (0, 4096):
        eng = SteeredEngine(default_adapter, artifact, EngineConfig(max_batch_size=8, prefix_cache_tokens=tokens))
        try:
            first = eng.generate(mixed_batch)
            again = eng.generate(mixed_batch[::-1])[::-1]
            runs[tokens] = (first, again, dict(eng.prefix_cache.stats))
        finally:
            eng.shutdown()
    plain, plain_again, off_stats = runs[0]
    reused, again, stats = runs[4096]
    assert off_stats["lookups"] == off_stats["hits"] == 0
    prompt_tokens = sum(o.prompt_tokens for o in plain)
    # Round 1: at least the shared system prompt + history of 7 of the 8; round 2: all 8.
    assert stats["hits"] >= 8 + 7 and stats["reused_tokens"] > prompt_tokens, stats
    for p, pa, r, a in zip(plain, plain_again, reused, again):
        assert p.token_ids == pa.token_ids == r.token_ids == a.token_ids, p.mode
        assert p.gate == r.gate == a.gate and p.text == r.text
        assert r.p_hat == pytest.approx(p.p_hat, abs=1e-4)


def test_ignore_eos_decodes_exactly_max_tokens_and_agrees_with_the_reference(default_adapter, artifact, engine):
    import dataclasses

    natural = _request(0, "mixed", max_tokens=48)
    fixed = dataclasses.replace(natural, sampling=SamplingParams(max_tokens=48, ignore_eos=True))
    a, b = engine.generate([natural, fixed])
    assert a.finish_reason == "stop" and a.completion_tokens < 48, a  # the answer ends by itself
    assert b.finish_reason == "length" and b.completion_tokens == 48
    assert b.token_ids[:a.completion_tokens] == a.token_ids
    assert b.token_ids[a.completion_tokens] in default_adapter.eos_token_ids  # and goes on past it
    ref = steered_generate(default_adapter, artifact, fixed.messages, fixed.twin_messages, fixed.steering,
                           fixed.sampling)
    assert ref.token_ids == b.token_ids


@pytest.fixture(scope="module")
def reach_all_batch():
    """Every steering kind with reach `all`, hard rows at strength 1 and below."""
    kinds = [("hard", 1.0, 0.0), ("mixed", 1.0, 0.0), ("mixed", 1.0, 1.0), ("off", 1.0, None),
             ("soft", 1.0, None), ("hard", 0.5, 0.0), ("mixed", 1.0, None), ("hard", 1.0, 1.0)]
    out = []
    for i, (mode, alpha, tau) in enumerate(kinds):
        r = _request(i, mode, alpha, tau)
        out.append(GenerationRequest(r.messages, r.twin_messages,
                                     SteeringParams(mode=mode, alpha=alpha, tau=tau, reach="all"), r.sampling))
    return out


@pytest.mark.parametrize("twin_decode", ["joint", "separate"])
def test_reach_all_rows_answer_as_their_twin_and_match_the_reference(default_adapter, artifact,
                                                                    reach_all_batch, twin_decode):
    """A hard-gated row with reach `all` at strength 1 emits exactly the unsteered history-free
    answer; every row agrees with the one-request reference, co-batched with the other kinds."""
    eng = SteeredEngine(default_adapter, artifact, EngineConfig(max_batch_size=8, twin_decode=twin_decode))
    try:
        outs = eng.generate(reach_all_batch)
        plain = eng.generate([GenerationRequest(r.twin_messages, None, SteeringParams(mode="off"), r.sampling)
                              for r in reach_all_batch[:2]])
    finally:
        eng.shutdown()
    assert [o.gate for o in outs[:3]] == ["hard", "hard", "soft"]
    for out, alone in zip(outs[:2], plain):
        assert out.token_ids == alone.token_ids and out.text == alone.text
    for req, out in zip(reach_all_batch, outs):
        ref = steered_generate(default_adapter, artifact, req.messages, req.twin_messages,
                               req.steering, req.sampling)
        assert ref.token_ids == out.token_ids, req.steering
        assert ref.branch == out.gate
    ref = steered_generate(default_adapter, artifact, reach_all_batch[0].messages, reach_all_batch[0].twin_messages,
                           reach_all_batch[0].steering, reach_all_batch[0].sampling, use_cache=False)
    assert ref.token_ids == outs[0].token_ids


@pytest.mark.parametrize("twin_prefill", ["separate", "joint"])
def test_requests_asking_the_same_question_share_one_twin_row_and_match_the_reference(
        default_adapter, artifact, twin_prefill):
    """Twins are history-free: requests that ask the same question bring the same twin prompt,
    and a pass computes it once. Every row still decodes on its own (followers, lockstep twins,
    dropped twins of one prompt side by side) and agrees with the one-request reference."""
    kinds = [("hard", 1.0, 0.0, "all"), ("hard", 0.5, 0.0, None), ("mixed", 1.0, 0.0, None),
             ("mixed", 1.0, 1.0, None)]
    reqs = []
    for i in range(8):  # questions 0, 1, 0, 1, ...: two distinct twin prompts for eight rows
        mode, alpha, tau, reach = kinds[i // 2]
        r = _request(i % 2, mode, alpha, tau, max_tokens=6 + i)
        reqs.append(GenerationRequest(r.messages, r.twin_messages,
                                      SteeringParams(mode=mode, alpha=alpha, tau=tau, reach=reach), r.sampling))
    widths: list[tuple[int, int]] = []
    hook = default_adapter.model.get_input_embeddings().register_forward_hook(
        lambda _m, args, _out: widths.append(tuple(args[0].shape)))
    eng = SteeredEngine(default_adapter, artifact, EngineConfig(max_batch_size=8, twin_prefill=twin_prefill))
    try:
        outs = eng.generate(reqs)
    finally:
        hook.remove()
        eng.shutdown()
    # Row 0 prefills the shared history alone with its twin; the other seven reuse it and bring
    # two distinct twins (not seven): 2 + 9 prefilled rows. Decode steps are one column wide.
    assert sum(rows for rows, cols in widths if cols > 1) == 11
    assert [o.gate for o in outs[:6]] == ["hard"] * 6
    for req, out in zip(reqs, outs):
        ref = steered_generate(default_adapter, artifact, req.messages, req.twin_messages,
                               req.steering, req.sampling)
        assert ref.token_ids == out.token_ids, req.steering
        assert ref.branch == out.gate


def test_reach_resolves_from_the_artifact_and_is_validated(artifact):
    import dataclasses

    from fpps.steering.errors import SteeringValidationError

    assert SteeringParams(mode="mixed").resolved(artifact.defaults).reach == "layer"
    art = dataclasses.replace(artifact, defaults={**artifact.defaults, "hard_reach": "all"})
    assert SteeringParams(mode="mixed").resolved(art.defaults).follows_twin
    assert SteeringParams(mode="mixed", reach="layer").resolved(art.defaults).reach == "layer"
    assert not SteeringParams(mode="hard", alpha=0.5).resolved(art.defaults).follows_twin
    with pytest.raises(SteeringValidationError, match="reach"):
        SteeringParams(mode="hard", reach="deep")


# ---- per-row sampling options (issue 18): penalties, logit_bias, min_tokens, logprobs --------
SAMPLING_ROWS = [
    dict(),
    dict(presence_penalty=1.5, frequency_penalty=1.0, logprobs=3),
    dict(repetition_penalty=1.5, logprobs=0),
    dict(logit_bias={13: 5.0, 28: -100.0}, logprobs=2),
    dict(min_tokens=12, frequency_penalty=2.0),
    dict(temperature=0.8, top_p=0.9, seed=7, presence_penalty=-1.0, logprobs=5),
    dict(frequency_penalty=-2.0, repetition_penalty=0.7, logprobs=20),
    dict(response_format="json_object", logprobs=1),
]


@pytest.fixture(scope="module")
def sampling_batch():
    import dataclasses

    return [dataclasses.replace(_request(i, m, a), sampling=SamplingParams(max_tokens=10 + 2 * i, **kw))
            for i, ((m, a), kw) in enumerate(zip(MODES, SAMPLING_ROWS))]


def test_penalties_and_logprobs_alone_equal_cobatched(engine, sampling_batch):
    together = engine.generate(sampling_batch)
    for req, out in zip(sampling_batch, together):
        alone = engine.generate([req])[0]
        assert alone.token_ids == out.token_ids, req.sampling
        assert (alone.logprobs is None) == (out.logprobs is None) == (req.sampling.logprobs is None)
        for a, b in zip(alone.logprobs or (), out.logprobs or ()):
            assert a.token == b.token and a.logprob == pytest.approx(b.logprob, abs=1e-4)
            assert [t.token for t in a.top] == [t.token for t in b.top]


def test_default_sampling_options_leave_greedy_tokens_unchanged(engine, mixed_batch, batched):
    import dataclasses

    zeros = SamplingParams(presence_penalty=0.0, frequency_penalty=0.0, repetition_penalty=1.0,
                           logit_bias={}, min_tokens=0)
    assert not zeros.has_logits_processing
    for req, out in zip(mixed_batch[:3], batched[:3]):
        again = engine.generate([dataclasses.replace(
            req, sampling=dataclasses.replace(zeros, max_tokens=req.sampling.max_tokens))])[0]
        assert again.token_ids == out.token_ids and again.text == out.text


def test_penalties_bias_and_min_tokens_change_the_greedy_answer(engine):
    import dataclasses

    # Past its end of sequence the model repeats itself: what the penalties are for.
    base = dataclasses.replace(_request(0, "off"), sampling=SamplingParams(max_tokens=32, ignore_eos=True))
    plain = engine.generate([base])[0]
    assert len(set(plain.token_ids)) < len(plain.token_ids)
    first = plain.token_ids[0]
    for kw in (dict(frequency_penalty=2.0, presence_penalty=2.0), dict(repetition_penalty=2.0),
               dict(logit_bias={first: -100.0})):
        out = engine.generate([dataclasses.replace(
            base, sampling=SamplingParams(max_tokens=32, ignore_eos=True, **kw))])[0]
        assert out.token_ids != plain.token_ids, kw
        if "frequency_penalty" in kw:
            assert len(set(out.token_ids)) > len(set(plain.token_ids))
    banned = engine.generate([dataclasses.replace(base, sampling=SamplingParams(
        max_tokens=24, logit_bias={first: -100.0}))])[0]
    assert first not in banned.token_ids[:1]
    # min_tokens: an end-of-sequence bias makes the answer end at once; min_tokens holds it
    # back for exactly that many tokens, after which it ends there.
    eos_now = {t: 100.0 for t in engine.adapter.eos_token_ids}
    short = engine.generate([dataclasses.replace(base, sampling=SamplingParams(max_tokens=8, logit_bias=eos_now))])[0]
    assert short.finish_reason == "stop" and short.completion_tokens == 0
    held = engine.generate([dataclasses.replace(base, sampling=SamplingParams(
        max_tokens=8, logit_bias=eos_now, min_tokens=5))])[0]
    assert held.finish_reason == "stop" and held.completion_tokens == 5


def test_greedy_logprobs_rank_the_chosen_token_first_and_stream_in_order(engine):
    import dataclasses
    import math

    req = dataclasses.replace(_request(2, "mixed", max_tokens=12), sampling=SamplingParams(max_tokens=12, logprobs=3))
    events = []
    handle = engine.submit(req, on_event=events.append)
    engine.generate([])
    out = handle.result(timeout=60)
    assert out.logprobs is not None and len(out.logprobs) == out.completion_tokens
    for tok, lp in zip(out.token_ids, out.logprobs):
        assert len(lp.top) == 3 and lp.top[0].token == lp.token
        assert lp.logprob == lp.top[0].logprob and lp.logprob <= 0.0 and math.isfinite(lp.logprob)
        assert lp.top[0].logprob >= lp.top[1].logprob >= lp.top[2].logprob
        assert bytes(lp.bytes).decode("utf-8", "replace") == lp.token
    assert [lp for e in events for lp in e.logprobs] == list(out.logprobs)


def test_logit_bias_past_the_vocabulary_names_the_field(engine):
    import dataclasses

    from fpps.steering import SteeringValidationError

    req = dataclasses.replace(_request(0), sampling=SamplingParams(logit_bias={10**9: 1.0}))
    with pytest.raises(SteeringValidationError) as e:
        engine.submit(req)
    assert e.value.parameter == "logit_bias"


def test_json_schema_rows_answer_valid_json_whatever_their_batch(engine):
    import dataclasses
    import json

    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30},
                                               "is_capital": {"type": "boolean"}},
              "required": ["city", "is_capital"], "additionalProperties": False}
    sp = SamplingParams(max_tokens=48, response_format="json_schema", json_schema=json.dumps(schema))
    reqs = [dataclasses.replace(_request(i, m), sampling=sp) for i, m in enumerate(["off", "mixed", "hard"])]
    together = engine.generate(reqs + [_request(5, "soft")])
    for req, out in zip(reqs, together):
        doc = json.loads(out.text)
        assert out.finish_reason == "stop", out
        assert set(doc) == {"city", "is_capital"} and isinstance(doc["is_capital"], bool), out.text
        assert engine.generate([req])[0].token_ids == out.token_ids
    from fpps.steering import SteeringValidationError

    with pytest.raises(SteeringValidationError) as e:
        engine.submit(dataclasses.replace(reqs[0], sampling=dataclasses.replace(
            sp, json_schema=json.dumps({"type": "no-such-type"}))))
    assert e.value.parameter == "response_format"


def test_kvbatch_joins_several_batches_in_one_step_as_one_at_a_time():
    from fpps.server.engine.kvbatch import KVBatch
    from fpps.steering.kv import cache_layers, new_cache

    def batch(widths: list[int], seed: int) -> KVBatch:
        g = torch.Generator().manual_seed(seed)
        w = max(widths)
        mask = torch.tensor([[0] * (w - n) + [1] * n for n in widths])
        layers = [(torch.randn(len(widths), 2, w, 4, generator=g) * mask[:, None, :, None],
                   torch.randn(len(widths), 2, w, 4, generator=g) * mask[:, None, :, None]) for _ in range(3)]
        return KVBatch(new_cache(layers), mask, list(widths), mask.clone())

    parts = [([5, 3], 0), ([7], 1), ([2, 2, 4], 2)]
    one, each = KVBatch(), KVBatch()
    one.join(*[batch(w, s) for w, s in parts])
    for w, s in parts:
        each.join(batch(w, s))
    assert one.lengths == each.lengths and torch.equal(one.mask, each.mask)
    assert torch.equal(one.host_mask, each.host_mask)
    for (k1, v1), (k2, v2) in zip(cache_layers(one.cache), cache_layers(each.cache)):
        assert torch.equal(k1, k2) and torch.equal(v1, v2)
