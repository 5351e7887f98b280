"""`make gpu-check`: the kernel and engine checks that need a GPU, in one run of under 10 minutes.

Steps, each in a subprocess with its own time limit (a step that fails or runs out of time is
recorded and the next one runs):

  kernel_tests        pytest tests/kernels compiled (TRITON_INTERPRET=0)
  engine_tests        pytest tests/engine/test_reference.py and test_engine.py with the models
                      on CUDA (`gpu_check_plugin.py`): fp32 batched == alone == reference
  batch_flip_rate     the same greedy requests decoded alone and batched, fp32 and bf16: share
                      of requests whose tokens differ and the first differing position
  kernel_bench        `fpps bench kernel`: GB/s and share of the HBM peak, fused vs unfused
  engine_bench        `fpps bench engine` on the default model (fp32, as `fpps serve` loads it)
  engine_bench_large  the same on a random-weight Llama-3.2-1B-shaped model in bf16, built from
                      a config and saved as a local folder with the default tokenizer, and a
                      synthetic artifact (no download)

It writes `gpu-check.json` (every step's result, the machine, the goals against what was
measured) and `gpu-check.md` into `--out` (default `docs/bench/gpu-<date>/`), plus each step's
log and JSON beside them. Exit status: 0 when every step passed, 1 when one failed, 3 when there
is no CUDA device (nothing run). Goals are reported, met or not; they do not set the status.

`--dry-run` runs every step's CPU part at tiny sizes (kernel tests under the interpreter, the
tiny-model parity tests, the torch reference of the edit, a few tokens on the default model and
on a tiny random model): it checks this script end to end, and measures nothing.

One file (~480 lines) on purpose: the step bodies run as `--child` of this same script, so the
parent and its subprocesses cannot disagree about a step; the pytest plugin is the one part apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
TOTAL_LIMIT_S = 570  # the steps' limits add up to this; startup and reports fit in the rest of 10 min
EXIT_FAILED, EXIT_NO_CUDA = 1, 3
KERNEL_SHAPE = (64, 4096)  # B x d of the kernel goals, bf16

# A Llama-3.2-1B-shaped model (vocabulary: the default tokenizer's, so that its files serve it).
LARGE_SHAPE: dict[str, Any] = dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                                   num_attention_heads=32, num_key_value_heads=8, head_dim=64,
                                   rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
                                   max_position_embeddings=8192)
TINY_SHAPE: dict[str, Any] = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                                  num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                  tie_word_embeddings=True, max_position_embeddings=2048)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Step:
    """One check: what it runs, for how long at most, and its dry-run variant."""

    name: str
    """Key in the JSON and the name `--steps` takes."""
    title: str
    """One line for the markdown."""
    limit_s: int
    """Wall-clock limit of its subprocess on CUDA (the dry run gives each step the same)."""
    pytest_args: tuple[str, ...] = ()
    """For a pytest step: its arguments on CUDA."""
    dry_pytest_args: tuple[str, ...] = ()
    """For a pytest step: its arguments in the dry run."""


STEPS = (
    Step(name="kernel_tests", title="kernel tests compiled (TRITON_INTERPRET=0)", limit_s=110,
         pytest_args=("tests/kernels",),
         dry_pytest_args=("tests/kernels/test_dispatch.py",)),
    Step(name="engine_tests", title="engine parity tests on CUDA, fp32 exact", limit_s=110,
         pytest_args=("tests/engine/test_reference.py", "tests/engine/test_engine.py"),
         dry_pytest_args=("tests/engine/test_reference.py::test_hard_alpha_one_makes_block_l_state_the_twins",
                          "tests/engine/test_reference.py::test_kv_cached_equals_uncached")),
    Step(name="batch_flip_rate", title="alone vs batched greedy tokens, fp32 and bf16", limit_s=50),
    Step(name="kernel_bench", title="`fpps bench kernel`: fused vs unfused edit", limit_s=70),
    Step(name="engine_bench", title="`fpps bench engine`, default model (fp32)", limit_s=105),
    Step(name="engine_bench_large", title="`fpps bench engine`, Llama-3.2-1B-shaped random model (bf16)",
         limit_s=125),
)

# (goal key, step, path into the step's result, comparison, target, what it is)
GOALS: tuple[tuple[str, str, str, str, float | None, str], ...] = (
    ("kernel_pct_hbm_peak", "kernel_bench", "pct_hbm_peak", ">=", 70.0,
     "fused kernel, % of the HBM peak at 64x4096 bf16 (lower of decode, prefill)"),
    ("kernel_speedup_vs_unfused", "kernel_bench", "speedup_vs_unfused", ">=", 3.0,
     "fused / unfused torch edit at 64x4096 bf16 (lower of decode, prefill)"),
    *((f"{step}.{ratio}", step, f"ratios.{ratio}", op, target, what)
      for step in ("engine_bench", "engine_bench_large")
      for ratio, op, target, what in (
          ("soft_vs_unsteered", ">=", 0.97, "FPPS-S / unsteered tokens/s"),
          ("mixed_half_hard_vs_unsteered", ">=", 0.80, "FPPS-M, half hard / unsteered tokens/s"),
          ("distinct_vs_shared_strengths", ">=", 0.95, "16 distinct alphas / one shared alpha"),
          ("engine_vs_hook_library", ">=", 4.0, "engine / hook library, 16 concurrent requests"),
          ("unsteered_vs_transformers_generate", "report", None,
           "unsteered fpps / plain transformers batched generate"))),
)


# --------------------------------------------------------------------------- step bodies (child)


def _kernel_bench(out: Path, dry: bool) -> dict[str, Any]:
    from fpps.kernels.bench.kernel import peak_gbps_by_name, run_kernel_bench

    sizes = dict(sizes_b=(2,), sizes_d=(8,)) if dry else {}
    report = run_kernel_bench(out, **sizes)
    device = report["machine"]["device"]
    table_peak = peak_gbps_by_name(device) if device != "cpu" else None
    b, d = KERNEL_SHAPE
    rows = [r for r in report["rows"] if (r["B"], r["d"], r["dtype"]) == (b, d, "bfloat16")]
    at_shape: dict[str, Any] = {}
    for r in rows:
        at_shape[r["case"]] = {k: r.get(k) for k in ("fused_us", "unfused_us", "speedup", "fused_gbps",
                                                     "unfused_gbps", "fused_pct_peak", "ref_us")}
        if table_peak and r.get("fused_gbps") is not None:
            at_shape[r["case"]]["pct_hbm_peak"] = round(100 * r["fused_gbps"] / table_peak, 1)
    pcts = [v["pct_hbm_peak"] for v in at_shape.values() if "pct_hbm_peak" in v]
    speedups = [v["speedup"] for v in at_shape.values() if v.get("speedup") is not None]
    return {"kernel": report["kernel"], "device": device,
            "hbm_peak_gbps_table": table_peak if table_peak else "unknown",
            "peak_gbps_device_properties": report["peak_gbps"], "peak_source": report["peak_gbps_source"],
            "shape": f"{b}x{d} bfloat16", "at_shape": at_shape,
            "pct_hbm_peak": min(pcts) if pcts else None,
            "speedup_vs_unfused": min(speedups) if speedups else None,
            "summary": report.get("summary"), "rows": len(report["rows"]), "json": "bench-kernel.json"}


def _flip_rate(out: Path, dry: bool) -> dict[str, Any]:
    import torch

    from fpps.server.bench.engine import batch_invariance

    if not dry:
        return {"runs": [batch_invariance(dt, 16, 32, device="cuda") for dt in (torch.float32, torch.bfloat16)]}
    # the dry run: a tiny random model in fp32 (bf16 matmuls are emulated on most CPUs)
    with tempfile.TemporaryDirectory(prefix="fpps-gpu-check-") as tmp:
        folder, artifact, _ = random_model(Path(tmp), TINY_SHAPE, dtype=torch.float32, device="cpu")
        return {"runs": [batch_invariance(torch.float32, 2, 3, model=str(folder), artifact=artifact)]}


def _engine_summary(report: dict[str, Any], json_name: str) -> dict[str, Any]:
    return {"ratios": report["ratios"], "machine": report["machine"], "json": json_name,
            "tokens_per_s": {k: v["tokens_per_s"] for k, v in
                             {**report["scenarios"], **report["baselines"]}.items()}}


def _engine_bench(out: Path, dry: bool) -> dict[str, Any]:
    import torch

    from fpps.server.bench.engine import run_engine_bench

    if not dry:
        report = run_engine_bench(out, n=16, max_tokens=32, repeats=2, device="cuda", invariance=False)
        return _engine_summary(report, "bench-engine.json")
    # the dry run: the default model is minutes on a shared CPU; a tiny random one takes its place
    with tempfile.TemporaryDirectory(prefix="fpps-gpu-check-") as tmp:
        folder, artifact, _ = random_model(Path(tmp), TINY_SHAPE, dtype=torch.float32, device="cpu")
        report = run_engine_bench(out, n=2, max_tokens=2, repeats=1, model=str(folder), artifact=artifact,
                                  invariance=False)
    return {**_engine_summary(report, "bench-engine.json"), "stand_in": "tiny random model (dry run)"}


def build_random_model(folder: Path, shape: dict[str, Any], *, dtype: Any, device: str) -> None:
    """A random-weight Llama of `shape` saved in `folder` with the default model's tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from fpps.steering import default_model_dir

    source = default_model_dir()
    tok = AutoTokenizer.from_pretrained(str(source))
    cfg = LlamaConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id, **shape)
    torch.manual_seed(0)
    with torch.device(device):  # initialized where it runs: no minute of CPU init for 1B weights
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    # the chat template may live beside the tokenizer rather than in its config
    for extra in ("chat_template.jinja", "generation_config.json"):
        if (source / extra).is_file() and not (folder / extra).is_file():
            shutil.copy(source / extra, folder / extra)
    del model


