"""Measurement of the bundled mini benchmark on the default model: the data card's numbers.

`measure` answers every question with and without history (greedy, batched), `summarize` turns
the rows into the card's rates, `probe_facts` re-checks the fact table history-free, `counts`
tallies a file. Used by `python -m fpps.eval.minibench measure|probe|stats`.
"""

from __future__ import annotations

import time
from typing import Any

from fpps.steering.judge import contains_answer

from .facts import Fact, fact_bank
from .records import SPLITS, Record

__all__ = ["counts", "measure", "probe_facts", "summarize"]


def _rate(flags: list[bool]) -> float:
    return round(100.0 * sum(flags) / len(flags), 1) if flags else 0.0


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracies (%) and the degraded / beneficial counts over measured rows."""
    fw = [r["factual_without"] for r in rows]
    fh = [r["factual_with"] for r in rows]
    pw = [r["personal_with"] for r in rows]
    po = [r["personal_without"] for r in rows]
    degraded = sum(a and not b for a, b in zip(fw, fh))
    return {
        "users": len(rows),
        "factual_acc_without_history": _rate(fw),
        "factual_acc_with_history": _rate(fh),
        "personal_acc_with_history": _rate(pw),
        "personal_acc_without_history": _rate(po),
        "factual_correct_without": sum(fw),
        "factual_degraded": degraded,
        "factual_degraded_share": round(100.0 * degraded / max(1, sum(fw)), 1),
        "factual_improved": sum(b and not a for a, b in zip(fw, fh)),
        "personalized_beneficial": sum(a and not b for a, b in zip(pw, po)),
        "personalized_harmed": sum(b and not a for a, b in zip(pw, po)),
    }


def measure(records: list[Record], *, batch_size: int = 16, max_new_tokens: int = 48,
            top_k: int = 3, log: Any = None) -> dict[str, Any]:
    """Greedy answers of the default model with and without history, judged by containment."""
    import torch

    from fpps.steering import RagPersonalizer, contains_answer, history_free_messages, load_model
    from fpps.steering.generate import greedy_generate

    torch.manual_seed(0)
    adapter = load_model()
    rag = RagPersonalizer(top_k=top_k)
    prompts, keys = [], []
    for r in records:
        for kind, qa in (("factual", r.factual), ("personal", r.personalized)):
            if qa is None:
                continue
            prompts.append(rag.messages(qa.question, r.sessions, r.dates, r.current_date))
            keys.append((r.user_id, kind, "with"))
            prompts.append(history_free_messages(qa.question, r.current_date))
            keys.append((r.user_id, kind, "without"))
    # Longest first, in chunks: batches pad little, and progress (and running out of memory)
    # shows early.
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i][-1]["content"]))
    responses: list[str] = [""] * len(prompts)
    chunk = 4 * batch_size
    t0 = time.perf_counter()
    for start in range(0, len(order), chunk):
        idx = order[start:start + chunk]
        texts = greedy_generate(adapter, [prompts[i] for i in idx], max_new_tokens, batch_size)
        for i, text in zip(idx, texts):
            responses[i] = text
        if log is not None:
            print(f"  {start + len(idx)}/{len(prompts)} prompts, {time.perf_counter() - t0:.0f}s",
                  file=log, flush=True)
    by_key = dict(zip(keys, responses))
    rows = []
    for r in records:
        row: dict[str, Any] = {"user_id": r.user_id, "split": r.split}
        for kind, qa in (("factual", r.factual), ("personal", r.personalized)):
            if qa is None:
                continue
            row[f"{kind}_type"] = qa.question_type
            for cond in ("with", "without"):
                text = by_key[(r.user_id, kind, cond)]
                row[f"{kind}_{cond}"] = contains_answer(text, qa.answers)
                row[f"{kind}_{cond}_response"] = text
        rows.append(row)
    out: dict[str, Any] = {"model": adapter.name, "decoding": {"greedy": True,
                           "max_new_tokens": max_new_tokens, "rag_top_k": top_k},
                           "judge": "contains_answer", "seconds": round(time.perf_counter() - t0, 1)}
    out["splits"] = {s: summarize([r for r in rows if r["split"] == s])
                     for s in (*SPLITS, "all") if s == "all" or any(r["split"] == s for r in rows)}
    out["splits"]["all"] = summarize(rows)
    cats: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        cats.setdefault(r.get("factual_type") or "?", []).append(r)
    out["factual_by_category"] = {c: summarize(v) for c, v in sorted(cats.items())}
    types: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        types.setdefault(r.get("personal_type") or "?", []).append(r)
    out["personal_by_type"] = {t: summarize(v) for t, v in sorted(types.items())}
    out["rows"] = rows
    return out


def probe_facts(current_dates: tuple[str, ...] = ("2024/06/01 (Sat) 09:00",),
                batch_size: int = 16, facts: tuple[Fact, ...] | None = None) -> dict[str, list[bool]]:
    """History-free greedy correctness of every fact (the mini bank unless `facts` is given), per
    current date.

    This is how `FACT_TABLE` (and the broad set's table) was filtered for the default model;
    rerun it for another model.
    """
    from fpps.steering import history_free_messages, load_model
    from fpps.steering.generate import greedy_generate

    adapter = load_model()
    facts = fact_bank() if facts is None else facts
    out: dict[str, list[bool]] = {f.id: [] for f in facts}
    for date in current_dates:
        texts = greedy_generate(adapter, [history_free_messages(f.question, date) for f in facts],
                                48, batch_size)
        for f, text in zip(facts, texts):
            out[f.id].append(contains_answer(text, f.answers))
    return out


def counts(records: list[Record]) -> dict[str, Any]:
    """Per-split counts of users, factual categories, personal types and session numbers."""
    out: dict[str, Any] = {}
    for s in SPLITS:
        rs = [r for r in records if r.split == s]
        if not rs:
            continue
        cat: dict[str, int] = {}
        typ: dict[str, int] = {}
        for r in rs:
            if r.factual is not None:
                cat[r.factual.question_type or "?"] = cat.get(r.factual.question_type or "?", 0) + 1
            if r.personalized is not None:
                key = r.personalized.question_type or "?"
                typ[key] = typ.get(key, 0) + 1
        out[s] = {"users": len(rs), "factual_categories": dict(sorted(cat.items())),
                  "personal_types": dict(sorted(typ.items())),
                  "facts": len({r.factual.source_id for r in rs if r.factual is not None}),
                  "with_distractors": sum(
                      1 for r in rs if r.extra.get("minibench", {}).get("distractor_sessions")),
                  "sessions": [min(len(r.sessions) for r in rs), max(len(r.sessions) for r in rs)]}
    return out


