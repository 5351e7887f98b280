"""The method's edit spec, its agreement with the batched reference, and the artifact format."""

import json

import pytest
import torch

from fpps.kernels import MODE_HARD, MODE_MIXED, MODE_OFF, MODE_SOFT, fpps_edit_ref
from fpps.steering import ArtifactMismatchError, SteeringParams, UnknownArtifactError
from fpps.steering.artifact import SteeringArtifact, load_artifact, save_artifact
from fpps.steering.edit import choose_branch, edit_state

D = 16


def _params(mode, alpha=1.0, gamma=2.0, tau=0.5):
    return SteeringParams(mode=mode, alpha=alpha, gamma=gamma, tau=tau)


@pytest.mark.parametrize("mode,p,expected", [
    ("off", 0.9, "none"), ("hard", 0.49, "none"), ("hard", 0.5, "hard"), ("soft", 0.1, "soft"),
    ("mixed", 0.49, "soft"), ("mixed", 0.5, "hard")])
def test_branch_table(mode, p, expected):
    assert choose_branch(_params(mode), p) == expected


def test_alpha_zero_and_zero_coefficient_write_nothing():
    h = torch.randn(D)
    assert edit_state(h, params=_params("soft", alpha=0.0), branch="soft", p_hat=0.9, s_f=h) is None
    assert edit_state(h, params=_params("soft"), branch="soft", p_hat=0.5, s_f=h) is None


def test_hard_alpha_one_is_exactly_the_twin_and_soft_follows_the_formula():
    h, twin, s = torch.randn(3, D), torch.randn(3, D), torch.randn(D)
    assert torch.equal(edit_state(h, params=_params("hard"), branch="hard", p_hat=0.9, s_f=s, h_twin=twin), twin)
    soft = edit_state(h, params=_params("soft", alpha=0.5, gamma=2.0), branch="soft", p_hat=0.8, s_f=s)
    torch.testing.assert_close(soft, h + 0.5 * 2.0 * (0.8 - 0.5) * s)
    half = edit_state(h, params=_params("hard", alpha=0.25), branch="hard", p_hat=0.9, s_f=s, h_twin=twin)
    torch.testing.assert_close(half, 0.75 * h + 0.25 * twin)


def test_batched_reference_matches_the_spec_row_by_row():
    torch.manual_seed(1)
    rows = [("off", 1.0, 0.9), ("hard", 1.0, 0.7), ("hard", 1.0, 0.2), ("soft", 0.5, 0.9),
            ("soft", 1.0, 0.1), ("mixed", 1.0, 0.3), ("mixed", 0.6, 0.8), ("mixed", 0.0, 0.8)]
    codes = {"off": MODE_OFF, "hard": MODE_HARD, "soft": MODE_SOFT, "mixed": MODE_MIXED}
    h, twin, s = torch.randn(len(rows), D), torch.randn(len(rows), D), torch.randn(D)
    out, _ = fpps_edit_ref(
        h, s, torch.tensor([codes[m] for m, _, _ in rows], dtype=torch.int32),
        torch.tensor([a for _, a, _ in rows]), torch.full((len(rows),), 2.0),
        torch.full((len(rows),), 0.5), p_hat=torch.tensor([p for _, _, p in rows]),
        h_twin=twin, twin_idx=torch.arange(len(rows), dtype=torch.int32))
    for i, (mode, alpha, p) in enumerate(rows):
        params = _params(mode, alpha=alpha)
        want = edit_state(h[i], params=params, branch=choose_branch(params, p), p_hat=p, s_f=s, h_twin=twin[i])
        assert torch.equal(out[i], h[i] if want is None else want), (i, mode)


def _artifact(d=D, fingerprint="llama-16x3-abc"):
    return SteeringArtifact(layer=1, w=torch.randn(d), b=0.25, s_f=torch.randn(d), fingerprint=fingerprint,
                            defaults={"gamma": 1.0, "tau_hard": 0.4, "tau_mixed": 0.5, "mode": "mixed"})


def test_artifact_round_trip(tmp_path):
    art = _artifact()
    save_artifact(art, tmp_path / "a", name="test")
    back = load_artifact(tmp_path / "a", fingerprint=art.fingerprint, hidden_size=D, num_layers=3)
    assert torch.equal(back.w, art.w) and torch.equal(back.s_f, art.s_f) and back.b == art.b
    assert back.layer == 1 and back.defaults["tau_mixed"] == 0.5
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert m["hook_name"] == "blocks.1.hook_resid_post" and len(m["tensors_sha256"]) == 64
    assert not list((tmp_path / "a").glob("*.pt")) and not list((tmp_path / "a").glob("*.pkl"))


def test_probe_layer_round_trips_and_format_1_still_loads(tmp_path):
    art = SteeringArtifact(layer=2, w=torch.randn(D), b=0.0, s_f=torch.randn(D), fingerprint="f", probe_layer=1)
    folder = save_artifact(art, tmp_path / "a")
    m = json.loads((folder / "manifest.json").read_text())
    assert m["format_version"] == 3 and m["probe_layer"] == 1 and "gate" not in m and m["probe_hook_name"] == "blocks.1.hook_resid_post"
    assert load_artifact(folder).probe_layer == 1
    assert _artifact().probe_layer == 1  # default: the edit layer
    # A format-1 folder (written before probe_layer existed) reads the edit layer.
    del m["probe_layer"], m["probe_hook_name"]
    m["format_version"] = 1
    (folder / "manifest.json").write_text(json.dumps(m))
    assert load_artifact(folder).probe_layer == 2
    # A format-2 manifest that lost probe_layer, or a probe above the edit, is refused.
    m["format_version"] = 2
    (folder / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactMismatchError, match="probe_layer"):
        load_artifact(folder)
    m["probe_layer"] = 3
    (folder / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactMismatchError, match="probe_layer 3 must be in 0..layer"):
        load_artifact(folder)
    m["format_version"] = 7
    (folder / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactMismatchError, match="format 7"):
        load_artifact(folder)


def test_artifact_refuses_tampering_and_mismatches(tmp_path):
    art = _artifact()
    folder = save_artifact(art, tmp_path / "a")
    with pytest.raises(ArtifactMismatchError, match="fitted on model"):
        load_artifact(folder, fingerprint="llama-16x3-other")
    with pytest.raises(ArtifactMismatchError, match="hidden size"):
        load_artifact(folder, hidden_size=32)
    with pytest.raises(ArtifactMismatchError, match="layer"):
        load_artifact(folder, num_layers=1)
    raw = bytearray((folder / "fpps.safetensors").read_bytes())
    raw[-1] ^= 0xFF
    (folder / "fpps.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ArtifactMismatchError, match="sha256"):
        load_artifact(folder)
    with pytest.raises(UnknownArtifactError):
        load_artifact(tmp_path / "missing")
