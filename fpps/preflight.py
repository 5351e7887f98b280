"""Checks of the `fpps` command line that run before any heavy work.

What: `check_inputs(args)` looks at every path, file format and cross-flag rule of the parsed
subcommand and raises `InputError` whose message starts with the flag it blames
(`--model /nonexistent: no such folder`); `fpps.cli.main` prints it as argparse does, usage and
one `fpps CMD: error: ...` line, and exits with status 2. `load_history` and `data_spec` are the
readers of `--history` and `FILE[:SPLIT]` specs, shared with the subcommands so that the check
and the use cannot disagree. Value ranges are argparse `type=` functions in `fpps.cli_values`.

Why: a missing folder or a malformed file otherwise surfaces after Ray has started or a model
has loaded, as a traceback from deep inside them (issue 21). The checks only read: they create
no file or folder, connect to no database or hub, and load no model; what is left to fail after
them (an artifact fitted on another model) needs the model loaded. The path checks themselves are
in `fpps.preflight_paths`; `fpps serve`'s merged settings in `fpps.preflight_serve`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from fpps.preflight_paths import (InputError, check_artifact, check_file, check_fits, check_model,
                                  check_out_dir, check_out_file, read_json)
from fpps.preflight_serve import server_args

__all__ = ["InputError", "check_inputs", "data_spec", "load_history", "read_records"]


# ---- data files -----------------------------------------------------------------------------

def load_history(path: str, where: str = "--history") -> tuple[list[list[dict[str, str]]], list[str] | None,
                                                                str | None]:
    """Sessions, dates and current date from a JSON file: a list of sessions, an object with
    `sessions` (and optional `dates`, `current_date`), or a PFQABench record.

    Raises:
        InputError: a missing or unreadable file, not JSON, or JSON of another shape.
    """
    data = read_json(where, path)

    def bad(what: str) -> InputError:
        return InputError(f"{where} {path}: {what}")

    if isinstance(data, dict) and "history" in data:
        if not isinstance(data["history"], dict):
            raise bad("'history' must be an object with 'sessions'")
        data = dict(data["history"], current_date=data.get("current_date"))
    if isinstance(data, list):
        data = {"sessions": data}
    if not isinstance(data, dict) or not isinstance(data.get("sessions"), list):
        raise bad("expected a list of sessions or an object with 'sessions'")
    sessions = data["sessions"]
    for i, s in enumerate(sessions):
        if not isinstance(s, list) or not all(isinstance(m, dict) and isinstance(m.get("content"), str)
                                              and m.get("role") in ("user", "assistant", "system")
                                              for m in s):
            raise bad(f"sessions[{i}] must be a list of {{role, content}} messages")
    dates, cur = data.get("dates"), data.get("current_date")
    if dates is not None and (not isinstance(dates, list) or len(dates) != len(sessions)
                              or not all(isinstance(d, str) for d in dates)):
        raise bad("'dates' must be a list of strings, one per session")
    if cur is not None and not isinstance(cur, str):
        raise bad("'current_date' must be a string")
    return sessions, dates, cur


def data_spec(spec: str, default_split: str, where: str) -> tuple[str, str]:
    """`FILE[:SPLIT]` -> (path, split), where FILE may be a bundled name (mini, broad, dev)."""
    from fpps.eval.records import BUNDLED_NAMES, SPLITS, bundled_path

    path, _, split = spec.partition(":")
    if not Path(path).exists() and path in BUNDLED_NAMES:
        path = str(bundled_path(path))
    check_file(where, path)
    split = split or default_split
    if split not in (*SPLITS, "all"):
        raise InputError(f"{where} {spec}: split must be one of {', '.join((*SPLITS, 'all'))}, not {split!r}")
    return path, split


def read_records(where: str, path: str, split: str) -> list[Any]:
    """The records of a PFQABench file (every line validated), one split; none is an error.

    Raises:
        InputError: not text, a line that breaks the format (its number and field named), or no
            record of `split`.
    """
    from fpps.eval.records import RecordError, load_records

    try:
        records = load_records(path, split=split)  # type: ignore[arg-type]
    except UnicodeDecodeError:
        raise InputError(f"{where} {path}: not a text file") from None
    except RecordError as e:
        raise InputError(f"{where} {path}: {e}") from None
    if not records:
        raise InputError(f"{where} {path}: no {split} records")
    return records


# ---- the subcommands ------------------------------------------------------------------------

def _model_and_artifact(a: argparse.Namespace, *, none_ok: bool = False) -> None:
    check_model("--model", a.model)
    check_artifact("--artifact", a.artifact, none_ok=none_ok)
    check_fits("--model", a.model, "--artifact", a.artifact)


def _prepare(a: argparse.Namespace) -> None:
    _model_and_artifact(a)


def _serve(a: argparse.Namespace) -> None:
    server_args(a)  # run again by `fpps serve` itself: checking reads, it keeps nothing


def _calibrate(a: argparse.Namespace) -> None:
    check_model("--model", a.model)
    check_file("--data", a.data)  # its records are read (and checked) before the model loads
    check_out_dir("--out", a.out)
    if a.cache_dir:
        check_out_dir("--cache-dir", a.cache_dir)


def _calibrate_gate(a: argparse.Namespace) -> None:
    _model_and_artifact(a)
    for flag, specs, split in (("--data", a.data, "train"), ("--dev", a.dev, "dev"),
                               ("--report", a.report or "", "test")):
        for spec in (s for s in specs.split(",") if s.strip()):
            path, sp = data_spec(spec.strip(), split, flag)
            read_records(flag, path, sp)  # the model loads before the first spec is used
    if not a.data.strip():
        raise InputError("--data: give at least one FILE[:SPLIT] to fit on")
    check_out_dir("--out", a.out)
    if a.cache_dir:
        check_out_dir("--cache-dir", a.cache_dir)


def _chat(a: argparse.Namespace) -> None:
    if a.history:
        load_history(a.history)
    _model_and_artifact(a)


def _eval(a: argparse.Namespace) -> None:
    if a.data:
        check_file("--data", a.data)  # its records are read (and checked) before the model loads
    check_out_dir("--out", a.out)
    if a.url:
        given = [f for f, v in (("--model", a.model), ("--artifact", a.artifact),
                                ("--hard-reach", a.hard_reach)) if v]
        if given:
            raise InputError(f"{given[0]}: --url evaluates the server's model; drop --model/--artifact/--hard-reach")
        if a.method != "rag":
            raise InputError("--method: --url evaluates the server's RAG personalization; run pag in-process")
    else:
        _model_and_artifact(a, none_ok=True)
        if (a.artifact or "").lower() == "none" and set(a.modes) != {"off"}:
            raise InputError("--artifact none: steering modes need an artifact (or use --modes off)")
    if a.judge == "llm" and not (a.judge_url and a.judge_model):
        raise InputError("--judge llm: needs --judge-url and --judge-model")


def _bench(a: argparse.Namespace) -> None:
    if a.out:
        check_out_dir("--out", a.out)
    if a.target in ("load", "http") and not a.url:
        raise InputError(f"bench {a.target} needs --url of a running server (loopback only)")


def _pfqabench(a: argparse.Namespace) -> None:
    check_file("--longmemeval", a.longmemeval)
    if not a.hotpotqa and not a.twowiki:
        raise InputError("--hotpotqa/--twowiki: give one or both (the factual side)")
    for flag, path in (("--hotpotqa", a.hotpotqa), ("--twowiki", a.twowiki)):
        if path:
            check_file(flag, path)
    check_out_file("--out", a.out)


_CHECKS: dict[str, Callable[[argparse.Namespace], None]] = {
    "prepare": _prepare, "serve": _serve, "calibrate": _calibrate, "calibrate-gate": _calibrate_gate,
    "chat": _chat, "eval": _eval, "bench": _bench, "pfqabench": _pfqabench,
}


def check_inputs(args: argparse.Namespace) -> None:
    """Check the parsed subcommand's paths, files and cross-flag rules (see the module doc).

    Raises:
        InputError: the first bad input; its message begins with the flag.
    """
    check = _CHECKS.get(args.command)
    if check is not None:
        check(args)
