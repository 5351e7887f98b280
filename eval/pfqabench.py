"""Build PFQABench from its public sources (fpps-method.md §8.1–8.3, D13–D15).

    LongMemEval users ──► one text per session ──► encoder ──┐
    HotpotQA + 2Wiki ("FactQA") questions ─────► encoder ──┴─► top-`per_session` hits per session
    ──► per-user pool, S = (S_freq + S_sim) / 2, top `pool` kept
    ──► one distinct factual question per user (D14) ──► stratified train/test split (D15)

- `S_freq`: share of the user's sessions that retrieved the question (D13);
  `S_sim`: the highest cosine between the question and any single session.
- D14: users take their highest-scoring question in file order; a question already taken goes to
  nobody else, and the next one is tried. A user whose pool is exhausted falls back to the
  most similar untaken question (by `S_sim`, `S_freq` = 0), so every factual question is distinct.
- D15: fixed seed; strata are LongMemEval's `question_type`, abstention (`_abs`) questions their
  own stratum; both of a user's questions share the user's split.

The encoder is pluggable (`Encoder`): TF-IDF from scikit-learn offline by default, or a
sentence-transformers model (the paper's BGE-M3) where one can be loaded. Loaders accept the
official HotpotQA/2Wiki JSON and the Hugging Face shape (`id`, dict-shaped `context`), as a JSON
list or JSON Lines, and ignore keys they do not need; 2Wiki's test split (no `answer`) is skipped.
Every record written is checked by `validate_record`; a manifest beside the output names each
source file with its sha256.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from .records import RecordError, dump_record, validate_record

__all__ = ["Encoder", "FactQA", "SentenceTransformerEncoder", "TfidfEncoder", "align",
           "assign", "build_pfqabench", "load_factqa", "load_longmemeval", "make_encoder",
           "split_users"]


@dataclass(frozen=True)
class FactQA:
    """One factual question from HotpotQA or 2WikiMultiHopQA."""

    id: str
    question: str
    answer: str
    type: str | None
    source: str


def _read_json_records(path: str | Path) -> list[dict[str, Any]]:
    """A JSON list, an object holding one (`data`), or JSON Lines."""
    text = Path(path).read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict):
        data = data.get("data", [data])
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValueError(f"{path}: expected a JSON list of objects or JSON Lines")
    return data


def _guess_source(path: str | Path) -> str:
    name = Path(path).name.lower()
    return "2wikimultihopqa" if ("2wiki" in name or "wikimultihop" in name) else "hotpotqa"


def load_factqa(path: str | Path, source: str | None = None) -> list[FactQA]:
    """FactQA questions of one file (either record shape); records without an answer skipped."""
    source = source or _guess_source(path)
    out = []
    for i, r in enumerate(_read_json_records(path)):
        qid = r.get("_id", r.get("id"))
        question, answer = r.get("question"), r.get("answer")
        if not isinstance(question, str) or not question.strip() or answer is None:
            continue  # 2Wiki's test split has no answers
        answer = str(answer).strip()
        if not answer:
            continue
        out.append(FactQA(id=str(qid if qid is not None else f"{source}-{i}"), question=question.strip(),
                          answer=answer, type=r.get("type"), source=source))
    return out


def load_longmemeval(path: str | Path) -> list[dict[str, Any]]:
    """LongMemEval instances (any of the S, M, oracle or cleaned files)."""
    data = _read_json_records(path)
    for i, r in enumerate(data):
        missing = [k for k in ("question_id", "question", "answer", "haystack_sessions") if k not in r]
        if missing:
            raise ValueError(f"{path}: instance {i} lacks {missing} (is this a LongMemEval file?)")
    return data


# --------------------------------------------------------------------------- encoders

class Encoder(Protocol):
    """Turns texts into L2-normalized row vectors (dense or scipy-sparse)."""

    name: str

    def fit(self, texts: Sequence[str]) -> "Encoder": ...

    def encode(self, texts: Sequence[str]) -> Any: ...


class TfidfEncoder:
    """TF-IDF (scikit-learn, English stop words, sublinear tf), fitted on questions and sessions."""

    name = "tfidf"

    def __init__(self, max_features: int | None = 200_000) -> None:
        self.max_features = max_features
        self._vec: Any = None

    def fit(self, texts: Sequence[str]) -> "TfidfEncoder":
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._vec = TfidfVectorizer(stop_words="english", sublinear_tf=True,
                                    max_features=self.max_features)
        self._vec.fit(list(texts))
        return self

    def encode(self, texts: Sequence[str]) -> Any:
        if self._vec is None:
            raise RuntimeError("TfidfEncoder.encode before fit")
        return self._vec.transform(list(texts))  # rows L2-normalized by TfidfVectorizer


class SentenceTransformerEncoder:
    """A sentence-transformers model (e.g. `BAAI/bge-m3`, the paper's retriever); needs the
    `sentence-transformers` package and the model locally or a reachable hub."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        self.model_name, self.batch_size = model, batch_size
        self.name = f"st:{model}"
        self._model: Any = None

    def fit(self, texts: Sequence[str]) -> "SentenceTransformerEncoder":
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_name)
        return self

    def encode(self, texts: Sequence[str]) -> Any:
        self.fit(texts)
        return np.asarray(self._model.encode(list(texts), batch_size=self.batch_size,
                                             normalize_embeddings=True), dtype=np.float32)


