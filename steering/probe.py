"""Stage 2 of FPPS: the risk probe `p_hat = sigmoid(w . h' + b)` (fpps-method.md §5, D7).

`RiskProbe` is a scikit-learn estimator (L2 logistic regression, `C = 1.0`, `max_iter = 1000`,
no class reweighting, optional standardization). `export()` folds the scaler into the served
form, fp32 `w` and a float `b`, so that the engine's gate never imports scikit-learn. Other
users of it: the twin gate's fit (`gate.fit_twin_gate`, `calibrate_gate`) and the RAG
retriever (`personalize`, TF-IDF, imported lazily).

`select_probe` picks the probe's training set and the block it reads by out-of-fold gate
accuracy on every training question, folds split by user (the served gate sees every request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_score
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import CalibrationDataError

__all__ = ["ProbeChoice", "RiskProbe", "cross_val_accuracy", "fit_probe", "gate_accuracy",
           "oof_gate_proba", "select_probe"]


class RiskProbe(ClassifierMixin, BaseEstimator):
    """Binary logistic-regression probe on layer-`L` states (label 1 = factual-degraded).

    Args:
        C: inverse L2 strength.
        max_iter: solver iterations.
        standardize: z-score features before fitting; folded into `export()`.
        random_state: passed to the solver (lbfgs is deterministic; kept for `clone`).
    """

    def __init__(self, C: float = 1.0, max_iter: int = 1000, standardize: bool = True,
                 random_state: int | None = 0) -> None:
        self.C = C
        self.max_iter = max_iter
        self.standardize = standardize
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X: Any, y: Any) -> "RiskProbe":
        """Fit on features `X` `[n, d]` and binary labels `y`; returns self.

        Raises:
            ValueError: `y` has other than two classes, or `X` is malformed.
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError("Only binary classification is supported. The type of the target "
                             f"is {y_type}.")
        self.classes_ = np.unique(y)
        if self.classes_.shape[0] != 2:
            raise ValueError(f"RiskProbe needs two classes; got 1 class {self.classes_.tolist()}")
        X = X.astype(np.float64)
        if self.standardize:
            self.mean_ = X.mean(axis=0)
            scale = X.std(axis=0)
            self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        else:
            self.mean_ = np.zeros(X.shape[1])
            self.scale_ = np.ones(X.shape[1])
        lr = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.random_state)
        lr.fit((X - self.mean_) / self.scale_, y)
        # Fold the scaler: w.(x - m)/s + c = (w/s).x + (c - sum(w m / s)).
        w = lr.coef_[0] / self.scale_
        self.coef_ = w.reshape(1, -1)
        self.intercept_ = np.array([lr.intercept_[0] - float(np.dot(lr.coef_[0], self.mean_ / self.scale_))])
        self.n_iter_ = lr.n_iter_
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X.astype(np.float64) @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """`[n, 2]`: columns are `classes_`; column 1 is `p_hat` when classes are {0, 1}."""
        z = self.decision_function(X)
        p1 = 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))
        return np.stack([1.0 - p1, p1], axis=1)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def export(self) -> tuple[torch.Tensor, float]:
        """The served probe: fp32 `w` `[d]` and float `b`, scaler folded in."""
        check_is_fitted(self)
        return torch.tensor(self.coef_[0], dtype=torch.float32), float(self.intercept_[0])


def fit_probe(X: torch.Tensor, y: Sequence[int], **kwargs: Any) -> RiskProbe:
    """Fit a `RiskProbe` on fp32 states `X` `[n, d]` and labels `y` (1 = degraded)."""
    return RiskProbe(**kwargs).fit(X.double().numpy(), np.asarray(y))


def cross_val_accuracy(X: torch.Tensor, y: Sequence[int], *, folds: int = 5, seed: int = 0,
                       **kwargs: Any) -> float:
    """Held-out accuracy of a `RiskProbe`: stratified k-fold (k shrunk to the minority size)."""
    labels = np.asarray(y)
    minority = int(min((labels == c).sum() for c in np.unique(labels)))
    k = min(folds, minority)
    if k < 2:
        return float("nan")
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return float(cross_val_score(RiskProbe(**kwargs), X.double().numpy(), labels, cv=cv).mean())