def synthesize_artifact(adapter: Any, folder: Path) -> Path:
    """A synthetic artifact for `adapter`, as `tests/e2e/conftest.py` builds one: a constant
    probe at sigmoid(0.5) = 0.62 (mixed and hard rows gate hard), a random `s_f`, L at 2/3 depth."""
    import torch

    from fpps.steering.artifact import SteeringArtifact, save_artifact

    g = torch.Generator().manual_seed(0)
    art = SteeringArtifact(layer=(2 * adapter.num_layers) // 3, w=torch.zeros(adapter.hidden_size), b=0.5,
                           s_f=torch.randn(adapter.hidden_size, generator=g) * 0.3,
                           fingerprint=adapter.fingerprint,
                           defaults={"gamma": 0.3, "tau_hard": 0.2, "tau_mixed": 0.3})
    return save_artifact(art, folder, name="gpu-check-synthetic")


def random_model(tmp: Path, shape: dict[str, Any], *, dtype: Any, device: str) -> tuple[Path, Path, Any]:
    """`(model folder, artifact folder, adapter)`: a random Llama of `shape` saved under `tmp`,
    loaded back through `load_model` as any local folder is, and a synthetic artifact for it."""
    from fpps.steering import load_model

    build_random_model(tmp / "model", shape, dtype=dtype, device=device)
    adapter = load_model(str(tmp / "model"), dtype=dtype, device=device)
    return tmp / "model", synthesize_artifact(adapter, tmp / "artifact"), adapter


