"""Judges: the paper's prompt and D17 parsing, the LLM judge over a mocked endpoint, agreement."""

import json

import httpx
import pytest

from fpps.eval.judges import (JUDGE_PROMPT, ContainsJudge, LLMJudge, VerdictCache, agreement,
                              chat_url, judge_all, make_judge, parse_verdict)


@pytest.mark.parametrize("reply,ok", [
    ("yes", True), ("Yes.", True), ("YES", True), ("**Yes**", True), ("  yes, it is correct", True),
    ("No", False), ("no.", False), ("", False), ("yesterday", False),
    ("The answer is yes", False),  # D17: only the first word counts
])
def test_parse_verdict_first_word(reply, ok):
    assert parse_verdict(reply) is ok


def test_prompt_is_the_papers_verbatim():
    filled = JUDGE_PROMPT.format(question="Q?", correct_answer="A", model_response="R")
    assert filled.startswith("I will give you a question, a correct answer, and a response from a "
                             "model. Please answer yes if the response contains the correct answer. "
                             "Otherwise, answer no.")
    assert ("If the response only contains a subset of the information required by the answer, "
            "answer no. Question: Q? Correct Answer: A Model Response: R Is the model response "
            "correct? Answer yes or no only.") in filled


@pytest.mark.parametrize("base", ["http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/chat/completions"])
def test_chat_url(base):
    assert chat_url(base) == "http://h:1/v1/chat/completions"


def _endpoint(replies, seen, fail_first=0):
    state = {"fails": fail_first}

    def handler(request: httpx.Request) -> httpx.Response:
        if state["fails"]:
            state["fails"] -= 1
            return httpx.Response(503, json={"error": "busy"})
        body = json.loads(request.content)
        seen.append((request, body))
        prompt = body["messages"][0]["content"]
        reply = next(v for k, v in replies.items() if k in prompt)
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": reply}}]})
    return httpx.MockTransport(handler)


def test_llm_judge_sends_canonical_answer_and_parses(monkeypatch):
    monkeypatch.setattr("fpps.eval.judges._sleep", lambda attempt: None)
    seen = []
    transport = _endpoint({"Canberra": "Yes.", "Paris": "No", "Biscuit": "Maybe"}, seen, fail_first=1)
    judge = LLMJudge("http://judge:9", "big-model", api_key="k", transport=transport)
    assert judge.name == "llm:big-model"
    assert judge("Capital of Australia?", ["Canberra", "canberra city"], "It is Canberra.") is True
    req, body = seen[0]
    assert req.url == "http://judge:9/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer k"
    assert body["model"] == "big-model" and body["temperature"] == 0.0
    assert "Correct Answer: Canberra Model Response: It is Canberra." in body["messages"][0]["content"]
    assert "canberra city" not in body["messages"][0]["content"]  # D17: canonical answer only
    assert judge("Capital of France?", ["Paris"], "Lyon") is False
    assert judge("Dog?", ["Biscuit"], "Rex") is False
    assert [u["reply"] for u in judge.unparsed] == ["Maybe"]


def test_judge_all_uses_cache(tmp_path):
    seen = []
    transport = _endpoint({"Canberra": "yes", "Paris": "no"}, seen)
    judge = LLMJudge("http://judge:9", "m", transport=transport)
    items = [("q1", ["Canberra"], "Canberra"), ("q2", ["Paris"], "Rome"), ("q3", ["Canberra"], "x")]
    cache = VerdictCache(tmp_path / "v.jsonl")
    assert judge_all(judge, items, cache=cache, workers=3) == [True, False, True]
    assert len(seen) == 3
    again = judge_all(judge, items, cache=VerdictCache(tmp_path / "v.jsonl"))
    assert again == [True, False, True] and len(seen) == 3


def test_contains_is_default_and_llm_needs_endpoint():
    assert isinstance(make_judge("contains"), ContainsJudge)
    assert make_judge("contains")("q", ["eight"], "A spider has 8 legs.")
    with pytest.raises(ValueError, match="judge-url"):
        make_judge("llm")
    with pytest.raises(ValueError, match="unknown judge"):
        make_judge("exact")


def test_agreement():
    a = [True, True, False, False, True]
    b = [True, False, False, False, True]
    ag = agreement(a, b)
    assert ag["n"] == 5 and ag["agreement"] == 80.0
    assert ag["only_first"] == 1 and ag["only_second"] == 0
    # kappa: po = .8, pe = .6*.4 + .4*.6 = .48 -> (.8 - .48) / .52
    assert ag["kappa"] == pytest.approx(0.32 / 0.52, abs=1e-4)
    assert agreement([True], [True])["kappa"] == 1.0
    with pytest.raises(ValueError):
        agreement([True], [])
