"""The names fpps' files and defaults go by, torch-free: the default model, the artifact's two
files, and where the shipped artifact lives.

`adapter` and `artifact` use them, and the CLI preflight (`fpps.preflight_paths`) checks paths
against them before anything imports torch.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DEFAULT_MODEL", "MANIFEST_FILE", "SHIPPED_NAME", "TENSORS_FILE", "shipped_artifact_dir"]

DEFAULT_MODEL = "smollm2-135m-instruct"
TENSORS_FILE = "fpps.safetensors"
MANIFEST_FILE = "manifest.json"
SHIPPED_NAME = "smollm2-135m-rag"


def shipped_artifact_dir(name: str = SHIPPED_NAME) -> Path:
    """Folder of an artifact shipped inside the package (`fpps/steering/artifacts/<name>`)."""
    return Path(str(resources.files("fpps.steering") / "artifacts" / name))
