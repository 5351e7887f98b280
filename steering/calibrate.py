"""The FPPS calibration pipeline for one (model, personalization method) pair (fpps-method.md §3).

    greedy answers with and without history on the training split -> judge
    -> factual-degraded (label 1) and personalized-beneficial (label 0) groups
    -> layer selection (§4) -> probe + held-out accuracy per layer (§5) -> s_f (§6.1)
    -> grid search of gamma and tau for FPPS-S/M/H (§7) -> artifact (§6.7) + plots

The module is longer than the house ~400 lines because the CPU cost forces one idea through all
of it: **one expensive prefill per question**. Pass A prefills the personalized prompt up to its
last token once, stores that prefix cache (D18: prompt positions before the last one are never
edited, so every steering configuration may share it), and from the last token on records
everything the later stages need, at every layer: the probe feature, the response states of the
greedy answer (for `s_f`) and the logit-lens perplexity of the teacher-forced gold answer (for
layer selection). Pass B reloads the prefix and decodes each configuration from the last token.
`p_hat` is fixed per request, so for a given `gamma` each question has only two FPPS-M outputs
(soft with that `gamma`, or hard); they are generated once and `tau` is swept analytically.

Everything generated is cached in `<out>/cache` (`calibrate_cache`: JSONL keyed by a hash of prompt and config;
several workers may share it), so an interrupted run resumes where it stopped. The PNG plots are
drawn by `calibrate_grid.plots`, with the tau/gamma grid search; matplotlib is imported lazily.

Probe labels (`CalibrationConfig.probe_labels`): the paper's groups (D7), or every factual (1)
and personalized (0) training question ("kinds"), recorded as `probe.labels` in the manifest.
Probe layer (`probe_layer`): the edit layer L (the paper), or an earlier block. `auto` for both
picks the pair that gates every training question best out of fold (folds by user): the served
gate sees all requests. On the bundled mini benchmark the groups probe at L = 28 fired on 39% of
held-out personal questions, the kinds probe at 28 on 6%, the kinds probe at block 10 on none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

import torch

from .adapter import ModelAdapter, load_model
from .artifact import SteeringArtifact, save_artifact
from .calibrate_cache import JsonlCache, key_hash, prefix_cache
from .calibrate_grid import choose_tau, compact_grid, grid_search, p_summary, plots, score
from .calibrate_types import CalibrationConfig, CalibrationExample, QuestionState
from .capture import capture_residuals, logit_lens_logprobs
from .edit import edit_state
from .errors import CalibrationDataError
from .judge import contains_answer
from .kv import crop, new_cache, save_cache
from .layers import delta, select_layer
from .params import SteeringParams
from .personalize import Message, RagPersonalizer, history_free_messages
from .probe import ProbeChoice, cross_val_accuracy, fit_probe, select_probe
from .provenance import package_versions
from .twin import run_to_layer
from .vector import steering_vector

__all__ = ["CalibrationConfig", "CalibrationExample", "QuestionState", "calibrate",
           "choose_tau", "decode_config", "run_pass_a"]

# --------------------------------------------------------------------------- prompts

def _prompts(ex: CalibrationExample, cfg: CalibrationConfig) -> tuple[list[Message], list[Message]]:
    sessions = [list(s) for s in ex.sessions]
    dates = list(ex.dates) if ex.dates is not None else None
    msgs = RagPersonalizer(top_k=cfg.top_k).messages(ex.question, sessions, dates, ex.current_date)
    return msgs, history_free_messages(ex.question, ex.current_date)


def _encode(adapter: ModelAdapter, ex: CalibrationExample,
            cfg: CalibrationConfig) -> tuple[list[int], list[int], str]:
    """Personalized and twin prompt ids, and the question's cache key."""
    msgs, twin = _prompts(ex, cfg)
    ids, twin_ids = adapter.encode_chat(msgs), adapter.encode_chat(twin)
    return ids, twin_ids, key_hash(ids, twin_ids, cfg.max_tokens)


# --------------------------------------------------------------------------- decoding

