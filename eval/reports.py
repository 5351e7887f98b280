"""PFQABench metrics, bootstrap intervals, `report.json`, `report.md` and plots.

Per steering configuration, over the evaluated users (scores in percent, fpps-method.md §8.6):

| metric | definition |
|---|---|
| `P`, `F` | accuracy on personalized / factual questions, with history |
| `Overall` | `(P + F) / 2`, as the paper |
| `F_without_history` | factual accuracy with the history-free prompt (the factual ceiling) |
| `hallucination_rate` | factual questions right without history and wrong with it (§2), of all factual questions |
| `recovered_share` | of the questions hallucinated with steering off, the share this configuration answers right |
| `personal_broken` | personalized questions right with steering off and wrong here, of all personalized questions |

Intervals are 95% percentile bootstraps over users (a user's questions are resampled together,
so paired differences keep their correlation), seed fixed. The main table is each mode at
strength 1 with the artifact's gamma/tau; every configuration run also appears in `sweep`.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from fpps.steering.provenance import package_versions

__all__ = ["METRICS", "build_report", "compute_metrics", "gate_table", "render_markdown", "write_plots"]

METRICS = ("P", "F", "Overall", "F_without_history", "hallucination_rate", "recovered_share",
           "personal_broken")
CondKey = tuple[str, float, float | None, float | None]  # mode, strength, gamma, tau
OFF: CondKey = ("off", 1.0, None, None)
MODE_ORDER = ("off", "hard", "soft", "mixed")


def _cond(a: Mapping[str, Any]) -> CondKey:
    return (str(a["mode"]), float(a["strength"]), a.get("gamma"), a.get("tau"))


def _label(c: CondKey) -> str:
    mode, s, g, t = c
    parts = [mode]
    if mode != "off":
        parts += [f"a={s:g}"] if s != 1.0 else []
        parts += [f"g={g:g}"] if g is not None else []
        parts += [f"t={t:g}"] if t is not None else []
    return " ".join(parts)


class _Table:
    """0/1/NaN correctness per user for every (kind, condition), aligned by user."""

    def __init__(self, answers: Sequence[Mapping[str, Any]], verdicts: Sequence[bool]) -> None:
        self.users = sorted({a["user_id"] for a in answers})
        pos = {u: i for i, u in enumerate(self.users)}
        self.cells: dict[tuple[str, bool, CondKey], np.ndarray] = {}
        self.p_hat: dict[tuple[str, str], float] = {}
        self.gates: dict[CondKey, list[str]] = {}
        for a, ok in zip(answers, verdicts):
            key = (a["kind"], bool(a["history"]), _cond(a) if a["history"] else OFF)
            col = self.cells.setdefault(key, np.full(len(self.users), np.nan))
            col[pos[a["user_id"]]] = float(ok)
            if a["history"] and a.get("p_hat") is not None:
                self.p_hat.setdefault((a["kind"], a["user_id"]), float(a["p_hat"]))
            if a["history"] and a["kind"] == "factual":
                self.gates.setdefault(key[2], []).append(str(a.get("gate")))

    def get(self, kind: str, history: bool, cond: CondKey) -> np.ndarray:
        return self.cells.get((kind, history, cond), np.full(len(self.users), np.nan))

    def conditions(self) -> list[CondKey]:
        seen = {k[2] for k in self.cells if k[1]}
        order = {m: i for i, m in enumerate(MODE_ORDER)}
        return sorted(seen, key=lambda c: (order.get(c[0], 9), c[0], -c[1], c[2] is not None,
                                           c[2] or 0.0, c[3] is not None, c[3] or 0.0))


def _ratios(t: _Table, cond: CondKey) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each metric as per-user (numerator, denominator) arrays, so a bootstrap is two sums."""
    p, f = t.get("personalized", True, cond), t.get("factual", True, cond)
    p0, f0 = t.get("personalized", True, OFF), t.get("factual", True, OFF)
    fw = t.get("factual", False, OFF)

    def ok(*xs: np.ndarray) -> np.ndarray:
        return np.logical_and.reduce([~np.isnan(x) for x in xs]).astype(float)

    def eq(x: np.ndarray, v: float) -> np.ndarray:
        return np.nan_to_num(x, nan=-1.0) == v

    both_f, both_p = ok(f, fw), ok(p, p0)
    halluc_off = ok(f0, fw, f) * (eq(fw, 1) & eq(f0, 0))
    return {
        "P": (np.nan_to_num(p), ok(p)),
        "F": (np.nan_to_num(f), ok(f)),
        "F_without_history": (np.nan_to_num(fw), ok(fw)),
        "hallucination_rate": (both_f * (eq(fw, 1) & eq(f, 0)), both_f),
        "recovered_share": (halluc_off * eq(f, 1), halluc_off),
        "personal_broken": (both_p * (eq(p0, 1) & eq(p, 0)), both_p),
    }


