"""HTTP models and the exception-to-HTTP mapping, without a server."""

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from fpps.server.engine import EngineOverloaded
from fpps.server.errors import ApiError, UnknownModelError, to_http
from fpps.server.memory import UnknownUserError
from fpps.server.protocol import ChatCompletionRequest
from fpps.steering.errors import SteeringValidationError

pytestmark = pytest.mark.slow

Q = [{"role": "user", "content": "hi"}]


def test_steering_resolution_order_is_request_then_server_then_paper():
    server = {"mode": "soft", "strength": 0.5, "gamma": 2.0, "tau": None}
    req = ChatCompletionRequest(messages=Q, fpps={"strength": 0.25})
    p = req.to_steering_params(server)
    assert (p.mode, p.alpha, p.gamma, p.tau) == ("soft", 0.25, 2.0, None)  # tau left to the artifact
    bare = ChatCompletionRequest(messages=Q).to_steering_params({})
    assert (bare.mode, bare.alpha, bare.gamma, bare.tau) == ("mixed", 1.0, None, None)


def test_sampling_params_from_openai_fields():
    s = ChatCompletionRequest(messages=Q, max_completion_tokens=5, temperature=0.7, top_p=0.9, seed=3,
                              stop="\n").to_sampling_params(64)
    assert (s.max_tokens, s.temperature, s.top_p, s.seed, s.stop) == (5, 0.7, 0.9, 3, ("\n",))
    assert ChatCompletionRequest(messages=Q).to_sampling_params(64).max_tokens == 64


def test_unknown_fields_and_bad_roles_are_rejected():
    with pytest.raises(ValidationError):
        ChatCompletionRequest(messages=Q, artifact="/etc/passwd")
    with pytest.raises(ValidationError):
        ChatCompletionRequest(messages=[{"role": "tool", "content": "x"}])
    with pytest.raises(ValidationError):
        ChatCompletionRequest(messages=Q, user="../x")


@pytest.mark.parametrize("exc,status,param", [
    (SteeringValidationError("alpha", 2, "must be in [0, 1]"), 400, "alpha"),
    (ValueError("bad"), 400, None),
    (UnknownUserError("bob"), 404, "user"),
    (UnknownModelError("m"), 404, "model"),
    (ApiError(413, "too big"), 413, None),
    (EngineOverloaded("full"), 503, None),
    (TimeoutError(), 504, None),
    (NotImplementedError("later"), 501, None),
])
def test_one_function_maps_exceptions(exc, status, param):
    code, body, headers = to_http(exc, "req-1")
    assert code == status and body["error"]["param"] == param
    assert set(body["error"]) == {"message", "type", "param", "code"}
    if status == 503:
        assert int(headers["Retry-After"]) >= 1


def test_validation_error_names_the_nested_field():
    exc = RequestValidationError([{"loc": ("body", "fpps", "strength"), "msg": "too big", "type": "less_than_equal"}])
    code, body, _ = to_http(exc, "r")
    assert code == 400 and body["error"]["param"] == "fpps.strength"
    exc = RequestValidationError([{"loc": ("body", "messages", 0, "role"), "msg": "x", "type": "literal_error"}])
    assert to_http(exc, "r")[1]["error"]["param"] == "messages[0].role"


def test_unexpected_errors_are_sanitized_with_the_request_id():
    code, body, _ = to_http(RuntimeError("secret path /root/x"), "req-42")
    assert code == 500 and "req-42" in body["error"]["message"] and "secret" not in body["error"]["message"]
