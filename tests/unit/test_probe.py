"""`RiskProbe`: scikit-learn conventions and the served export (fpps-method.md §5, D7)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from fpps.steering.probe import RiskProbe, cross_val_accuracy, fit_probe, gate_accuracy, select_probe


@parametrize_with_checks([RiskProbe(), RiskProbe(standardize=False)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def _data(n=80, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 50, size=d) + rng.normal(size=d) * 10
    y = (X[:, 0] / X[:, 0].std() + 0.3 * rng.normal(size=n) > X[:, 0].mean() / X[:, 0].std()).astype(int)
    return X, y


def test_export_folds_scaler_and_matches_predict_proba():
    X, y = _data()
    probe = RiskProbe().fit(X, y)
    w, b = probe.export()
    assert w.dtype == torch.float32 and w.shape == (X.shape[1],) and isinstance(b, float)
    served = torch.sigmoid(torch.tensor(X, dtype=torch.float64) @ w.double() + b).numpy()
    np.testing.assert_allclose(served, probe.predict_proba(X)[:, 1], rtol=1e-5, atol=1e-6)


def test_standardized_probe_is_not_the_raw_one():
    X, y = _data()
    a, b = RiskProbe().fit(X, y), RiskProbe(standardize=False).fit(X, y)
    assert not np.allclose(a.coef_, b.coef_)
    assert a.score(X, y) > 0.8


def test_rejects_single_class_and_multiclass():
    X, _ = _data()
    with pytest.raises(ValueError):
        RiskProbe().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError):
        RiskProbe().fit(X, np.arange(len(X)) % 3)


def test_works_with_clone_pipeline_and_grid_search():
    X, y = _data()
    assert clone(RiskProbe(C=0.5)).get_params()["C"] == 0.5
    Pipeline([("probe", RiskProbe())]).fit(X, y)
    gs = GridSearchCV(RiskProbe(), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
    assert gs.best_params_["C"] in (0.1, 1.0)


def test_fit_probe_and_cross_val_accuracy_on_tensors():
    X, y = _data()
    probe = fit_probe(torch.tensor(X, dtype=torch.float32), y.tolist())
    assert probe.classes_.tolist() == [0, 1]
    acc = cross_val_accuracy(torch.tensor(X, dtype=torch.float32), y.tolist(), folds=4)
    assert 0.7 < acc <= 1.0
    assert np.isnan(cross_val_accuracy(torch.zeros(3, 2), [0, 0, 1]))


def test_gate_accuracy_scores_every_row_not_just_the_fit_rows():
    """A probe fit on a narrow subset (the contrastive groups) can separate that subset and still
    misgate the rest: positives and negatives differ along axis 0 everywhere, but inside the fit
    subset axis 1 separates them too, and more strongly. `gate_accuracy` scores all rows."""
    rng = np.random.default_rng(0)
    n = 400
    y = np.arange(n) % 2
    groups = [f"u{i // 2}" for i in range(n)]
    X = rng.normal(size=(n, 2))
    X[:, 0] += 1.0 * (2 * y - 1)
    subset = rng.random(n) < 0.3
    X[subset, 1] += 4.0 * (2 * y[subset] - 1)  # a shortcut only the subset has
    Xt = torch.tensor(X, dtype=torch.float32)
    narrow = gate_accuracy(Xt, y.tolist(), groups, subset.tolist())
    wide = gate_accuracy(Xt, y.tolist(), groups, [True] * n)
    assert wide > narrow + 0.03, (narrow, wide)
    assert 0.5 < narrow < 1.0 and wide > 0.75
    assert np.isnan(gate_accuracy(Xt, y.tolist(), groups, (y == 1).tolist()))  # one class only


def test_select_probe_picks_the_set_and_layer_that_gate_every_row_best():
    """Layer 1 separates the kinds cleanly, layer 0 is noise, layer 2 separates them weakly; the
    'narrow' set holds one class only in some folds and is never chosen."""
    rng = np.random.default_rng(0)
    n, d = 120, 6
    y = np.arange(n) % 2
    groups = [f"u{i // 2}" for i in range(n)]
    X = rng.normal(size=(n, 3, d))
    X[:, 1, 0] += 4.0 * (2 * y - 1)
    X[:, 2, 0] += 0.6 * (2 * y - 1)
    fit_sets = {"narrow": (y == 1).tolist(), "all": [True] * n}
    choice = select_probe(torch.tensor(X, dtype=torch.float32), y.tolist(), groups, fit_sets, [0, 1, 2])
    assert (choice.labels, choice.layer) == ("all", 1)
    assert choice.accuracy > 0.95 and choice.accuracy > choice.table["all"][2][0] > choice.table["all"][0][0]
    assert np.isnan(choice.table["narrow"][1][0])
    assert choice.to_json()["candidates"]["all"]["1"][0] == round(choice.accuracy, 4)
    with pytest.raises(ValueError, match="no probe candidate"):
        select_probe(torch.tensor(X, dtype=torch.float32), y.tolist(), groups, {"narrow": fit_sets["narrow"]}, [1])
