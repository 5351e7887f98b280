"""The twin-aware gate: features, folded logistic weights, artifact format 3 round trip."""

import json

import numpy as np
import pytest
import torch

from fpps.steering.artifact import SteeringArtifact, load_artifact, save_artifact
from fpps.steering.errors import ArtifactMismatchError
from fpps.steering.gate import FEATURES, TwinGate, fit_twin_gate, gate_features

D = 8


def test_features_are_what_their_names_say():
    torch.manual_seed(0)
    h, ht, s_f, z = torch.randn(4, D), torch.randn(4, D), torch.randn(D), torch.randn(4)
    x = gate_features(["probe_logit", "vu_sf", "vu_norm", "twin_sf"], z, h, ht, s_f)
    assert x.shape == (4, 4) and x.dtype == torch.float32
    assert torch.allclose(x[:, 0], z)
    assert torch.allclose(x[:, 1], (h - ht) @ s_f)
    assert torch.allclose(x[:, 2], (h - ht).norm(dim=1))
    assert torch.allclose(x[:, 3], ht @ s_f)
    with pytest.raises(ValueError, match="unknown gate features"):
        gate_features(["colour"], z, h, ht, s_f)
    assert set(FEATURES) == {"probe_logit", "vu_sf", "vu_norm", "twin_sf"}


def test_fitted_gate_folds_the_scaler_and_matches_sklearn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)) * [3.0, 0.1] + [5.0, -1.0]
    y = (X[:, 0] - 5 + 20 * (X[:, 1] + 1) + rng.normal(size=200) > 0).astype(int)
    gate = fit_twin_gate(X, y, ("vu_sf", "vu_norm"))
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(X, y)
    lin = torch.tensor(X, dtype=torch.float32) @ gate.w + gate.b
    assert np.allclose(torch.sigmoid(lin).numpy(), ref.predict_proba(X)[:, 1], atol=1e-4)
    with pytest.raises(ValueError, match="do not match"):
        TwinGate(("vu_sf",), torch.zeros(2), 0.0)
    with pytest.raises(ValueError, match="finite"):
        TwinGate(("vu_sf",), torch.tensor([float("nan")]), 0.0)


def test_gate_round_trips_in_format_3_and_older_folders_have_none(tmp_path):
    gate = TwinGate(("twin_sf", "vu_sf"), torch.tensor([0.5, -2.0]), 0.25)
    art = SteeringArtifact(layer=2, w=torch.randn(D), b=0.0, s_f=torch.randn(D), fingerprint="f",
                           probe_layer=1, gate=gate)
    folder = save_artifact(art, tmp_path / "a", extra={"gate": {"chosen": "twin_sf+vu_sf"}})
    m = json.loads((folder / "manifest.json").read_text())
    assert m["format_version"] == 3
    assert m["gate"] == {"chosen": "twin_sf+vu_sf", "kind": "twin-logistic", "features": ["twin_sf", "vu_sf"]}
    back = load_artifact(folder)
    assert back.gate is not None and back.gate.features == ("twin_sf", "vu_sf")
    assert torch.equal(back.gate.w, gate.w) and back.gate.b == 0.25
    h, ht = torch.randn(3, D), torch.randn(3, D)
    assert torch.equal(back.gate.p_hat(torch.zeros(3), h, ht, back.s_f), gate.p_hat(torch.zeros(3), h, ht, art.s_f))
    # A manifest naming a feature the code does not know is refused, not silently ignored.
    m["gate"]["features"] = ["twin_sf", "mystery"]
    (folder / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactMismatchError, match="unknown gate features"):
        load_artifact(folder)
    # Format 2 (no gate) still loads, with the probe gating every row.
    m.pop("gate")
    m["format_version"] = 2
    (folder / "manifest.json").write_text(json.dumps(m))
    assert load_artifact(folder).gate is None


def test_state_term_folds_the_scaler_reads_its_state_and_round_trips(tmp_path):
    """A gate with a linear state term over v_u = h_G - h'_G: the folded weights reproduce
    sklearn on [scalar features, state], the "twin" state reads h'_G only, and format 3 keeps
    `gate_u`, `state` and `state_layer`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fpps.steering.gate import state_vector

    rng = np.random.default_rng(1)
    hg, htg = rng.normal(size=(300, D)), rng.normal(size=(300, D))
    X = rng.normal(size=(300, 1))
    y = ((hg - htg)[:, 0] - (hg - htg)[:, 3] + 0.5 * X[:, 0] > 0).astype(int)
    gate = fit_twin_gate(X, y, ("vu_sf",), C=0.5, S=hg - htg, state="vu", state_layer=1)
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=5000)).fit(
        np.concatenate([X, hg - htg], 1), y)
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    lin = t(X) @ gate.w + t(hg - htg) @ gate.u + gate.b
    assert np.allclose(torch.sigmoid(lin).numpy(), ref.predict_proba(np.concatenate([X, hg - htg], 1))[:, 1],
                       atol=1e-4)
    assert torch.equal(state_vector("twin", t(hg), t(htg)), t(htg))
    # p_hat: the scalar feature from the block-L states, the state term from block G's.
    s_f = torch.zeros(D)
    s_f[0] = 1.0
    hL, htL = torch.randn(300, D), torch.randn(300, D)
    want = torch.sigmoid(((hL - htL) @ s_f) * gate.w[0] + t(hg - htg) @ gate.u + gate.b)
    got = gate.p_hat(torch.zeros(300), hL, htL, s_f, t(hg), t(htg))
    assert torch.allclose(got, want, atol=1e-5)
    with pytest.raises(ValueError, match="pass h_g"):
        gate.p_hat(torch.zeros(3), hL[:3], htL[:3], s_f)
    with pytest.raises(ValueError, match="needs all of"):
        TwinGate((), torch.zeros(0), 0.0, u=torch.zeros(D))
    with pytest.raises(ValueError, match="unknown gate state"):
        TwinGate((), torch.zeros(0), 0.0, torch.zeros(D), "colour", 1)
    # Round trip; the state block must lie between the probe's block and L.
    art = SteeringArtifact(layer=2, w=torch.randn(D), b=0.0, s_f=s_f, fingerprint="f", probe_layer=1, gate=gate)
    folder = save_artifact(art, tmp_path / "a")
    m = json.loads((folder / "manifest.json").read_text())
    assert m["gate"]["state"] == "vu" and m["gate"]["state_layer"] == 1
    back = load_artifact(folder).gate
    assert back is not None and torch.equal(back.u, gate.u) and back.state_layer == 1
    with pytest.raises(ValueError, match="state_layer 3 must be in"):
        SteeringArtifact(layer=2, w=torch.randn(D), b=0.0, s_f=s_f, fingerprint="f", probe_layer=1,
                         gate=TwinGate((), torch.zeros(0), 0.0, torch.zeros(D), "vu", 3))
    # A manifest that names a state without its tensor is refused.
    m["gate"]["state"] = "twin"
    from safetensors.torch import load_file, save_file
    tensors = load_file(str(folder / "fpps.safetensors"))
    tensors.pop("gate_u")
    save_file(tensors, str(folder / "fpps.safetensors"))
    import hashlib
    m["tensors_sha256"] = hashlib.sha256((folder / "fpps.safetensors").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactMismatchError, match="no gate_u"):
        load_artifact(folder)