def _greedy(adapter: ModelAdapter, cache: Any, first: list[int], max_tokens: int,
            on_token: Callable[[int], None] | None = None) -> list[int]:
    """Greedy decode from `first` (fed first) into `cache`; the reference loop of `steered_generate`."""
    eos, out, step = adapter.eos_token_ids, [], first
    for _ in range(max_tokens):
        logits = adapter.model(input_ids=torch.tensor([step], device=adapter.device),
                               past_key_values=cache, use_cache=True).logits
        token = int(logits[0, -1].argmax())
        if token in eos:
            break
        out.append(token)
        if on_token is not None:
            on_token(token)
        step = [token]
    return out


@torch.inference_mode()
def decode_config(adapter: ModelAdapter, prefix: Any, prefix_len: int, last_token: int,
                  twin_ids: list[int], *, layer: int, s_f: torch.Tensor, p_hat: float,
                  branch: Literal["none", "soft", "hard"], gamma: float,
                  max_tokens: int) -> list[int]:
    """Decode one steering configuration from a shared prefix cache (`prefix_len` positions).

    Same semantics as `reference.steered_generate` with `alpha = 1`: the last prompt position
    and every generated one are edited at `blocks.{layer}.hook_resid_post`; the hard branch reads
    a lockstep twin. `prefix` is cropped back to `prefix_len` before returning.
    """
    params = SteeringParams(mode="soft" if branch != "hard" else "hard", gamma=gamma, tau=0.0)
    twin_cache, twin_states, in_twin = new_cache(), [], [False]

    def twin_step(ids: list[int]) -> None:
        in_twin[0] = True
        try:
            h = run_to_layer(adapter, layer, torch.tensor([ids], device=adapter.device), twin_cache)
        finally:
            in_twin[0] = False
        twin_states.append(h[0, -1])

    def hook(hidden: torch.Tensor) -> torch.Tensor | None:  # hidden: [1, 1, d], one new position
        if in_twin[0] or branch == "none":
            return None
        twin = twin_states[-1].view(1, 1, -1) if branch == "hard" else None
        return edit_state(hidden, params=params, branch=branch, p_hat=p_hat, s_f=s_f, h_twin=twin)

    try:
        if branch == "hard":
            twin_step(twin_ids)
        with adapter.block_output_hook(layer, hook):
            return _greedy(adapter, prefix, [last_token], max_tokens,
                           _twin_step_token(twin_step) if branch == "hard" else None)
    finally:
        crop(prefix, prefix_len)


def _twin_step_token(step: Callable[[list[int]], None]) -> Callable[[int], None]:
    return lambda token: step([token])


@torch.inference_mode()
def run_pass_a(adapter: ModelAdapter, ex: CalibrationExample, cfg: CalibrationConfig,
               kv_dir: Path, need_gold: Callable[[CalibrationExample, bool, bool], bool]
               ) -> tuple[QuestionState, dict[str, Any]]:
    """Greedy answers with and without history, all-layer features, gold lens PPL; saves the prefix."""
    ids, twin_ids, key = _encode(adapter, ex, cfg)
    with capture_residuals(adapter) as rec:  # no history: short prompt, full capture
        gen_wo = _greedy(adapter, new_cache(), twin_ids, cfg.max_tokens)
        states_wo = rec.stacked()  # [N, pos, d]
    n_wo = max(len(gen_wo), 1)
    resp_wo = states_wo[:, len(twin_ids) - 1:len(twin_ids) - 1 + n_wo].mean(dim=1)

    prefix = new_cache()
    adapter.model(input_ids=torch.tensor([ids[:-1]], device=adapter.device), past_key_values=prefix,
                  use_cache=True)
    save_cache(prefix, kv_dir / f"{key}.safetensors")
    with capture_residuals(adapter) as rec:
        gen_w = _greedy(adapter, prefix, [ids[-1]], cfg.max_tokens)
        states_w = rec.stacked()  # [N, 1 + fed generated tokens, d], starts at the last prompt pos
    feature, resp_w = states_w[:, 0], states_w[:, :max(len(gen_w), 1)].mean(dim=1)
    text_w, text_wo = adapter.decode(gen_w).strip(), adapter.decode(gen_wo).strip()
    cw, cwo = contains_answer(text_w, ex.answers), contains_answer(text_wo, ex.answers)
    qs = QuestionState(ex, key, text_w, text_wo, cw, cwo, feature, resp_w, resp_wo)
    if need_gold(ex, cw, cwo):
        gold = list(adapter.tokenizer(ex.answers[0], add_special_tokens=False)["input_ids"])
        crop(prefix, len(ids) - 1)
        with capture_residuals(adapter) as rec:
            adapter.model(input_ids=torch.tensor([[ids[-1], *gold]], device=adapter.device),
                          past_key_values=prefix, use_cache=True)
            s = rec.stacked()[:, :len(gold)]  # positions predicting the gold tokens
        qs.ppl_with = torch.exp(-logit_lens_logprobs(adapter, s, torch.tensor(gold)).double().mean(1)).float()
        with capture_residuals(adapter) as rec:
            adapter.model(input_ids=torch.tensor([twin_ids + gold], device=adapter.device))
            s = rec.stacked()[:, len(twin_ids) - 1:len(twin_ids) - 1 + len(gold)]
        qs.ppl_without = torch.exp(-logit_lens_logprobs(adapter, s, torch.tensor(gold)).double().mean(1)).float()
    meta = {"prompt_tokens": len(ids), "twin_tokens": len(twin_ids), "tokens_with": len(gen_w),
            "tokens_without": len(gen_wo)}
    return qs, meta


