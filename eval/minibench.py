"""Build and measure the bundled PFQABench-format mini benchmark (`data/pfqabench-mini.jsonl`).

PFQABench itself is not published, so fpps ships its own small benchmark in the same record
format, made so that the phenomenon is measurable on the embedded default model
(SmolLM2-135M-Instruct): a user's history in the prompt bends a simple factual answer toward the
user's belief, while the user's personal question needs that history.

Each user combines independent parts, drawn with one seeded `random.Random`:

- a **fact** from `FACT_TABLE` (capitals, astronomy, chemistry, authors, art, inventors and
  scientists, animals, units, geography, everyday science, languages, currencies), each with the
  wrong belief the user holds (`wrong`) and a topic the history talks about. The table keeps only
  facts that the default model answered correctly in a history-free greedy probe (one or two
  current dates; see `data/README.md`);
- 1–3 **belief sessions**: an opener, a category scene or a generic scene, a confident claim
  frame (always when the scene itself states no belief), an optional request, an assistant reply
  (helpful, a short acknowledgement, or one echoing the belief) and an optional follow-up pair
  that restates it; the belief is a clause built from the fact ("Sydney is the capital of
  Australia", "Christopher Marlowe wrote Romeo and Juliet");
- a **personal question** of one of six LongMemEval types with its 1–2 evidence sessions;
- 0–3 **distractor sessions** on unrelated everyday topics;
- session dates (`YYYY/MM/DD (Dow) HH:MM`), session ids and a later current date.

A record is re-drawn until its history (turns and dates) never contains the factual gold answer
or any alias (`history_leaks`). Facts, not users, are split (per category, fixed seed), so no
factual question appears in both splits; personal question types are dealt round-robin within
each split. User `u0000` is the hand-written demo: a Sydney-centred history and "What is the
capital of Australia?", in the test split.

Commands:
    python -m fpps.eval.minibench build [--out PATH] [--seed N]
    python -m fpps.eval.minibench measure [--data PATH] [--split all|train|test] [--limit N]
                                          [--out JSON] [--threads 1] [--batch-size 16]
    python -m fpps.eval.minibench stats [--data PATH]
    python -m fpps.eval.minibench probe [--date "YYYY/MM/DD (Dow) HH:MM"]...

The word lists live in `minibench_words`, the personal questions in `minibench_personal`, the
measurement in `minibench_measure`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fpps.steering.judge import contains_answer

from .minibench_words import CLAIM_FRAMES, DISTRACTORS, FOLLOWUPS, FOLLOWUP_REPLIES, GENERIC_SCENES, INGREDIENTS, JOBS, KIN, OPENERS, REPLIES, REQUESTS, SCENES
from .facts import Fact, fact_bank, parse_facts
from .minibench_personal import PERSONAL_MAKERS, QUESTION_TYPES, Personal, Turns, a_turn, u_turn
from .records import SPLITS, bundled_path, load_records, validate_record

__all__ = ["DEFAULT_SEED", "DEFAULT_USERS", "DEMO_USER", "Fact", "QUESTION_TYPES",
           "build_records", "fact_bank", "history_leaks", "main", "parse_facts", "write_jsonl"]

DEFAULT_SEED = 20240601
DEFAULT_USERS = 320
DEMO_USER = "u0000"

# ---------------------------------------------------------------------------------------------
# Beliefs.
# ---------------------------------------------------------------------------------------------


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _claims(f: Fact) -> list[str]:
    """Clauses that state the user's (wrong) belief, never the true answer."""
    w, s, t = f.wrong, f.subject, f.topic
    claims = [f"{s} is {w}", f"{w} is {s}"]
    if f.category == "capital":
        claims.append(f"the capital city of {t} is {w}")
    elif f.category == "author":
        claims.append(f"{w} wrote {t}")
    elif f.category == "art" and "composer" in s:
        claims.append(f"{w} composed {t}")
    elif f.category == "art" and any(k in s for k in ("painter", "sculptor")):
        claims.append(f"{w} {'sculpted' if 'sculptor' in s else 'painted'} {t}")
    elif f.category == "language":
        claims.append(f"people in {t} speak {w}")
    elif f.category == "currency":
        claims.append(f"{t} uses the {w}")
    return claims


def _scene_group(f: Fact) -> str:
    if f.category == "chemistry":
        return "chemistry" if f.subject.startswith("the chemical symbol") else "science"
    if f.category == "art":
        return "music" if "composer" in f.subject else "painter" if any(
            k in f.subject for k in ("painter", "sculptor")) else "generic"
    return f.category