def _engine_bench_large(out: Path, dry: bool) -> dict[str, Any]:
    import torch

    from fpps.server.bench.engine import run_engine_bench

    device, dtype = ("cpu", torch.float32) if dry else ("cuda", torch.bfloat16)
    shape = TINY_SHAPE if dry else LARGE_SHAPE
    with tempfile.TemporaryDirectory(prefix="fpps-gpu-check-") as tmp:  # ~2 GB: not in --out
        t0 = time.perf_counter()
        _, artifact, adapter = random_model(Path(tmp), shape, dtype=dtype, device=device)
        setup_s = time.perf_counter() - t0
        kw = dict(n=2, max_tokens=2, repeats=1) if dry else dict(n=16, max_tokens=32, repeats=2)
        report = run_engine_bench(out, model=adapter, artifact=artifact, invariance=False, **kw)
        params = sum(p.numel() for p in adapter.model.parameters())
    return {**_engine_summary(report, "bench-engine.json"), "setup_s": round(setup_s, 1),
            "model_shape": {"family": "llama", **shape}, "parameters": params,
            **({"stand_in": "tiny random model (dry run)"} if dry else {})}


BODIES: dict[str, Callable[[Path, bool], dict[str, Any]]] = {
    "batch_flip_rate": _flip_rate, "kernel_bench": _kernel_bench, "engine_bench": _engine_bench,
    "engine_bench_large": _engine_bench_large}


def _run_child(name: str, out: Path, dry: bool) -> int:
    """Child mode: one step's body in this process; its result as JSON in `out/result.json`."""
    out.mkdir(parents=True, exist_ok=True)
    result = BODIES[name](out, dry)
    (out / "result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


# --------------------------------------------------------------------------- the parent


def _env(dry: bool) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", RAY_AUTH_MODE="disabled", TOKENIZERS_PARALLELISM="false",
               TRITON_INTERPRET="1" if dry else "0")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "scripts"), env.get("PYTHONPATH")) if p)
    if not dry:
        env["FPPS_TEST_DEVICE"] = "cuda"
    return env


def _run(cmd: list[str], env: dict[str, str], limit_s: float, log: Path) -> tuple[int | None, float]:
    """Run `cmd` with its output in `log`; `(returncode, wall_s)`, returncode None on timeout
    (the whole process group is killed: pytest's and the bench's children too)."""
    t0 = time.perf_counter()
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc: int | None = proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
    return rc, round(time.perf_counter() - t0, 1)


