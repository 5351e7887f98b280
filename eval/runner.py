"""Generate every PFQABench answer an evaluation needs, in-process or over HTTP, resumably.

For each record the plan asks for the personalized and the factual question *with* history (the
personalization method's prompt, RAG by default) under every steering configuration, and the
factual question *without* history (the history-free prompt, D16; steering off), the
counterfactual that defines a personalization-induced hallucination (§2).

A configuration is a `Condition` (mode, strength, gamma, tau). The plan always holds each mode at
strength 1 with the artifact's calibrated gamma/tau (the main table); `--strengths`, `--gammas`
and `--taus` add sweep points for the Pareto plot.

The backends that answer the `WorkItem`s (in-process engine, HTTP server) live in `backends`;
the `Backend` protocol they implement is here, so the runner never imports them.

Answers are appended to `OUT/answers.jsonl` as they arrive, keyed by a hash of (user, question
kind, condition, mode, strength, gamma, tau, system id, prompt settings): a rerun skips what is
already there, so a crash loses at most one batch.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Protocol, Sequence

from fpps.steering.params import MODES
from fpps.steering.personalize import Message, RagPersonalizer, history_free_messages

from .records import QA, Record

__all__ = ["AnswerCache", "Backend", "Condition", "EvalConfig", "Result", "WorkItem", "evaluate", "plan",
           "prompts", "run_eval"]

Kind = Literal["personalized", "factual"]
ANSWERS_FILE = "answers.jsonl"


@dataclass(frozen=True)
class Condition:
    """One steering configuration; gamma/tau None take the artifact's calibrated values."""

    mode: str
    strength: float = 1.0
    gamma: float | None = None
    tau: float | None = None

    @property
    def is_default(self) -> bool:
        return self.strength == 1.0 and self.gamma is None and self.tau is None

    @property
    def label(self) -> str:
        parts = [self.mode]
        if self.mode != "off":
            if self.strength != 1.0:
                parts.append(f"a={self.strength:g}")
            if self.gamma is not None:
                parts.append(f"g={self.gamma:g}")
            if self.tau is not None:
                parts.append(f"t={self.tau:g}")
        return " ".join(parts)


OFF = Condition("off")


@dataclass(frozen=True, kw_only=True)
class EvalConfig:
    """What to generate and how."""

    modes: tuple[str, ...] = MODES
    strengths: tuple[float, ...] = (1.0,)
    gammas: tuple[float | None, ...] = (None,)
    taus: tuple[float | None, ...] = (None,)
    max_tokens: int = 32
    """Greedy answer length (the calibration default; the paper uses up to 500)."""
    top_k: int = 3
    """Sessions retrieved into the RAG prompt (D20)."""
    method: str = "rag"
    """`rag` (the paper's RAG prompt) or `pag` (profile summary + one session, in-process only)."""
    profile_tokens: int = 64
    """Length of the PAG profile summary."""

    def __post_init__(self) -> None:
        if self.method not in ("rag", "pag"):
            raise ValueError(f"unknown method {self.method!r}; use 'rag' or 'pag'")
        bad = [m for m in self.modes if m not in MODES]
        if bad:
            raise ValueError(f"unknown mode(s) {bad}; choose from {list(MODES)}")
        if not self.modes:
            raise ValueError("at least one mode is needed")
        for s in self.strengths:
            if not 0.0 <= s <= 1.0:
                raise ValueError(f"strength {s} outside [0, 1]")

    def conditions(self) -> list[Condition]:
        """Each mode's default condition first, then the sweep points (no duplicates)."""
        out: list[Condition] = []
        for mode in self.modes:
            if mode == "off":
                out.append(OFF)
                continue
            out.append(Condition(mode))
            for s, g, t in itertools.product(self.strengths, self.gammas, self.taus):
                c = Condition(mode, float(s), g, t)
                if c not in out:
                    out.append(c)
        if OFF not in out:  # recovered/broken shares are measured against no steering
            out.insert(0, OFF)
        return out


@dataclass(frozen=True)
class WorkItem:
    """One answer to generate."""

    user_id: str
    kind: Kind
    history: bool
    cond: Condition
    qa: QA = field(repr=False, compare=False)
    record: Record = field(repr=False, compare=False)
    key: str = ""


Result = dict[str, Any]  # text, p_hat, gate, finish_reason, completion_tokens, error


class Backend(Protocol):
    """Answers work items; yields `(item, result)` as each finishes."""

    system_id: str
    info: dict[str, Any]

    def run(self, items: Sequence[WorkItem], config: EvalConfig,
            profiles: dict[str, str] | None = None) -> Iterator[tuple[WorkItem, Result]]: ...


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def plan(records: Sequence[Record], config: EvalConfig, system_id: str) -> list[WorkItem]:
    """Every answer the evaluation needs, grouped by question (so batches share a prompt)."""
    conds = config.conditions()
    items = []
    for r in records:
        for kind, qa in (("personalized", r.personalized), ("factual", r.factual)):
            if qa is None:
                continue
            todo = [(True, c) for c in conds]
            if kind == "factual":
                todo.append((False, OFF))
            for hist, c in todo:
                key = _hash(r.user_id, kind, hist, c.mode, c.strength, c.gamma, c.tau, system_id,
                            qa.question, config.max_tokens, config.top_k, config.method)
                items.append(WorkItem(r.user_id, kind, hist, c, qa, r, key))  # type: ignore[arg-type]
    return items


