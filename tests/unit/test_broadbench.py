"""The bundled broad calibration set and its generator (no model; seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fpps.eval import bundled_path, load_records
from fpps.eval.broadbench import broad_facts, build_records, shape_counts
from fpps.eval.broadbench_personal import has_first_person
from fpps.eval.minibench import fact_bank, history_leaks
from fpps.eval.records import Record
from fpps.steering.judge import contains_answer


@pytest.fixture(scope="module")
def broad() -> list[Record]:
    return load_records(bundled_path("broad"))


def test_generator_rebuilds_the_bundled_file_byte_for_byte(tmp_path: Path) -> None:
    from fpps.eval.minibench import write_jsonl

    out = tmp_path / "broad.jsonl"
    write_jsonl(build_records(), out)
    assert out.read_bytes() == bundled_path("broad").read_bytes()


def test_bundled_file_validates_and_is_train_only(broad: list[Record]) -> None:
    assert 300 <= len(broad) <= 400
    assert {r.split for r in broad} == {"train"}
    assert len({r.user_id for r in broad}) == len(broad)


def test_history_never_states_the_factual_answer_and_always_the_personal_one() -> None:
    for rec in (json.loads(line) for line in bundled_path("broad").read_text().splitlines()):
        assert not history_leaks(rec), rec["user_id"]
        assert not contains_answer(rec["factual"]["question"], rec["factual"]["answers"]), rec["user_id"]
        p = rec["personalized"]
        if p["answers"] not in (["yes"], ["no"]):
            text = "\n".join(t["content"] for s in rec["history"]["sessions"] for t in s)
            assert contains_answer(text, p["answers"]), rec["user_id"]


def test_shape_mix_is_present(broad: list[Record]) -> None:
    c = shape_counts(broad)
    n = c["users"]
    tags = c["personal_tags"]
    # the shapes the mini benchmark never asks, each a real share of the set
    assert tags["no_pronoun"] / n >= 0.3
    assert tags["third_party"] / n >= 0.3
    for tag in ("yes_no", "how_many", "when", "where", "who", "which", "remind", "answer:place",
                "answer:date", "answer:person", "answer:number"):
        assert tags.get(tag, 0) >= 10, tag
    assert 0.2 <= c["factual_framed"] / n <= 0.5
    assert len(c["factual_categories"]) >= 8
    # tags agree with the text they describe
    for r in broad:
        q = r.personalized.question
        assert ("no_pronoun" in r.extra["minibench"]["broad"]["tags"]) == (not has_first_person(q)), q


def test_facts_are_new_and_none_names_its_answer() -> None:
    mini = {f.question.lower() for f in fact_bank()}
    for f in broad_facts():
        assert f.question.lower() not in mini, f.id
        assert not contains_answer(f.question, f.answers), f.id
        assert not contains_answer(f.wrong, f.answers), f.id


def test_first_person_detector() -> None:
    assert has_first_person("Where does my sister live?")
    assert has_first_person("Remind me, which hotel did we book?")
    assert not has_first_person("Which city does Ines live in now?")
    assert not has_first_person("Is Pepper allergic to chicken?")