def _pytest_counts(log: Path) -> dict[str, int]:
    """passed/failed/skipped/error counts from pytest's last summary line."""
    text = log.read_text(errors="replace")
    last = next((line for line in reversed(text.splitlines()) if re.search(r"\d+ (passed|failed|error)", line)), "")
    return {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", last)}


def _tail(log: Path, n: int = 25) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:])


def run_step(step: Step, out: Path, dry: bool, limit_s: float) -> dict[str, Any]:
    """Run one step in a subprocess; its record for the JSON (never raises for the step's faults)."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{step.name}.log"
    env = _env(dry)
    record: dict[str, Any] = {"name": step.name, "title": step.title, "time_limit_s": round(limit_s),
                              "log": str(log.relative_to(out))}
    step_out = out / step.name
    if step.pytest_args:
        args = step.dry_pytest_args if dry else step.pytest_args
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "gpu_check_plugin", *args]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step.name, "--out", str(step_out)]
        if dry:
            cmd.append("--dry-run")
    record["command"] = " ".join(cmd[1:] if cmd[0] == sys.executable else cmd)
    rc, wall = _run(cmd, env, limit_s, log)
    record.update(returncode=rc, wall_s=wall)
    if step.pytest_args:
        counts = _pytest_counts(log)
        record["result"] = {"tests": counts, "pytest_args": list(args)}
        ok = rc == 0 and counts.get("passed", 0) > 0  # all skipped is not a pass
    else:
        result_file = step_out / "result.json"
        if rc == 0 and result_file.is_file():
            record["result"] = json.loads(result_file.read_text())
        ok = rc == 0 and "result" in record
    record["status"] = "pass" if ok else ("timeout" if rc is None else "fail")
    record["passed"] = ok
    if not ok:
        record["error"] = (f"ran past its {round(limit_s)} s limit" if rc is None else f"exit status {rc}")
        record["log_tail"] = _tail(log)
    return record


def _lookup(result: dict[str, Any] | None, path: str) -> Any:
    value: Any = result
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def evaluate_goals(steps: list[dict[str, Any]], dry: bool) -> list[dict[str, Any]]:
    """Each goal against what its step measured: met True/False, or None when not measured (a
    dry run's tiny CPU figures are never held against a goal)."""
    by_name = {s["name"]: s for s in steps}
    goals = []
    for key, step, path, op, target, what in GOALS:
        measured = _lookup(by_name.get(step, {}).get("result"), path)
        measurable = op != "report" and not dry and isinstance(measured, (int, float))
        met = measured >= (target or 0) if measurable else None
        goals.append({"goal": key, "what": what, "step": step, "target": f"{op} {target}" if target is not None
                      else "report only", "measured": measured, "met": met})
    return goals


def machine_info() -> dict[str, Any]:
    """Device, versions and the HBM peak from the table (in the parent: CUDA stays available to
    every step; the parent only reads the device name)."""
    import torch

    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                            "python": platform.python_version(), "platform": platform.platform(),
                            "cpu_count": os.cpu_count(), "cuda_available": torch.cuda.is_available()}
    try:
        import triton  # type: ignore[import-untyped, unused-ignore]

        info["triton"] = triton.__version__
    except Exception as e:  # noqa: BLE001 - a broken triton is what the kernel step then reports
        info["triton"] = f"not importable: {type(e).__name__}: {e}"
    if info["cuda_available"]:
        from fpps.kernels.bench.kernel import peak_gbps_by_name

        name = torch.cuda.get_device_name(0)
        info.update(device=name, device_count=torch.cuda.device_count(),
                    hbm_peak_gbps=peak_gbps_by_name(name) or "unknown")
    else:
        info.update(device="cpu", hbm_peak_gbps="unknown")
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _step_line(s: dict[str, Any]) -> str:
    r = s.get("result") or {}
    if "tests" in r:
        return ", ".join(f"{v} {k}" for k, v in r["tests"].items()) or "no pytest summary"
    if "runs" in r:
        return "; ".join(f"{x['dtype']}: {x['requests_differing']}/{x['requests']} requests differ "
                         f"(share {x['share_differing']}), first at {x['first_divergence_positions'] or '—'}"
                         for x in r["runs"])
    if "at_shape" in r:
        return (f"{r['shape']}: {_fmt(r['pct_hbm_peak'])}% of {r['hbm_peak_gbps_table']} GB/s, "
                f"{_fmt(r['speedup_vs_unfused'])}x unfused")
    if "ratios" in r:
        return ", ".join(f"{k} {_fmt(v)}" for k, v in r["ratios"].items())
    return s.get("error", "")