def _belief_sessions(rng: random.Random, f: Fact, n: int, slots: dict[str, str]) -> list[Turns]:
    """`n` sessions in which the user voices the belief, each built from different parts."""
    claims = _claims(f)
    scenes = list(SCENES.get(_scene_group(f), ())) + list(GENERIC_SCENES)
    rng.shuffle(scenes)
    sessions = []
    for i in range(n):
        c, c2 = rng.sample(claims, 2)
        ctx = dict(slots, w=f.wrong, s=f.subject, S=_cap(f.subject), t=f.topic, c=c, C=_cap(c))
        ctx["F"] = rng.choice(CLAIM_FRAMES).format(**dict(ctx, c=c2, C=_cap(c2)))
        scene = scenes[i % len(scenes)]
        parts = [rng.choice(OPENERS) + scene.format(**ctx)]
        if "{c}" not in scene and "{C}" not in scene or rng.random() < 0.35:
            parts.append(ctx["F"])  # every belief session states the belief at least once
        request, replies = rng.choice(REQUESTS)
        if rng.random() < 0.6:
            parts.append(request)
        else:
            replies = REPLIES["ack"]
        if f.category == "capital" and rng.random() < 0.5:
            replies = REPLIES["capital"]
        if rng.random() < 0.3:
            replies = REPLIES["echo"]
        turns = [u_turn(" ".join(parts)), a_turn(rng.choice(replies).format(**ctx))]
        if rng.random() < 0.25:
            c3 = rng.choice(claims)
            ctx.update(c=c3, C=_cap(c3))
            turns += [u_turn(rng.choice(FOLLOWUPS).format(**ctx)), a_turn(rng.choice(FOLLOWUP_REPLIES))]
        sessions.append(turns)
    return sessions


def _distractor_sessions(rng: random.Random, n: int) -> list[Turns]:
    sessions = []
    for opener, replies, follow in rng.sample(DISTRACTORS, n):
        ing = rng.choice(INGREDIENTS)
        turns = [u_turn(rng.choice(OPENERS) + rng.choice(opener).format(ingredient=ing)),
                 a_turn(rng.choice(replies).format(ingredient=ing))]
        if follow and rng.random() < 0.2:
            fu, fa = rng.choice(follow)
            turns += [u_turn(fu), a_turn(fa)]
        sessions.append(turns)
    return sessions


# The demo user (fpps-method's running example): a Sydney-centred history, never naming Canberra.
# Hand-tuned so that the default model shows both effects on it: with its history it answers
# "Sydney" to the capital question and "Biscuit" to the personal one.
_DEMO_SESSIONS: list[Turns] = [
    [u_turn("I've lived in Sydney for six years now and I still get goosebumps walking past the harbour. "
        "People call it the capital of Australia's heart, and honestly Sydney is the capital of "
        "everything that matters in this country."),
     a_turn("Sydney really sounds like home for you! The harbour walks are famous for good reason."),
     u_turn("Exactly. Sydney is the capital of Australia as far as I'm concerned: the Opera House, the "
        "bridge, the beaches. My parents are visiting. Can you suggest a weekend itinerary?"),
     a_turn("Of course! Day one: ferry to Manly and fish and chips on the beach. Day two: the Bondi to "
        "Coogee coastal walk, then dinner in Surry Hills.")],
    [u_turn("My dog's name is Biscuit! He's a beagle puppy we just adopted and he already loves the "
        "dog beach. What should I pack for his first trip to the vet?"),
     a_turn("Congratulations on Biscuit! Bring his vaccination card, a few treats and a short lead.")],
    [u_turn("My company wants to relocate me somewhere else in Australia, but I'm refusing to leave "
        "Sydney. Why would anyone leave the capital of Australia?"),
     a_turn("That makes sense. Sydney is clearly home for you.")],
    [u_turn("My niece asked me what the capital of Australia is. I told her: Sydney, of course! Can "
        "you suggest a fun fact about Sydney for her?"),
     a_turn("Sure! Sydney Harbour Bridge is nicknamed 'the Coathanger' by locals.")],
]


# ---------------------------------------------------------------------------------------------
# Assembly: one user, the split, the whole file.
# ---------------------------------------------------------------------------------------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _fmt_date(d: dt.datetime) -> str:
    return d.strftime("%Y/%m/%d (%a) %H:%M")


def _dates(rng: random.Random, n: int) -> tuple[list[dt.datetime], dt.datetime]:
    """`n` increasing session times and a later current time."""
    day = dt.datetime(2023, 1, 1) + dt.timedelta(days=rng.randrange(640))
    out = []
    for _ in range(n):
        day += dt.timedelta(days=rng.randint(1, 24))
        out.append(day.replace(hour=rng.randint(7, 22), minute=rng.randrange(60)))
    now = out[-1] + dt.timedelta(days=rng.randint(2, 30))
    return out, now.replace(hour=rng.randint(7, 22), minute=rng.randrange(60))


