"""OpenAI API parity (issue 18) against a real `fpps serve`, driven by the official `openai`
client: the parameters chat UIs send by default, penalties that change the answer, `n` with
sampling, logprobs (plain, streamed, and on both choices of `fpps.compare`), a `user` with no
stored sessions, and refusals that name the unimplemented field. One server for the module."""

from __future__ import annotations

import json
import math

import openai
import pytest

from fpps.server.http.protocol import REFUSED_FIELDS

pytestmark = pytest.mark.slow

Q = [{"role": "user", "content": "What is the capital of Australia?"}]
HISTORY = [[{"role": "user", "content": "I just moved to Sydney, I love the harbour here."},
            {"role": "assistant", "content": "Sydney is a wonderful place to live!"}]]


@pytest.fixture(scope="module")
def oai(fpps_server):
    return openai.OpenAI(base_url=fpps_server.url + "/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def http(fpps_server):
    with fpps_server.client() as c:
        yield c


def _chat(oai, **kw):
    kw.setdefault("messages", Q)
    kw.setdefault("max_tokens", 8)
    return oai.chat.completions.create(model="fpps", **kw)


def test_ui_default_parameters_are_accepted_and_leave_greedy_output_unchanged(oai):
    plain = _chat(oai).choices[0].message.content
    ui = _chat(oai, presence_penalty=0.0, frequency_penalty=0.0, response_format={"type": "text"},
               logit_bias={}, top_p=1.0, temperature=0.0, n=1, seed=0, stream=False, user="ui-default",
               extra_body={"repetition_penalty": 1.0, "min_tokens": 0})
    assert ui.choices[0].message.content == plain
    assert ui.choices[0].logprobs is None


def test_penalties_and_bias_change_the_answer(oai):
    ask = [{"role": "user", "content": "List the numbers from 1 to 20, separated by commas."}]
    plain = _chat(oai, messages=ask, max_tokens=24).choices[0].message.content
    assert plain.count(",") >= 5, plain  # greedy: "1, 2, 3, 4, 5, 6, 7, 8, "
    penalized = _chat(oai, messages=ask, max_tokens=24, frequency_penalty=2.0, presence_penalty=2.0)
    assert penalized.choices[0].message.content != plain
    assert penalized.choices[0].message.content.count(",") < plain.count(",")
    first = _chat(oai, messages=ask, max_tokens=1, logprobs=True).choices[0].logprobs.content[0]
    banned = _chat(oai, messages=ask, max_tokens=24, logprobs=True,
                   logit_bias={str(_token_id(oai, first.token)): -100})
    assert banned.choices[0].logprobs.content[0].token != first.token
    rep = _chat(oai, messages=ask, max_tokens=24, extra_body={"repetition_penalty": 1.8})
    assert rep.choices[0].message.content != plain


def _token_id(oai, token: str) -> int:
    """The id of a one-token text, from the default model's tokenizer (the server's own)."""
    from transformers import AutoTokenizer

    from fpps.steering import default_model_dir

    tok = AutoTokenizer.from_pretrained(str(default_model_dir()))
    ids = tok.encode(token, add_special_tokens=False)
    assert len(ids) == 1, (token, ids)
    return ids[0]


def test_n_with_sampling_gives_n_choices_reproducible_by_seed(oai):
    a = _chat(oai, n=3, temperature=1.2, seed=11, max_tokens=12)
    b = _chat(oai, n=3, temperature=1.2, seed=11, max_tokens=12)
    assert [c.index for c in a.choices] == [0, 1, 2]
    texts = [c.message.content for c in a.choices]
    assert texts == [c.message.content for c in b.choices]
    assert len(set(texts)) > 1, texts


def test_logprobs_in_the_openai_shape(oai):
    r = _chat(oai, logprobs=True, top_logprobs=2)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    assert "".join(t.token for t in content) == r.choices[0].message.content
    for t in content:
        assert t.logprob <= 0.0 and math.isfinite(t.logprob)
        assert bytes(t.bytes).decode("utf-8", "replace") == t.token
        assert len(t.top_logprobs) == 2 and t.top_logprobs[0].token == t.token  # greedy
        assert t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob
    none = _chat(oai, logprobs=True).choices[0].logprobs.content
    assert all(t.top_logprobs == [] for t in none)


def test_streamed_logprobs_equal_the_plain_ones(oai):
    plain = _chat(oai, logprobs=True, top_logprobs=1).choices[0].logprobs.content
    streamed = []
    for chunk in _chat(oai, logprobs=True, top_logprobs=1, stream=True):
        for c in chunk.choices:
            if c.logprobs is not None and c.logprobs.content:
                streamed.extend(c.logprobs.content)
    assert [t.token for t in streamed] == [t.token for t in plain]
    assert [t.logprob for t in streamed] == pytest.approx([t.logprob for t in plain], abs=1e-4)


def test_compare_carries_logprobs_on_both_choices(oai):
    r = _chat(oai, max_tokens=6, logprobs=True, top_logprobs=3,
              extra_body={"fpps": {"mode": "mixed", "history": HISTORY, "compare": True}})
    off, steered = r.choices
    assert off.model_extra["fpps"]["gate"] == "none" and steered.model_extra["fpps"]["gate"] != "none"
    a, b = off.logprobs.content, steered.logprobs.content
    assert a and b and all(len(t.top_logprobs) == 3 for t in a + b)
    assert [t.logprob for t in a] != [t.logprob for t in b]  # the edit moved the probabilities


def test_user_without_stored_sessions_is_answered_unpersonalized(oai, http):
    r = _chat(oai, user="user-1234")
    diag = r.model_extra["fpps"]
    assert diag["sessions"] == 0 and diag["personalized"] is False
    assert r.choices[0].message.content == _chat(oai).choices[0].message.content
    assert http.get("/v1/users/user-1234/sessions").status_code == 404  # nothing was created


@pytest.mark.parametrize("field,value", [
    ("tools", [{"type": "function", "function": {"name": "f", "parameters": {}}}]),
    ("tool_choice", "auto"), ("parallel_tool_calls", True), ("audio", {"voice": "alloy", "format": "wav"}),
    ("modalities", ["text", "audio"]), ("functions", [{"name": "f"}]), ("store", True),
    ("reasoning_effort", "low"), ("web_search_options", {}), ("prediction", {"type": "content", "content": "x"}),
])
def test_unimplemented_fields_are_400_naming_them(oai, field, value):
    with pytest.raises(openai.BadRequestError) as e:
        _chat(oai, extra_body={field: value})
    err = e.value.body
    assert err["param"] == field and field in err["message"], err


@pytest.mark.parametrize("field", REFUSED_FIELDS)
def test_every_refused_field_is_400_naming_it(http, field):
    """Each declared-but-unimplemented field (not only the ones above) is refused by name."""
    r = http.post("/v1/chat/completions", json={"messages": Q, "max_tokens": 2, field: True})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == field and field in err["message"], err
    null = http.post("/v1/chat/completions", json={"messages": Q, "max_tokens": 2, field: None})
    assert null.status_code == 200, null.text  # `null` counts as not sent


def test_completions_stop_cuts_the_text_and_says_stop(http):
    body = {"prompt": "The capital of France is", "max_tokens": 16, "temperature": 0}
    full = http.post("/v1/completions", json=body).json()["choices"][0]
    text = full["text"]
    assert len(text.strip()) >= 4, text
    cut = len(text) - len(text.lstrip()) + 2  # the stop string starts at the answer's third character
    stop = text[cut:cut + 2]
    r = http.post("/v1/completions", json={**body, "stop": [stop]})
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    assert choice["text"] == text[:text.index(stop)] and choice["finish_reason"] == "stop", (choice, stop)


CITY = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30},
                                         "is_capital": {"type": "boolean"}},
        "required": ["city", "is_capital"], "additionalProperties": False}


