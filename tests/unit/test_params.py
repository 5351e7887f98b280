"""Per-request parameter validation: every bad value names its field."""

import dataclasses
import math

import pytest

from fpps.steering import SamplingParams, SteeringParams, SteeringValidationError


@pytest.mark.parametrize("field,value", [
    ("mode", "extreme"), ("mode", None), ("alpha", -0.1), ("alpha", 1.5), ("alpha", math.nan),
    ("alpha", math.inf), ("alpha", "1"), ("alpha", True), ("gamma", -1.0), ("gamma", 1e9),
    ("tau", 1.01), ("tau", math.nan),
])
def test_bad_steering_value_names_the_field(field, value):
    with pytest.raises(SteeringValidationError) as e:
        SteeringParams(**{field: value})
    assert e.value.parameter == field
    assert field in str(e.value)


@pytest.mark.parametrize("field,value", [
    ("max_tokens", 0), ("max_tokens", 10**9), ("max_tokens", 2.5), ("temperature", -1.0),
    ("top_p", 0.0), ("top_p", 2.0), ("seed", -5), ("seed", "x"), ("stop", [""]), ("stop", ["a"] * 9),
    ("ignore_eos", 1), ("ignore_eos", "yes"),
])
def test_bad_sampling_value_names_the_field(field, value):
    with pytest.raises(SteeringValidationError) as e:
        SamplingParams(**{field: value})
    assert e.value.parameter == field


def test_resolution_order_request_then_artifact_then_paper():
    art = {"gamma": 2.0, "tau_hard": 0.4, "tau_mixed": 0.6}
    assert SteeringParams(mode="mixed").resolved(art).tau == 0.6
    assert SteeringParams(mode="hard").resolved(art).tau == 0.4
    assert SteeringParams(mode="mixed", tau=0.1, gamma=0.5).resolved(art).gamma == 0.5
    assert SteeringParams(mode="soft").resolved(None).gamma == 0.3


def test_params_are_frozen():
    p = SteeringParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.alpha = 0.5  # type: ignore[misc]
    assert dataclasses.replace(p, alpha=0.5).alpha == 0.5


def test_active_and_twin_flags():
    assert not SteeringParams(mode="off").is_active
    assert not SteeringParams(mode="hard", alpha=0.0).can_go_hard
    assert SteeringParams(mode="mixed").can_go_hard
    assert not SteeringParams(mode="soft").can_go_hard
