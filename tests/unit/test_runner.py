"""Eval runner without a model: the plan, cache keys, resume, and the HTTP request shape."""

import json

import httpx
import pytest

from fpps.eval.records import validate_record
from fpps.eval.backends import HttpBackend
from fpps.eval.runner import AnswerCache, Condition, EvalConfig, evaluate, plan, prompts, run_eval
from fpps.steering import RagPersonalizer, history_free_messages


def _record(i, split="test"):
    return validate_record({
        "user_id": f"u{i}", "split": split,
        "history": {"sessions": [[{"role": "user", "content": f"My dog is Rex{i}.", "has_answer": True},
                                  {"role": "assistant", "content": "Nice."}],
                                 [{"role": "user", "content": "I like Paris."}]],
                    "dates": ["2024/05/01", "2024/05/02"]},
        "current_date": "2024/06/01",
        "personalized": {"question": "What is my dog's name?", "answers": [f"Rex{i}"]},
        "factual": {"question": "What is the capital of France?", "answers": ["Paris"]}})


def test_conditions_and_plan():
    cfg = EvalConfig(modes=("off", "mixed"), strengths=(0.5, 1.0))
    assert [c.label for c in cfg.conditions()] == ["off", "mixed", "mixed a=0.5"]
    assert [c.label for c in EvalConfig(modes=("hard",)).conditions()] == ["off", "hard"]
    items = plan([_record(0), _record(1)], cfg, "sys")
    # per record: 2 kinds x 3 conditions with history + the factual without history
    assert len(items) == 2 * (2 * 3 + 1)
    assert len({i.key for i in items}) == len(items)
    assert [i.key for i in plan([_record(0)], cfg, "sys")] == [i.key for i in items[:7]]
    assert plan([_record(0)], cfg, "other")[0].key != items[0].key
    without = [i for i in items if not i.history]
    assert {(i.kind, i.cond) for i in without} == {("factual", Condition("off"))}
    with pytest.raises(ValueError, match="unknown mode"):
        EvalConfig(modes=("strong",))


def test_prompts_are_the_rag_and_history_free_ones():
    cfg = EvalConfig(top_k=1)
    r = _record(3)
    item = next(i for i in plan([r], cfg, "s") if i.history and i.kind == "personalized")
    msgs, twin = prompts(item, cfg)
    sessions = [list(s) for s in r.sessions]
    assert msgs == RagPersonalizer(top_k=1).messages(item.qa.question, sessions, r.dates, r.current_date)
    assert twin == history_free_messages(item.qa.question, r.current_date)


class _FakeBackend:
    system_id = "fake"
    info = {"backend": "fake", "model": "m", "artifact_id": None}

    def __init__(self, fail=()):
        self.calls, self.fail, self.summaries, self.prompts = [], set(fail), [], []

    def summarize(self, prompts, max_tokens):
        self.summaries += prompts
        return [f"Profile {i}: likes Paris." for i in range(len(prompts))]

    def run(self, items, config, profiles=None):
        for item in items:
            self.prompts.append(prompts(item, config, profiles))
            self.calls.append(item)
            if item.user_id in self.fail:
                yield item, {"text": "", "error": "boom"}
            else:
                gold = item.qa.answers[0] if item.cond.mode != "off" or item.kind != "factual" else "no idea"
                yield item, {"text": gold, "p_hat": 0.5, "gate": "soft", "error": None}

    def close(self):
        pass


def test_run_eval_resumes_and_retries_errors(tmp_path):
    cfg = EvalConfig(modes=("off", "mixed"))
    recs = [_record(0), _record(1)]
    b = _FakeBackend(fail={"u1"})
    got = run_eval(recs, b, tmp_path, cfg, progress=False)
    assert len(b.calls) == 10 and len(got) == 5
    b2 = _FakeBackend()
    got = run_eval(recs, b2, tmp_path, cfg, progress=False)
    assert len(b2.calls) == 5 and {c.user_id for c in b2.calls} == {"u1"}  # only the failed ones
    assert len(got) == 10
    b3 = _FakeBackend()
    assert len(run_eval(recs, b3, tmp_path, cfg, progress=False)) == 10 and not b3.calls
    assert len(AnswerCache(tmp_path).data) == 10


