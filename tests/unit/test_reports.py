"""Report metrics on hand-counted answers, report files, bootstrap intervals."""

import json

import pytest

from fpps.eval.reports import METRICS, build_report


def _ans(user, kind, history, mode, ok, strength=1.0, p_hat=None, gate="none"):
    return {"user_id": user, "kind": kind, "history": history, "mode": mode, "strength": strength,
            "gamma": None, "tau": None, "question": f"{user}-{kind}", "answers": ["gold"],
            "text": "gold" if ok else "wrong", "p_hat": p_hat, "gate": gate}


def _fixture():
    """4 users. Factual: without history all right except u3; with history (off) u0 and u1 wrong.
    Mixed fixes u0 (recovered), breaks nothing factual; personal: off right for u0,u1,u2; mixed
    breaks u2."""
    rows = []
    f_wo = {"u0": 1, "u1": 1, "u2": 1, "u3": 0}
    f_off = {"u0": 0, "u1": 0, "u2": 1, "u3": 0}
    f_mix = {"u0": 1, "u1": 0, "u2": 1, "u3": 1}
    p_off = {"u0": 1, "u1": 1, "u2": 1, "u3": 0}
    p_mix = {"u0": 1, "u1": 1, "u2": 0, "u3": 0}
    for u in ("u0", "u1", "u2", "u3"):
        rows.append(_ans(u, "factual", False, "off", f_wo[u]))
        rows.append(_ans(u, "factual", True, "off", f_off[u], p_hat=0.8))
        rows.append(_ans(u, "factual", True, "mixed", f_mix[u], p_hat=0.8, gate="hard"))
        rows.append(_ans(u, "personalized", True, "off", p_off[u], p_hat=0.1))
        rows.append(_ans(u, "personalized", True, "mixed", p_mix[u], p_hat=0.1, gate="soft"))
        rows.append(_ans(u, "factual", True, "mixed", f_off[u], strength=0.5))
        rows.append(_ans(u, "personalized", True, "mixed", p_off[u], strength=0.5))
    return rows


def _build(tmp_path, plots=False, **kw):
    rows = _fixture()
    verdicts = [r["text"] == "gold" for r in rows]
    return build_report(rows, verdicts, tmp_path, plots=plots, boot=200,
                        provenance={"judge": "contains", "top_k": 3}, **kw)


def test_metrics_hand_counted(tmp_path):
    rep = _build(tmp_path)
    off, mixed = rep["modes"]["off"], rep["modes"]["mixed"]
    assert off["P"] == 75.0 and off["F"] == 25.0 and off["Overall"] == 50.0
    assert off["F_without_history"] == 75.0
    assert off["hallucination_rate"] == 50.0  # u0, u1: right without, wrong with
    assert off["recovered_share"] == 0.0 and off["personal_broken"] == 0.0
    assert mixed["P"] == 50.0 and mixed["F"] == 75.0 and mixed["Overall"] == 62.5
    assert mixed["hallucination_rate"] == 25.0  # only u1 remains
    assert mixed["recovered_share"] == 50.0  # u0 of {u0, u1}
    assert mixed["personal_broken"] == 25.0  # u2 of 4 personal questions
    assert mixed["n_personal"] == 4 and mixed["n_factual"] == 4
    assert mixed["counts"] == {"hallucinated": 1, "hallucinated_off": 2, "recovered": 1,
                               "personal_broken": 1}
    assert mixed["gate_share"]["hard"] == 100.0


