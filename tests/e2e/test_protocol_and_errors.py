"""HTTP models and the exception-to-HTTP mapping, without a server."""

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from fpps.server.engine import EngineOverloaded
from fpps.server.http.errors import ApiError, UnknownModelError, to_http
from fpps.server.memory import UnknownUserError
from fpps.server.http.protocol import ChatCompletionRequest
from fpps.server.http.tenancy import AccessDenied, InvalidApiKey
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
    (InvalidApiKey("invalid API key"), 401, None),
    (AccessDenied("'user': not yours", "user"), 403, "user"),
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


def test_request_models_are_strict_finite_and_reject_unencodable_text():
    for bad in ({"max_tokens": True}, {"max_tokens": "8"}, {"temperature": float("nan")},
                {"fpps": {"strength": float("inf")}}, {"stop": ["x"] * 9},
                {"messages": [{"role": "user", "content": "a\x00"}]},
                {"messages": [{"role": "user", "content": "\ud800"}]}, {"model": "\udfff"}):
        with pytest.raises(ValidationError):
            ChatCompletionRequest(**{"messages": Q, **bad})
    ok = ChatCompletionRequest(messages=[{"role": "user", "content": "caf\u00e9 \U0001F600"}], stop=["\n"])
    assert ok.question.endswith("\U0001F600")


def test_union_errors_name_the_field_not_the_union_member():
    try:
        ChatCompletionRequest(messages=Q, stop=["ok", ""])
    except ValidationError as e:
        code, body, _ = to_http(RequestValidationError(e.errors()), "r")
    assert code == 400 and body["error"]["param"] == "stop[1]"


def test_unparseable_bodies_say_why_and_echoes_stay_encodable():
    from starlette.exceptions import HTTPException

    for cause, words in ((RecursionError(), "nested too deeply"), (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "x"),
                                                                   "UTF-8")):
        exc = HTTPException(400, "There was an error parsing the body")
        exc.__cause__ = cause
        code, body, _ = to_http(exc, "r")
        assert code == 400 and words in body["error"]["message"] and body["error"]["param"] == "body"
    exc = RequestValidationError([{"loc": ("body", "\ud800" * 500), "msg": "x", "type": "extra_forbidden"}])
    body = to_http(exc, "r")[1]
    body["error"]["param"].encode("utf-8")  # lone surrogates escaped, never a 500 on the way out
    assert len(body["error"]["param"]) <= 203
