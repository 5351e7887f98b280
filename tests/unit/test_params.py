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
    ("presence_penalty", 2.5), ("presence_penalty", math.nan), ("frequency_penalty", -3.0),
    ("frequency_penalty", "0"), ("repetition_penalty", 0.0), ("repetition_penalty", math.inf),
    ("logit_bias", {1: math.nan}), ("logit_bias", {1: 101.0}), ("logit_bias", {-1: 1.0}),
    ("logit_bias", {i: 1.0 for i in range(301)}), ("logit_bias", "x"), ("logit_bias", [(1, 2, 3)]),
    ("min_tokens", -1), ("min_tokens", 65), ("logprobs", 21), ("logprobs", True), ("prompt_logprobs", -1),
    ("response_format", "yaml"), ("response_format", "json_schema"),
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


def test_bad_json_schema_names_response_format():
    for schema in ("{not json", "[1]"):
        with pytest.raises(SteeringValidationError) as e:
            SamplingParams(response_format="json_schema", json_schema=schema)
        assert e.value.parameter == "response_format"


def test_sampling_defaults_do_no_logits_processing_and_logit_bias_is_stored_sorted():
    assert not SamplingParams().has_logits_processing
    assert not SamplingParams(presence_penalty=0, logit_bias={}, min_tokens=0).has_logits_processing
    assert SamplingParams(presence_penalty=0.1).has_logits_processing
    assert SamplingParams(logit_bias={9: 1, 3: -2.5}).logit_bias == ((3, -2.5), (9, 1.0))