# --------------------------------------------------------------------------- state storage

def _store_state(qs: QuestionState, meta: dict[str, Any], cache: JsonlCache, states_dir: Path) -> None:
    from safetensors.torch import save_file

    t = {"feature": qs.feature, "resp_with": qs.resp_with, "resp_without": qs.resp_without}
    if qs.ppl_with is not None and qs.ppl_without is not None:
        t.update(ppl_with=qs.ppl_with, ppl_without=qs.ppl_without)
    save_file({k: v.contiguous() for k, v in t.items()}, str(states_dir / f"{qs.key}.safetensors"))
    cache.put({"key": qs.key, "text_with": qs.text_with, "text_without": qs.text_without,
               "correct_with": qs.correct_with, "correct_without": qs.correct_without, **meta})


def _load_state(ex: CalibrationExample, rec: dict[str, Any], states_dir: Path) -> QuestionState | None:
    from safetensors.torch import load_file

    path = states_dir / f"{rec['key']}.safetensors"
    if not path.is_file():
        return None
    t = load_file(str(path))
    return QuestionState(ex, rec["key"], rec["text_with"], rec["text_without"], rec["correct_with"],
                         rec["correct_without"], t["feature"], t["resp_with"], t["resp_without"],
                         t.get("ppl_with"), t.get("ppl_without"))


def _in_group(ex: CalibrationExample, cw: bool, cwo: bool) -> bool:
    return (ex.kind == "factual" and cwo and not cw) or (ex.kind == "personalized" and cw and not cwo)


# --------------------------------------------------------------------------- the pipeline

def _track(seq: Sequence[Any], description: str) -> Iterable[Any]:
    from rich.progress import track

    return track(seq, description=description, total=len(seq), transient=False)


