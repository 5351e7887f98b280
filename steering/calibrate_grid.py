"""Calibration's grid search of gamma and tau (fpps-method.md §7) and its PNG plots.

Everything here works on per-question correctness already decoded by the pipeline in
`calibrate.py`: `p_hat` is fixed per request, so FPPS-H and FPPS-M are swept over tau
analytically from each question's (off, hard, soft@gamma) outcomes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from .probe import ProbeChoice

if TYPE_CHECKING:
    from .calibrate_types import CalibrationConfig, QuestionState

__all__ = ["choose_tau", "compact_grid", "grid_search", "p_summary", "plots", "score"]


def score(correct: Sequence[bool], kinds: Sequence[str]) -> tuple[float, float, float]:
    """(P, F, Overall) in percent."""
    p = [c for c, k in zip(correct, kinds) if k == "personalized"]
    f = [c for c, k in zip(correct, kinds) if k == "factual"]
    P = 100.0 * sum(p) / max(len(p), 1)
    F = 100.0 * sum(f) / max(len(f), 1)
    return P, F, (P + F) / 2


def choose_tau(taus: Sequence[float], overall: Sequence[float], p_scores: Sequence[float],
               tol: float) -> tuple[float, int]:
    """The tau in the middle of the plateau that holds the best (Overall, P) point.

    The plateau is the contiguous run of taus whose Overall is within `tol` points of the best;
    its midpoint generalizes better than a knife-edge optimum. Returns (tau, index).
    """
    best = max(range(len(taus)), key=lambda i: (round(overall[i], 9), round(p_scores[i], 9), -i))
    lo = hi = best
    while lo > 0 and overall[lo - 1] >= overall[best] - tol:
        lo -= 1
    while hi < len(taus) - 1 and overall[hi + 1] >= overall[best] - tol:
        hi += 1
    mid = (lo + hi) // 2
    return float(taus[mid]), mid


def grid_search(qs: Sequence[QuestionState], p_hat: Sequence[float], outs: Sequence[dict[str, bool]],
          cfg: CalibrationConfig) -> dict[str, Any]:
    """FPPS-H/S/M scores over the grid, from per-question (off, hard, soft@gamma) correctness."""
    kinds = [q.example.kind for q in qs]
    off = [q.correct_with for q in qs]
    res: dict[str, Any] = {"off": dict(zip("PFO", score(off, kinds)))}

    def pick(choice: Callable[[int, float], bool]) -> list[dict[str, float]]:
        rows = []
        for tau in cfg.taus:
            P, F, O = score([choice(i, tau) for i in range(len(qs))], kinds)
            rows.append({"tau": tau, "P": P, "F": F, "O": O})
        return rows

    hard = pick(lambda i, tau: outs[i]["hard"] if p_hat[i] >= tau else off[i])
    tau_h, ih = choose_tau(cfg.taus, [r["O"] for r in hard], [r["P"] for r in hard], cfg.plateau_tol)
    res["hard"] = {"tau": tau_h, **hard[ih], "curve": hard}
    soft = []
    for g in cfg.gammas:
        P, F, O = score([outs[i][f"soft@{g}"] if g else off[i] for i in range(len(qs))], kinds)
        soft.append({"gamma": g, "P": P, "F": F, "O": O})
    # Ties: higher P, then the smaller gamma (the weaker edit generalizes better; gamma = 0 makes
    # FPPS-S a no-op and FPPS-M hard-or-nothing, which is what the data then supports).
    res["soft"] = {**max(soft, key=lambda r: (round(r["O"], 9), round(r["P"], 9), -r["gamma"])),
                   "curve": soft}
    mixed = []
    for g in cfg.gammas:
        rows = pick(lambda i, tau, g=g: outs[i]["hard"] if p_hat[i] >= tau
                    else (outs[i][f"soft@{g}"] if g else off[i]))
        tau_m, im = choose_tau(cfg.taus, [r["O"] for r in rows], [r["P"] for r in rows], cfg.plateau_tol)
        mixed.append({"gamma": g, **rows[im], "tau": tau_m, "curve": rows})
    res["mixed"] = max(mixed, key=lambda r: (round(r["O"], 9), round(r["P"], 9), -r["gamma"]))
    res["mixed_by_gamma"] = mixed
    return res


def p_summary(p_hat: Sequence[float], kinds: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("personalized", "factual"):
        ps = sorted(p for p, k in zip(p_hat, kinds) if k == kind)
        if ps:
            out[kind] = {"mean": sum(ps) / len(ps), "min": ps[0], "median": ps[len(ps) // 2],
                         "max": ps[-1]}
    return out


def compact_grid(grid: Mapping[str, Any]) -> dict[str, Any]:
    def strip(r: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k != "curve"}

    return {
        "objective": "Overall = (P + F) / 2, ties to higher P; tau at the middle of its plateau",
        "off": strip(grid["off"]), "hard": strip(grid["hard"]), "soft": strip(grid["soft"]),
        "mixed": strip(grid["mixed"]),
        "soft_by_gamma": [strip(r) for r in grid["soft"]["curve"]],
        "mixed_by_gamma": [strip(r) for r in grid["mixed_by_gamma"]],
        "hard_curve": [[r["tau"], round(r["P"], 2), round(r["F"], 2)] for r in grid["hard"]["curve"]][::5],
    }


def plots(out: Path, sel: Any, acc: Sequence[float], choice: ProbeChoice, grid: Mapping[str, Any],
          cfg: CalibrationConfig) -> None:
    """`delta_by_layer.png`, `probe_accuracy_by_layer.png` and `grid.png` in `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(acc)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(range(n), sel.mean_delta_degraded.tolist(), marker="o", label="factual-degraded")
    ax.plot(range(n), sel.mean_delta_beneficial.tolist(), marker="s", label="personalized-beneficial")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(sel.layer, color="red", ls="--", label=f"L = {sel.layer}")
    ax.set_yscale("symlog", linthresh=1.0)  # Delta is <= 1 but unbounded below
    ax.set(xlabel="layer (block output)", ylabel="mean Delta_l (symlog)",
           title="Logit-lens Delta by layer")
    ax.legend()
    fig.tight_layout(), fig.savefig(out / "delta_by_layer.png", dpi=110), plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(range(n), acc, marker="o", label=f"{choice.labels} labels, stratified CV")
    for labels, rows in choice.table.items():
        ks = sorted(rows)
        ax.plot(ks, [rows[k][0] for k in ks], marker=".", lw=1,
                label=f"{labels} labels, gate accuracy on every question (CV by user)")
    ax.axvline(sel.layer, color="red", ls="--", label=f"L = {sel.layer}")
    if choice.layer != sel.layer:
        ax.axvline(choice.layer, color="green", ls=":", label=f"probe block {choice.layer}")
    ax.axhline(0.5, color="grey", lw=0.5)
    ax.set(xlabel="layer", ylabel="held-out accuracy", ylim=(0.3, 1.02),
           title="Probe accuracy by layer")
    ax.legend(fontsize=7)
    fig.tight_layout(), fig.savefig(out / "probe_accuracy_by_layer.png", dpi=110), plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    mat = [[r["O"] for r in m["curve"]] for m in grid["mixed_by_gamma"]]
    im = axes[0].imshow(mat, aspect="auto", origin="lower", cmap="viridis",
                        extent=(cfg.taus[0], cfg.taus[-1], -0.5, len(cfg.gammas) - 0.5))
    axes[0].set_yticks(range(len(cfg.gammas)), [str(g) for g in cfg.gammas])
    axes[0].set(xlabel="tau", ylabel="gamma", title="FPPS-M Overall (train)")
    fig.colorbar(im, ax=axes[0])
    hc = grid["hard"]["curve"]
    for k in ("P", "F", "O"):
        axes[1].plot([r["tau"] for r in hc], [r[k] for r in hc], label=k)
    axes[1].axvline(grid["hard"]["tau"], color="red", ls="--")
    axes[1].set(xlabel="tau", ylabel="%", title="FPPS-H by tau")
    axes[1].legend()
    sc = grid["soft"]["curve"]
    for k in ("P", "F", "O"):
        axes[2].plot([r["gamma"] for r in sc], [r[k] for r in sc], marker="o", label=k)
    axes[2].set(xlabel="gamma", ylabel="%", title="FPPS-S by gamma")
    axes[2].legend()
    fig.tight_layout(), fig.savefig(out / "grid.png", dpi=110), plt.close(fig)