def oof_gate_proba(X: torch.Tensor, y: Sequence[int], groups: Sequence[str], fit_on: Sequence[bool], *,
                   folds: int = 5, **kwargs: Any) -> np.ndarray | None:
    """Out-of-fold `p_hat` on *every* row of a probe fit only on the rows where `fit_on` holds.

    The served gate sees every request, not only the contrastive groups a probe may be fit on;
    this measures that: folds split by `groups` (a user's questions stay together), each fold's
    probe is fit on the other folds' `fit_on` rows and scores all of its own rows.

    Returns None when some fold has no fit row of one class, or there are fewer than two
    groups. With fewer groups than `folds` (a quick `--limit` run) each group is its own fold.
    """
    X_, y_ = X.double().numpy(), np.asarray(y)
    fit = np.asarray(fit_on, dtype=bool)
    k = min(folds, len(set(groups)))  # GroupKFold refuses more folds than groups
    if k < 2:
        return None
    p = np.zeros(len(y_))
    for train, test in GroupKFold(n_splits=k).split(X_, y_, np.asarray(groups)):
        train = train[fit[train]]
        if len(np.unique(y_[train])) < 2:
            return None
        p[test] = RiskProbe(**kwargs).fit(X_[train], y_[train]).predict_proba(X_[test])[:, 1]
    return p


def gate_accuracy(X: torch.Tensor, y: Sequence[int], groups: Sequence[str], fit_on: Sequence[bool], *,
                  folds: int = 5, **kwargs: Any) -> float:
    """Out-of-fold accuracy on every row (`oof_gate_proba` at 0.5); nan when a fold lacks a class."""
    p = oof_gate_proba(X, y, groups, fit_on, folds=folds, **kwargs)
    return float("nan") if p is None else float(np.mean((p > 0.5) == (np.asarray(y) == 1)))


@dataclass(frozen=True)
class ProbeChoice:
    """What `select_probe` chose, and the out-of-fold scores of every candidate.

    Attributes:
        labels: name of the chosen training set (a key of `fit_sets`).
        layer: the block the probe reads.
        accuracy, log_loss: the chosen candidate's out-of-fold gate accuracy and log loss.
        table: `{labels: {layer: (accuracy, log_loss)}}` for every candidate (nan: unfit).
    """

    labels: str
    layer: int
    accuracy: float
    log_loss: float
    table: Mapping[str, Mapping[int, tuple[float, float]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"labels": self.labels, "layer": self.layer, "accuracy": round(self.accuracy, 4),
                "log_loss": round(self.log_loss, 4),
                "candidates": {lab: {str(k): [round(a, 4), round(ll, 4)] for k, (a, ll) in rows.items()}
                               for lab, rows in self.table.items()}}


def select_probe(features: torch.Tensor, y: Sequence[int], groups: Sequence[str],
                 fit_sets: Mapping[str, Sequence[bool]], layers: Sequence[int], *,
                 folds: int = 5) -> ProbeChoice:
    """Choose the probe's training set and layer by out-of-fold gate quality on every row.

    `features` is `[n, N, d]` (every row's state at every block). Each (set, layer) candidate is
    scored by `oof_gate_proba`: accuracy at 0.5 first, then lower log loss (the calibrated,
    less brittle gate), then the later layer (nearer the edit), then the earlier-listed set.

    Raises:
        CalibrationDataError: no candidate could be fit (every set lacks a class in some fold).
    """
    y_ = np.asarray(y)
    table: dict[str, dict[int, tuple[float, float]]] = {}
    best: tuple[Any, ...] | None = None
    for rank, (name, fit_on) in enumerate(fit_sets.items()):
        table[name] = {}
        for layer in layers:
            p = oof_gate_proba(features[:, layer], y, groups, fit_on, folds=folds)
            if p is None:
                table[name][layer] = (float("nan"), float("nan"))
                continue
            q = np.clip(p, 1e-7, 1 - 1e-7)
            acc = float(np.mean((p > 0.5) == (y_ == 1)))
            ll = float(-np.mean(y_ * np.log(q) + (1 - y_) * np.log(1 - q)))
            table[name][layer] = (acc, ll)
            key = (round(acc, 9), -round(ll, 9), layer, -rank)
            if best is None or key > best[0]:
                best = (key, name, layer, acc, ll)
    if best is None:
        raise CalibrationDataError("no probe candidate could be fit: every label set lacks a class in "
                                   "some fold (give questions of both kinds from at least two users)")
    return ProbeChoice(labels=best[1], layer=best[2], accuracy=best[3], log_loss=best[4], table=table)