def prompts(item: WorkItem, config: EvalConfig,
            profiles: dict[str, str] | None = None) -> tuple[list[Message], list[Message]]:
    """The personalized (or history-free) prompt and the history-free twin of one item."""
    r, q = item.record, item.qa.question
    # Only RAG carries the current date (§8.4); the twin is the method's template without u (D16).
    twin = history_free_messages(q, r.current_date if config.method == "rag" else None)
    if not item.history:
        return twin, twin
    sessions = [list(s) for s in r.sessions]
    if config.method == "pag":
        from .pag import pag_messages

        return pag_messages(q, (profiles or {}).get(r.user_id, ""), sessions, r.dates), twin
    msgs = RagPersonalizer(top_k=config.top_k).messages(q, sessions, r.dates, r.current_date)
    return msgs, twin


# --------------------------------------------------------------------------- cache

class AnswerCache:
    """`OUT/answers.jsonl`: one JSON object per generated answer, keyed by `WorkItem.key`."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir) / ANSWERS_FILE
        self.data: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash
                if rec.get("error") is None:
                    self.data[rec["key"]] = rec
        self._lock = threading.Lock()

    def put(self, item: WorkItem, result: dict[str, Any]) -> dict[str, Any]:
        rec = {"key": item.key, "user_id": item.user_id, "kind": item.kind,
               "history": item.history, **asdict(item.cond), "question": item.qa.question,
               "answers": list(item.qa.answers), **result}
        with self._lock:
            if rec.get("error") is None:
                self.data[item.key] = rec
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        return rec


# --------------------------------------------------------------------------- driver

def run_eval(records: Sequence[Record], backend: Backend, out_dir: str | Path, config: EvalConfig,
             *, progress: bool = True,
             on_answer: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Generate what the cache lacks and return every planned answer (errors left out).

    Returns the cached records (`AnswerCache` rows) of all planned items that have an answer.
    """
    cache = AnswerCache(out_dir)
    items = plan(records, config, backend.system_id)
    todo = [i for i in items if i.key not in cache.data]
    errors = 0
    if todo:
        profiles = (_profiles({i.record.user_id: i.record for i in todo}, backend, out_dir, config)
                    if config.method == "pag" else None)
        bar = _progress(progress)
        with bar:
            task = bar.add_task("generating", total=len(items), completed=len(items) - len(todo))
            for item, result in backend.run(todo, config, profiles):
                rec = cache.put(item, result)
                errors += rec.get("error") is not None
                if on_answer is not None:
                    on_answer(rec)
                bar.update(task, advance=1, description=f"generating ({errors} errors)" if errors
                           else "generating")
    return [cache.data[i.key] for i in items if i.key in cache.data]


def _profiles(records: dict[str, Record], backend: Any, out_dir: str | Path,
              config: EvalConfig) -> dict[str, str]:
    """PAG profile summaries per user, cached in `OUT/profiles.jsonl`."""
    from .pag import profile_messages

    if not hasattr(backend, "summarize"):
        raise ValueError("this backend cannot write PAG profile summaries; run pag in-process")
    path = Path(out_dir) / "profiles.jsonl"
    keys = {u: _hash(u, [list(s) for s in r.sessions], backend.system_id, config.profile_tokens)
            for u, r in records.items()}
    have: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
                have[rec["key"]] = rec["profile"]
            except (json.JSONDecodeError, KeyError):
                continue
    missing = [u for u in records if keys[u] not in have]
    if missing:
        texts = backend.summarize([profile_messages([list(s) for s in records[u].sessions])
                                   for u in missing], config.profile_tokens)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            for u, text in zip(missing, texts):
                have[keys[u]] = text
                f.write(json.dumps({"key": keys[u], "user_id": u, "profile": text}) + "\n")
    return {u: have[keys[u]] for u in records}


def _progress(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), disable=not enabled, transient=False)


def evaluate(records: Sequence[Record], backend: Backend, out_dir: str | Path, config: EvalConfig,
             *, judge: Any = None, progress: bool = True, plots: bool = True, boot: int = 1000,
             provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """Generate (resumably), judge and report: the whole of `fpps eval`. Returns the report."""
    from fpps.steering.judge import ContainsJudge

    from .judges import LLMJudge, VerdictCache, agreement, judge_all, judge_name
    from .reports import build_report

    judge = judge if judge is not None else ContainsJudge()
    answers = run_eval(records, backend, out_dir, config, progress=progress)
    planned = len(plan(records, config, backend.system_id))
    items = [(a["question"], a["answers"], a["text"]) for a in answers]
    is_llm = isinstance(judge, LLMJudge)
    cache = VerdictCache(Path(out_dir) / "verdicts.jsonl") if is_llm else None
    bar = _progress(progress and is_llm)
    with bar:
        task = bar.add_task(f"judging ({judge_name(judge)})", total=len(items))
        verdicts = judge_all(judge, items, cache=cache, on_done=lambda n: bar.update(task, advance=n))
    agree = None
    if is_llm:  # both judges ran: report how often they agree
        contains = judge_all(ContainsJudge(), items)
        agree = {"first": judge_name(judge), "second": "contains", **agreement(verdicts, contains),
                 "unparsed_replies": len(judge.unparsed)}
    prov = {"judge": judge_name(judge), "method": config.method, "top_k": config.top_k,
            "max_tokens": config.max_tokens, "modes": list(config.modes),
            "strengths": list(config.strengths), "gammas": list(config.gammas),
            "taus": list(config.taus), **backend.info, **(provenance or {})}
    return build_report(answers, verdicts, out_dir, provenance=prov, judge_agreement=agree,
                        planned=planned, boot=boot, plots=plots)