def test_json_object_answer_parses(oai):
    r = _chat(oai, max_tokens=48, response_format={"type": "json_object"},
              messages=[{"role": "user", "content": "Describe Paris as JSON."}])
    assert isinstance(json.loads(r.choices[0].message.content), dict), r.choices[0].message.content


def test_json_schema_answer_validates_also_when_steered(oai):
    import jsonschema

    fmt = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY, "strict": True}}
    for extra in ({}, {"fpps": {"mode": "mixed", "history": HISTORY}}):
        r = _chat(oai, max_tokens=48, response_format=fmt, extra_body=extra, messages=[
            {"role": "user", "content": "Which city is the capital of Australia? Answer in JSON."}])
        doc = json.loads(r.choices[0].message.content)
        jsonschema.validate(doc, CITY)
        assert r.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("fmt,param", [
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "no-such-type"}}}, "response_format"),
    ({"type": "json_schema"}, "response_format"),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": "not an object"}}, "response_format.json_schema.schema"),
    ({"type": "yaml"}, "response_format.type"),
])
def test_bad_response_format_is_400_naming_it(oai, fmt, param):
    with pytest.raises(openai.BadRequestError) as e:
        _chat(oai, response_format=fmt)
    assert e.value.body["param"] == param, e.value.body


# ---- /v1/completions ------------------------------------------------------------------------
def test_completions_with_the_openai_client(oai):
    r = oai.completions.create(model="fpps", prompt="The capital of France is", max_tokens=4)
    assert r.object == "text_completion" and r.choices[0].text and r.choices[0].finish_reason in ("stop", "length")
    again = oai.completions.create(model="fpps", prompt=["The capital of France is", "2 + 2 ="], max_tokens=4)
    assert [c.index for c in again.choices] == [0, 1] and again.choices[0].text == r.choices[0].text
    assert again.usage.prompt_tokens > r.usage.prompt_tokens


