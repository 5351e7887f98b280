"""`scripts/gpu_check.py` (`make gpu-check`): its refusal without CUDA, its dry run end to end, and
how it records a failing step."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.py"


def _load_script():
    if "gpu_check" not in sys.modules:  # registered before it runs: dataclasses look it up there
        spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
        sys.modules["gpu_check"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["gpu_check"])
    return sys.modules["gpu_check"]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # CUDA hidden: the same answer on a GPU machine as on this one
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", HF_HUB_OFFLINE="1", RAY_AUTH_MODE="disabled")
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)


def test_without_cuda_it_says_so_in_one_line_and_exits_3(tmp_path):
    proc = _run("--out", str(tmp_path / "out"))
    assert proc.returncode == 3
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no CUDA device" in lines[0] and "--dry-run" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing run, nothing written


def test_a_failing_step_is_recorded_with_its_log_and_a_slow_one_is_stopped(tmp_path):
    gc = _load_script()
    bad = gc.Step(name="bad", title="a test file that does not exist", limit_s=60,
                  pytest_args=("tests/no_such_file.py",), dry_pytest_args=("tests/no_such_file.py",))
    record = gc.run_step(bad, tmp_path, True, 60)
    assert (record["status"], record["passed"]) == ("fail", False)
    assert record["returncode"] not in (0, None) and "no_such_file" in record["log_tail"]
    slow = gc.run_step(gc.STEPS[0], tmp_path, True, 0.5)
    assert (slow["status"], slow["returncode"], slow["passed"]) == ("timeout", None, False)
    assert "limit" in slow["error"]
    report = {"dry_run": False, "started": "t", "wall_s": 1.0, "time_limit_s": 570, "passed": False,
              "machine": {"device": "NVIDIA H100 80GB HBM3", "hbm_peak_gbps": 3350.0, "torch": "t",
                          "triton": "t", "cuda": "12", "python": "3"},
              "steps": [record, slow], "goals": gc.evaluate_goals([record, slow], False)}
    md = gc.render_markdown(report)
    assert "## Failures" in md and "### bad: exit status" in md and "| bad | fail |" in md
    assert all(g["met"] is None for g in report["goals"])  # nothing measured, nothing judged


def test_goals_compare_the_measured_ratio_with_the_target():
    gc = _load_script()
    steps = [{"name": "engine_bench", "result": {"ratios": {"soft_vs_unsteered": 0.99,
                                                            "engine_vs_hook_library": 3.2}}},
             {"name": "kernel_bench", "result": {"pct_hbm_peak": 71.5, "speedup_vs_unfused": None}}]
    goals = {g["goal"]: g for g in gc.evaluate_goals(steps, False)}
    assert goals["engine_bench.soft_vs_unsteered"]["met"] is True
    assert goals["engine_bench.engine_vs_hook_library"]["met"] is False
    assert goals["kernel_pct_hbm_peak"]["met"] is True
    assert goals["kernel_speedup_vs_unfused"]["met"] is None
    assert goals["engine_bench_large.soft_vs_unsteered"]["measured"] is None
    assert all(g["met"] is None for g in gc.evaluate_goals(steps, True))


@pytest.mark.slow
def test_dry_run_runs_every_step_and_writes_the_json_and_markdown(tmp_path):
    gc = _load_script()
    proc = _run("--dry-run", "--out", str(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    assert report["dry_run"] is True and report["passed"] is True
    assert {"torch", "triton", "cuda", "device", "hbm_peak_gbps", "git_commit"} <= set(report["machine"])
    steps = {s["name"]: s for s in report["steps"]}
    assert list(steps) == [s.name for s in gc.STEPS]
    for s in steps.values():
        assert s["status"] == "pass" and s["wall_s"] <= s["time_limit_s"]
        assert (tmp_path / s["log"]).is_file()
    assert steps["kernel_tests"]["result"]["tests"]["passed"] > 0
    assert steps["engine_tests"]["result"]["tests"]["passed"] > 0
    flip = steps["batch_flip_rate"]["result"]["runs"][0]
    assert {"share_differing", "first_divergence_positions", "requests_differing"} <= set(flip)
    assert {"pct_hbm_peak", "speedup_vs_unfused", "hbm_peak_gbps_table"} <= set(steps["kernel_bench"]["result"])
    for name in ("engine_bench", "engine_bench_large"):
        ratios = steps[name]["result"]["ratios"]
        assert {"soft_vs_unsteered", "mixed_half_hard_vs_unsteered", "distinct_vs_shared_strengths",
                "engine_vs_hook_library", "unsteered_vs_transformers_generate"} <= set(ratios)
        assert (tmp_path / name / "bench-engine.json").is_file()
    assert steps["engine_bench_large"]["result"]["parameters"] > 0
    assert (tmp_path / "kernel_bench" / "bench-kernel.json").is_file()
    assert len(report["goals"]) == len(gc.GOALS) and all(g["met"] is None for g in report["goals"])
    md = (tmp_path / "gpu-check.md").read_text()
    assert md.startswith("# fpps GPU check (dry run: nothing measured)")
    assert "## Steps" in md and "## Goals" in md and "## Failures" not in md
    for name in steps:
        assert f"| {name} | pass |" in md
