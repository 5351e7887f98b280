"""`fpps eval` in-process on the real default model: a tiny run end to end, resumed, and checked
against the one-request reference generation."""

import json

import pytest
import torch

import fpps.steering
from fpps.cli import main
from fpps.steering import SamplingParams, SteeringParams, history_free_messages
from fpps.steering.artifact import SteeringArtifact, save_artifact
from fpps.steering.reference import steered_generate

pytestmark = pytest.mark.slow


def _records(path):
    facts = [("What is the capital of France?", ["Paris"]), ("How many legs does a spider have?", ["8"]),
             ("What is the capital of Japan?", ["Tokyo"]), ("Who wrote Hamlet?", ["Shakespeare"]),
             ("What is the largest ocean?", ["Pacific"])]
    with open(path, "w") as f:
        for i, (q, a) in enumerate(facts):
            f.write(json.dumps({
                "user_id": f"u{i}", "split": "test",
                "history": {"sessions": [[{"role": "user", "content": f"My cat is called Tom{i}. I live in Sydney."},
                                          {"role": "assistant", "content": "Noted!"}]],
                            "dates": ["2024/05/01 (Wed) 10:00"]},
                "current_date": "2024/06/01 (Sat) 09:00",
                "personalized": {"question": "What is my cat's name?", "answers": [f"Tom{i}"]},
                "factual": {"question": q, "answers": a}}) + "\n")


def test_fpps_eval_in_process(tmp_path, default_adapter, monkeypatch):
    torch.manual_seed(0)
    d = default_adapter.hidden_size
    art = SteeringArtifact(layer=22, w=torch.randn(d) * 1e-3, b=0.0, s_f=torch.randn(d) * 0.3,
                           fingerprint=default_adapter.fingerprint,
                           defaults={"gamma": 1.0, "tau_hard": 0.5, "tau_mixed": 0.5})
    art_dir = save_artifact(art, tmp_path / "art", name="test-art")
    data, out = tmp_path / "mini.jsonl", tmp_path / "out"
    _records(data)
    monkeypatch.setattr(fpps.steering, "load_model", lambda model=None: default_adapter)
    argv = ["eval", "--data", str(data), "--artifact", str(art_dir), "--limit", "4",
            "--modes", "off,mixed", "--max-tokens", "4", "--out", str(out), "--quiet",
            "--bootstrap", "100", "--batch-size", "20"]
    assert main(argv) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["modes"].keys() == {"off", "mixed"}
    for m in rep["modes"].values():
        assert m["n_personal"] == 4 and m["n_factual"] == 4
        assert {"P", "F", "Overall", "F_without_history", "hallucination_rate", "recovered_share",
                "personal_broken"} <= m.keys()
    assert rep["provenance"]["artifact_id"].startswith("test-art@")
    assert rep["provenance"]["data"]["records"] == 4
    assert (out / "report.md").is_file() and (out / "pareto.png").is_file()
    lines = (out / "answers.jsonl").read_text().splitlines()
    assert len(lines) == 4 * (2 * 2 + 1)
    answers = [json.loads(x) for x in lines]
    assert all(a["error"] is None and a["p_hat"] is not None for a in answers if a["history"])

    # Resume: a second run generates nothing and reports the same numbers.
    assert main(argv) == 0
    assert len((out / "answers.jsonl").read_text().splitlines()) == len(lines)
    assert json.loads((out / "report.json").read_text())["modes"] == rep["modes"]

    # The batched engine answers as the one-request reference does (greedy).
    a = next(a for a in answers if not a["history"])
    ref = steered_generate(default_adapter, art, history_free_messages(a["question"], "2024/06/01 (Sat) 09:00"),
                           None, SteeringParams(mode="off"), SamplingParams(max_tokens=4))
    assert a["text"] == ref.text