def _pct(num: float, den: float) -> float | None:
    return 100.0 * float(num) / float(den) if den > 0 else None


def compute_metrics(t: _Table, cond: CondKey, *, boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Point values, counts and 95% bootstrap intervals of one configuration."""
    r = _ratios(t, cond)
    raw = {k: _pct(n.sum(), d.sum()) for k, (n, d) in r.items()}
    raw["Overall"] = (raw["P"] + raw["F"]) / 2 if raw["P"] is not None and raw["F"] is not None else None
    out: dict[str, Any] = {k: round(v, 2) if v is not None else None for k, v in raw.items()}
    out["n_personal"] = int(r["P"][1].sum())
    out["n_factual"] = int(r["F"][1].sum())
    out["counts"] = {"hallucinated": int(r["hallucination_rate"][0].sum()),
                     "hallucinated_off": int(r["recovered_share"][1].sum()),
                     "recovered": int(r["recovered_share"][0].sum()),
                     "personal_broken": int(r["personal_broken"][0].sum())}
    gates = t.gates.get(cond, [])
    if gates and cond[0] != "off":
        out["gate_share"] = {g: round(100.0 * gates.count(g) / len(gates), 2)
                             for g in ("none", "soft", "hard")}
    out["ci95"] = _bootstrap(r, len(t.users), boot, seed)
    return {k: out[k] for k in (*METRICS, "n_personal", "n_factual")} | {
        k: v for k, v in out.items() if k not in METRICS and k not in ("n_personal", "n_factual")}


def _bootstrap(r: Mapping[str, tuple[np.ndarray, np.ndarray]], n: int, boot: int,
               seed: int) -> dict[str, list[float] | None]:
    if n == 0 or boot <= 0:
        return {k: None for k in METRICS}
    idx = np.random.default_rng(seed).integers(0, n, size=(boot, n))  # [boot, users]
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = {k: 100.0 * num[idx].sum(1) / den[idx].sum(1) for k, (num, den) in r.items()}
    reps["Overall"] = (reps["P"] + reps["F"]) / 2
    out: dict[str, list[float] | None] = {}
    for k in METRICS:
        v = reps[k][~np.isnan(reps[k])]
        out[k] = [round(float(x), 2) for x in np.percentile(v, [2.5, 97.5])] if v.size else None
    return out


def gate_table(answers: Sequence[Mapping[str, Any]], verdicts: Sequence[bool], *,
               max_misses: int = 25) -> dict[str, Any]:
    """What the gate did per steered mode (strength 1, calibrated gamma/tau), with its misses.

    The gate decides everything FPPS does to a request, so scores alone hide its errors: a
    personal question gated hard has its history removed (the product erases the answer the
    user asked for), a factual question left ungated keeps the history that bends it. Per mode:
    the share of personal questions gated hard, the share of factual questions gated hard, and
    both kinds of misses with their p_hat and whether the answer was still right (the misses
    with the highest p_hat first for personal questions, the lowest first for factual ones).
    Soft mode never gates hard: its row reports the share whose p_hat is >= 0.5 instead (the
    soft edit pushes those toward the factual side).
    """
    out: dict[str, Any] = {}
    for mode in ("hard", "soft", "mixed"):
        rows = [(a, ok) for a, ok in zip(answers, verdicts)
                if a["history"] and a["mode"] == mode and float(a["strength"]) == 1.0
                and a.get("gamma") is None and a.get("tau") is None and a.get("p_hat") is not None]
        if not rows:
            continue
        if mode == "soft":
            def gated(a: Mapping[str, Any]) -> bool:
                return float(a["p_hat"]) >= 0.5
        else:
            def gated(a: Mapping[str, Any]) -> bool:
                return a.get("gate") == "hard"
        pers = [(a, ok) for a, ok in rows if a["kind"] == "personalized"]
        fact = [(a, ok) for a, ok in rows if a["kind"] == "factual"]

        def miss(a: Mapping[str, Any], ok: bool) -> dict[str, Any]:
            return {"user_id": a["user_id"], "question": a.get("question"),
                    "p_hat": round(float(a["p_hat"]), 4), "correct": bool(ok)}

        p_miss = sorted((miss(a, ok) for a, ok in pers if gated(a)), key=lambda m: -m["p_hat"])
        f_miss = sorted((miss(a, ok) for a, ok in fact if not gated(a)), key=lambda m: m["p_hat"])
        out[mode] = {
            "rule": "p_hat >= 0.5" if mode == "soft" else "gate == hard",
            "n_personal": len(pers), "n_factual": len(fact),
            "personal_gated": _round(_pct(len(p_miss), len(pers))),
            "factual_gated": _round(_pct(len(fact) - len(f_miss), len(fact))),
            "personal_gated_n": len(p_miss), "factual_ungated_n": len(f_miss),
            "personal_gated_lost": sum(not m["correct"] for m in p_miss),
            "personal_misses": p_miss[:max_misses], "factual_misses": f_miss[:max_misses],
        }
    return out


def _round(v: float | None) -> float | None:
    return round(v, 2) if v is not None else None


def _sha256(path: str | Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def build_report(answers: Sequence[Mapping[str, Any]], verdicts: Sequence[bool], out_dir: str | Path,
                 *, provenance: Mapping[str, Any] | None = None,
                 judge_agreement: Mapping[str, Any] | None = None, planned: int | None = None,
                 boot: int = 1000, seed: int = 0, plots: bool = True) -> dict[str, Any]:
    """Compute all metrics and write `report.json`, `report.md` and (optionally) the PNGs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = _Table(answers, verdicts)
    conds = t.conditions()
    modes: dict[str, Any] = {}
    sweep = []
    for c in conds:
        m = compute_metrics(t, c, boot=boot, seed=seed)
        if c[1] == 1.0 and c[2] is None and c[3] is None:
            modes[c[0]] = m
        sweep.append({"label": _label(c), "mode": c[0], "strength": c[1], "gamma": c[2],
                      "tau": c[3], **{k: m[k] for k in (*METRICS, "n_personal", "n_factual")},
                      "ci95": m["ci95"]})
    modes = {k: modes[k] for k in sorted(modes, key=lambda k: MODE_ORDER.index(k) if k in MODE_ORDER else 9)}
    p_hats = {kind: [v for (k, _), v in t.p_hat.items() if k == kind]
              for kind in ("factual", "personalized")}
    report: dict[str, Any] = {
        "modes": modes,
        "sweep": sweep,
        "history_free": {"F": modes.get("off", {}).get("F_without_history"),
                         "n_factual": int((~np.isnan(t.get("factual", False, OFF))).sum())},
        "gate": gate_table(answers, verdicts),
        "p_hat": {k: ({"n": len(v), "mean": round(float(np.mean(v)), 4),
                       "median": round(float(np.median(v)), 4)} if v else {"n": 0})
                  for k, v in p_hats.items()},
        "n_users": len(t.users),
        "answers": {"have": len(answers), "planned": planned if planned is not None else len(answers)},
        "bootstrap": {"resamples": boot, "seed": seed, "unit": "user"},
        "judge_agreement": dict(judge_agreement) if judge_agreement else None,
        "provenance": {"versions": package_versions(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "command_line": " ".join(sys.argv), **dict(provenance or {})},
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if plots:
        report["plots"] = write_plots(report, p_hats, out)
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(render_markdown(report))
    return report


def _fmt(v: Any, ci: Sequence[float] | None = None) -> str:
    if v is None:
        return "–"
    s = f"{v:.1f}"
    return f"{s} [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else s


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown tables: modes (with 95% CIs), sweep, provenance."""
    prov = report.get("provenance", {})
    lines = ["# PFQABench report", ""]
    src = prov.get("data", {})
    lines.append(f"Data `{src.get('file', '?')}` (split {src.get('split', '?')}, "
                 f"{report.get('n_users', 0)} users); judge `{prov.get('judge', '?')}`; "
                 f"method {prov.get('method', 'rag')} (top_k {prov.get('top_k', '?')}); "
                 f"max_tokens {prov.get('max_tokens', '?')}; model `{prov.get('model', '?')}`; "
                 f"artifact `{prov.get('artifact_id', '?')}`. Scores in %, "
                 f"[95% bootstrap interval over users].")
    lines += ["", "## Modes (strength 1, calibrated gamma/tau)", "",
              "| mode | P | F | Overall | F w/o history | halluc. rate | recovered | P broken | n_P | n_F |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for mode, m in report["modes"].items():
        ci = m.get("ci95", {})
        lines.append("| " + " | ".join([mode, *(_fmt(m[k], ci.get(k)) for k in METRICS),
                                         str(m["n_personal"]), str(m["n_factual"])]) + " |")
    a = report.get("answers", {})
    if a.get("have") != a.get("planned"):
        lines += ["", f"**{a.get('planned', 0) - a.get('have', 0)} planned answers are missing** "
                      "(generation errors); the metrics use the rest."]
    if len(report["sweep"]) > len(report["modes"]):
        lines += ["", "## Sweep", "", "| configuration | P | F | Overall | recovered | P broken |",
                  "|---|---|---|---|---|---|"]
        for s in report["sweep"]:
            lines.append(f"| {s['label']} | " + " | ".join(
                _fmt(s[k]) for k in ("P", "F", "Overall", "recovered_share", "personal_broken")) + " |")
    ph = report.get("p_hat", {})
    if any(v.get("n") for v in ph.values()):
        lines += ["", "## Probe", "", "| questions | n | mean p_hat | median p_hat |", "|---|---|---|---|"]
        for k, v in ph.items():
            lines.append(f"| {k} | {v.get('n', 0)} | {v.get('mean', '–')} | {v.get('median', '–')} |")
    lines += _gate_markdown(report.get("gate") or {})
    ag = report.get("judge_agreement")
    if ag:
        lines += ["", "## Judge agreement", "",
                  f"{ag.get('first')} vs {ag.get('second')}: {ag.get('agreement')}% of {ag.get('n')} "
                  f"verdicts agree (Cohen's kappa {ag.get('kappa')}); yes only by the first: "
                  f"{ag.get('only_first')}, only by the second: {ag.get('only_second')}."]
    if report.get("plots"):
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in report["plots"]]
    lines += ["", "## Provenance", "", "```json", json.dumps(prov, indent=2), "```", ""]
    return "\n".join(lines)


def _gate_markdown(gate: Mapping[str, Any]) -> list[str]:
    if not gate:
        return []
    lines = ["", "## Gate", "",
             "Personal questions gated hard lose their history; factual questions left ungated keep it.",
             "", "| mode | rule | personal gated | factual gated | personal gated, answer lost | n_P | n_F |",
             "|---|---|---|---|---|---|---|"]
    for mode, g in gate.items():
        lines.append(f"| {mode} | {g['rule']} | {_fmt(g['personal_gated'])} ({g['personal_gated_n']}) | "
                     f"{_fmt(g['factual_gated'])} ({g['n_factual'] - g['factual_ungated_n']}) | "
                     f"{g['personal_gated_lost']} | {g['n_personal']} | {g['n_factual']} |")
    for mode, g in gate.items():
        if mode == "soft":
            continue
        for title, key in (("personal questions gated hard", "personal_misses"),
                           ("factual questions not gated", "factual_misses")):
            if g[key]:
                lines += ["", f"{mode}: {title} (p_hat; answer right?)", ""]
                lines += [f"- {m['p_hat']:.2f} {'right' if m['correct'] else 'wrong'}: "
                          f"{m['user_id']} {m['question']}" for m in g[key]]
    return lines


def write_plots(report: Mapping[str, Any], p_hats: Mapping[str, Sequence[float]], out: Path) -> list[str]:
    """`pareto.png` (P vs F per configuration, Pareto front) and `p_hat.png`; returns file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    pts = [s for s in report["sweep"] if s["P"] is not None and s["F"] is not None]
    if pts:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for mode in dict.fromkeys(s["mode"] for s in pts):
            ms = sorted((s for s in pts if s["mode"] == mode), key=lambda s: s["strength"])
            ax.plot([s["P"] for s in ms], [s["F"] for s in ms], "o-", label=mode, alpha=0.8)
            for s in ms:
                if len(ms) > 1:
                    ax.annotate(s["label"].removeprefix(mode).strip() or "default", (s["P"], s["F"]),
                                fontsize=7, xytext=(3, 3), textcoords="offset points")
        front, best_f = [], -1.0
        for s in sorted(pts, key=lambda s: (-s["P"], -s["F"])):
            if s["F"] > best_f:
                front.append(s)
                best_f = s["F"]
        ax.plot([s["P"] for s in front], [s["F"] for s in front], "k--", lw=1, marker="s", ms=11,
                mfc="none", label="Pareto front")
        fw = report.get("history_free", {}).get("F")
        if fw is not None:
            ax.axhline(fw, color="grey", ls=":", label="F without history")
        ax.set_xlabel("P-Score (%)"), ax.set_ylabel("F-Score (%)")
        ax.set_title("Personalization vs factuality per configuration")
        ax.legend(fontsize=8), fig.tight_layout()
        fig.savefig(out / "pareto.png", dpi=120), plt.close(fig)
        written.append("pareto.png")
    if any(p_hats.values()):
        fig, ax = plt.subplots(figsize=(6, 4))
        bins = np.linspace(0, 1, 21)
        for kind, vals in p_hats.items():
            if vals:
                ax.hist(vals, bins=bins, alpha=0.55, label=f"{kind} (n={len(vals)})")
        ax.set_xlabel("p_hat (probe risk at the last prompt token)"), ax.set_ylabel("questions")
        ax.set_title("Probe output: factual vs personalized questions")
        ax.legend(fontsize=8), fig.tight_layout()
        fig.savefig(out / "p_hat.png", dpi=120), plt.close(fig)
        written.append("p_hat.png")
    return written