def calibrate(examples: Sequence[CalibrationExample], out_dir: str | Path, *,
              model: str | None = None, adapter: ModelAdapter | None = None,
              config: CalibrationConfig = CalibrationConfig(), cache_dir: str | Path | None = None,
              name: str | None = None, data_info: Mapping[str, Any] | None = None,
              log: Callable[[str], None] = print, reverse: bool = False) -> SteeringArtifact:
    """Run the whole pipeline on training `examples`; write the artifact and plots to `out_dir`.

    `reverse` processes the questions of both passes last-first (results keep the input order):
    a second worker started with `reverse=True` on the same `cache_dir` meets the first one in
    the middle, which halves the wall time on a machine with a spare core.

    Raises:
        ValueError: no examples.
        CalibrationDataError: a contrastive group is empty, or no probe could be fit (too few
            users for its folds).
    """
    if not examples:
        raise ValueError("no calibration examples")
    t_start = time.time()
    cfg = config
    adapter = adapter or load_model(model)
    out = Path(out_dir)
    cache_root = Path(cache_dir) if cache_dir is not None else out / "cache"
    kv_dir, states_dir = cache_root / "kv", cache_root / "states"
    kv_dir.mkdir(parents=True, exist_ok=True)
    states_dir.mkdir(parents=True, exist_ok=True)
    cache_a = JsonlCache(cache_root / "pass_a.jsonl")
    cache_b = JsonlCache(cache_root / "pass_b.jsonl")

    # Pass A: baseline answers, features, gold lens PPL (one prefill per question).
    slots: list[QuestionState | None] = [None] * len(examples)
    enc: dict[str, tuple[list[int], list[int]]] = {}
    order = _order(len(examples), reverse)
    for i in _track(order, "pass A: greedy with/without history"):
        ex = examples[i]
        ids, twin_ids, key = _encode(adapter, ex, cfg)
        enc[key] = (ids, twin_ids)
        rec = cache_a.get(key)
        state = _load_state(ex, rec, states_dir) if rec is not None else None
        if state is None:
            state, meta = run_pass_a(adapter, ex, cfg, kv_dir, lambda e, a, b: _in_group(e, a, b))
            _store_state(state, meta, cache_a, states_dir)
        slots[i] = state
    qs: list[QuestionState] = [q for q in slots if q is not None]
    t_a = time.time()
    deg = [q for q in qs if q.group == "degraded"]
    ben = [q for q in qs if q.group == "beneficial"]
    log(f"groups: degraded {len(deg)}, beneficial {len(ben)} of {len(qs)} questions")
    if not deg or not ben:
        raise CalibrationDataError(
            f"a contrastive group is empty (degraded {len(deg)}, beneficial {len(ben)} of {len(qs)} "
            "questions): the model must answer some factual questions right only without the history "
            "and some personal ones right only with it; use more users, longer answers, or a model "
            "that answers some of them (a random-weight model answers none)")

    # Stage 1: layer selection.
    d_deg = torch.stack([delta(q.ppl_with, q.ppl_without) for q in deg])  # type: ignore[arg-type]
    d_ben = torch.stack([delta(q.ppl_with, q.ppl_without) for q in ben])  # type: ignore[arg-type]
    sel = select_layer(d_deg, d_ben, min_layer=cfg.min_layer)
    L = sel.layer
    log(f"layer selection: L = {L} (score {float(sel.scores[L]):.5f})")

    # Stage 2: probe on the last prompt token (labels and block: `_choose_probe`); held-out
    # accuracy at every layer.
    choice = _choose_probe(qs, L, deg, ben, cfg)
    labels, PL = choice.labels, choice.layer
    if choice.table:
        log(f"probe: {labels} labels at block {PL} (out-of-fold gate accuracy on every question "
            f"{choice.accuracy:.3f}, log loss {choice.log_loss:.3f})")
    group = deg + ben
    if labels == "kinds":  # tiny groups: widen to every question of each kind (logged, recorded)
        rest = [q for q in qs if q.group is None]
        group = deg + [q for q in rest if q.example.kind == "factual"] + ben + \
            [q for q in rest if q.example.kind == "personalized"]
    y = [1 if q.example.kind == "factual" else 0 for q in group]
    log(f"probe labels: {labels} ({sum(y)} positive, {len(y) - sum(y)} negative)")
    feats = torch.stack([q.feature for q in group])  # [n, N, d]
    acc = [cross_val_accuracy(feats[:, layer], y, folds=cfg.probe_folds, seed=cfg.split_seed)
           for layer in _track(range(adapter.num_layers), "probe accuracy by layer")]
    probe = fit_probe(feats[:, PL], y)
    w, b = probe.export()
    b = float(torch.tensor(b, dtype=torch.float32))  # what the artifact stores, so p_hat matches
    p_hat = [float(torch.sigmoid(q.feature[PL] @ w + b)) for q in qs]
    log(f"probe at block {PL} (L = {L}): held-out acc {acc[PL]:.3f}")

    # Stage 3: s_f from no-history factual-correct and with-history beneficial responses.
    fact = [q.resp_without[L] for q in qs if q.example.kind == "factual" and q.correct_without]
    s_f = steering_vector(fact, [q.resp_with[L] for q in ben], normalize=cfg.normalize_s_f)
    art_hash = key_hash(L, PL, w.tolist()[:8], b, float(s_f.norm()), float(w.norm()))
    # The pre-grid fit, so that extra workers can share pass B through the same cache.
    save_artifact(SteeringArtifact(layer=L, w=w, b=b, s_f=s_f, fingerprint=adapter.fingerprint,
                                   probe_layer=PL), cache_root / "pregrid", extra={"art_hash": art_hash})

    # Pass B: per question, soft@gamma for every gamma > 0, and hard where p_hat can reach tau.
    t_b0 = time.time()
    if cfg.search_grid:
        outs = _pass_b(adapter, qs, p_hat, enc, kv_dir, cache_b, cfg, L, s_f, art_hash, reverse)
    else:
        outs = [{"hard": q.correct_with, **{f"soft@{g}": q.correct_with for g in cfg.gammas}} for q in qs]
    t_b = time.time()
    grid = grid_search(qs, p_hat, outs, cfg)
    m, h, s = grid["mixed"], grid["hard"], grid["soft"]
    log(f"grid: off O={grid['off']['O']:.1f} | H tau={h['tau']} O={h['O']:.1f} | "
        f"S gamma={s['gamma']} O={s['O']:.1f} | M gamma={m['gamma']} tau={m['tau']} O={m['O']:.1f}")
    if not cfg.search_grid:
        from .params import PAPER_DEFAULTS

        m, h = dict(m, gamma=PAPER_DEFAULTS["gamma"], tau=PAPER_DEFAULTS["tau_mixed"]), \
            dict(h, tau=PAPER_DEFAULTS["tau_hard"])
        s = dict(s, gamma=PAPER_DEFAULTS["gamma"])

    defaults = {"gamma": float(m["gamma"]), "gamma_soft": float(s["gamma"]), "tau_hard": float(h["tau"]),
                "tau_mixed": float(m["tau"]), "mode": "mixed"}
    kinds = [q.example.kind for q in qs]
    P_wo, F_wo, _ = score([q.correct_without for q in qs], kinds)
    manifest_extra = {
        "model": adapter.name, "method": cfg.method, "hook_site": "resid_post",
        "chat_template_sha256": hashlib.sha256(
            str(getattr(adapter.tokenizer, "chat_template", "")).encode()).hexdigest(),
        "s_f_normalized": cfg.normalize_s_f, "split_seed": cfg.split_seed,
        "config": {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in dataclasses.asdict(cfg).items() if k != "taus"},
        "data": {**dict(data_info or {}), "questions": len(qs),
                 "personalized": kinds.count("personalized"), "factual": kinds.count("factual"),
                 "train_off": grid["off"], "train_without_history": {"P": P_wo, "F": F_wo}},
        "groups": {"degraded": len(deg), "beneficial": len(ben),
                   "factual_correct_without": len(fact),
                   "degraded_ids": [q.example.user_id for q in deg],
                   "beneficial_ids": [q.example.user_id for q in ben],
                   "prompt_tokens": {q.example.user_id + ":" + q.example.kind: len(enc[q.key][0])
                                     for q in deg + ben}},
        "probe": {"C": 1.0, "max_iter": 1000, "standardize": True, "labels": labels,
                  "layer": PL, "selection": choice.to_json() if choice.table else None,
                  "n_positive": sum(y), "n_negative": len(y) - sum(y), "heldout_accuracy_by_layer":
                  [round(a, 4) for a in acc], "heldout_accuracy": acc[PL],
                  "train_accuracy": float(probe.score(feats[:, PL].double().numpy(), y)),
                  "p_hat_train": p_summary(p_hat, kinds)},
        "layer_selection": sel.to_json(),
        "rerun_subset": _rerun_subset(qs, enc),
        "grid": compact_grid(grid),
        "s_f_norm": float(s_f.norm()),
        "package_versions": package_versions(),
        "timings_s": {"pass_a": round(t_a - t_start, 1), "pass_b": round(t_b - t_b0, 1),
                      "total": round(time.time() - t_start, 1)},
    }
    art = SteeringArtifact(layer=L, w=w, b=b, s_f=s_f, fingerprint=adapter.fingerprint,
                           defaults=defaults, probe_layer=PL)
    save_artifact(art, out, name=name, extra=manifest_extra)
    plots(out, sel, acc, choice, grid, cfg)
    from .artifact import load_artifact

    return load_artifact(out)