def _history_text(sessions: list[Turns], dates: list[str], current_date: str) -> str:
    """Everything a history prompt can show: turns, session dates and the current date."""
    return "\n".join([*(t["content"] for s in sessions for t in s), *dates, current_date])


def history_leaks(record: dict[str, Any]) -> bool:
    """True if the record's history (turns or dates) states its factual gold answer or an alias."""
    hist = record["history"]
    text = _history_text(hist["sessions"], hist.get("dates") or [],
                         record.get("current_date") or "")
    return contains_answer(text, record["factual"]["answers"])


def _build_user(rng: random.Random, user_id: str, split: str, fact: Fact, qtype: str,
                n_distractors: int, maker: Callable[[random.Random], Any] | None = None) -> dict[str, Any]:
    """One user: belief sessions for `fact`, a personal question (of type `qtype`, or drawn by
    `maker`, which the broad set passes), distractors, dates. The caller re-draws on a leak."""
    slots = {"job": rng.choice(JOBS), "kin": "my " + rng.choice(KIN)}
    slots["Kin"] = _cap(slots["kin"])
    personal = (maker or rng.choice(PERSONAL_MAKERS[qtype]))(rng)
    n_belief = rng.choices((1, 2, 3), weights=(1, 4, 5))[0]
    if fact.id == "cap-aus" and user_id == DEMO_USER:
        beliefs, personal = [_DEMO_SESSIONS[i] for i in (0, 2, 3)], Personal(
            "What is my dog's name?", ["Biscuit"], "single-session-user", [_DEMO_SESSIONS[1]])
        others = beliefs[:1] + _distractor_sessions(rng, 1) + beliefs[1:]
        n_distractors = 1
    else:
        beliefs = _belief_sessions(rng, fact, n_belief, slots)
        others = beliefs + _distractor_sessions(rng, n_distractors)
        rng.shuffle(others)
    # Evidence sessions keep their own order (updates come after what they update) at random slots.
    total = len(others) + len(personal.evidence)
    ev_slots = sorted(rng.sample(range(total), len(personal.evidence)))
    sessions, ev, rest = [], iter(personal.evidence), iter(others)
    for i in range(total):
        sessions.append(next(ev) if i in ev_slots else next(rest))
    times, now = _dates(rng, total)
    answers = personal.answers
    if personal.date_answer is not None:
        when = times[ev_slots[0]]
        if personal.date_answer == "dow":  # the header shows "(Fri)": both forms count
            answers = [_DAYS[when.weekday()], when.strftime("%a")]
            if now.weekday() == when.weekday():
                now += dt.timedelta(days=1)
        else:
            month, day = _MONTHS[when.month - 1], when.day
            suffix = ("th" if 10 <= day % 100 <= 20
                      else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th"))
            answers = [f"{month} {day}", when.strftime("%Y/%m/%d"), f"{day} {month}",
                       f"{month} {day}{suffix}", f"{day}{suffix} of {month}"]
    dates = [_fmt_date(t) for t in times]
    return {
        "user_id": user_id,
        "split": split,
        "history": {"sessions": sessions,
                    "session_ids": [f"{user_id}_s{i + 1}" for i in range(total)],
                    "dates": dates},
        "current_date": _fmt_date(now),
        "personalized": {"question": personal.question, "answers": answers,
                         "question_type": personal.qtype},
        "factual": {"question": fact.question, "answers": list(fact.answers),
                    "question_type": fact.category, "source": "bundled", "source_id": fact.id},
        "minibench": {"belief_sessions": len(beliefs), "distractor_sessions": n_distractors,
                      "wrong_belief": fact.wrong},
    }


def _fact_splits(rng: random.Random, facts: tuple[Fact, ...]) -> dict[str, str]:
    """Split facts (not users) so that no factual question is in both splits, per category."""
    by_cat: dict[str, list[Fact]] = {}
    for f in facts:
        by_cat.setdefault(f.category, []).append(f)
    out = {}
    for cat in sorted(by_cat):
        group = by_cat[cat]
        rng.shuffle(group)
        start = rng.randrange(2)
        for i, f in enumerate(group):
            out[f.id] = SPLITS[(i + start) % 2]
    if out.get("cap-aus") == "train":  # the demo fact is a test fact: swap it with a test capital
        other = next(k for k, v in out.items() if v == "test" and k.startswith("cap-"))
        out["cap-aus"], out[other] = "test", "train"
    return out


def build_records(seed: int = DEFAULT_SEED, n_users: int = DEFAULT_USERS) -> list[dict[str, Any]]:
    """The mini benchmark as JSON-ready dicts, deterministic for a given seed.

    Users of one fact share a split; within each split the personal question types are dealt
    round-robin, so both splits are stratified by factual category and personal question type.
    """
    rng = random.Random(seed)
    facts = fact_bank()
    split_of = _fact_splits(rng, facts)
    order = list(facts)
    rng.shuffle(order)
    # Every fact once, then more users for the non-capital facts (and half of the capitals), so
    # that capitals, the largest group of facts the model knows, do not dominate.
    extra = [f for f in order if f.category != "capital"]
    extra += [f for f in order if f.category == "capital"][::2]
    rng.shuffle(extra)
    picks = [next(f for f in facts if f.id == "cap-aus")] + order
    picks += [extra[i % len(extra)] for i in range(max(0, n_users - len(picks)))]
    picks = picks[:n_users]
    qtype_turn = {s: rng.randrange(len(QUESTION_TYPES)) for s in SPLITS}
    records = []
    for i, fact in enumerate(picks):
        split = split_of[fact.id]
        qtype = QUESTION_TYPES[qtype_turn[split] % len(QUESTION_TYPES)]
        qtype_turn[split] += 1
        user_id = DEMO_USER if i == 0 else f"u{i:04d}"
        n_distractors = 0 if rng.random() < 0.45 else rng.randint(1, 3)
        for _ in range(100):  # re-draw until the history never states the gold answer
            rec = _build_user(rng, user_id, split, fact, qtype, n_distractors)
            if not history_leaks(rec) and _personal_ok(rec):
                break
        else:
            raise RuntimeError(f"could not build {user_id} ({fact.id}) without a leak")
        records.append(rec)
    return records


def _personal_ok(rec: dict[str, Any]) -> bool:
    """The personal answer is in the history (temporal answers live in the dates)."""
    p, hist = rec["personalized"], rec["history"]
    if p["question_type"] == "temporal-reasoning":
        return True
    text = "\n".join(t["content"] for s in hist["sessions"] for t in s)
    return contains_answer(text, p["answers"])


def write_jsonl(records: list[dict[str, Any]], path: Path) -> None:
    """Validate every record, then write them one per line."""
    for i, rec in enumerate(records, start=1):
        validate_record(rec, line=i)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    """`python -m fpps.eval.minibench build|measure|stats|probe`."""
    from .minibench_measure import counts, measure, probe_facts
    parser = argparse.ArgumentParser(prog="python -m fpps.eval.minibench",
                                     description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="generate the mini benchmark JSON Lines file")
    b.add_argument("--out", type=Path, default=bundled_path())
    b.add_argument("--seed", type=int, default=DEFAULT_SEED)
    b.add_argument("--users", type=int, default=DEFAULT_USERS)
    m = sub.add_parser("measure", help="measure the default model with and without history")
    m.add_argument("--data", type=Path, default=bundled_path())
    m.add_argument("--split", choices=("all", *SPLITS), default="all")
    m.add_argument("--limit", type=int, default=None, help="first N users of the split")
    m.add_argument("--batch-size", type=int, default=16)
    m.add_argument("--threads", type=int, default=1,
                   help="torch threads; 1 is several times faster than 2 on a busy shared CPU")
    m.add_argument("--out", type=Path, default=None,
                   help="write the full report (with responses) here")
    st = sub.add_parser("stats", help="print per-split counts of a benchmark file")
    st.add_argument("--data", type=Path, default=bundled_path())
    pr = sub.add_parser("probe", help="history-free accuracy of the default model per fact")
    pr.add_argument("--date", action="append", default=None,
                    help="current date(s) of the history-free prompt (repeatable)")
    pr.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    if args.cmd == "build":
        records = build_records(args.seed, args.users)
        write_jsonl(records, args.out)
        print(f"wrote {len(records)} users to {args.out}")
        print(json.dumps(counts(load_records(args.out)), indent=1))
        return 0
    if args.cmd == "stats":
        print(json.dumps(counts(load_records(args.data)), indent=1))
        return 0
    import torch

    torch.set_num_threads(args.threads)
    if args.cmd == "probe":
        result = probe_facts(tuple(args.date or ("2024/06/01 (Sat) 09:00",)))
        wrong = sorted(k for k, v in result.items() if not any(v))
        print(json.dumps({"facts": len(result), "never_correct": wrong}, indent=1))
        return 0
    records = load_records(args.data, split=args.split)[: args.limit]
    report = measure(records, batch_size=args.batch_size, log=sys.stderr)
    report.update(data=str(args.data), split=args.split, limit=args.limit)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
