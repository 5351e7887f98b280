"""The installed package: one import root, no shadowed names, the `fpps` command."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(code: str, cwd: Path) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_kernels_and_eval_are_not_top_level_modules(tmp_path):
    # Run outside the repo so that the working directory cannot hide a wrong mapping.
    out = _run("import importlib.util as u; print(u.find_spec('kernels'), u.find_spec('eval'))", tmp_path)
    assert out == "None None"


def test_components_import_under_one_root(tmp_path):
    out = _run("import fpps.steering, fpps.kernels, fpps.eval, fpps.server, fpps.cli; print('ok')", tmp_path)
    assert out == "ok"


def test_fpps_help_lists_subcommands():
    exe = Path(sys.executable).with_name("fpps")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    for cmd in ("serve", "calibrate", "chat", "eval", "bench", "prepare"):
        assert cmd in out


@pytest.mark.parametrize("argv,says", [
    (["bench", "load"], "needs --url"),
    (["bench", "load", "--url", "http://10.1.2.3:8000"], "only targets loopback"),
    (["bench", "load", "--url", "ftp://127.0.0.1/"], "http(s)://"),
])
def test_bench_load_refuses_a_missing_or_non_loopback_url(argv, says, capsys):
    from fpps.cli import main

    assert main(argv) == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("shard", ["2/2", "1", "a/b", "3/2", "0/0"])
def test_eval_refuses_a_malformed_shard(shard, capsys):
    from fpps.cli import main

    assert main(["eval", "--out", "unused", "--shard", shard]) == 2
    assert "argument --shard: must be I/N" in capsys.readouterr().err