def _pass_b(adapter: ModelAdapter, qs: Sequence[QuestionState], p_hat: Sequence[float],
            enc: Mapping[str, tuple[list[int], list[int]]], kv_dir: Path, cache_b: JsonlCache,
            cfg: CalibrationConfig, layer: int, s_f: torch.Tensor, art_hash: str,
            reverse: bool = False) -> list[dict[str, bool]]:
    """Correctness of every steered configuration a question can take in the grid."""
    outs: list[dict[str, bool]] = [{} for _ in qs]
    tau_min = min(cfg.taus)
    for i in _track(_order(len(qs), reverse), "pass B: steered decoding grid"):
        q, p = qs[i], p_hat[i]
        ids, twin_ids = enc[q.key]
        configs = [(f"soft@{g}", "soft", g) for g in cfg.gammas if g > 0]
        if p >= tau_min:
            configs.append(("hard", "hard", 0.0))
        row: dict[str, bool] = {"hard": q.correct_with}  # hard below tau_min never fires
        prefix = None
        for label, branch, g in configs:
            # The hard branch depends only on L (the twin's state replaces h), not on the probe
            # or s_f: a recalibrated probe reuses every cached hard answer.
            key = key_hash(q.key, key_hash("hard", layer) if branch == "hard" else art_hash, label)
            rec = cache_b.get(key)
            if rec is None:
                if prefix is None:
                    prefix = prefix_cache(adapter, kv_dir / f"{q.key}.safetensors", ids)
                gen = decode_config(adapter, prefix, len(ids) - 1, ids[-1], twin_ids, layer=layer,
                                    s_f=s_f, p_hat=p, branch=branch, gamma=g,  # type: ignore[arg-type]
                                    max_tokens=cfg.max_tokens)
                text = adapter.decode(gen).strip()
                rec = {"key": key, "label": label, "text": text,
                       "correct": contains_answer(text, q.example.answers)}
                cache_b.put(rec)
            row[label] = bool(rec["correct"])
        outs[i] = row
    return outs


