"""The `fpps` command. Parses arguments and imports what a subcommand needs inside it, so that
no component imports the CLI and `fpps --help` stays fast."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["main", "build_parser"]


def _not_landed(what: str, issue: int) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        print(f"fpps {what}: not available yet (tracked in issue {issue}).", file=sys.stderr)
        return 2
    return run


def _load_history(path: str) -> tuple[list[list[dict[str, str]]], list[str] | None, str | None]:
    """Sessions, dates and current date from a JSON file: a list of sessions, an object with
    `sessions` (and optional `dates`, `current_date`), or a PFQABench record."""
    data: Any = json.loads(Path(path).read_text())
    if isinstance(data, dict) and "history" in data:
        cur = data.get("current_date")
        data = dict(data["history"], current_date=cur)
    if isinstance(data, list):
        data = {"sessions": data}
    if not isinstance(data, dict) or not isinstance(data.get("sessions"), list):
        raise SystemExit(f"{path}: expected a list of sessions or an object with 'sessions'")
    sessions = data["sessions"]
    for i, s in enumerate(sessions):
        if not isinstance(s, list) or not all(isinstance(m, dict) and isinstance(m.get("content"), str)
                                              and m.get("role") in ("user", "assistant", "system")
                                              for m in s):
            raise SystemExit(f"{path}: sessions[{i}] must be a list of {{role, content}} messages")
    return sessions, data.get("dates"), data.get("current_date")


def _cmd_chat(args: argparse.Namespace) -> int:
    from fpps.steering import RagPersonalizer, SamplingParams, SteeringParams, history_free_messages
    from fpps.steering import SteeringValidationError, load_model
    from fpps.steering.artifact import load_artifact
    from fpps.steering.reference import steered_generate

    try:
        params = SteeringParams(mode=args.mode, alpha=args.strength, gamma=args.gamma, tau=args.tau)
        sampling = SamplingParams(max_tokens=args.max_tokens)
    except SteeringValidationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sessions, dates, cur = _load_history(args.history) if args.history else ([], None, None)
    cur = args.date or cur
    adapter = load_model(args.model)
    artifact = load_artifact(args.artifact, fingerprint=adapter.fingerprint,
                             hidden_size=adapter.hidden_size, num_layers=adapter.num_layers)
    msgs = RagPersonalizer(top_k=args.top_k).messages(args.question, sessions, dates, cur)
    twin = history_free_messages(args.question, cur)
    out = steered_generate(adapter, artifact, msgs, twin, params, sampling)
    print(f"[{params.mode} alpha={params.alpha} layer={artifact.layer} p_hat={out.p_hat:.3f} "
          f"gate={out.branch}]")
    print(out.text)
    if args.compare:
        base = steered_generate(adapter, artifact, msgs, twin, SteeringParams(mode="off"), sampling)
        print("[unsteered]")
        print(base.text)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    if args.target == "kernel":
        from fpps.kernels.bench import run_kernel_bench
        result = run_kernel_bench(out)
    elif args.target == "engine":
        try:
            from fpps.server.bench import run_engine_bench
        except ImportError:
            return _not_landed("bench engine", 6)(args)
        result = run_engine_bench(out, quick=args.quick)
    else:
        return _not_landed("bench load", 9)(args)
    print(json.dumps(result, indent=2))
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    try:
        from fpps.steering.calibrate import run_calibration_cli
    except ImportError:
        return _not_landed("calibrate", 4)(args)
    return run_calibration_cli(args)


def _cmd_prepare(args: argparse.Namespace) -> int:
    """Convert the default model into the cache (once) and check the shipped artifact fits it."""
    from fpps.steering import default_model_dir, load_model
    from fpps.steering.artifact import load_artifact

    print(f"default model folder: {default_model_dir()}")
    adapter = load_model(args.model)
    artifact = load_artifact(args.artifact, fingerprint=adapter.fingerprint,
                             hidden_size=adapter.hidden_size, num_layers=adapter.num_layers)
    print(f"model {adapter.fingerprint}: {adapter.num_layers} blocks, d={adapter.hidden_size}; "
          f"artifact {artifact.artifact_id} at {artifact.hook_name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fpps", description=(
        "Factuality-Preserving Personalized Steering: serve, calibrate, chat, evaluate, benchmark."))
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pr = sub.add_parser("prepare", help="convert the default model once and check the artifact")
    pr.add_argument("--model"), pr.add_argument("--artifact")
    pr.set_defaults(func=_cmd_prepare)

    s = sub.add_parser("serve", help="start the OpenAI-compatible steering server")
    s.add_argument("--model"), s.add_argument("--artifact")
    s.add_argument("--host", default="127.0.0.1"), s.add_argument("--port", type=int, default=8000)
    s.add_argument("--replicas", type=int, default=1), s.add_argument("--config")
    s.set_defaults(func=_not_landed("serve", 7))

    c = sub.add_parser("calibrate", help="fit layer, probe, steering vector and gamma/tau")
    c.add_argument("--model"), c.add_argument("--data", required=True)
    c.add_argument("--out", required=True), c.add_argument("--method", default="rag", choices=["rag"])
    c.add_argument("--limit", type=int, help="use at most N training records (quick runs)")
    c.add_argument("--max-tokens", type=int, default=32, help="greedy answer length")
    c.set_defaults(func=_cmd_calibrate)

    ch = sub.add_parser("chat", help="one greedy steered answer to a question, with a user history")
    ch.add_argument("question")
    ch.add_argument("--history", help="JSON file: list of sessions, {sessions, dates}, or a PFQABench record")
    ch.add_argument("--mode", default="mixed", help="off | hard | soft | mixed")
    ch.add_argument("--strength", type=float, default=1.0, help="alpha in [0, 1]")
    ch.add_argument("--gamma", type=float), ch.add_argument("--tau", type=float)
    ch.add_argument("--compare", action="store_true", help="also print the unsteered answer")
    ch.add_argument("--model"), ch.add_argument("--artifact")
    ch.add_argument("--date", help="current date for the prompt")
    ch.add_argument("--top-k", type=int, default=3, help="sessions retrieved for the RAG prompt")
    ch.add_argument("--max-tokens", type=int, default=64)
    ch.set_defaults(func=_cmd_chat)

    e = sub.add_parser("eval", help="run PFQABench and write report.json/report.md/plots")
    e.add_argument("--data"), e.add_argument("--out")
    e.set_defaults(func=_not_landed("eval", 8))

    b = sub.add_parser("bench", help="benchmarks with JSON output: kernel | engine | load")
    b.add_argument("target", choices=["kernel", "engine", "load"])
    b.add_argument("--out", help="folder for bench-<target>.json")
    b.add_argument("--url"), b.add_argument("--quick", action="store_true")
    b.set_defaults(func=_cmd_bench)

    pb = sub.add_parser("pfqabench", help="build PFQABench from upstream files")
    pb.add_argument("action", choices=["build"])
    pb.set_defaults(func=_not_landed("pfqabench build", 8))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