def render_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    mark = {True: "met", False: "missed", None: "not judged (dry run)" if report["dry_run"] else "not measured"}
    lines = [f"# fpps GPU check{' (dry run: nothing measured)' if report['dry_run'] else ''}", "",
             f"- started: {report['started']}; wall {report['wall_s']} s (limit {report['time_limit_s']} s)",
             f"- device: {m['device']} (HBM peak from the table: {m['hbm_peak_gbps']}"
             f"{' GB/s' if isinstance(m['hbm_peak_gbps'], float) else ''})",
             f"- torch {m['torch']}, triton {m['triton']}, CUDA {m['cuda']}, python {m['python']}",
             f"- commit: {m.get('git_commit') or '—'}",
             f"- result: {'PASS' if report['passed'] else 'FAIL'} "
             f"({sum(s['passed'] for s in report['steps'])}/{len(report['steps'])} steps passed)", "",
             "## Steps", "", "| step | status | wall / limit (s) | result |", "|---|---|---|---|"]
    for s in report["steps"]:
        lines.append(f"| {s['name']} | {s['status']} | {_fmt(s.get('wall_s'))} / {s['time_limit_s']} | "
                     f"{_step_line(s).replace('|', '/')} |")
    lines += ["", "## Goals (reported; they do not set the exit status)", "",
              "| goal | target | measured | |", "|---|---|---|---|"]
    for g in report["goals"]:
        lines.append(f"| {g['goal']}: {g['what']} | {g['target']} | {_fmt(g['measured'])} | "
                     f"{mark[g['met']] if g['target'] != 'report only' else ''} |")
    failed = [s for s in report["steps"] if not s["passed"]]
    if failed:
        lines += ["", "## Failures", ""]
        for s in failed:
            lines += [f"### {s['name']}: {s.get('error')}", "", "```", s.get("log_tail", ""), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gpu_check.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--dry-run", action="store_true", help="every step's CPU part at tiny sizes (CI)")
    p.add_argument("--out", help="output folder (default docs/bench/gpu-<date>/, or out/gpu-check-dry-run/)")
    p.add_argument("--steps", help=f"comma-separated subset of {','.join(s.name for s in STEPS)}")
    p.add_argument("--child", choices=sorted(BODIES), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _run_child(args.child, Path(args.out), args.dry_run)
    steps = list(STEPS)
    if args.steps:
        wanted = args.steps.split(",")
        unknown = sorted(set(wanted) - {s.name for s in STEPS})
        if unknown:
            p.error(f"--steps: unknown {unknown}; known: {[s.name for s in STEPS]}")
        steps = [s for s in STEPS if s.name in wanted]

    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print("gpu-check: no CUDA device on this machine (torch.cuda.is_available() is False); "
              "run it on a GPU machine, or pass --dry-run to check the script on the CPU", file=sys.stderr)
        return EXIT_NO_CUDA
    started = datetime.datetime.now(datetime.timezone.utc)
    default = f"docs/bench/gpu-{started:%Y-%m-%d}" if not args.dry_run else "out/gpu-check-dry-run"
    out = Path(args.out or ROOT / default).resolve()
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"kind": "fpps gpu-check", "dry_run": args.dry_run,
                              "started": started.isoformat(timespec="seconds"),
                              "time_limit_s": TOTAL_LIMIT_S, "machine": machine_info(), "steps": []}
    t0 = time.perf_counter()
    for step in steps:
        left = TOTAL_LIMIT_S - (time.perf_counter() - t0)
        if left < 15:  # no time left for a meaningful run: recorded as failed, not dropped
            report["steps"].append({"name": step.name, "title": step.title, "time_limit_s": 0, "status": "skipped",
                                    "passed": False, "error": "skipped: the run's time limit was spent"})
            continue
        print(f"gpu-check: {step.name} (limit {min(step.limit_s, round(left))} s) ...", flush=True)
        record = run_step(step, out, args.dry_run, min(step.limit_s, left))
        print(f"gpu-check: {step.name} {record['status']} in {record['wall_s']} s", flush=True)
        report["steps"].append(record)
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    report["passed"] = all(s["passed"] for s in report["steps"])
    report["goals"] = evaluate_goals(report["steps"], args.dry_run)
    (out / "gpu-check.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "gpu-check.md").write_text(render_markdown(report))
    print(f"gpu-check: {'PASS' if report['passed'] else 'FAIL'}; wrote {out / 'gpu-check.json'} and gpu-check.md")
    return 0 if report["passed"] else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