def test_completions_echo_and_logprobs_score_the_prompt(oai):
    prompt = "The capital of France is"
    r = oai.completions.create(model="fpps", prompt=prompt, max_tokens=3, echo=True, logprobs=2)
    c = r.choices[0]
    assert c.text.startswith(prompt) and len(c.text) > len(prompt)
    lp = c.logprobs
    n_prompt = r.usage.prompt_tokens
    assert len(lp.tokens) == n_prompt + r.usage.completion_tokens
    assert "".join(lp.tokens[:n_prompt]) == prompt
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert all(x <= 0.0 for x in lp.token_logprobs[1:])
    assert all(len(t) <= 2 and t for t in lp.top_logprobs[1:])
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)
    plain = oai.completions.create(model="fpps", prompt=prompt, max_tokens=3, logprobs=2)
    assert plain.choices[0].logprobs.tokens == lp.tokens[n_prompt:]  # the answer is the same
    assert plain.choices[0].text == c.text[len(prompt):]


@pytest.mark.parametrize("echo", [False, True])
def test_streamed_completions_equal_the_plain_ones(oai, echo):
    kw = dict(model="fpps", prompt=["The capital of France is", "2 + 2 ="], max_tokens=5, echo=echo, logprobs=1)
    plain = oai.completions.create(**kw)
    text: dict[int, str] = {}
    tokens: dict[int, list[str]] = {}
    finish: dict[int, str] = {}
    usage = None
    for chunk in oai.completions.create(stream=True, stream_options={"include_usage": True}, **kw):
        usage = chunk.usage or usage
        for c in chunk.choices:
            text[c.index] = text.get(c.index, "") + c.text
            if c.logprobs is not None:
                tokens.setdefault(c.index, []).extend(c.logprobs.tokens)
            if c.finish_reason:
                finish[c.index] = c.finish_reason
    for c in plain.choices:
        assert text[c.index] == c.text and tokens[c.index] == c.logprobs.tokens
        assert finish[c.index] == c.finish_reason
    assert usage is not None and usage.total_tokens == plain.usage.total_tokens


def test_completions_take_token_ids_and_the_fpps_history(oai, http):
    ids = oai.completions.create(model="fpps", prompt=[504, 3575, 282], max_tokens=2, echo=True, logprobs=0)
    assert ids.choices[0].logprobs.token_logprobs[0] is None
    r = http.post("/v1/completions", json={"prompt": "What is the capital of Australia?", "max_tokens": 6,
                                           "fpps": {"mode": "mixed", "history": HISTORY, "compare": True}})
    assert r.status_code == 200, r.text
    off, steered = r.json()["choices"]
    assert off["fpps"]["gate"] == "none" and steered["fpps"]["gate"] != "none"
    assert steered["fpps"]["personalized"] is True and steered["fpps"]["sessions"] == 1


@pytest.mark.parametrize("body,param", [
    ({"prompt": "hi", "suffix": "x"}, "suffix"), ({"prompt": "hi", "best_of": 3}, "best_of"),
({"prompt": []}, "prompt"), ({"prompt": ""}, "prompt"),
    ({"prompt": [[]]}, "prompt"), ({"prompt": [10**9]}, "prompt"), ({"prompt": "hi", "logprobs": 21}, "logprobs"),
    ({"prompt": "hi", "echo": True, "fpps": {"history": HISTORY}}, "echo"),
    ({"prompt": [1, 2], "fpps": {"history": HISTORY}}, "prompt"), ({"prompt": "hi", "tools": []}, "tools"),
])
def test_completions_refusals_name_the_field(http, body, param):
    r = http.post("/v1/completions", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"].split("[")[0].split(".")[0] == param, r.json()


# ---- LangChain (langchain-openai, a test dependency) ------------------------------------------
def test_langchain_chat_openai_with_ui_defaults_logprobs_and_a_user(fpps_server):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=fpps_server.url + "/v1", api_key="unused", model="fpps", max_tokens=8,
                     temperature=0, presence_penalty=0.0, frequency_penalty=0.0, seed=1, max_retries=0,
                     model_kwargs={"user": "langchain-user"}).bind(logprobs=True, top_logprobs=2)
    msg = llm.invoke("What is the capital of Australia?")
    assert msg.content
    content = msg.response_metadata["logprobs"]["content"]
    assert content and all(len(t["top_logprobs"]) == 2 for t in content)
    streamed = "".join(c.content for c in llm.stream("What is the capital of Australia?"))
    assert streamed == msg.content


def test_langchain_openai_llm_on_completions(fpps_server):
    from langchain_openai import OpenAI

    llm = OpenAI(base_url=fpps_server.url + "/v1", api_key="unused", model="fpps", max_tokens=4,
                 temperature=0, max_retries=0, logprobs=1)
    out = llm.generate(["The capital of France is"])
    gen = out.generations[0][0]
    assert gen.text and gen.generation_info["logprobs"]["tokens"]


@pytest.mark.parametrize("stream", [False, True])
def test_engine_side_errors_cross_the_ray_hop_as_themselves(http, stream):
    """Only the engine knows the vocabulary: its `SteeringValidationError` is raised in the model
    replica, pickles as itself and reaches `to_http` there as here (400 naming the field, the
    engine's own message, no remote traceback), streamed or not."""
    r = http.post("/v1/completions", json={"prompt": [2**30], "max_tokens": 2, "stream": stream})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == "prompt" and "token ids must be in" in err["message"], err
    assert "Traceback" not in err["message"] and "RayTaskError" not in err["message"]