def make_encoder(spec: str) -> Encoder:
    """`tfidf` or `st:MODEL`."""
    if spec == "tfidf":
        return TfidfEncoder()
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEncoder(spec[3:])
    raise ValueError(f"unknown encoder {spec!r}; use 'tfidf' or 'st:MODEL'")


# --------------------------------------------------------------------------- retrieval

def session_text(session: Sequence[dict[str, Any]]) -> str:
    return "\n".join(str(t.get("content", "")) for t in session)


@dataclass(frozen=True)
class Candidate:
    index: int  # into the FactQA list
    s_freq: float
    s_sim: float

    @property
    def score(self) -> float:
        return (self.s_freq + self.s_sim) / 2


def _dense(m: Any) -> np.ndarray:
    return m.toarray() if hasattr(m, "toarray") else np.asarray(m)


def align(user_sessions: Sequence[Sequence[str]], questions: Sequence[str], encoder: Encoder,
          *, per_session: int = 10, pool: int = 100) -> tuple[list[list[Candidate]], list[np.ndarray]]:
    """Session-aligned retrieval (§8.2) for every user.

    Returns each user's candidate pool (best first, at most `pool`) and, per user, the maximum
    cosine of every FactQA question over the user's sessions (for the D14 fallback).
    """
    flat = [t for sessions in user_sessions for t in sessions]
    encoder.fit([*questions, *flat])
    q = encoder.encode(questions)  # [n_fact, dim]
    s_all = encoder.encode(flat) if flat else None  # [n_sessions_total, dim]
    pools, max_sims = [], []
    start = 0
    k = min(per_session, len(questions))
    for sessions in user_sessions:
        n = len(sessions)
        if n == 0:
            pools.append([])
            max_sims.append(np.zeros(len(questions)))
            continue
        sims = _dense(s_all[start:start + n] @ q.T)  # [n_sessions, n_fact] cosines
        start += n
        # Top-k per session; ties broken by FactQA order so runs are reproducible.
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        freq = Counter(int(j) for row in top for j in row)
        best = sims.max(axis=0)
        cands = [Candidate(j, c / n, float(best[j])) for j, c in freq.items()]
        cands.sort(key=lambda c: (-c.score, c.index))
        pools.append(cands[:pool])
        max_sims.append(best)
    return pools, max_sims


def assign(pools: Sequence[Sequence[Candidate]], max_sims: Sequence[np.ndarray]) -> list[Candidate]:
    """One distinct FactQA question per user (D14), users in order."""
    taken: set[int] = set()
    out = []
    for cands, best in zip(pools, max_sims):
        pick = next((c for c in cands if c.index not in taken), None)
        if pick is None:  # pool exhausted: the most similar untaken question
            for j in np.argsort(-best, kind="stable"):
                if int(j) not in taken:
                    pick = Candidate(int(j), 0.0, float(best[j]))
                    break
        if pick is None:
            raise ValueError(f"not enough factual questions: {len(out)} users assigned, "
                             f"{len(pools) - len(out)} left, all questions taken")
        taken.add(pick.index)
        out.append(pick)
    return out


def stratum(instance: dict[str, Any]) -> str:
    """D15 stratum: question type, abstention questions apart."""
    qtype = str(instance.get("question_type") or "unknown")
    return f"{qtype}_abs" if str(instance["question_id"]).endswith("_abs") else qtype


