"""The `fpps` command. Parses arguments and imports what a subcommand needs inside it, so that
no component imports the CLI and `fpps --help` stays fast."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from fpps.cli_values import MODES, encoder_spec, float_in, floats_in, int_in, mode_list, shard_spec
from fpps.preflight import InputError, check_inputs, data_spec, load_history, read_records

__all__ = ["main", "build_parser"]

_MODEL_HELP = ("local Hugging Face model folder (default: the embedded SmolLM2-135M-Instruct, converted "
               "once into the cache)")
_ARTIFACT_HELP = "steering artifact folder (default: the shipped artifact of the default model)"

# Flag value types (fpps.cli_values): argparse refuses a value out of range with one error line.
_ALPHA, _TAU = float_in(0.0, 1.0, name="alpha"), float_in(0.0, 1.0, name="tau")
_GAMMA = float_in(0.0, 10.0, name="gamma")  # SteeringParams' GAMMA_MAX
_ALPHAS, _TAUS = floats_in(0.0, 1.0, name="alpha"), floats_in(0.0, 1.0, name="tau")
_GAMMAS = floats_in(0.0, 10.0, name="gamma")
_AT_LEAST_1, _AT_LEAST_0, _TOKENS = int_in(1), int_in(0), int_in(1, 4096)  # SamplingParams' max_tokens


def _cmd_chat(args: argparse.Namespace) -> int:
    from fpps.steering import RagPersonalizer, SamplingParams, SteeringParams, history_free_messages
    from fpps.steering import load_model
    from fpps.steering.artifact import load_artifact
    from fpps.steering.reference import steered_generate

    # Ranges were checked while parsing; a SteeringValidationError left over is one line (main).
    params = SteeringParams(mode=args.mode, alpha=args.strength, gamma=args.gamma, tau=args.tau)
    sampling = SamplingParams(max_tokens=args.max_tokens)
    sessions, dates, cur = load_history(args.history) if args.history else ([], None, None)
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
        from fpps.server.bench.engine import run_engine_bench

        result = run_engine_bench(out, quick=args.quick, repeats=args.repeats, ignore_eos=not args.stop_at_eos)
    elif args.target == "http":
        from fpps.server.bench.http import run_http_bench

        try:
            result = run_http_bench(args.url, out, requests=args.requests or (8 if args.quick else 30),
                                    threads=args.threads, api_key=args.api_key)
        except ValueError as e:  # the URL: not http(s), or not loopback
            raise _url_error(args.url, e) from None
    else:
        from fpps.server.bench.loadgen import LoadConfig, run_load

        try:
            config = LoadConfig(url=args.url, capacity=args.capacity, api_key=args.api_key,
                                requests_per_level=args.requests or (16 if args.quick else 64),
                                time_limit_s=args.time_limit, max_tokens=args.max_tokens,
                                respect_retry_after=not args.no_backoff)
            result = run_load(config, out)
        except ValueError as e:  # the URL (not http(s), not loopback); flag ranges are parsed
            raise _url_error(args.url, e) from None
    print(json.dumps(result, indent=2))
    return 0


def _url_error(url: str, e: ValueError) -> InputError:
    """A bench URL refused by its client, named as the flag (once)."""
    return InputError(str(e) if str(e).startswith("--url") else f"--url {url}: {e}")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    # The CLI is the one layer that may import both fpps.eval and fpps.steering: records are
    # read here and handed to the pipeline as plain steering-side examples.
    import hashlib

    from fpps.steering.calibrate import CalibrationConfig, CalibrationExample, calibrate

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)  # 1 is much faster on a shared, oversubscribed CPU

    records = read_records("--data", args.data, "train")  # before the model loads
    if args.limit:
        records = records[:args.limit]
    examples = []
    for r in records:
        for kind, qa in (("personalized", r.personalized), ("factual", r.factual)):
            if qa is None:
                continue
            examples.append(CalibrationExample(
                user_id=r.user_id, kind=kind, question=qa.question, answers=tuple(qa.answers),
                sessions=tuple(tuple(s) for s in r.sessions),
                dates=tuple(r.dates) if r.dates is not None else None,
                current_date=r.current_date))
    if not examples:
        raise InputError(f"--data {args.data}: no training questions")
    config = CalibrationConfig(max_tokens=args.max_tokens, top_k=args.top_k, method=args.method,
                               min_layer=args.min_layer, probe_labels=args.probe_labels,
                               probe_layer=args.probe_layer)
    if args.gammas:
        import dataclasses

        config = dataclasses.replace(config, gammas=args.gammas)
    from fpps.steering.errors import CalibrationDataError

    try:
        artifact = calibrate(examples, args.out, model=args.model, config=config,
                             cache_dir=args.cache_dir, name=args.name, reverse=args.reverse,
                             data_info={"file": os.path.basename(args.data), "users": len(records),
                                        "split": "train", "limit": args.limit,
                                        "sha256": hashlib.sha256(Path(args.data).read_bytes()).hexdigest()})
    except CalibrationDataError as e:  # found after pass A: still the data's (and the flags') fault
        limit = f"--limit {args.limit}: " if args.limit else ""
        raise InputError(f"--data {args.data} ({limit}{len(records)} users, --max-tokens {args.max_tokens}): "
                         f"{e}") from None
    print(f"artifact: {args.out} layer={artifact.layer} probe_layer={artifact.probe_layer} "
          f"defaults={dict(artifact.defaults)}")
    return 0


def _examples(path: str, split: str) -> list[Any]:
    """A PFQABench file's questions (one split) as steering-side calibration examples."""
    from fpps.eval.records import load_records
    from fpps.steering.calibrate import CalibrationExample

    out = []
    for r in load_records(path, split=split):  # type: ignore[arg-type]
        for kind, qa in (("personalized", r.personalized), ("factual", r.factual)):
            if qa is not None:
                out.append(CalibrationExample(
                    user_id=r.user_id, kind=kind, question=qa.question, answers=tuple(qa.answers),
                    sessions=tuple(tuple(s) for s in r.sessions),
                    dates=tuple(r.dates) if r.dates is not None else None, current_date=r.current_date))
    return out


