"""Build the bundled broad calibration set (`data/pfqabench-broad.jsonl`).

The mini benchmark's questions have one surface each: every personal question says "my", "I" or
"me" about the user, and the facts come from 12 categories. A gate fitted on that learns the
surface. This second set, in the same record format and for fitting only (split ``train``), keeps
the mini benchmark's machinery (belief sessions that voice a wrong belief, distractor sessions,
dated sessions, re-drawing until the history never states the factual gold answer) and widens
both sides:

- **personal questions** from `broadbench_personal`: third parties (relatives, colleagues, pets
  by name), no first-person pronoun, "remind me ...", yes/no, when/where/which/how-many forms,
  answers that are places, dates, people and numbers;
- **factual questions** from `broadbench_words.BROAD_FACT_TABLE`: numbers and geometry, sports,
  history, book series and authors, science units, famous people, food, the body, technology,
  nature, music; each kept only if the default model answers it correctly without a history.
  About a third are asked inside a personal framing ("Settle a bet between me and Hana: ...",
  "My aunt insists it's Toronto. ...").

Commands:
    python -m fpps.eval.broadbench build [--out PATH] [--seed N] [--users N]
    python -m fpps.eval.broadbench probe [--threads 1]     # re-filter the candidate facts
    python -m fpps.eval.broadbench stats [--data PATH]     # counts, including the shape mix
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from .broadbench_personal import BROAD_MAKERS, BroadPersonal
from .broadbench_words import BROAD_FACT_TABLE, CANDIDATE_FACT_TABLE, FACTUAL_FRAMES, FIRST_NAMES, KIN
from .facts import Fact, parse_facts
from .minibench import _build_user, history_leaks, write_jsonl
from .records import bundled_path, load_records

__all__ = ["BROAD_FILE", "DEFAULT_SEED", "DEFAULT_USERS", "broad_facts", "build_records", "main", "shape_counts"]

BROAD_FILE = "pfqabench-broad.jsonl"
DEFAULT_SEED = 20261207
DEFAULT_USERS = 360
FRAMED_SHARE = 0.35


def broad_facts(candidates: bool = False) -> tuple[Fact, ...]:
    """The broad set's facts (the probe-filtered table, or every candidate)."""
    return parse_facts(CANDIDATE_FACT_TABLE if candidates else BROAD_FACT_TABLE)


def _frame(rng: random.Random, fact: Fact) -> tuple[str, str | None]:
    """The factual question, inside a personal framing about a third of the time."""
    if rng.random() >= FRAMED_SHARE:
        return fact.question, None
    frame = rng.choice(FACTUAL_FRAMES)
    return frame.format(q=fact.question, kin=rng.choice(KIN), name=rng.choice(FIRST_NAMES), w=fact.wrong), frame


def _personal_ok(rec: dict[str, Any]) -> bool:
    """The personal answer is stated in the history (yes/no answers are implied by it)."""
    p = rec["personalized"]
    if p["answers"] in (["yes"], ["no"]):
        return True
    from fpps.steering.judge import contains_answer
    text = "\n".join(t["content"] for s in rec["history"]["sessions"] for t in s)
    return contains_answer(text, p["answers"])