def split_users(strata: Sequence[str], *, test_fraction: float = 0.5, seed: int = 0) -> list[str]:
    """`train`/`test` per user: shuffled within strata (seeded), then systematic assignment so
    each stratum and the whole set split in proportion (exactly, up to rounding)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = random.Random(seed)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(strata):
        groups[s].append(i)
    order = []
    for s in sorted(groups):
        members = groups[s]
        rng.shuffle(members)
        order.extend(members)
    out = ["train"] * len(strata)
    for pos, i in enumerate(order):
        if int((pos + 1) * test_fraction) > int(pos * test_fraction):
            out[i] = "test"
    return out


# --------------------------------------------------------------------------- assembly

def _clean_history(inst: dict[str, Any]) -> tuple[list[list[dict[str, Any]]], list[str] | None, list[str] | None]:
    """Sessions without empty turns or empty sessions, ids and dates kept aligned."""
    ids, dates = inst.get("haystack_session_ids"), inst.get("haystack_dates")
    sessions, keep_ids, keep_dates = [], [], []
    for i, s in enumerate(inst.get("haystack_sessions") or []):
        turns = [dict(t) for t in (s or []) if isinstance(t, dict)
                 and isinstance(t.get("content"), str) and t["content"].strip()]
        if not turns:
            continue
        sessions.append(turns)
        if ids is not None:
            keep_ids.append(str(ids[i]))
        if dates is not None:
            keep_dates.append(str(dates[i]))
    return (sessions, keep_ids if ids is not None else None, keep_dates if dates is not None else None)


def _sha256(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def build_pfqabench(longmemeval: str | Path, factqa_files: Sequence[str | Path], out: str | Path, *,
                    encoder: Encoder | None = None, per_session: int = 10, pool: int = 100,
                    test_fraction: float = 0.5, seed: int = 0) -> dict[str, Any]:
    """Build the benchmark into `out` (JSON Lines) plus `<out stem>.manifest.json`; returns the
    manifest."""
    encoder = encoder or TfidfEncoder()
    facts = [f for path in factqa_files for f in load_factqa(path)]
    seen: set[tuple[str, str]] = set()
    facts = [f for f in facts if not ((f.source, f.id) in seen or seen.add((f.source, f.id)))]
    instances = load_longmemeval(longmemeval)
    users, skipped = [], []
    for inst in instances:
        sessions, ids, dates = _clean_history(inst)
        obj = {"user_id": str(inst["question_id"]), "split": "train",
               "history": {"sessions": sessions, **({"session_ids": ids} if ids is not None else {}),
                           **({"dates": dates} if dates is not None else {})},
               "personalized": {"question": inst["question"], "answers": [str(inst["answer"]).strip()],
                                **({"question_type": inst["question_type"]}
                                   if inst.get("question_type") else {})}}
        if inst.get("question_date"):
            obj["current_date"] = str(inst["question_date"])
        try:
            validate_record(obj)
        except RecordError as e:
            skipped.append({"user_id": obj["user_id"], "reason": str(e)})
            continue
        users.append((inst, obj))
    if len(facts) < len(users):
        raise ValueError(f"{len(facts)} factual questions for {len(users)} users; one each is needed")
    texts = [[session_text(s) for s in obj["history"]["sessions"]] for _, obj in users]
    pools, max_sims = align(texts, [f.question for f in facts], encoder,
                            per_session=per_session, pool=pool)
    picks = assign(pools, max_sims)
    splits = split_users([stratum(inst) for inst, _ in users], test_fraction=test_fraction, seed=seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for (inst, obj), pick, split in zip(users, picks, splits):
            fq = facts[pick.index]
            obj["split"] = split
            obj["factual"] = {"question": fq.question, "answers": [fq.answer], "source": fq.source,
                              "source_id": fq.id, **({"type": fq.type} if fq.type else {}),
                              "s_freq": round(pick.s_freq, 6), "s_sim": round(pick.s_sim, 6),
                              "score": round(pick.score, 6)}
            f.write(json.dumps(dump_record(validate_record(obj)), ensure_ascii=False) + "\n")
    tmp.replace(out)
    by_split = Counter(splits)
    strata = Counter((stratum(inst), s) for (inst, _), s in zip(users, splits))
    manifest = {
        "output": out.name, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sources": [{"role": "user", "file": Path(longmemeval).name, "sha256": _sha256(longmemeval),
                     "instances": len(instances)}]
                   + [{"role": "factual", "file": Path(p).name, "sha256": _sha256(p),
                       "source": _guess_source(p)} for p in factqa_files],
        "factqa_questions": len(facts), "users": len(users), "skipped": skipped,
        "encoder": encoder.name, "per_session": per_session, "pool": pool, "seed": seed,
        "test_fraction": test_fraction, "splits": dict(sorted(by_split.items())),
        "strata": {f"{k}/{s}": v for (k, s), v in sorted(strata.items())},
        "fallback_assignments": sum(p.s_freq == 0.0 for p in picks),
    }
    manifest_path = out.with_name(out.stem + ".manifest.json")
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
