"""The PFQABench record validator and the bundled mini benchmark (no model; seconds)."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from fpps.eval import (QA, Record, RecordError, bundled_path, dump_record, iter_records,
                       load_records, validate_record)
from fpps.eval.minibench import DEMO_USER, build_records, history_leaks
from fpps.steering.judge import contains_answer


def _good() -> dict[str, Any]:
    return {
        "user_id": "u0042",
        "split": "train",
        "history": {
            "sessions": [
                [{"role": "user", "content": "My dog is Biscuit."},
                 {"role": "assistant", "content": "Lovely name!", "has_answer": True}],
                [{"role": "user", "content": "I live in Sydney."}],
            ],
            "session_ids": ["u0042_s1", "u0042_s2"],
            "dates": ["2024/05/01 (Wed) 10:00", "2024/05/09 (Thu) 18:30"],
            "note": "kept",
        },
        "current_date": "2024/06/01 (Sat) 09:00",
        "personalized": {"question": "What is my dog's name?", "answers": ["Biscuit"],
                         "question_type": "single-session-user"},
        "factual": {"question": "What is the capital of Australia?", "answers": ["Canberra"],
                    "source": "bundled", "source_id": "cap-aus", "s_freq": 0.5},
        "origin": "hand-written",
    }


@pytest.fixture(scope="module")
def bundled() -> list[Record]:
    return load_records(bundled_path())


# --- the bundled file -------------------------------------------------------------------------


def test_bundled_file_validates_and_has_enough_users(bundled: list[Record]) -> None:
    assert len(bundled) >= 300
    assert {r.split for r in bundled} == {"train", "test"}
    n_test = sum(r.split == "test" for r in bundled)
    assert 0.4 <= n_test / len(bundled) <= 0.6


def test_bundled_users_have_two_to_eight_dated_sessions(bundled: list[Record]) -> None:
    for r in bundled:
        assert 2 <= len(r.sessions) <= 8, r.user_id
        assert r.dates is not None and len(r.dates) == len(r.sessions)
        assert r.session_ids is not None and r.current_date is not None
        assert r.dates == tuple(sorted(r.dates)) and r.current_date > r.dates[-1]
        assert {t["role"] for s in r.sessions for t in s} == {"user", "assistant"}
        assert r.personalized is not None and r.factual is not None


def test_bundled_history_never_states_the_factual_answer(bundled: list[Record]) -> None:
    for r in bundled:
        text = "\n".join(t["content"] for s in r.sessions for t in s)
        assert r.factual is not None
        assert not contains_answer(text, r.factual.answers), r.user_id
        assert not contains_answer("\n".join([*(r.dates or ()), r.current_date or ""]),
                                   r.factual.answers), r.user_id
        assert not history_leaks(dump_record(r))


def test_bundled_distractors_in_at_least_a_third_of_users(bundled: list[Record]) -> None:
    with_distractors = [r for r in bundled if r.extra["minibench"]["distractor_sessions"] > 0]
    assert len(with_distractors) >= len(bundled) / 3


def test_bundled_factual_questions_never_cross_splits(bundled: list[Record]) -> None:
    splits: dict[str, set[str]] = {}
    for r in bundled:
        assert r.factual is not None and r.factual.source == "bundled" and r.factual.source_id
        splits.setdefault(r.factual.source_id, set()).add(r.split)
    assert all(len(s) == 1 for s in splits.values())
    assert len({r.factual.question_type for r in bundled if r.factual}) >= 8


def test_bundled_personal_types_in_both_splits(bundled: list[Record]) -> None:
    for split in ("train", "test"):
        types = {r.personalized.question_type for r in bundled
                 if r.split == split and r.personalized}
        assert types >= {"single-session-user", "multi-session", "knowledge-update",
                         "temporal-reasoning", "single-session-preference"}


def test_bundled_demo_user_is_sydney_in_test(bundled: list[Record]) -> None:
    demo = next(r for r in bundled if r.user_id == DEMO_USER)
    assert demo.split == "test" and demo.factual is not None
    assert demo.factual.question == "What is the capital of Australia?"
    assert "Canberra" in demo.factual.answers
    assert sum("Sydney" in t["content"] for s in demo.sessions for t in s) >= 3


def test_generator_is_deterministic_and_matches_the_bundled_file() -> None:
    records = build_records()
    bundled = [json.loads(line) for line in bundled_path().read_text().splitlines() if line]
    assert records == bundled


# --- the validator ----------------------------------------------------------------------------


def test_good_record_round_trips_and_keeps_unknown_keys() -> None:
    rec = validate_record(_good(), line=3)
    assert isinstance(rec.personalized, QA) and rec.personalized.answers == ("Biscuit",)
    assert rec.factual is not None and rec.factual.extra == {"s_freq": 0.5}
    assert rec.extra == {"origin": "hand-written", "history": {"note": "kept"}}
    assert rec.sessions[0][1]["has_answer"] is True
    assert dump_record(rec) == _good()
    assert validate_record(dump_record(rec)) == rec


def test_optional_fields_may_be_absent() -> None:
    obj = _good()
    del obj["history"]["session_ids"], obj["history"]["dates"], obj["current_date"]
    del obj["personalized"]
    rec = validate_record(obj)
    assert rec.dates is None and rec.session_ids is None and rec.current_date is None
    assert rec.personalized is None and rec.factual is not None


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    """Set (or, with `...`, delete) a dotted path; `[i]` indexes lists."""
    keys: list[Any] = []
    for part in path.split("."):
        name, *idx = part.replace("]", "").split("[")
        keys += ([name] if name else []) + [int(i) for i in idx]
    target = obj
    for k in keys[:-1]:
        target = target[k]
    if value is ...:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value


BAD_CASES = [
    ("user_id", ..., "user_id"),
    ("user_id", "", "user_id"),
    ("user_id", 42, "user_id"),
    ("split", "holdout", "split"),
    ("split", ..., "split"),
    ("history", ..., "history"),
    ("history", [], "history"),
    ("history.sessions", ..., "history.sessions"),
    ("history.sessions", {"a": 1}, "history.sessions"),
    ("history.sessions[1]", "hello", "history.sessions[1]"),
    ("history.sessions[1]", [], "history.sessions[1]"),
    ("history.sessions[1][0]", "hi", "history.sessions[1][0]"),
    ("history.sessions[1][0].role", "bot", "history.sessions[1][0].role"),
    ("history.sessions[0][1].role", ..., "history.sessions[0][1].role"),
    ("history.sessions[1][0].content", "  ", "history.sessions[1][0].content"),
    ("history.sessions[1][0].content", ["x"], "history.sessions[1][0].content"),
    ("history.sessions[1][0].content", ..., "history.sessions[1][0].content"),
    ("history.session_ids", ["only-one"], "history.session_ids"),
    ("history.session_ids", "u0042_s1", "history.session_ids"),
    ("history.dates", ["2024/05/01 (Wed) 10:00"], "history.dates"),
    ("history.dates[1]", 20240509, "history.dates[1]"),
    ("current_date", 7, "current_date"),
    ("personalized", "What is my dog's name?", "personalized"),
    ("personalized.question", "", "personalized.question"),
    ("personalized.question", ..., "personalized.question"),
    ("personalized.answers", [], "personalized.answers"),
    ("personalized.answers", "Biscuit", "personalized.answers"),
    ("personalized.answers", ..., "personalized.answers"),
    ("personalized.answers", ["Biscuit", ""], "personalized.answers[1]"),
    ("factual.answers", [42], "factual.answers[0]"),
    ("personalized.question_type", 3, "personalized.question_type"),
    ("factual.source", ["bundled"], "factual.source"),
    ("factual.source_id", "", "factual.source_id"),
]


@pytest.mark.parametrize("path,value,field", BAD_CASES, ids=[f"{p}={v!r}" for p, v, _ in BAD_CASES])
def test_bad_record_names_line_and_field(path: str, value: Any, field: str) -> None:
    obj = copy.deepcopy(_good())
    _set(obj, path, value)
    with pytest.raises(RecordError) as info:
        validate_record(obj, line=12)
    assert info.value.line == 12 and info.value.field == field
    assert str(info.value).startswith(f"line 12: field '{field}': ")


def test_both_questions_absent_is_rejected() -> None:
    obj = _good()
    obj["personalized"] = None
    del obj["factual"]
    with pytest.raises(RecordError, match="line 5: field 'personalized'"):
        validate_record(obj, line=5)


@pytest.mark.parametrize("obj", [[1, 2], "text", None, 3])
def test_non_object_record_is_rejected(obj: Any) -> None:
    with pytest.raises(RecordError, match="line 2: record must be a JSON object") as info:
        validate_record(obj, line=2)
    assert info.value.line == 2 and info.value.field == ""


def test_role_message_matches_the_documented_form() -> None:
    obj = _good()
    obj["history"]["sessions"].append([{"role": "x", "content": "y"}])
    obj["history"]["session_ids"].append("s3")
    obj["history"]["dates"].append("2024/05/10 (Fri) 10:00")
    obj["history"]["sessions"][2][0]["role"] = "robot"
    with pytest.raises(RecordError) as info:
        validate_record(obj, line=12)
    assert str(info.value).startswith(
        "line 12: field 'history.sessions[2][0].role': must be 'user' or 'assistant'")


def test_record_error_survives_pickling() -> None:
    err = RecordError("must not be empty", line=4, field="user_id")
    back = pickle.loads(pickle.dumps(err))
    assert (back.line, back.field, back.reason, str(back)) == (4, "user_id", err.reason, str(err))


def test_system_role_is_accepted() -> None:
    obj = _good()
    obj["history"]["sessions"][1].insert(0, {"role": "system", "content": "Be brief."})
    assert validate_record(obj).sessions[1][0]["role"] == "system"


# --- the JSON Lines reader --------------------------------------------------------------------


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_loader_skips_blank_lines_and_filters_split(tmp_path: Path) -> None:
    a, b = _good(), _good()
    b.update(user_id="u0043", split="test")
    path = _write(tmp_path, [json.dumps(a), "", "   ", json.dumps(b)])
    assert [r.user_id for r in load_records(path)] == ["u0042", "u0043"]
    assert [r.user_id for r in load_records(path, split="test")] == ["u0043"]
    assert [r.user_id for r in iter_records(path, split="all")] == ["u0042", "u0043"]
    assert load_records(path, split="dev") == []  # a valid split with no rows here
    with pytest.raises(ValueError):
        load_records(path, split="holdout")  # type: ignore[arg-type]


def test_dev_split_is_a_valid_record_split(tmp_path: Path) -> None:
    """Hand-written dev sets (choose/report only) are stored as split "dev" rows."""
    a, b = _good(), _good()
    b.update(user_id="u0043", split="dev")
    path = _write(tmp_path, [json.dumps(a), json.dumps(b)])
    assert [r.user_id for r in load_records(path, split="dev")] == ["u0043"]
    assert [r.split for r in load_records(path)] == ["train", "dev"]


def test_loader_reports_invalid_json_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, [json.dumps(_good()), "", '{"user_id": "u1", '])
    with pytest.raises(RecordError, match="^line 3: invalid JSON") as info:
        load_records(path)
    assert info.value.line == 3


def test_loader_reports_bad_record_with_its_line(tmp_path: Path) -> None:
    bad = _good()
    bad.update(user_id="u0043")
    bad["personalized"]["answers"] = []
    path = _write(tmp_path, [json.dumps(_good()), json.dumps(bad)])
    with pytest.raises(RecordError, match="^line 2: field 'personalized.answers'"):
        load_records(path)


def test_loader_rejects_duplicate_user_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, [json.dumps(_good()), json.dumps(_good())])
    with pytest.raises(RecordError, match="^line 2: field 'user_id': duplicate") as info:
        load_records(path)
    assert info.value.line == 2 and info.value.field == "user_id"
