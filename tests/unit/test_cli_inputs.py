"""`fpps` fails like a tool, not like a stack (issue 21): a missing file, a file of the wrong
format or a value out of range ends in usage plus one `fpps CMD: error: ...` line naming the
flag, exit status 2, no traceback, and happens before Ray starts or a model loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

import fpps.cli as cli
import fpps.steering
from fpps.preflight import load_history
from fpps.preflight_paths import InputError, check_artifact, check_model, check_out_file

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "steering" / "artifacts" / "smollm2-135m-rag"
MINI = REPO / "eval" / "data" / "pfqabench-mini.jsonl"
SESSION = [{"role": "user", "content": "I live in Sydney."}]


def _boom(*_: object, **__: object) -> None:
    raise AssertionError("heavy work ran before the inputs were checked")


@pytest.fixture
def no_heavy_work(monkeypatch):
    """Subcommand bodies and model loaders fail the test: a check must refuse first. `eval` and
    `calibrate` read their records in the body (once: the files can be large), before the model
    loads, so for them the loaders are what must not run."""
    for name in dir(cli):
        if name.startswith("_cmd_") and name not in ("_cmd_eval", "_cmd_calibrate"):
            monkeypatch.setattr(cli, name, _boom)
    monkeypatch.setitem(vars(fpps.steering), "load_model", _boom)  # no lazy import of torch
    monkeypatch.setattr("fpps.steering.calibrate.calibrate", _boom)
    monkeypatch.setattr("fpps.eval.backends.EngineBackend", _boom)
    monkeypatch.setattr("fpps.eval.backends.HttpBackend", _boom)
    monkeypatch.delenv("FPPS_DATABASE_URL", raising=False)
    monkeypatch.delenv("FPPS_API_KEY_FILE", raising=False)


@pytest.fixture
def f(tmp_path) -> SimpleNamespace:
    """Inputs of every wrong kind."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty-artifact").mkdir()
    (tmp_path / "model-without-config").mkdir()
    (tmp_path / "tiny-model").mkdir()
    (tmp_path / "tiny-model" / "config.json").write_text(json.dumps({"hidden_size": 64, "num_hidden_layers": 2}))
    files = {
        "text": "just some text\n",
        "notjson.json": "{not json",
        "wrongshape.json": json.dumps({"sessions": "not a list"}),
        "badmessages.json": json.dumps([[{"role": "bot", "content": "hi"}]]),
        "list.yaml": "- a\n- b\n",
        "broken.yaml": "applications: [\n",
        "badargs.yaml": yaml.safe_dump({"applications": [{"args": {"port": 99999}}]}),
        "unknown.yaml": yaml.safe_dump({"applications": [{"args": {"modle": "x"}}]}),
        "keys.yaml": yaml.safe_dump({"keys": {"tenant-a": {"key": "k", "bogus": 1}}}),
        "bad.jsonl": '{"user_id": "u1"}\n',
        "lme.json": "[]",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return SimpleNamespace(root=tmp_path, missing=str(tmp_path / "missing.json"),
                           **{k.replace(".", "_").replace("-", "_"): str(tmp_path / k)
                              for k in [*files, "folder", "empty-artifact", "model-without-config", "tiny-model"]})


def _fails(argv: list[str], flag: str, capsys) -> str:
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    errors = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(errors) == 1 and err.rstrip().splitlines()[-1] == errors[0], err
    assert errors[0].startswith(f"fpps {argv[0]}: error: ") and flag in errors[0], errors[0]
    assert "Traceback" not in out + err and out == ""
    return errors[0]


# (subcommand, argv from the inputs, flag the error names); (a) missing, (b) wrong format, (c) bad value
CASES = [
    ("prepare", lambda f: ["prepare", "--model", "/nonexistent/model"], "--model"),
    ("prepare", lambda f: ["prepare", "--model", f.model_without_config], "--model"),
    ("prepare", lambda f: ["prepare", "--model", f.text], "--model"),
    ("prepare", lambda f: ["prepare", "--artifact", f.empty_artifact], "--artifact"),
    ("prepare", lambda f: ["prepare", "--model", "./not/a/hub/id"], "--model"),
    ("serve", lambda f: ["serve", "--model", "/nonexistent"], "--model"),
    ("serve", lambda f: ["serve", "--artifact", "/nonexistent"], "--artifact"),
    ("serve", lambda f: ["serve", "--config", f.missing], "--config"),
    ("serve", lambda f: ["serve", "--api-key-file", f.missing], "--api-key-file"),
    ("serve", lambda f: ["serve", "--reports", f.missing], "--reports"),
    ("serve", lambda f: ["serve", "--artifact", f.empty_artifact], "--artifact"),
    ("serve", lambda f: ["serve", "--config", f.list_yaml], "--config"),
    ("serve", lambda f: ["serve", "--config", f.broken_yaml], "--config"),
    ("serve", lambda f: ["serve", "--config", f.folder], "--config"),
    ("serve", lambda f: ["serve", "--config", f.badargs_yaml], "args.port"),
    ("serve", lambda f: ["serve", "--config", f.unknown_yaml], "args.modle"),
    ("serve", lambda f: ["serve", "--api-key-file", f.keys_yaml], "--api-key-file"),
    ("serve", lambda f: ["serve", "--audit-log", f.folder], "--audit-log"),
    ("serve", lambda f: ["serve", "--audit-log", f.text + "/audit.jsonl"], "--audit-log"),
    ("serve", lambda f: ["serve", "--model", f.tiny_model, "--artifact", str(SHIPPED)], "--artifact"),
    ("chat", lambda f: ["chat", "q", "--model", f.tiny_model, "--artifact", str(SHIPPED)], "hidden size"),
    ("serve", lambda f: ["serve", "--port", "70000"], "--port"),
    ("serve", lambda f: ["serve", "--replicas", "0"], "--replicas"),
    ("serve", lambda f: ["serve", "--database-url", "://nope"], "--database-url"),
    ("serve", lambda f: ["serve", "--database-url", "postgres://u@h/db"], "--database-url"),
    ("calibrate", lambda f: ["calibrate", "--data", f.missing, "--out", f.folder], "--data"),
    ("calibrate", lambda f: ["calibrate", "--data", f.folder, "--out", f.folder], "--data"),
    ("calibrate", lambda f: ["calibrate", "--data", f.bad_jsonl, "--out", f.folder], "--data"),
    ("calibrate", lambda f: ["calibrate", "--data", str(MINI), "--out", f.text], "--out"),
    ("calibrate", lambda f: ["calibrate", "--data", str(MINI), "--out", f.text + "/sub"], "--out"),
    ("calibrate", lambda f: ["calibrate", "--data", str(MINI), "--out", f.folder, "--limit", "0"], "--limit"),
    ("calibrate", lambda f: ["calibrate", "--data", str(MINI), "--out", f.folder, "--gammas", "0,x"], "--gammas"),
    ("calibrate", lambda f: ["calibrate", "--data", str(MINI), "--out", f.folder, "--max-tokens", "0"],
     "--max-tokens"),
    ("calibrate-gate", lambda f: ["calibrate-gate", "--out", f.folder, "--data", "mini," + f.missing], "--data"),
    ("calibrate-gate", lambda f: ["calibrate-gate", "--out", f.folder, "--artifact", f.missing], "--artifact"),
    ("calibrate-gate", lambda f: ["calibrate-gate", "--out", f.folder, "--dev", f.bad_jsonl], "--dev"),
    ("calibrate-gate", lambda f: ["calibrate-gate", "--out", f.folder, "--report", "mini:bogus"], "--report"),
    ("calibrate-gate", lambda f: ["calibrate-gate", "--out", f.text], "--out"),
    ("calibrate-gate", lambda f: ["calibrate-gate", "--out", f.folder, "--C", "0"], "--C"),
    ("calibrate-gate", lambda f: ["calibrate-gate", "--out", f.folder, "--top-k", "0"], "--top-k"),
    ("chat", lambda f: ["chat", "q", "--history", f.missing], "--history"),
    ("chat", lambda f: ["chat", "q", "--history", f.folder], "--history"),
    ("chat", lambda f: ["chat", "q", "--history", f.notjson_json], "--history"),
    ("chat", lambda f: ["chat", "q", "--history", f.wrongshape_json], "--history"),
    ("chat", lambda f: ["chat", "q", "--history", f.badmessages_json], "--history"),
    ("chat", lambda f: ["chat", "q", "--artifact", f.empty_artifact], "--artifact"),
    ("chat", lambda f: ["chat", "q", "--mode", "loud"], "--mode"),
    ("chat", lambda f: ["chat", "q", "--strength", "1.5"], "--strength"),
    ("chat", lambda f: ["chat", "q", "--tau", "-1"], "--tau"),
    ("chat", lambda f: ["chat", "q", "--max-tokens", "0"], "--max-tokens"),
    ("chat", lambda f: ["chat", "q", "--top-k", "0"], "--top-k"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--data", f.missing], "--data"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--data", f.bad_jsonl], "--data"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--data", f.folder], "--data"),
    ("eval", lambda f: ["eval", "--out", f.text], "--out"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--model", f.missing], "--model"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--artifact", "none"], "--artifact"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--url", "http://127.0.0.1:1", "--model", "x"], "--model"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--limit", "0"], "--limit"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--shard", "3/2"], "--shard"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--modes", "off,loud"], "--modes"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--strengths", "0.5,2"], "--strengths"),
    ("eval", lambda f: ["eval", "--out", f.folder, "--judge", "llm"], "--judge"),
    ("bench", lambda f: ["bench", "engine", "--out", f.text], "--out"),
    ("bench", lambda f: ["bench", "load"], "--url"),
    ("bench", lambda f: ["bench", "http"], "--url"),
    ("bench", lambda f: ["bench", "load", "--url", "http://127.0.0.1:1", "--requests", "0"], "--requests"),
    ("bench", lambda f: ["bench", "engine", "--repeats", "0"], "--repeats"),
    ("bench", lambda f: ["bench", "load", "--url", "http://127.0.0.1:1", "--time-limit", "0"], "--time-limit"),
    ("pfqabench", lambda f: ["pfqabench", "build", "--longmemeval", f.missing, "--hotpotqa", f.lme_json,
                             "--out", f.root.joinpath("o.jsonl").as_posix()], "--longmemeval"),
    ("pfqabench", lambda f: ["pfqabench", "build", "--longmemeval", f.lme_json, "--twowiki", f.missing,
                             "--out", f.root.joinpath("o.jsonl").as_posix()], "--twowiki"),
    ("pfqabench", lambda f: ["pfqabench", "build", "--longmemeval", f.lme_json, "--hotpotqa", f.folder,
                             "--out", f.root.joinpath("o.jsonl").as_posix()], "--hotpotqa"),
    ("pfqabench", lambda f: ["pfqabench", "build", "--longmemeval", f.lme_json, "--hotpotqa", f.lme_json,
                             "--out", f.folder], "--out"),
    ("pfqabench", lambda f: ["pfqabench", "build", "--longmemeval", f.lme_json, "--out", "o.jsonl"],
     "--hotpotqa"),
    ("pfqabench", lambda f: ["pfqabench", "build", "--longmemeval", f.lme_json, "--hotpotqa", f.lme_json,
                             "--out", "o.jsonl", "--encoder", "bm25"], "--encoder"),
    ("pfqabench", lambda f: ["pfqabench", "build", "--longmemeval", f.lme_json, "--hotpotqa", f.lme_json,
                             "--out", "o.jsonl", "--test-fraction", "1"], "--test-fraction"),
]


@pytest.mark.parametrize("command,argv,flag", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_bad_input_is_one_error_line_naming_the_flag(command, argv, flag, f, no_heavy_work, capsys):
    _fails(argv(f), flag, capsys)


def test_every_subcommand_has_bad_input_cases():
    import argparse

    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {c[0] for c in CASES} == set(sub.choices)


def test_a_bad_database_url_from_the_environment_names_the_variable(monkeypatch, no_heavy_work, capsys):
    monkeypatch.setenv("FPPS_DATABASE_URL", "not a url")
    line = _fails(["serve"], "FPPS_DATABASE_URL", capsys)
    assert "not a url" not in line  # a URL may hold a password: never echoed


def test_serve_checks_before_ray_starts(monkeypatch, capsys):
    import fpps.server.http.app as app

    monkeypatch.setattr(app, "run_local", _boom)
    _fails(["serve", "--model", "/nonexistent"], "--model", capsys)


def test_good_serve_inputs_reach_run_local(monkeypatch, tmp_path):
    import fpps.server.http.app as app

    seen = []
    monkeypatch.setattr(app, "run_local", lambda a, ready_file=None: seen.append(a) or 0)
    monkeypatch.delenv("FPPS_DATABASE_URL", raising=False)
    (tmp_path / "keys.txt").write_text("k1\n")
    audit = tmp_path / "logs" / "deep" / "audit.jsonl"
    argv = ["serve", "--config", str(REPO / "fpps_server" / "http" / "serve.yaml"), "--artifact", "none",
            "--api-key-file", str(tmp_path / "keys.txt"), "--audit-log", str(audit),
            "--database-url", "postgresql+psycopg://u:pw@db:5432/fpps", "--reports", str(tmp_path)]
    assert cli.main(argv) == 0
    assert seen[0].artifact == "none" and seen[0].max_inflight == 544
    assert audit.read_text() == ""  # opened for appending as the server will; nothing written


def test_an_audit_log_that_cannot_be_opened_stops_serve_before_ray(monkeypatch, capsys):
    import fpps.server.http.app as app

    monkeypatch.setattr(app, "run_local", lambda *a, **k: pytest.fail("run_local was called"))
    assert cli.main(["serve", "--audit-log", "/proc/no-such-pid/audit.jsonl"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("fpps serve: error: --audit-log") and "cannot be opened" in err


def test_bundled_data_names_pass_calibrate_gates_checks(tmp_path):
    from fpps.preflight import check_inputs

    args = cli.build_parser().parse_args(["calibrate-gate", "--out", str(tmp_path / "new")])
    check_inputs(args)  # --data mini,broad --dev dev --report mini:test


def test_history_readers_accept_every_documented_shape(tmp_path):
    for i, obj in enumerate([[SESSION], {"sessions": [SESSION], "dates": ["2024/05/01"]},
                             {"user_id": "u", "current_date": "2024/06/01", "history": {"sessions": [SESSION]}}]):
        (tmp_path / f"{i}.json").write_text(json.dumps(obj))
        sessions, _, _ = load_history(str(tmp_path / f"{i}.json"))
        assert sessions == [SESSION]
    assert load_history(str(REPO / "examples" / "sydney-history.json"))[0]


def test_model_values_that_load_model_accepts_pass(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    for ok in (None, "default", "smollm2-135m-instruct", str(tmp_path)):
        check_model("--model", ok)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    check_model("--model", "HuggingFaceTB/SmolLM2-135M-Instruct")  # a hub id, downloaded later
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="HF_HUB_OFFLINE"):
        check_model("--model", "no-such-org/no-such-model")
    check_artifact("--artifact", str(SHIPPED))
    check_artifact("--artifact", "None", none_ok=True)


def test_an_audit_log_that_exists_or_can_be_created_passes(tmp_path):
    check_out_file("--audit-log", str(tmp_path / "a" / "b" / "audit.jsonl"))
    (tmp_path / "audit.jsonl").write_text("")
    check_out_file("--audit-log", str(tmp_path / "audit.jsonl"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.jsonl"]


def test_repeated_constants_match_the_steering_library():
    from fpps.cli_values import MODES
    from fpps.preflight_paths import ARTIFACT_FILES, DEFAULT_MODEL_NAMES
    from fpps.steering.adapter import DEFAULT_MODEL
    from fpps.steering.artifact import MANIFEST_FILE, TENSORS_FILE
    from fpps.steering.params import MODES as STEERING_MODES

    assert MODES == STEERING_MODES and ARTIFACT_FILES == (MANIFEST_FILE, TENSORS_FILE)
    assert DEFAULT_MODEL in DEFAULT_MODEL_NAMES


# ---- real processes: exit status, one line, fast, no Ray ---------------------------------

ENV = dict(os.environ, HF_HUB_OFFLINE="1", RAY_AUTH_MODE="disabled")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fpps.cli", *args], capture_output=True, text=True,
                          timeout=30, env=ENV, cwd=REPO)


@pytest.mark.parametrize("argv,flag", [
    (["serve", "--model", "/nonexistent"], "--model /nonexistent: no such folder"),
    (["serve", "--artifact", "/tmp"], "--artifact /tmp: not an FPPS artifact folder"),
    (["chat", "q", "--history", "missing.json"], "--history missing.json: no such file"),
])
def test_the_command_exits_2_with_one_line_and_no_traceback(argv, flag):
    res = _run(*argv)
    assert res.returncode == 2 and res.stdout == ""
    errors = [ln for ln in res.stderr.splitlines() if "error:" in ln]
    assert errors == [res.stderr.splitlines()[-1]] and flag in errors[0]
    assert "Traceback" not in res.stderr and "Ray" not in res.stderr and "Deploying" not in res.stderr


def test_a_refused_serve_imports_neither_ray_nor_torch():
    code = ("import sys; from fpps.cli import main; rc = main(['serve', '--model', '/nonexistent']); "
            "print(rc, 'ray' in sys.modules, 'torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=ENV)
    assert res.stdout.split() == ["2", "False", "False"], res.stderr


def test_an_artifact_that_does_not_fit_the_model_is_one_line_too(monkeypatch, capsys):
    """Found only once the model has loaded, but still a tool's error, not a stack."""
    fake = SimpleNamespace(fingerprint="llama-64x2-00000000", hidden_size=64, num_layers=2)
    monkeypatch.setitem(vars(fpps.steering), "load_model", lambda model=None: fake)
    _fails(["chat", "q", "--artifact", str(SHIPPED)], "hidden size", capsys)
