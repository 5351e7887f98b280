"""Start and stop a real `fpps serve` (Ray Serve, default model, SQLite file) for e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
import yaml




def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_test_artifact(tmp: Path) -> str | None:
    """None (the shipped artifact) when it exists, else a synthetic one fitted to the default
    model: probe constant at sigmoid(0.5) = 0.62 (so mixed/hard gates go hard), random s_f."""
    from fpps.steering.artifact import shipped_artifact_dir

    if (shipped_artifact_dir() / "manifest.json").is_file():
        return None
    import torch

    from fpps.steering import load_model
    from fpps.steering.artifact import SteeringArtifact, save_artifact

    adapter = load_model()
    g = torch.Generator().manual_seed(0)
    art = SteeringArtifact(layer=22, w=torch.zeros(adapter.hidden_size), b=0.5,
                           s_f=torch.randn(adapter.hidden_size, generator=g) * 0.3,
                           fingerprint=adapter.fingerprint,
                           defaults={"gamma": 0.3, "tau_hard": 0.2, "tau_mixed": 0.3})
    out = save_artifact(art, tmp / "artifact", name="synthetic-test")
    del adapter
    return str(out)


def with_test_artifact(work: Path, args: dict[str, Any]) -> dict[str, Any]:
    """`args` plus the test artifact of `make_test_artifact` when the shipped one is missing."""
    art = make_test_artifact(work)
    return args if art is None else {**args, "artifact": art}


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.25) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(every)


class _PortTaken(Exception):
    """The server could not bind its port (taken between `free_port` and the bind)."""


class Server:
    """`fpps serve` in a subprocess on a free loopback port, configured by a serve.yaml."""

    def __init__(self, workdir: Path, args: dict[str, Any]) -> None:
        self.workdir, self.args = workdir, args
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 300.0, **extra: Any) -> "Server":
        """Start and wait until ready. `free_port` can race with Ray, which opens ports of its own
        while it boots: a server that lost its port is started again on a fresh one (twice at most)."""
        for attempt in range(3):
            try:
                return self._start(timeout, **extra)
            except _PortTaken:
                self.port = free_port()
        raise RuntimeError(f"no free port after 3 attempts:\n{self.tail()}")

    def _start(self, timeout: float, **extra: Any) -> "Server":
        cfg = self.workdir / "serve.yaml"
        cfg.write_text(yaml.safe_dump({"applications": [{"args": {**self.args, **extra}}]}))
        ready = self.workdir / "ready"
        ready.unlink(missing_ok=True)
        env = dict(os.environ, HF_HUB_OFFLINE="1", RAY_AUTH_MODE="disabled", FPPS_READY_FILE=str(ready))
        env.pop("FPPS_API_KEYS", None)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fpps.cli", "serve", "--port", str(self.port), "--config", str(cfg)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None:
                if "Failed to bind to address" in self.tail(200):
                    raise _PortTaken(self.port)
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"server not ready after {timeout} s:\n{self.tail()}")
            time.sleep(0.5)
        return self

    def tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout: float = 90.0) -> int:
        """SIGTERM, wait for a graceful exit; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the session started for this server only
            self.proc.wait(30)

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, **{"timeout": 120.0, **kw})


@pytest.fixture(scope="module")
def fpps_server(tmp_path_factory):
    """One real server per test module (about 1.5 GB and 20-60 s to start)."""
    work = tmp_path_factory.mktemp("fpps-serve")
    args: dict[str, Any] = {"database_url": f"sqlite:///{work / 'memory.db'}",
                            "max_batch_size": 4, "max_queue": 2, "default_max_tokens": 16,
                            "request_timeout_s": 120}
    yield from serve_for_module(work, args)


def serve_for_module(work: Path, args: dict[str, Any]) -> Iterator[Server]:
    """Body of a module-scoped server fixture: the test artifact (unless the shipped one exists),
    a started server, and on teardown a graceful-shutdown check. Use as `yield from`."""
    server = Server(work, with_test_artifact(work, args)).start()
    yield server
    code = server.stop()
    server.kill()
    assert code == 0, f"server did not shut down gracefully ({code}):\n{server.tail()}"
