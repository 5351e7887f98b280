"""`SteeringArtifact`: everything FPPS fits offline, as safetensors + a JSON manifest.

A folder holds `fpps.safetensors` (probe `w` [d], `b` [1], steering vector `s_f` [d], all fp32;
any standardization already folded into `w` and `b`) and `manifest.json` (format version, model
fingerprint, edit layer and hook site, probe layer, `d`, per-mode defaults for gamma/tau, data
stats, probe metrics, the tensors file's sha256, creation time and command line). Never pickle.

Format 2 adds `probe_layer` (README, "Method decisions"): the probe may read an
earlier block than the one it edits, because the question-type signal the gate needs is
sharpest mid-network while the edit belongs where personalization bends the answer. Format 1
folders (probe at the edit layer) still load.

Format 3 adds an optional twin-aware gate (`gate.py`): tensors `gate_w` [k] and `gate_b` [1]
and the manifest's `gate` (`features`, how it was chosen); a gate with a state term (a linear
probe over the history's shift at a block G, `gate.py`) adds `gate_u` [d] and the manifest's
`gate.state` / `gate.state_layer`. Rows that prefill a twin (modes hard
and mixed) take their p_hat from it; rows without one keep the probe's. Formats 1 and 2 (no
gate) still load and behave as before.

Loading verifies the checksum and, when given a model, its fingerprint, hidden size and layer
count; any mismatch raises `ArtifactMismatchError` with a message that says what differs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors.torch import load_file, save_file

from .errors import ArtifactMismatchError, UnknownArtifactError
from .gate import TwinGate
from .names import MANIFEST_FILE, TENSORS_FILE, shipped_artifact_dir

__all__ = ["FORMAT_VERSION", "SteeringArtifact", "load_artifact", "save_artifact",
           "shipped_artifact_dir"]

FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)  # 1: the probe reads the edit layer; 3: optional twin-aware gate


@dataclass(frozen=True)
class SteeringArtifact:
    """A calibrated FPPS configuration for one (model, personalization method) pair.

    Attributes:
        layer: 0-based block whose output is edited (`blocks.{layer}.hook_resid_post`).
        w, b: the served probe, `p_hat = sigmoid(w . h + b)`, fp32, on block `probe_layer`'s
            output at the last prompt position.
        probe_layer: block the probe reads, `<= layer` so that the gate is known when the edit
            runs in the same forward pass; None means `layer`.
        s_f: the steering vector (factual minus personal), fp32 [d].
        defaults: calibrated `gamma`, `tau_hard`, `tau_mixed` and `mode`.
        fingerprint: `model_fingerprint` of the model it was fitted on.
        manifest: the full JSON manifest (stats, metrics, provenance).
        gate: the twin-aware gate for rows with a twin, or None (the probe gates every row).
    """

    layer: int
    w: torch.Tensor
    b: float
    s_f: torch.Tensor
    fingerprint: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    manifest: Mapping[str, Any] = field(default_factory=dict)
    probe_layer: int | None = None
    gate: TwinGate | None = None

    def __post_init__(self) -> None:
        if self.probe_layer is None:
            object.__setattr__(self, "probe_layer", self.layer)
        if not 0 <= int(self.probe_layer) <= self.layer:  # type: ignore[arg-type]
            raise ValueError(f"probe_layer {self.probe_layer} must be in 0..layer ({self.layer}): the "
                             "gate must be known before the edit layer runs")
        if self.w.ndim != 1 or self.s_f.shape != self.w.shape:
            raise ValueError(f"w {tuple(self.w.shape)} and s_f {tuple(self.s_f.shape)} must be [d]")
        if not (torch.isfinite(self.w).all() and torch.isfinite(self.s_f).all() and math.isfinite(self.b)):
            raise ValueError("artifact tensors must be finite")
        g = self.gate
        if g is not None and g.u is not None:
            want = (2 * self.hidden_size if g.state == "vu+twin" else self.hidden_size,)
            if tuple(g.u.shape) != want:
                raise ValueError(f"gate state weights {tuple(g.u.shape)} must be {want} for state {g.state!r}")
            if not int(self.probe_layer) <= int(g.state_layer) <= self.layer:  # type: ignore[arg-type]
                raise ValueError(f"gate state_layer {g.state_layer} must be in probe_layer..layer "
                                 f"({self.probe_layer}..{self.layer}): the gate decides at block L")

    @property
    def hidden_size(self) -> int:
        return int(self.w.shape[0])

    @property
    def hook_name(self) -> str:
        return f"blocks.{self.layer}.hook_resid_post"

    @property
    def probe_hook_name(self) -> str:
        return f"blocks.{self.probe_layer}.hook_resid_post"

    @property
    def artifact_id(self) -> str:
        """Short id for diagnostics: name plus the first 12 hex digits of the tensors' sha256."""
        name = self.manifest.get("name", "artifact")
        return f"{name}@{str(self.manifest.get('tensors_sha256', ''))[:12]}"

    def p_hat(self, h: torch.Tensor) -> torch.Tensor:
        """Probe output for block-`probe_layer` states `h` [..., d] (computed in fp32)."""
        return torch.sigmoid(h.float() @ self.w.to(h.device) + self.b)

    def check_model(self, fingerprint: str, hidden_size: int, num_layers: int) -> None:
        """Raise `ArtifactMismatchError` unless the artifact fits this model. The message is one
        line naming both fingerprints: what differs (hidden size, blocks, or the weights and
        config the fingerprint hashes) and what to do about it."""
        if hidden_size != self.hidden_size:
            why = f"hidden size {self.hidden_size} != the model's {hidden_size}"
        elif not 0 <= self.layer < num_layers:
            why = f"its edit layer {self.layer} is outside the model's {num_layers} blocks"
        elif fingerprint != self.fingerprint:
            why = "another model's weights or config"
        else:
            return
        raise ArtifactMismatchError(
            f"artifact fitted on model fingerprint {self.fingerprint} does not fit the loaded model, "
            f"fingerprint {fingerprint} ({why}); calibrate an artifact for this model "
            "(fpps calibrate --model M --data FILE --out DIR) and pass it as --artifact DIR")


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def save_artifact(artifact: SteeringArtifact, out_dir: str | os.PathLike[str], *,
                  name: str | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write `artifact` to `out_dir` (created) and return the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {"w": artifact.w.detach().float().contiguous().cpu(),
               "b": torch.tensor([artifact.b], dtype=torch.float32),
               "s_f": artifact.s_f.detach().float().contiguous().cpu()}
    if artifact.gate is not None:
        tensors["gate_w"] = artifact.gate.w.detach().float().contiguous().cpu()
        tensors["gate_b"] = torch.tensor([artifact.gate.b], dtype=torch.float32)
        if artifact.gate.u is not None:
            tensors["gate_u"] = artifact.gate.u.detach().float().contiguous().cpu()
    save_file(tensors, str(out / TENSORS_FILE), metadata={"format": "fpps", "version": str(FORMAT_VERSION)})
    manifest: dict[str, Any] = dict(artifact.manifest)
    manifest.update(extra or {})
    if artifact.gate is not None:
        manifest["gate"] = {**dict(manifest.get("gate") or {}), **artifact.gate.to_json()}
    else:
        manifest.pop("gate", None)
    manifest.update({
        "format_version": FORMAT_VERSION,
        "name": name or manifest.get("name") or out.name,
        "model_fingerprint": artifact.fingerprint,
        "layer": artifact.layer,
        "hook_name": artifact.hook_name,
        "probe_layer": artifact.probe_layer,
        "probe_hook_name": artifact.probe_hook_name,
        "hidden_size": artifact.hidden_size,
        "dtype": "float32",
        "defaults": dict(artifact.defaults),
        "tensors_sha256": _sha256(out / TENSORS_FILE),
        "created": manifest.get("created") or _dt.datetime.now(_dt.timezone.utc).isoformat(),
        "command_line": manifest.get("command_line") or " ".join(sys.argv),
    })
    tmp = out / (MANIFEST_FILE + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, out / MANIFEST_FILE)
    return out


def _load_gate(manifest: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> TwinGate | None:
    spec = manifest.get("gate") if manifest.get("format_version", 0) >= 3 else None
    if not spec:
        return None
    state = spec.get("state")
    if state is not None and "gate_u" not in tensors:
        raise ValueError(f"the gate reads state {state!r} but the tensors have no gate_u")
    return TwinGate(tuple(str(f) for f in spec["features"]), tensors["gate_w"].float(),
                    float(tensors["gate_b"].reshape(-1)[0]),
                    tensors["gate_u"].float() if state is not None else None,
                    None if state is None else str(state),
                    None if state is None else int(spec["state_layer"]))


def load_artifact(path: str | os.PathLike[str] | None = None, *, fingerprint: str | None = None,
                  hidden_size: int | None = None, num_layers: int | None = None) -> SteeringArtifact:
    """Load and verify an artifact folder (default: the shipped one for the default model).

    Raises:
        UnknownArtifactError: the folder or one of its files does not exist.
        ArtifactMismatchError: checksum, format, fingerprint, hidden size or layer mismatch.
    """
    folder = Path(path) if path is not None else shipped_artifact_dir()
    mpath, tpath = folder / MANIFEST_FILE, folder / TENSORS_FILE
    if not mpath.is_file() or not tpath.is_file():
        raise UnknownArtifactError(f"no FPPS artifact at {folder} (needs {MANIFEST_FILE} and {TENSORS_FILE})")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as e:
        raise ArtifactMismatchError(f"{mpath} is not valid JSON: {e}") from e
    if manifest.get("format_version") not in READABLE_FORMATS:
        raise ArtifactMismatchError(f"artifact format {manifest.get('format_version')!r} is not one of "
                                    f"{list(READABLE_FORMATS)}")
    if _sha256(tpath) != manifest.get("tensors_sha256"):
        raise ArtifactMismatchError(f"{tpath} does not match the sha256 in its manifest (tampered or corrupt)")
    tensors = load_file(str(tpath))
    try:
        artifact = SteeringArtifact(
            layer=int(manifest["layer"]), w=tensors["w"].float(), b=float(tensors["b"].reshape(-1)[0]),
            s_f=tensors["s_f"].float(), fingerprint=str(manifest["model_fingerprint"]),
            defaults=dict(manifest.get("defaults", {})), manifest=manifest,
            probe_layer=int(manifest["probe_layer"]) if manifest["format_version"] >= 2 else None,
            gate=_load_gate(manifest, tensors))
    except (KeyError, ValueError, TypeError) as e:
        raise ArtifactMismatchError(f"malformed artifact at {folder}: {e}") from e
    if artifact.hidden_size != manifest.get("hidden_size"):
        raise ArtifactMismatchError("manifest hidden_size does not match the tensors")
    if fingerprint is not None or hidden_size is not None or num_layers is not None:
        artifact.check_model(fingerprint if fingerprint is not None else artifact.fingerprint,
                             hidden_size if hidden_size is not None else artifact.hidden_size,
                             num_layers if num_layers is not None else artifact.layer + 1)
    return artifact
