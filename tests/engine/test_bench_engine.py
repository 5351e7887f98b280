"""`fpps bench engine --quick` runs every scenario and writes the documented JSON shape."""

import json

import pytest

from fpps.cli import main

pytestmark = pytest.mark.slow


def test_bench_engine_writes_every_scenario(tmp_path, capsys):
    assert main(["bench", "engine", "--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench-engine.json").read_text())
    names = {"unsteered", "soft", "mixed_half_hard", "distinct_strengths", "shared_strength", "hook_library",
             "distinct_users", "hook_library_distinct_users", "penalties_logprobs"}
    assert set(report["scenarios"]) == names
    for s in report["scenarios"].values():
        assert s["tokens_per_s"] > 0 and s["p50_ms"] <= s["p95_ms"] and s["requests"] == 4
    assert report["scenarios"]["mixed_half_hard"]["gates"]["hard"] == 2
    assert set(report["ratios"]) >= {"soft_vs_unsteered", "penalties_logprobs_vs_unsteered", "engine_vs_hook_library",
                                     "engine_vs_hook_library_distinct_users"}
    # One user's history: the first prompt's prefill serves the other three; 4 users share only
    # the system prompt and the first words of the history.
    shared = report["scenarios"]["distinct_strengths"]
    assert shared["prefix_reused_tokens"] > shared["prompt_tokens"] / 2
    assert report["scenarios"]["distinct_users"]["prefix_reused_tokens"] < shared["prefix_reused_tokens"]
    assert report["machine"]["cpus"] >= 1
