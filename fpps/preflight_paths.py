"""Path checks shared by the `fpps` preflight (`fpps.preflight`, `fpps.preflight_serve`).

What: `InputError` and the checks of one path each: a readable file, an existing folder, a
folder or file that can be written (without creating anything), a model folder or hub id that
`fpps.steering.load_model` accepts, an artifact folder `load_artifact` can open. Each raises
`InputError` whose message begins with `where`, the flag (or config field) that gave the path.
Why: one wording for every subcommand, and no torch: the names come from the torch-free
`fpps.steering.names`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from fpps.steering.names import DEFAULT_MODEL, MANIFEST_FILE, TENSORS_FILE, shipped_artifact_dir

__all__ = ["ARTIFACT_FILES", "DEFAULT_MODEL_NAMES", "InputError", "check_artifact", "check_dir",
           "check_file", "check_fits", "check_model", "check_out_dir", "check_out_file", "read_json",
           "shipped_artifact_dir"]

DEFAULT_MODEL_NAMES = ("default", DEFAULT_MODEL)
ARTIFACT_FILES = (MANIFEST_FILE, TENSORS_FILE)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


class InputError(ValueError):
    """A command-line input that cannot work; the message begins with the flag that gave it."""


# ---- paths ----------------------------------------------------------------------------------

def check_file(where: str, path: str) -> Path:
    """A readable regular file."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{where} {path}: no such file")
    if p.is_dir():
        raise InputError(f"{where} {path}: is a folder, not a file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{where} {path}: not readable")
    return p


def check_dir(where: str, path: str) -> Path:
    """An existing folder."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{where} {path}: no such folder")
    if not p.is_dir():
        raise InputError(f"{where} {path}: not a folder")
    return p


def _creatable(where: str, path: str, p: Path) -> None:
    """`p` does not exist: its nearest existing ancestor must be a writable folder."""
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{where} {path}: cannot be created, {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{where} {path}: cannot be created, {parent} is not writable")


def check_out_dir(where: str, path: str) -> None:
    """A folder to write into: a writable folder, or one that can be created (nothing is)."""
    p = Path(path).expanduser()
    if p.exists():
        if not p.is_dir():
            raise InputError(f"{where} {path}: not a folder")
        if not os.access(p, os.W_OK | os.X_OK):
            raise InputError(f"{where} {path}: folder not writable")
    else:
        _creatable(where, path, p)


def check_out_file(where: str, path: str) -> None:
    """A file to write or append to: a writable file, or one that can be created (nothing is)."""
    p = Path(path).expanduser()
    if p.is_dir() or str(path).endswith(("/", os.sep)):
        raise InputError(f"{where} {path}: is a folder, not a file")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise InputError(f"{where} {path}: not writable")
    else:
        _creatable(where, path, p)


def read_json(where: str, path: str) -> Any:
    p = check_file(where, path)
    try:
        return json.loads(p.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{where} {path}: not a text file") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{where} {path}: not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None


# ---- models and artifacts -------------------------------------------------------------------

def _offline() -> bool:
    return any(os.environ.get(v, "").strip().upper() in ("1", "ON", "YES", "TRUE")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _hub_cached(repo_id: str) -> bool:
    """Whether the Hugging Face cache holds `repo_id`'s config.json (no network)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except ValueError:  # HFValidationError: not a valid repo id
        return False


def check_model(where: str, value: str | None) -> None:
    """What `fpps.steering.load_model` accepts: None or the default's name, a local Hugging Face
    folder (with config.json), or a hub id (`name` or `org/name`; offline only when cached).

    A value that exists is taken as a folder; one that does not exist and looks like a path
    (absolute, `.`/`~` first, more than one `/`) is a missing folder, never a hub id."""
    if value is None or value in DEFAULT_MODEL_NAMES:
        return
    p = Path(value)
    if p.exists():
        if not p.is_dir():
            raise InputError(f"{where} {value}: not a folder (a Hugging Face model folder holds config.json)")
        if not (p / "config.json").is_file():
            raise InputError(f"{where} {value}: no config.json in this folder (not a Hugging Face model folder)")
        cfg = read_json(where, str(p / "config.json"))
        if not isinstance(cfg, dict):
            raise InputError(f"{where} {value}: config.json is not a JSON object")
        return
    if not _HUB_ID.fullmatch(value) or ".." in value:
        raise InputError(f"{where} {value}: no such folder")
    if _offline() and not _hub_cached(value):
        raise InputError(f"{where} {value}: no such folder, and no hub model of that name in the "
                         "Hugging Face cache (HF_HUB_OFFLINE is set)")


def check_artifact(where: str, value: str | None, *, none_ok: bool = False) -> None:
    """An artifact folder with its manifest and tensors (None is the shipped artifact;
    `none` means no steering where `none_ok`)."""
    if value is None or (none_ok and value.lower() == "none"):
        return
    folder = check_dir(where, value)
    missing = [f for f in ARTIFACT_FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(f"{where} {value}: not an FPPS artifact folder (no {' or '.join(missing)})")
    manifest = read_json(where, str(folder / ARTIFACT_FILES[0]))
    if not isinstance(manifest, dict) or "format_version" not in manifest:
        raise InputError(f"{where} {value}: manifest.json is not an FPPS artifact manifest")


def check_fits(model_where: str, model: str | None, artifact_where: str, artifact: str | None) -> None:
    """An artifact (None: the shipped one) against an explicit local model folder, by what their
    JSON files say: the hidden size, the edit layer within the blocks, and the model type the
    artifact's fingerprint (`<model_type>-<d>x<N>-<hash>`) starts with. That is the part of
    `load_artifact`'s model check that needs no model; a model of the same type and shape with
    other weights is refused by fingerprint once it has loaded."""
    if not model or model in DEFAULT_MODEL_NAMES or (artifact or "").lower() == "none":
        return
    folder = Path(artifact) if artifact else shipped_artifact_dir()
    config_file, manifest_file = Path(model) / "config.json", folder / ARTIFACT_FILES[0]
    if not config_file.is_file() or not manifest_file.is_file():
        return
    cfg, manifest = read_json(model_where, str(config_file)), read_json(artifact_where, str(manifest_file))
    if not isinstance(cfg, dict) or not isinstance(manifest, dict):
        return
    d_model, blocks, kind = cfg.get("hidden_size"), cfg.get("num_hidden_layers"), cfg.get("model_type")
    fingerprint = str(manifest.get("model_fingerprint", ""))
    d_art, layer, art_kind = manifest.get("hidden_size"), manifest.get("layer"), fingerprint.rsplit("-", 2)[0]
    if isinstance(d_model, int) and isinstance(d_art, int) and d_model != d_art:
        why = f"hidden size {d_art}, but {model_where} {model} has {d_model}"
    elif isinstance(blocks, int) and isinstance(layer, int) and not 0 <= layer < blocks:
        why = f"edits block {layer}, but {model_where} {model} has {blocks} blocks"
    elif isinstance(kind, str) and fingerprint.count("-") >= 2 and kind != art_kind:
        why = f"a {art_kind} model, but {model_where} {model} is {kind}"
    else:
        return
    # Unset, the artifact has no flag or config field of its own to blame: name the flag to give.
    where = (f"{artifact_where} {artifact}: fitted" if artifact
             else "--artifact not given: the shipped artifact was fitted")
    raise InputError(f"{where} on model fingerprint {fingerprint} ({why}); calibrate one for this model "
                     f"(fpps calibrate --model {model} --data FILE --out DIR) and pass --artifact DIR")