def test_report_json_shape_and_files(tmp_path):
    rep = _build(tmp_path, plots=True)
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["modes"].keys() == {"off", "mixed"}
    for m in on_disk["modes"].values():
        assert set(METRICS) | {"n_personal", "n_factual"} <= m.keys()
    labels = [s["label"] for s in on_disk["sweep"]]
    assert labels == ["off", "mixed", "mixed a=0.5"]
    assert on_disk["provenance"]["judge"] == "contains" and on_disk["provenance"]["top_k"] == 3
    assert "versions" in on_disk["provenance"]
    assert on_disk["history_free"]["F"] == 75.0
    assert on_disk["p_hat"]["factual"]["n"] == 4 and on_disk["p_hat"]["factual"]["mean"] == 0.8
    assert rep["plots"] == ["pareto.png", "p_hat.png"]
    for name in ("pareto.png", "p_hat.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "report.md").read_text()
    assert "| mixed | 50.0 [" in md and "## Sweep" in md and "mixed a=0.5" in md


def test_bootstrap_interval_brackets_point_and_is_seeded(tmp_path):
    a = _build(tmp_path / "a")["modes"]["mixed"]
    b = _build(tmp_path / "b")["modes"]["mixed"]
    assert a["ci95"] == b["ci95"]
    for k in ("P", "F", "Overall", "F_without_history"):
        lo, hi = a["ci95"][k]
        assert lo <= a[k] <= hi


def test_missing_answers_reported(tmp_path):
    rep = _build(tmp_path, planned=30)
    assert rep["answers"] == {"have": 28, "planned": 30}
    assert "2 planned answers are missing" in (tmp_path / "report.md").read_text()


def test_judge_agreement_in_markdown(tmp_path):
    ag = {"first": "llm:m", "second": "contains", "n": 28, "agreement": 92.86, "kappa": 0.85,
          "only_first": 1, "only_second": 1}
    rep = _build(tmp_path, judge_agreement=ag)
    assert rep["judge_agreement"]["agreement"] == 92.86
    assert "llm:m vs contains: 92.86%" in (tmp_path / "report.md").read_text()


def test_empty_groups_give_none(tmp_path):
    rows = [_ans("u0", "personalized", True, "off", 1)]
    rep = build_report(rows, [True], tmp_path, plots=False, boot=50)
    off = rep["modes"]["off"]
    assert off["P"] == 100.0 and off["F"] is None and off["Overall"] is None
    assert off["recovered_share"] is None
    assert rep["modes"]["off"]["n_factual"] == 0
    with pytest.raises(KeyError):
        rep["modes"]["mixed"]


def test_gate_table_counts_both_kinds_of_misses(tmp_path):
    """Mixed: u1's personal question gated hard (answer lost), u3's factual question ungated."""
    rows = []
    for u, pg, fg in (("u0", "soft", "hard"), ("u1", "hard", "hard"), ("u2", "soft", "hard"),
                      ("u3", "soft", "soft")):
        rows.append(_ans(u, "personalized", True, "mixed", u != "u1",
                         p_hat=0.9 if pg == "hard" else 0.2, gate=pg))
        rows.append(_ans(u, "factual", True, "mixed", True, p_hat=0.95 if fg == "hard" else 0.3, gate=fg))
        rows.append(_ans(u, "factual", True, "soft", True, p_hat=0.7 if u != "u3" else 0.4, gate="soft"))
        rows.append(_ans(u, "personalized", True, "soft", True, p_hat=0.1, gate="soft"))
    rep = build_report(rows, [r["text"] == "gold" for r in rows], tmp_path, plots=False, boot=0)
    g = rep["gate"]["mixed"]
    assert g["personal_gated"] == 25.0 and g["factual_gated"] == 75.0
    assert g["personal_gated_lost"] == 1
    assert [m["user_id"] for m in g["personal_misses"]] == ["u1"]
    assert g["personal_misses"][0] == {"user_id": "u1", "question": "u1-personalized", "p_hat": 0.9,
                                       "correct": False}
    assert [m["user_id"] for m in g["factual_misses"]] == ["u3"]
    s = rep["gate"]["soft"]
    assert s["rule"] == "p_hat >= 0.5" and s["factual_gated"] == 75.0 and s["personal_gated"] == 0.0
    assert "hard" not in rep["gate"]  # no hard-mode answers in this run
    md = (tmp_path / "report.md").read_text()
    assert "## Gate" in md and "0.90 wrong: u1 u1-personalized" in md and "0.30 right: u3 u3-factual" in md