def _specs(text: str | None) -> list[str]:
    """The items of a comma-separated flag value, blanks dropped."""
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def _gate_line(name: str, g: dict[str, Any]) -> str:
    return (f"{name:>10}: personal gated {g['personal_gated']:5.1f}% of {g['n_personal']}, factual gated "
            f"{g['factual_gated']:5.1f}% of {g['n_factual']}, AUC {g['auc']}")


def every_kth_user(examples: list[Any], max_users: int) -> list[Any]:
    """At most `max_users` users' questions: every k-th user id in sorted order (k the
    smallest that fits), so a large training file costs bounded prefill time, deterministically."""
    users = sorted({e.user_id for e in examples})
    keep = set(users[::-(-len(users) // max_users)])
    return [e for e in examples if e.user_id in keep]


def _cmd_calibrate_gate(args: argparse.Namespace) -> int:
    """Fit the gate candidates on training data, choose on the dev set, report, save."""
    import hashlib

    from fpps.steering import load_model
    from fpps.steering.artifact import load_artifact, save_artifact
    from fpps.steering.calibrate_gate import CANDIDATES, choose_gate, gate_states, state_layers

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    names = _specs(args.candidates) if args.candidates else list(CANDIDATES)
    bad = [n for n in names if n not in CANDIDATES]
    if bad:  # before the model loads
        raise InputError(f"--candidates {args.candidates}: unknown {bad}; known: {list(CANDIDATES)}")
    adapter = load_model(args.model)
    base = load_artifact(args.artifact, fingerprint=adapter.fingerprint, hidden_size=adapter.hidden_size,
                         num_layers=adapter.num_layers)
    cache = args.cache_dir or os.path.join(args.out, "cache")
    extra = state_layers(base, names)

    def states(spec: str, split: str, flag: str) -> tuple[str, Any]:
        path, sp = data_spec(spec, split, flag)
        ex = _examples(path, sp)
        if not ex:
            raise InputError(f"{flag} {spec}: no questions in split {sp!r}")
        info = f"{os.path.basename(path)}:{sp}"
        if flag == "--data" and args.max_users:
            ex = every_kth_user(ex, args.max_users)
            info += f" ({len({e.user_id for e in ex})} users, --max-users {args.max_users})"
        print(f"{info}: {len(ex)} questions", file=sys.stderr)
        return info, gate_states(adapter, base, ex, top_k=args.top_k, cache_dir=cache, layers=extra,
                                 log=lambda m: print(f"{info} {m}", file=sys.stderr))

    from fpps.steering.calibrate_gate import GateStates

    parts = [states(d, "train", "--data") for d in _specs(args.data)]
    train = GateStates.concat([p[1] for p in parts])
    dev_name, dev = states(args.dev, "dev", "--dev")
    reports = dict(states(r, "test", "--report") for r in _specs(args.report))
    choice = choose_gate(base, train, dev, reports, C=args.C, max_personal=args.max_personal, candidates=names)
    for row in choice.table:
        mark = "*" if row["candidate"] == choice.name else " "
        print(f"{mark} {row['candidate']} (tau {row['tau']:g})")
        print(_gate_line("dev", row["dev"]))
        for k in reports:
            print(_gate_line(k, row[k]))
    best = next(r for r in choice.table if r["candidate"] == choice.name)
    print(f"chosen: {choice.name} (dev: {best['dev']['personal_gated']}% personal gated, "
          f"{best['dev']['factual_gated']}% factual gated)")
    for title, key in (("personal questions gated hard", "personal_misses"),
                       ("factual questions not gated", "factual_misses")):
        for m in best["dev"][key]:
            print(f"  dev miss ({title}): p_hat {m['p_hat']:.2f} {m['user_id']} {m['question']}")
    paths = [data_spec(d, "train", flag)[0] for flag, specs in (("--data", args.data), ("--dev", args.dev),
                                                                  ("--report", args.report))
             for d in _specs(specs)]
    sha = {os.path.basename(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}
    manifest_gate = {"chosen": choice.name, "rule": f"most factual gated with personal gated <= "
                     f"{args.max_personal}% on the dev set; weights fitted on the training data only",
                     "fit": [p[0] for p in parts], "dev": dev_name, "reports": list(reports), "C": args.C,
                     "data_sha256": sha, "ablation": choice.table}
    base_manifest = {k: v for k, v in base.manifest.items() if k not in ("tensors_sha256", "command_line")}
    import dataclasses

    art = dataclasses.replace(choice.artifact, manifest={**base_manifest, "gate": manifest_gate})
    save_artifact(art, args.out, name=args.name or base.manifest.get("name"))
    print(f"artifact: {args.out} gate={choice.name} defaults={dict(art.defaults)}")
    return 0


def _probe_layer_arg(value: str) -> int | str:
    if value in ("auto", "edit"):
        return value
    try:
        block = int(value)
    except ValueError:
        block = -1
    if block < 0:
        raise argparse.ArgumentTypeError(f"expected auto, edit or a block number >= 0, not {value!r}")
    return block


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


def _cmd_serve(args: argparse.Namespace) -> int:
    from fpps.preflight_serve import server_args

    checked = server_args(args)  # flags > FPPS_DATABASE_URL > --config; every path checked
    from fpps.server.http.app import run_local  # Ray starts only past the checks

    return run_local(checked, ready_file=os.environ.get("FPPS_READY_FILE"))


def _cmd_eval(args: argparse.Namespace) -> int:
    # The CLI may import both fpps.eval and fpps.steering; fpps.eval imports the Ray-free engine.
    from fpps.eval.judges import make_judge
    from fpps.eval.records import bundled_path
    from fpps.eval.backends import EngineBackend, HttpBackend
    from fpps.eval.runner import EvalConfig, evaluate

    data = args.data or str(bundled_path())
    try:  # ranges were checked while parsing; what is left is a cross-field rule
        config = EvalConfig(modes=args.modes, strengths=args.strengths or (1.0,),
                            gammas=args.gammas or (None,), taus=args.taus or (None,),
                            max_tokens=args.max_tokens, top_k=args.top_k, method=args.method)
        judge = make_judge(args.judge, url=args.judge_url, model=args.judge_model,
                           api_key=args.judge_api_key)
    except ValueError as e:
        raise InputError(str(e)) from None
    records = read_records("--data", data, args.split)  # before the model loads
    if args.limit:
        records = records[:args.limit]
    shard = args.shard
    if shard is not None:  # this worker's users only; answers go to the shared OUT cache
        records = records[shard[0]::shard[1]]
    if not records:
        raise InputError(f"--shard {shard[0]}/{shard[1]}: no {args.split} records of {data} for this worker")
    if args.url:
        backend: Any = HttpBackend(args.url, api_key=args.api_key, concurrency=args.concurrency)
    else:
        from fpps.steering import load_model
        from fpps.steering.artifact import load_artifact

        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        adapter = load_model(args.model)
        artifact = None  # --artifact none needs --modes off (checked before the model loaded)
        if (args.artifact or "").lower() != "none":
            artifact = load_artifact(args.artifact, fingerprint=adapter.fingerprint,
                                     hidden_size=adapter.hidden_size, num_layers=adapter.num_layers)
        if args.hard_reach and artifact is not None:
            import dataclasses

            artifact = dataclasses.replace(artifact, defaults={**dict(artifact.defaults),
                                                               "hard_reach": args.hard_reach})
        backend = EngineBackend(adapter, artifact, batch_size=args.batch_size)
    from fpps.eval.reports import _sha256

    prov = {"data": {"file": os.path.basename(data), "sha256": _sha256(data), "split": args.split,
                     "records": len(records), "limit": args.limit}}
    if shard is not None:
        from fpps.eval.runner import run_eval

        try:
            done = run_eval(records, backend, args.out, config, progress=not args.quiet)
        finally:
            backend.close()
        print(f"shard {shard[0]}/{shard[1]}: {len(done)} answers in {args.out}; run again without --shard "
              "(same options) to report")
        return 0
    try:
        report = evaluate(records, backend, args.out, config, judge=judge, progress=not args.quiet,
                          plots=not args.no_plots, boot=args.bootstrap, provenance=prov)
    finally:
        backend.close()
    print(f"{'mode':<7} {'P':>6} {'F':>6} {'Overall':>8} {'F_noH':>6} {'hall':>6} {'recov':>6} {'broken':>6}")
    for mode, m in report["modes"].items():
        vals = [m[k] for k in ("P", "F", "Overall", "F_without_history", "hallucination_rate",
                               "recovered_share", "personal_broken")]
        print(f"{mode:<7} " + " ".join(f"{v:>6.1f}" if v is not None else f"{'-':>6}" for v in vals))
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def _cmd_pfqabench(args: argparse.Namespace) -> int:
    from fpps.eval.pfqabench import build_pfqabench, make_encoder

    try:
        summary = build_pfqabench(args.longmemeval, [p for p in (args.hotpotqa, args.twowiki) if p],
                                  args.out, encoder=make_encoder(args.encoder),
                                  per_session=args.per_session, pool=args.pool,
                                  test_fraction=args.test_fraction, seed=args.seed)
    except ValueError as e:  # a file of another shape (the message names it)
        raise InputError(str(e)) from None
    print(json.dumps(summary, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fpps", description=(
        "Factuality-Preserving Personalized Steering: serve, calibrate, chat, evaluate, benchmark."))
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pr = sub.add_parser("prepare", help="convert the default model once and check the artifact")
    pr.add_argument("--model", help=_MODEL_HELP), pr.add_argument("--artifact", help=_ARTIFACT_HELP)
    pr.set_defaults(func=_cmd_prepare)

    s = sub.add_parser("serve", help="start the OpenAI-compatible steering server")
    s.add_argument("--model", help=_MODEL_HELP), s.add_argument("--artifact", help=_ARTIFACT_HELP)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int_in(0, 65535), default=8000, help="HTTP port (default 8000)")
    s.add_argument("--replicas", type=_AT_LEAST_1, default=1,
                   help="model replicas, each with its own engine (default 1)")
    s.add_argument("--config", metavar="PATH", help="Ray Serve config YAML (as fpps_server/http/serve.yaml); "
                   "flags given here win over its values")
    s.add_argument("--database-url", metavar="URL", help="SQLAlchemy URL of the user-memory store, e.g. "
                   "postgresql+psycopg://user:pw@host/db (also FPPS_DATABASE_URL; default: a SQLite file "
                   "in the cache folder)")
    s.add_argument("--reports", metavar="DIR", help="show the `fpps eval` report folders under DIR "
                   "in the playground page (GET /)")
    s.add_argument("--api-key", action="append", help="require this Bearer key (repeatable; "
                   "also FPPS_API_KEYS=k1,k2 or FPPS_API_KEY_FILE)")
    s.add_argument("--api-key-file", metavar="PATH", help="key file: one key per line, or YAML/JSON "
                   "key ids scoped to users with mode/strength limits (see fpps_server/http/tenancy.py)")
    s.add_argument("--audit-log", metavar="PATH", help="append one JSON line per steering decision "
                   "(key id, user, mode, p_hat, gate, strength, request id; never message text)")
    s.set_defaults(func=_cmd_serve)

    c = sub.add_parser("calibrate", help="fit layer, probe, steering vector and gamma/tau")
    c.add_argument("--model", help=_MODEL_HELP)
    c.add_argument("--data", required=True, help="PFQABench JSONL whose train split calibrates")
    c.add_argument("--out", required=True, help="artifact folder to write (manifest.json + safetensors, plots)")
    c.add_argument("--method", default="rag", choices=["rag"], help="personalization method (rag)")
    c.add_argument("--limit", type=_AT_LEAST_1, help="use at most N training records (quick runs)")
    c.add_argument("--max-tokens", type=_TOKENS, default=32, help="greedy answer length")
    c.add_argument("--top-k", type=_AT_LEAST_1, default=3, help="sessions retrieved for the RAG prompt")
    c.add_argument("--min-layer", type=_AT_LEAST_0, default=0, help="never select a layer below this")
    c.add_argument("--cache-dir", help="generation/state cache (default OUT/cache; resumable)")
    c.add_argument("--name", help="artifact name recorded in the manifest (default: OUT's name)")
    c.add_argument("--threads", type=_AT_LEAST_1, help="torch CPU threads (default: torch's choice)")
    c.add_argument("--gammas", type=_GAMMAS,
                   help="comma-separated gamma grid (default 0,0.1,0.3,0.5,1,2,3)")
    c.add_argument("--probe-labels", default="auto", choices=["auto", "groups", "kinds"],
                   help="probe training set: the paper's groups (degraded=1, beneficial=0), "
                   "kinds (every factual=1, every personal=0), or auto (the better out-of-fold gate "
                   "on every training question; kinds when a group has < 8)")
    c.add_argument("--probe-layer", default="auto", type=_probe_layer_arg,
                   help="block the probe reads: edit (= the selected layer L, the paper), a block "
                   "number <= L, or auto (the block 0..L whose probe gates best out of fold)")
    c.add_argument("--reverse", action="store_true", help="process questions last-first: a "
                   "second worker on the same --cache-dir halves the wall time")
    c.set_defaults(func=_cmd_calibrate)

    g = sub.add_parser("calibrate-gate", help="fit the gate candidates on training data, choose one "
                       "on the hand-written dev set, report and save the artifact with it")
    g.add_argument("--artifact", help="artifact whose layer, probe and s_f are kept (default: shipped)")
    g.add_argument("--model", help="model folder (default: the embedded SmolLM2-135M-Instruct)")
    g.add_argument("--data", default="mini,broad", help="comma-separated FILE[:SPLIT] to fit on "
                   "(split train unless given; mini, broad and dev name the bundled files)")
    g.add_argument("--dev", default="dev", help="FILE[:SPLIT] that chooses the gate (never fitted)")
    g.add_argument("--report", default="mini:test", help="comma-separated FILE[:SPLIT] only reported")
    g.add_argument("--out", required=True, help="folder for the new artifact")
    g.add_argument("--cache-dir", help="state cache (default OUT/cache)")
    g.add_argument("--candidates", help="comma-separated subset of the gate candidates (default: all)")
    g.add_argument("--C", type=float_in(0.0, name="C", open_lo=True), default=1.0,
                   help="inverse L2 strength of the logistic gates")
    g.add_argument("--max-personal", type=float_in(0.0, 100.0, name="a percentage"), default=5.0,
                   help="choice rule: at most this %% of dev personal questions gated")
    g.add_argument("--top-k", type=_AT_LEAST_1, default=3, help="sessions retrieved for the RAG prompt")
    g.add_argument("--max-users", type=_AT_LEAST_1, help="fit on at most this many users per --data "
                   "file (every k-th user id, sorted): bounds the prefill cost (default: all)")
    g.add_argument("--threads", type=_AT_LEAST_1, help="torch CPU threads")
    g.add_argument("--name", help="artifact name (default: the base artifact's)")
    g.set_defaults(func=_cmd_calibrate_gate)

    ch = sub.add_parser("chat", help="one greedy steered answer to a question, with a user history")
    ch.add_argument("question", help="the question to answer")
    ch.add_argument("--history", help="JSON file: list of sessions, {sessions, dates}, or a PFQABench record")
    ch.add_argument("--mode", default="mixed", choices=MODES, help="off | hard | soft | mixed")
    ch.add_argument("--strength", type=_ALPHA, default=1.0, help="alpha in [0, 1]")
    ch.add_argument("--gamma", type=_GAMMA, help="soft strength gamma (default: the artifact's)")
    ch.add_argument("--tau", type=_TAU, help="gate threshold tau (default: the artifact's)")
    ch.add_argument("--compare", action="store_true", help="also print the unsteered answer")
    ch.add_argument("--model", help=_MODEL_HELP), ch.add_argument("--artifact", help=_ARTIFACT_HELP)
    ch.add_argument("--date", help="current date for the prompt")
    ch.add_argument("--top-k", type=_AT_LEAST_1, default=3, help="sessions retrieved for the RAG prompt")
    ch.add_argument("--max-tokens", type=_TOKENS, default=64, help="answer length in tokens (default 64)")
    ch.set_defaults(func=_cmd_chat)

    e = sub.add_parser("eval", help="run PFQABench and write report.json/report.md/plots")
    e.add_argument("--data", help="PFQABench JSONL (default: the bundled mini benchmark)")
    e.add_argument("--out", required=True, help="folder for answers, report.json, report.md, plots")
    e.add_argument("--split", default="test", choices=["train", "test", "dev", "all"],
                   help="records to evaluate (default test)")
    e.add_argument("--url", help="evaluate a running fpps server instead of an in-process engine")
    e.add_argument("--api-key", help="Bearer key of the server with --url")
    e.add_argument("--model", help=_MODEL_HELP), e.add_argument("--artifact", help=_ARTIFACT_HELP)
    e.add_argument("--modes", default="off,hard,soft,mixed", type=mode_list, help="comma-separated steering modes")
    e.add_argument("--strengths", type=_ALPHAS,
                   help="comma-separated alphas for a sweep (plus the default 1)")
    e.add_argument("--gammas", type=_GAMMAS, help="comma-separated gamma values for a sweep")
    e.add_argument("--taus", type=_TAUS, help="comma-separated tau values for a sweep")
    e.add_argument("--hard-reach", choices=["layer", "all"],
                   help="override the artifact's hard_reach: the hard edit at block L only, or "
                        "blocks L..N-1 from the twin (in-process)")
    e.add_argument("--judge", default="contains", choices=["contains", "llm"],
                   help="contains (normalized answer match, default) or llm (an OpenAI-compatible judge)")
    e.add_argument("--judge-url", help="llm judge: base URL of its OpenAI-compatible server")
    e.add_argument("--judge-model", help="llm judge: model name")
    e.add_argument("--judge-api-key", help="llm judge: Bearer key")
    e.add_argument("--limit", type=_AT_LEAST_1, help="evaluate the first N records only")
    e.add_argument("--shard", type=shard_spec, help="I/N: generate only every N-th user from the I-th into OUT's "
                   "answer cache (N workers share OUT; a final run without --shard reports)")
    e.add_argument("--max-tokens", type=_TOKENS, default=32, help="greedy answer length")
    e.add_argument("--top-k", type=_AT_LEAST_1, default=3, help="sessions retrieved for the RAG prompt")
    e.add_argument("--method", default="rag", choices=["rag", "pag"],
                   help="personalization: rag (the paper's prompt) or pag (profile summary + one "
                        "session; in-process only)")
    e.add_argument("--batch-size", type=_AT_LEAST_1, default=8, help="in-process rows per engine batch")
    e.add_argument("--concurrency", type=_AT_LEAST_1, default=8, help="concurrent requests with --url")
    e.add_argument("--threads", type=_AT_LEAST_1, help="torch CPU threads (in-process)")
    e.add_argument("--bootstrap", type=_AT_LEAST_0, default=1000, help="bootstrap resamples (0: no CIs)")
    e.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=_cmd_eval)

    b = sub.add_parser("bench", help="benchmarks with JSON output: kernel | engine | load | http")
    b.add_argument("target", choices=["kernel", "engine", "load", "http"], help="what to benchmark")
    b.add_argument("--out", help="folder for bench-<target>.json")
    b.add_argument("--url", help="load, http: base URL of a running fpps server (loopback only)")
    b.add_argument("--quick", action="store_true", help="fewer requests and rounds (smoke run)")
    b.add_argument("--threads", type=_AT_LEAST_1, default=1,
                   help="http: torch threads of the in-process engine; match the replica's (num_cpus)")
    b.add_argument("--repeats", type=_AT_LEAST_1, default=3,
                   help="engine: interleaved rounds of every scenario; each reports its median round")
    b.add_argument("--stop-at-eos", action="store_true",
                   help="engine: answers end at end-of-sequence (their natural lengths) instead of "
                        "every request decoding exactly max_tokens")
    b.add_argument("--capacity", type=_AT_LEAST_1, help="load: requests the server holds (default: "
                   "max_batch_size + max_queue from /ready); levels run 1x, 2x, 4x this many clients")
    b.add_argument("--requests", type=int_in(1, 100000),
                   help="load: request budget per level (default 64; 16 with --quick); "
                   "http: sequential requests per side (default 30; 8 with --quick)")
    b.add_argument("--time-limit", type=float_in(0.0, 3600.0, name="seconds", open_lo=True), default=120.0,
                   help="load: seconds per level at most")
    b.add_argument("--max-tokens", type=int_in(1, 256), default=4, help="load: tokens decoded per request")
    b.add_argument("--api-key", help="load: Bearer key of the server")
    b.add_argument("--no-backoff", action="store_true",
                   help="load: send the next request at once after a 503 instead of waiting Retry-After")
    b.set_defaults(func=_cmd_bench)

    pb = sub.add_parser("pfqabench", help="build PFQABench from upstream files")
    pb.add_argument("action", choices=["build"], help="build: write the benchmark JSONL")
    pb.add_argument("--longmemeval", required=True, help="LongMemEval JSON (e.g. longmemeval_s.json)")
    pb.add_argument("--hotpotqa", help="HotpotQA JSON/JSONL (official or Hugging Face shape)")
    pb.add_argument("--twowiki", help="2WikiMultiHopQA JSON/JSONL")
    pb.add_argument("--out", required=True, help="output JSONL (a .manifest.json goes beside it)")
    pb.add_argument("--encoder", default="tfidf", type=encoder_spec,
                    help="tfidf (offline, default) or st:MODEL (sentence-transformers, e.g. st:BAAI/bge-m3)")
    pb.add_argument("--per-session", type=_AT_LEAST_1, default=10, help="FactQA hits retrieved per session")
    pb.add_argument("--pool", type=_AT_LEAST_1, default=100, help="candidates kept per user")
    pb.add_argument("--test-fraction", default=0.5,
                    type=float_in(0.0, 1.0, name="the test fraction", open_lo=True, open_hi=True),
                    help="share of users in the test split")
    pb.add_argument("--seed", type=int, default=0, help="seed of the user split")
    pb.set_defaults(func=_cmd_pfqabench)
    return p


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]  # type: ignore[no-any-return]


def _is_input_error(e: Exception) -> bool:
    """Errors that blame an input found only once the work began (an artifact fitted on another
    model, a record file of another shape): one line, like a flag error, not a traceback."""
    from fpps.eval.records import RecordError
    from fpps.steering.errors import (ArtifactMismatchError, SteeringValidationError, UnknownArtifactError,
                                      UnsupportedModelError)

    return isinstance(e, (InputError, RecordError, ArtifactMismatchError, SteeringValidationError,
                          UnknownArtifactError, UnsupportedModelError))


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    """What `parser.error` prints (usage, then `fpps CMD: error: ...` on one line), returned as
    status 2 instead of raised."""
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `fpps` subcommand and return its exit status, never raising for a bad input:
    argparse's own errors and those of `fpps.preflight` (run before any model loads or Ray
    starts) are usage plus one `error:` line and status 2; `--help` is 0."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed the help or its error line
        return e.code if isinstance(e.code, int) else 2
    try:
        check_inputs(args)
        return int(args.func(args) or 0)
    except Exception as e:
        if not _is_input_error(e):
            raise
        return _usage_error(_subparser(parser, args.command), str(e))


if __name__ == "__main__":
    sys.exit(main())