def build_records(seed: int = DEFAULT_SEED, n_users: int = DEFAULT_USERS) -> list[dict[str, Any]]:
    """The broad set as JSON-ready dicts (split ``train``), deterministic for a given seed.

    Facts are dealt in shuffled rounds (every fact once per round) and personal makers
    round-robin, so both sides stay balanced; a user is re-drawn until its history never states
    the factual gold answer and does state the personal one.
    """
    rng = random.Random(seed)
    facts = list(broad_facts())
    picks: list[Fact] = []
    while len(picks) < n_users:
        rnd = facts[:]
        rng.shuffle(rnd)
        picks += rnd
    records = []
    for i, fact in enumerate(picks[:n_users]):
        user_id = f"b{i:04d}"
        maker = BROAD_MAKERS[i % len(BROAD_MAKERS)]
        n_distractors = 0 if rng.random() < 0.45 else rng.randint(1, 3)
        drawn: list[BroadPersonal] = []

        def draw(r: random.Random, maker=maker, drawn=drawn) -> BroadPersonal:
            drawn.append(maker(r))
            return drawn[-1]

        for _ in range(100):
            rec = _build_user(rng, user_id, "train", fact, "", n_distractors, maker=draw)
            question, frame = _frame(rng, fact)
            rec["factual"]["question"] = question
            if not history_leaks(rec) and _personal_ok(rec) and not _leaks_into_question(rec):
                break
        else:
            raise RuntimeError(f"could not build {user_id} ({fact.id}) without a leak")
        rec["minibench"]["broad"] = {"maker": maker.__name__.lstrip("_"), "framed": frame is not None,
                                     "tags": drawn[-1].tags}
        records.append(rec)
    return records


def _leaks_into_question(rec: dict[str, Any]) -> bool:
    """A framing never names the factual gold answer."""
    from fpps.steering.judge import contains_answer
    return contains_answer(rec["factual"]["question"], rec["factual"]["answers"])


def shape_counts(records: list[Any]) -> dict[str, Any]:
    """Counts of the shape mix: personal tags and makers, factual categories and framings."""
    tags: Counter[str] = Counter()
    makers: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    framed = 0
    for r in records:
        b = r.extra.get("minibench", {}).get("broad", {})
        tags.update(b.get("tags", []))
        makers[b.get("maker", "?")] += 1
        framed += bool(b.get("framed"))
        if r.factual is not None:
            cats[r.factual.question_type or "?"] += 1
    return {"users": len(records), "personal_tags": dict(sorted(tags.items())),
            "personal_makers": dict(sorted(makers.items())), "factual_categories": dict(sorted(cats.items())),
            "factual_framed": framed,
            "facts": len({r.factual.source_id for r in records if r.factual is not None})}


def probe_candidates(current_dates: tuple[str, ...] = ("2024/06/01 (Sat) 09:00", "2025/02/11 (Tue) 18:30"),
                     batch_size: int = 16) -> dict[str, list[bool]]:
    """History-free greedy correctness of every candidate fact, per current date (the filter)."""
    from .minibench_measure import probe_facts

    return probe_facts(current_dates, batch_size, facts=broad_facts(candidates=True))


def broad_path() -> Path:
    """Path of the bundled broad calibration set."""
    return bundled_path("broad")


def main(argv: list[str] | None = None) -> int:
    """`python -m fpps.eval.broadbench build|probe|stats`."""
    parser = argparse.ArgumentParser(prog="python -m fpps.eval.broadbench",
                                     description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="generate the broad calibration set JSON Lines file")
    b.add_argument("--out", type=Path, default=broad_path(), help="output file")
    b.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    b.add_argument("--users", type=int, default=DEFAULT_USERS, help="number of users")
    st = sub.add_parser("stats", help="print the counts and the shape mix of a broad set file")
    st.add_argument("--data", type=Path, default=broad_path(), help="broad set file")
    pr = sub.add_parser("probe", help="history-free accuracy of the default model per candidate fact")
    pr.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        records = build_records(args.seed, args.users)
        write_jsonl(records, args.out)
        print(f"wrote {len(records)} users to {args.out}")
        print(json.dumps(shape_counts(load_records(args.out)), indent=1))
        return 0
    if args.cmd == "stats":
        print(json.dumps(shape_counts(load_records(args.data)), indent=1))
        return 0
    import torch

    torch.set_num_threads(args.threads)
    result = probe_candidates()
    wrong = sorted(k for k, v in result.items() if not all(v))
    print(json.dumps({"candidates": len(result), "kept": len(result) - len(wrong), "dropped": wrong}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
