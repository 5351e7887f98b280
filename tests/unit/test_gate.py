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