def _choose_probe(qs: Sequence[QuestionState], L: int, deg: Sequence[QuestionState],
                  ben: Sequence[QuestionState], cfg: CalibrationConfig) -> ProbeChoice:
    """The probe's label set and block, from `cfg.probe_labels` and `cfg.probe_layer`.

    Fixed choices are taken as given (an empty `table`). With `auto` the candidates are scored
    by `probe.select_probe` on every training question, folds by user: a probe fit on the
    paper's groups alone may fire on ordinary personal questions (on the bundled benchmark it
    gated 39% of them out of fold at L), and each such firing steers away an answer that
    needed the history. Tiny groups leave only `kinds`. Blocks above L are never candidates:
    the gate must be known when the same forward pass reaches L.

    Raises:
        ValueError: a fixed `probe_layer` outside `0..L`.
    """
    sets = ["groups", "kinds"] if cfg.probe_labels == "auto" else [cfg.probe_labels]
    if cfg.probe_labels == "auto" and min(len(deg), len(ben)) < cfg.min_group:
        sets = ["kinds"]
    if cfg.probe_layer == "auto":
        layers = list(range(L + 1))
    else:
        layers = [L if cfg.probe_layer == "edit" else int(cfg.probe_layer)]
        if not 0 <= layers[0] <= L:
            raise ValueError(f"probe_layer {cfg.probe_layer} must be in 0..L ({L})")
    if len(sets) * len(layers) == 1:
        return ProbeChoice(labels=sets[0], layer=layers[0], accuracy=float("nan"), log_loss=float("nan"))
    fit_on = {"groups": [q.group is not None for q in qs], "kinds": [True] * len(qs)}
    return select_probe(torch.stack([q.feature for q in qs]),
                        [1 if q.example.kind == "factual" else 0 for q in qs],
                        [q.example.user_id for q in qs], {k: fit_on[k] for k in sets}, layers,
                        folds=cfg.probe_folds)


def _order(n: int, reverse: bool) -> list[int]:
    return list(range(n - 1, -1, -1)) if reverse else list(range(n))


def _rerun_subset(qs: Sequence[QuestionState], enc: Mapping[str, tuple[list[int], list[int]]],
                  per_group: int = 3) -> list[str]:
    """`user:kind` ids of a cheap rerun: shortest prompts of each group plus one other per kind."""
    def shortest(pool: list[QuestionState], n: int) -> list[QuestionState]:
        return sorted(pool, key=lambda q: len(enc[q.key][0]))[:n]

    pick = shortest([q for q in qs if q.group == "degraded"], per_group)
    pick += shortest([q for q in qs if q.group == "beneficial"], per_group)
    for kind in ("factual", "personalized"):
        pick += shortest([q for q in qs if q.group is None and q.example.kind == kind], 1)
    return [f"{q.example.user_id}:{q.example.kind}" for q in pick]
