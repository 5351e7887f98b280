"""A small tmpfs for disk-fault tests (read-only, full), as a pytest plugin.

`small_disk(size)` mounts a fresh tmpfs of `size` (e.g. "512k", "2m") under the test's tmp_path
and unmounts it afterwards; `remount(path, "ro" | "rw")` flips it. Mounting needs root, or a
container that allows it; tests that ask for one are skipped otherwise.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

__all__ = ["remount", "small_disk"]


def remount(path: Path, mode: str) -> None:
    """Remount `path` read-only (`ro`) or read-write (`rw`); tried for up to 5 s, since a
    remount is EBUSY while a store call holds a file open for writing."""
    cmd = ["mount", "-o", f"remount,{mode}", str(path)]
    for _ in range(20):
        if subprocess.run(cmd, capture_output=True).returncode == 0:
            return
        time.sleep(0.25)
    raise RuntimeError(f"{' '.join(cmd)} failed")


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Callable[[str], Path]]:
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        mnt = tmp_path / f"disk{len(mounted)}"
        mnt.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                          capture_output=True).returncode:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
