"""`fpps.steering.kv`: the one owner of transformers' cache internals."""

import torch

from fpps.steering.kv import cache_layers, crop, new_cache


def test_new_cache_holds_the_given_tensors_and_extends_without_writing_into_them():
    # The engine builds a cache per prefill pass and per batch change: a copy there cost as much
    # as the prefill's arithmetic, so the cache holds the tensors themselves; extending or
    # cropping it must then leave them as they were (other batches may hold the same ones).
    layers = [(torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4)) for _ in range(3)]
    before = [(k.clone(), v.clone()) for k, v in layers]
    cache = new_cache(layers)
    assert cache.get_seq_length() == 5
    assert all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(cache_layers(cache), layers))
    for i in range(3):
        keys, values = cache.update(torch.ones(2, 3, 1, 4), torch.ones(2, 3, 1, 4), i)
        assert keys.shape == (2, 3, 6, 4) and torch.equal(keys[:, :, :5], before[i][0])
        assert torch.equal(values[:, :, 5:], torch.ones(2, 3, 1, 4))
    assert cache.get_seq_length() == 6
    crop(cache, 2)
    assert cache.get_seq_length() == 2
    for (k, v), (k0, v0) in zip(layers, before):
        assert torch.equal(k, k0) and torch.equal(v, v0)
    assert new_cache().get_seq_length() == 0 and cache_layers(new_cache()) == []
