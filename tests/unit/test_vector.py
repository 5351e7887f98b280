"""`s_f` as a difference of per-example means (fpps-method.md §6.1, D8, D9)."""

from __future__ import annotations

import pytest
import torch

from fpps.steering.vector import mean_response_state, steering_vector


def test_difference_of_means_pools_per_example_first():
    fact = [torch.tensor([1.0, 0.0]), torch.tensor([3.0, 0.0])]
    pers = [torch.tensor([0.0, 2.0])]
    torch.testing.assert_close(steering_vector(fact, pers), torch.tensor([2.0, -2.0]))


def test_normalize_flag_gives_unit_norm_and_is_off_by_default():
    fact, pers = [torch.tensor([3.0, 4.0])], [torch.zeros(2)]
    assert float(steering_vector(fact, pers).norm()) == pytest.approx(5.0)
    assert float(steering_vector(fact, pers, normalize=True).norm()) == pytest.approx(1.0)


def test_mean_response_state_uses_edited_positions():
    states = torch.arange(6.0).view(6, 1)  # positions 0..5, prompt of 3, response of 2
    # Edited positions: last prompt (2) and the response token fed back (3).
    assert float(mean_response_state(states, 3, 2)) == pytest.approx(2.5)
    layered = torch.stack([states, 10 * states])  # [n_layers, pos, d]
    assert mean_response_state(layered, 3, 2).shape == (2, 1)


def test_rejects_empty_sides_and_bad_ranges():
    with pytest.raises(ValueError):
        steering_vector([], [torch.zeros(2)])
    with pytest.raises(ValueError):
        mean_response_state(torch.zeros(4, 2), 3, 5)
    with pytest.raises(ValueError):
        mean_response_state(torch.zeros(4, 2), 3, 0)
