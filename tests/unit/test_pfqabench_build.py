"""`fpps pfqabench build` on small files in the upstream LongMemEval, HotpotQA and 2Wiki formats."""

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from fpps.cli import main
from fpps.eval.pfqabench import (Candidate, align, assign, build_pfqabench, load_factqa,
                                 load_longmemeval, make_encoder, split_users)
from fpps.eval.records import load_records

FIX = Path(__file__).resolve().parents[1] / "fixtures"
LME, HOT, HOT_HF, TWO = (FIX / "longmemeval_tiny.json", FIX / "hotpot_dev_distractor_tiny.json",
                         FIX / "hotpot_qa_hf_tiny.jsonl", FIX / "2wiki_dev_tiny.json")


def test_loaders_accept_both_shapes():
    official = load_factqa(HOT)
    assert len(official) == 6 and official[0].id.startswith("5a8b57") and official[0].source == "hotpotqa"
    hf = load_factqa(HOT_HF)
    assert [f.id for f in hf] == ["5ae0185b55429942ec259c1b", "5ae0185b55429942ec259c1c"]
    two = load_factqa(TWO)
    assert len(two) == 4 and {f.source for f in two} == {"2wikimultihopqa"}  # test record skipped
    assert len(load_longmemeval(LME)) == 6
    with pytest.raises(ValueError, match="LongMemEval"):
        load_longmemeval(HOT)


class _Dense:
    """A fixed embedding table standing in for a real encoder."""

    name = "dense"

    def __init__(self, table):
        self.table = {k: np.asarray(v, float) / np.linalg.norm(v) for k, v in table.items()}

    def fit(self, texts):
        return self

    def encode(self, texts):
        return np.stack([self.table[t] for t in texts])


def test_align_hybrid_score():
    enc = _Dense({"q0": [1, 0, 0], "q1": [0, 1, 0], "q2": [0, 0, 1],
                  "s0": [1, 0.1, 0], "s1": [1, 0, 0.5], "s2": [0, 1, 0]})
    pools, best = align([["s0", "s1", "s2"]], ["q0", "q1", "q2"], enc, per_session=1)
    by = {c.index: c for c in pools[0]}
    assert set(by) == {0, 1}  # q2 is never anyone's top-1
    assert by[0].s_freq == pytest.approx(2 / 3) and by[0].s_sim == pytest.approx(1 / np.sqrt(1.01))
    assert by[1].s_freq == pytest.approx(1 / 3) and by[1].s_sim == pytest.approx(1.0)
    assert by[0].score == pytest.approx((2 / 3 + 1 / np.sqrt(1.01)) / 2)
    assert pools[0][0].index == 0  # highest hybrid score first
    assert best[0][2] == pytest.approx(0.5 / np.sqrt(1.25))


def test_assign_distinct_and_fallback():
    pools = [[Candidate(0, 1.0, 0.9), Candidate(1, 0.5, 0.5)], [Candidate(0, 1.0, 1.0)], []]
    best = [np.array([0.9, 0.5, 0.1]), np.array([1.0, 0.2, 0.3]), np.array([0.9, 0.8, 0.7])]
    picks = assign(pools, best)
    assert [p.index for p in picks] == [0, 2, 1]  # user 2 falls back on the most similar untaken
    assert picks[1].s_freq == 0.0 and picks[1].s_sim == pytest.approx(0.3)
    with pytest.raises(ValueError, match="not enough"):
        assign(pools + [[]], best + [np.array([1.0, 1.0, 1.0])])


def test_split_is_stratified_and_seeded():
    strata = ["a"] * 10 + ["b"] * 6 + ["c"] * 4
    s = split_users(strata, seed=1)
    assert Counter(s) == {"train": 10, "test": 10}
    for name, n in (("a", 10), ("b", 6), ("c", 4)):
        assert sum(x == "test" for x, st in zip(s, strata) if st == name) == n // 2
    assert s == split_users(strata, seed=1) and s != split_users(strata, seed=2)


def _build(tmp_path, name="b.jsonl", **kw):
    out = tmp_path / name
    manifest = build_pfqabench(LME, [HOT, HOT_HF, TWO], out, encoder=make_encoder("tfidf"), **kw)
    return out, manifest


def test_build_end_to_end(tmp_path):
    out, manifest = _build(tmp_path)
    recs = load_records(out)  # every record passes validate_record
    assert len(recs) == 6 and manifest["users"] == 6 and manifest["factqa_questions"] == 12
    assert Counter(r.split for r in recs) == {"train": 3, "test": 3}
    ids = [(r.factual.source, r.factual.source_id) for r in recs]
    assert len(set(ids)) == 6  # D14: distinct factual questions
    by = {r.user_id: r for r in recs}
    assert by["lme_2"].personalized.answers == ("3",)
    assert by["lme_1"].personalized.question_type == "single-session-user"
    assert by["lme_1"].current_date == "2023/05/30 (Tue) 23:40"
    assert by["lme_1"].sessions[0][0]["has_answer"] is True  # unknown turn keys kept
    abs_rec = by["lme_4_abs"]  # its empty session is dropped, ids and dates stay aligned
    assert abs_rec.session_ids == ("lme_4_abs_s0", "lme_4_abs_s2") and len(abs_rec.dates) == 2
    f = by["lme_1"].factual
    assert f.extra["score"] == pytest.approx((f.extra["s_freq"] + f.extra["s_sim"]) / 2, abs=1e-5)
    assert "Golden Retriever" in f.question  # retrieval follows the user's history
    assert "Microsoft" in by["lme_5"].factual.question
    sha = hashlib.sha256(LME.read_bytes()).hexdigest()
    assert manifest["sources"][0] == {"role": "user", "file": LME.name, "sha256": sha, "instances": 6}
    assert json.loads((tmp_path / "b.manifest.json").read_text())["encoder"] == "tfidf"


def test_build_is_deterministic(tmp_path):
    a, _ = _build(tmp_path, "a.jsonl")
    b, _ = _build(tmp_path, "b.jsonl")
    assert a.read_text() == b.read_text()


def test_cli_build(tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    rc = main(["pfqabench", "build", "--longmemeval", str(LME), "--hotpotqa", str(HOT),
               "--twowiki", str(TWO), "--out", str(out), "--per-session", "3"])
    assert rc == 0 and len(load_records(out, split="test")) == 3
    assert json.loads(capsys.readouterr().out)["per_session"] == 3
    assert main(["pfqabench", "build", "--longmemeval", str(LME), "--out", str(out)]) == 2
