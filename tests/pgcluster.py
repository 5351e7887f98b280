"""A private PostgreSQL server for fault tests: started on its own port and data folder with
`.ci/postgres.sh`, stopped and started again by the test (`pg_ctl stop -m fast`).

The shared server of `FPPS_TEST_PG_URL` is never stopped: other tests use it at the same time.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One throwaway cluster: `url`, `stop()` (fast shutdown: clients are cut off at once),
    `start()` (same port and data), `destroy()`."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins and not shutil.which("apt-get"):
            pytest.skip("PostgreSQL is not installed")
        # Not under pytest's tmp_path: the `postgres` user the server runs as (when the tests
        # run as root) cannot enter pytest's private folders.
        self.root = Path(tempfile.mkdtemp(prefix="fpps-pg-fault-"))
        self.root.chmod(0o755)
        data = self.root / "data"
        self.data, self.port = data, _free_port()
        self.env = dict(os.environ, FPPS_PG_DATA=str(data), FPPS_PG_PORT=str(self.port))
        out = subprocess.run(["bash", str(ROOT / ".ci/postgres.sh")], env=self.env, capture_output=True,
                             text=True, timeout=600)
        if out.returncode != 0:
            pytest.skip(f"PostgreSQL could not be started: {out.stderr[-500:]}")
        self.url = out.stdout.strip().splitlines()[-1]
        self.pg_ctl = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1]
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.run_as, self.pg_ctl, "-D", str(self.data), *args], check=True,
                       capture_output=True, timeout=120)

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast", "-w")

    def start(self) -> None:
        self._ctl("start", "-w", "-t", "60", "-l", str(self.data / "server.log"), "-o",
                  f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off")

    def _processes(self) -> list:
        import psutil

        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        main = psutil.Process(pid)
        return [main, *main.children(recursive=True)]

    def freeze(self) -> None:
        """SIGSTOP the server and its backends: connections stay open and nothing answers, as
        with a database host that hangs (the kernel still accepts the bytes)."""
        for p in self._processes():
            p.suspend()

    def thaw(self) -> None:
        for p in self._processes():
            p.resume()

    def destroy(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate", "-w")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def pg_cluster():
    """A private PostgreSQL cluster for one test, removed afterwards."""
    cluster = PgCluster()
    yield cluster
    cluster.destroy()
