"""What produced a file: the versions of Python and the packages that shape its numbers.

Artifacts (`calibrate`) and evaluation reports (`fpps.eval.reports`) record the same list, so
a report can be matched to the artifact it measured.
"""

from __future__ import annotations

import importlib.metadata
import sys

__all__ = ["PACKAGES", "package_versions"]

PACKAGES = ("fpps", "torch", "transformers", "transformer-lens", "triton", "scikit-learn", "numpy",
            "safetensors", "gguf", "httpx", "matplotlib")
"""Everything whose version can move a measured number (or the plots drawn from them)."""


def package_versions() -> dict[str, str]:
    """`{"python": ..., package: version}` for the installed packages of `PACKAGES`."""
    out = {"python": sys.version.split()[0]}
    for pkg in PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out