def test_evaluate_writes_report(tmp_path):
    rep = evaluate([_record(0), _record(1)], _FakeBackend(), tmp_path, EvalConfig(modes=("off", "mixed")),
                   progress=False, plots=False, boot=50)
    assert rep["modes"]["off"]["F"] == 0.0 and rep["modes"]["mixed"]["F"] == 100.0
    assert rep["modes"]["mixed"]["recovered_share"] is None  # nothing hallucinated under off
    assert rep["provenance"]["judge"] == "contains" and rep["provenance"]["backend"] == "fake"
    assert json.loads((tmp_path / "report.json").read_text())["modes"].keys() == {"off", "mixed"}


def test_http_backend_request_shape():
    seen = []

    def handler(request):
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "smol", "fpps": {"artifact_id": "a@1", "layer": 5}}]})
        body = json.loads(request.content)
        seen.append(body)
        return httpx.Response(200, json={
            "choices": [{"index": 0, "message": {"content": "Paris"}, "finish_reason": "stop"}],
            "usage": {"completion_tokens": 2}, "fpps": {"p_hat": 0.7, "gate": "hard"}})

    be = HttpBackend("http://srv:8000", transport=httpx.MockTransport(handler), concurrency=2)
    assert be.system_id == "url:smol|a@1" and be.info["layer"] == 5
    cfg = EvalConfig(modes=("off", "mixed"), gammas=(0.5,), max_tokens=7, top_k=2)
    r = _record(2)
    items = plan([r], cfg, be.system_id)
    results = dict((i.key, res) for i, res in be.run(items, cfg))
    assert all(res["text"] == "Paris" and res["p_hat"] == 0.7 for res in results.values())
    with_h = [b for b in seen if b["fpps"].get("history")]
    plain = [b for b in seen if not b["fpps"].get("history")]
    assert len(plain) == 1 and plain[0]["fpps"] == {"mode": "off"}
    assert plain[0]["messages"] == history_free_messages("What is the capital of France?", "2024/06/01")
    b = next(b for b in with_h if b["fpps"]["mode"] == "mixed" and "gamma" in b["fpps"]
             and "France" in b["messages"][0]["content"])
    assert b["messages"] == [{"role": "user", "content": "What is the capital of France?"}]
    assert b["fpps"]["gamma"] == 0.5 and b["fpps"]["top_k"] == 2 and b["max_tokens"] == 7
    assert b["fpps"]["dates"] == ["2024/05/01", "2024/05/02"] and b["fpps"]["current_date"] == "2024/06/01"
    assert b["fpps"]["history"][0][0] == {"role": "user", "content": "My dog is Rex2."}  # no extra keys
    assert b["temperature"] == 0.0


def test_pag_profiles_and_prompts(tmp_path):
    cfg = EvalConfig(modes=("off", "mixed"), method="pag", profile_tokens=16)
    recs = [_record(0), _record(1)]
    b = _FakeBackend()
    run_eval(recs, b, tmp_path, cfg, progress=False)
    assert len(b.summaries) == 2  # one profile per user
    assert "My dog is Rex0." in b.summaries[0][0]["content"] and "Nice." not in b.summaries[0][0]["content"]
    msgs, twin = next(p for item, p in zip(b.calls, b.prompts) if item.history and item.user_id == "u1")
    assert "User Profile:\nProfile 1: likes Paris." in msgs[0]["content"]
    assert msgs[0]["content"].count("### Session") == 1  # one retrieved session
    assert "Current Date" not in msgs[0]["content"]  # only RAG carries the date
    assert twin == history_free_messages(b.calls[0].qa.question)
    b2 = _FakeBackend()
    keys_rag = {i.key for i in plan(recs, EvalConfig(modes=("off", "mixed")), "fake")}
    assert not keys_rag & {i.key for i in plan(recs, cfg, "fake")}  # method is part of the key
    run_eval(recs + [_record(2)], b2, tmp_path, cfg, progress=False)
    assert len(b2.summaries) == 1  # cached profiles reused, only the new user summarized
    with pytest.raises(ValueError, match="method"):
        EvalConfig(method="dpl")
