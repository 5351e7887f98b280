"""PrefixCache (fpps_server/engine/prefix_cache.py): matching, capping, replacing and eviction."""

import pytest
import torch

from fpps.server.engine.prefix_cache import PrefixCache


def kv(ids, layers=2, heads=1, dim=2):
    """Fake per-block keys/values whose entries encode (block, position, token): a slice that
    comes back from the cache shows which positions it holds."""
    t = torch.tensor(ids, dtype=torch.float32)
    pos = torch.arange(len(ids), dtype=torch.float32)
    out = []
    for b in range(layers):
        k = (1000 * b + 10 * pos + t).view(1, -1, 1).expand(heads, -1, dim).clone()
        out.append((k, -k))
    return out


def test_a_hit_is_the_longest_common_prefix_and_never_the_last_prompt_position():
    pc = PrefixCache(max_tokens=100, min_tokens=3)
    a = list(range(10, 20))
    pc.store(a, kv(a))
    assert pc.tokens == 9  # all positions but the last
    hit = pc.lookup(a)  # the same prompt again: its last position is computed, not reused
    assert hit is not None and hit.length == 9
    k, v = hit.layers[1]
    assert k.shape == (1, 9, 2) and torch.equal(v, -k) and torch.equal(k, kv(a)[1][0][:, :9])
    b = a[:6] + [99, 98, 97]
    assert pc.lookup(b).length == 6 and pc.match(b) == 6
    assert pc.lookup(a[:2] + [5, 5, 5, 5]) is None  # 2 shared tokens < min_tokens
    assert pc.lookup([1, 2, 3, 4, 5, 6]) is None
    assert pc.stats["hits"] == 2 and pc.stats["reused_tokens"] == 15


def test_short_prompts_and_matches_below_min_tokens_are_neither_stored_nor_reused():
    pc = PrefixCache(max_tokens=100, min_tokens=4)
    pc.store([1, 2, 3, 4], kv([1, 2, 3, 4]))  # 3 reusable positions < 4
    assert len(pc) == 0
    pc.store(list(range(8)), kv(list(range(8))))
    assert pc.match([0, 1, 2, 9, 9, 9, 9]) == 0 and pc.match([0, 1, 2, 3, 9, 9]) == 4


def test_an_extension_replaces_its_entry_and_a_covered_prompt_adds_nothing():
    pc = PrefixCache(max_tokens=100, min_tokens=2)
    turn1 = [1, 2, 3, 4, 5]
    turn2 = turn1 + [6, 7, 8, 9]  # the next turn of the same conversation
    pc.store(turn1, kv(turn1))
    pc.store(turn2, kv(turn2))
    assert len(pc) == 1 and pc.tokens == 8
    pc.store(turn1, kv(turn1))  # covered by turn2's entry
    assert len(pc) == 1 and pc.stats["stored"] == 2


def test_least_recently_used_entries_go_first_when_over_the_token_budget():
    pc = PrefixCache(max_tokens=20, min_tokens=2)
    prompts = [[p] * 2 + list(range(100 * p, 100 * p + 7)) for p in (1, 2, 3)]  # 8 positions kept each
    pc.store(prompts[0], kv(prompts[0]))
    pc.store(prompts[1], kv(prompts[1]))
    assert pc.lookup(prompts[0]) is not None  # 0 is now the most recent
    pc.store(prompts[2], kv(prompts[2]))  # 24 > 20: evict the least recent, prompt 1
    assert pc.tokens == 16 and pc.stats["evicted"] == 1
    assert pc.match(prompts[1]) == 0 and pc.match(prompts[0]) == 8 and pc.match(prompts[2]) == 8


def test_disabled_and_invalid():
    pc = PrefixCache(max_tokens=0)
    a = list(range(50))
    pc.store(a, kv(a))
    assert not pc.enabled and len(pc) == 0 and pc.lookup(a) is None
    with pytest.raises(ValueError):
        PrefixCache(max_tokens=-1)
    with pytest.raises(ValueError):
        PrefixCache(max_tokens=10, min_tokens=0)


def test_prefix_columns_lay_out_hits_then_new_tokens_with_masked_holes():
    from fpps.server.engine.prefix_cache import PrefixHit, common_prefix, prefix_columns

    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2 and common_prefix([], [1]) == 0
    new_mask = torch.tensor([[0, 1, 1], [1, 1, 1], [0, 0, 1]])  # left-padded new tokens
    hits = [PrefixHit(2, kv([7, 8])), None, PrefixHit(4, kv([5, 6, 7, 8]))]
    mask, layers = prefix_columns(hits, new_mask)
    assert mask.tolist() == [[0, 0, 1, 1, 0, 1, 1], [0, 0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 0, 0, 1]]
    pos = (mask.cumsum(1) - 1).clamp(min=0)[:, 4:]
    assert pos.tolist() == [[1, 2, 3], [0, 1, 2], [3, 3, 4]]  # row 0: positions 2, 3 (col 4 is padding)
    k, v = layers[1]
    assert k.shape == (3, 1, 4, 2) and torch.equal(v, -k)
    assert torch.equal(k[0, :, 2:], kv([7, 8])[1][0]) and not k[0, :, :2].any() and not k[1].any()
    assert torch.equal(k[2], kv([5, 6, 7, 8])[1][0])
    same, none = prefix_columns([None, None], new_mask[:2])  # no hit: the pass is a plain prefill
    assert torch.equal(same, new_mask[:2]) and none == []
