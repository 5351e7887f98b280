"""The PFQABench record: a frozen model, its validator, and the JSON Lines reader every loader uses.

One record is one user (`../shared/docs/pfqabench-format.md`): `user_id`, `split`, `history`
(`sessions`, optional `session_ids` and `dates`), optional `current_date`, and at least one of
`personalized` and `factual`. Calibration, evaluation and the server all read records through
`validate_record` / `load_records`, so a bad record is rejected in one place, naming its line and
the offending field (`RecordError`).

Unknown keys are kept, never dropped: a record's unknown top-level keys land in `Record.extra`,
unknown keys of `history` in `Record.extra["history"]` (a top-level key can never be called
`history`, so the two cannot collide), unknown keys of a question in `QA.extra`, and unknown keys of
a turn (e.g. LongMemEval's `has_answer`) stay in the turn dict. `dump_record` writes them back, so
`validate_record(dump_record(r)) == r`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

__all__ = [
    "BUNDLED_FILE",
    "BUNDLED_NAMES",
    "QA",
    "Record",
    "RecordError",
    "SPLITS",
    "bundled_path",
    "dump_record",
    "iter_records",
    "load_records",
    "validate_record",
]

SPLITS = ("train", "test", "dev")
"""`dev`: hand-written sets used only to choose and report (never to fit); see `data/README.md`."""
ROLES = ("user", "assistant", "system")
BUNDLED_FILE = "pfqabench-mini.jsonl"

_TOP_KEYS = {"user_id", "split", "history", "current_date", "personalized", "factual"}
_HISTORY_KEYS = {"sessions", "session_ids", "dates"}
_QA_KEYS = {"question", "answers", "question_type", "source", "source_id"}


class RecordError(ValueError):
    """A record breaks the PFQABench format.

    Attributes:
        line: 1-based line number in the JSON Lines file, or None for an in-memory object.
        field: dotted path of the offending field (``"history.sessions[2][0].role"``); empty when
            the problem is the line itself (invalid JSON, not an object).
        reason: the bare message, without line and field.
    """

    def __init__(self, reason: str, *, line: int | None = None, field: str = "") -> None:
        self.line = line
        self.field = field
        self.reason = reason
        where = f"line {line}: " if line is not None else ""
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}{what}{reason}")

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Keep line and field when the error crosses a process boundary (pickle).
        return functools.partial(type(self), line=self.line, field=self.field), (self.reason,)


@dataclass(frozen=True)
class QA:
    """One question with its acceptable answers (the first is canonical, the rest aliases)."""

    question: str
    answers: tuple[str, ...]
    question_type: str | None = None
    source: str | None = None
    source_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Record:
    """One user: history, optional current date, and a personalized and/or a factual question."""

    user_id: str
    split: str
    sessions: tuple[tuple[dict[str, Any], ...], ...]
    session_ids: tuple[str, ...] | None = None
    dates: tuple[str, ...] | None = None
    current_date: str | None = None
    personalized: QA | None = None
    factual: QA | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _type_name(value: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)


class _Checker:
    """Field checks that raise `RecordError` carrying the line."""

    def __init__(self, line: int | None) -> None:
        self.line = line

    def fail(self, path: str, reason: str) -> RecordError:
        return RecordError(reason, line=self.line, field=path)

    def text(self, value: object, path: str, *, optional: bool = False) -> str | None:
        """A non-empty string (after stripping), or None when optional and null/absent."""
        if value is None and optional:
            return None
        if not isinstance(value, str):
            need = "a string or null" if optional else "a non-empty string"
            raise self.fail(path, f"must be {need}, got {_type_name(value)}")
        if not value.strip():
            raise self.fail(path, "must not be empty")
        return value

    def obj(self, value: object, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be an object, got {_type_name(value)}")
        return value

    def text_list(self, value: object, path: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list of strings, got {_type_name(value)}")
        return tuple(self.text(v, f"{path}[{i}]") or "" for i, v in enumerate(value))

    def turn(self, value: object, path: str) -> dict[str, Any]:
        turn = self.obj(value, path)
        role = turn.get("role")
        if role not in ROLES:
            shown = "missing" if "role" not in turn else f"got {role!r}"
            raise self.fail(f"{path}.role", f"must be 'user' or 'assistant' ({shown})")
        if "content" not in turn:
            raise self.fail(f"{path}.content", "is required")
        self.text(turn["content"], f"{path}.content")
        return dict(turn)

    def sessions(self, value: object, path: str) -> tuple[tuple[dict[str, Any], ...], ...]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list of sessions, got {_type_name(value)}")
        out = []
        for i, session in enumerate(value):
            spath = f"{path}[{i}]"
            if not isinstance(session, list):
                raise self.fail(spath, f"must be a list of turns, got {_type_name(session)}")
            if not session:
                raise self.fail(spath, "must not be empty")
            out.append(tuple(self.turn(t, f"{spath}[{j}]") for j, t in enumerate(session)))
        return tuple(out)

    def qa(self, value: object, path: str) -> QA | None:
        if value is None:
            return None
        obj = self.obj(value, path)
        if "question" not in obj:
            raise self.fail(f"{path}.question", "is required")
        question = self.text(obj["question"], f"{path}.question") or ""
        if "answers" not in obj:
            raise self.fail(f"{path}.answers", "is required")
        answers = obj["answers"]
        if not isinstance(answers, list) or not answers:
            got = "an empty list" if isinstance(answers, list) else _type_name(answers)
            raise self.fail(f"{path}.answers",
                            f"must be a non-empty list of non-empty strings, got {got}")
        return QA(
            question=question,
            answers=self.text_list(answers, f"{path}.answers"),
            question_type=self.text(obj.get("question_type"), f"{path}.question_type",
                                    optional=True),
            source=self.text(obj.get("source"), f"{path}.source", optional=True),
            source_id=self.text(obj.get("source_id"), f"{path}.source_id", optional=True),
            extra={k: v for k, v in obj.items() if k not in _QA_KEYS},
        )


def validate_record(obj: object, line: int | None = None) -> Record:
    """Check one decoded record and return it as a `Record`.

    Args:
        obj: the decoded JSON value of one line.
        line: its 1-based line number, carried into errors.

    Raises:
        RecordError: naming the line and the first offending field.
    """
    c = _Checker(line)
    if not isinstance(obj, dict):
        raise RecordError(f"record must be a JSON object, got {_type_name(obj)}", line=line)
    if "user_id" not in obj:
        raise c.fail("user_id", "is required")
    user_id = c.text(obj["user_id"], "user_id") or ""
    split = obj.get("split")
    if split not in SPLITS:
        shown = "missing" if "split" not in obj else f"got {split!r}"
        raise c.fail("split", f"must be 'train', 'test' or 'dev' ({shown})")
    if "history" not in obj:
        raise c.fail("history", "is required")
    history = c.obj(obj["history"], "history")
    if "sessions" not in history:
        raise c.fail("history.sessions", "is required")
    sessions = c.sessions(history["sessions"], "history.sessions")
    optional_lists = {}
    for key in ("session_ids", "dates"):
        value = history.get(key)
        if value is None:
            optional_lists[key] = None
            continue
        items = c.text_list(value, f"history.{key}")
        if len(items) != len(sessions):
            raise c.fail(f"history.{key}", f"has {len(items)} entries but history.sessions has "
                                           f"{len(sessions)}; they must be equally long")
        optional_lists[key] = items
    current_date = c.text(obj.get("current_date"), "current_date", optional=True)
    personalized = c.qa(obj.get("personalized"), "personalized")
    factual = c.qa(obj.get("factual"), "factual")
    if personalized is None and factual is None:
        raise c.fail("personalized", "a record needs 'personalized' or 'factual' (both absent)")
    extra = {k: v for k, v in obj.items() if k not in _TOP_KEYS}
    history_extra = {k: v for k, v in history.items() if k not in _HISTORY_KEYS}
    if history_extra:
        extra["history"] = history_extra
    return Record(user_id=user_id, split=split, sessions=sessions,
                  session_ids=optional_lists["session_ids"], dates=optional_lists["dates"],
                  current_date=current_date, personalized=personalized, factual=factual,
                  extra=extra)


def _dump_qa(qa: QA) -> dict[str, Any]:
    out: dict[str, Any] = {"question": qa.question, "answers": list(qa.answers)}
    for key in ("question_type", "source", "source_id"):
        if getattr(qa, key) is not None:
            out[key] = getattr(qa, key)
    out.update(qa.extra)
    return out


def dump_record(record: Record) -> dict[str, Any]:
    """The JSON object of `record`, in the format's key order; round-trips `validate_record`."""
    extra = dict(record.extra)
    history: dict[str, Any] = {"sessions": [[dict(t) for t in s] for s in record.sessions]}
    if record.session_ids is not None:
        history["session_ids"] = list(record.session_ids)
    if record.dates is not None:
        history["dates"] = list(record.dates)
    history.update(extra.pop("history", {}))
    out: dict[str, Any] = {"user_id": record.user_id, "split": record.split, "history": history}
    if record.current_date is not None:
        out["current_date"] = record.current_date
    if record.personalized is not None:
        out["personalized"] = _dump_qa(record.personalized)
    if record.factual is not None:
        out["factual"] = _dump_qa(record.factual)
    out.update(extra)
    return out


def _check_split(split: str | None) -> str | None:
    if split in (None, "all"):
        return None
    if split not in SPLITS:
        raise ValueError(f"split must be 'train', 'test', 'dev', 'all' or None, got {split!r}")
    return split


def iter_records(path: str | Path, split: Literal["train", "test", "dev", "all"] | None = None
                 ) -> Iterator[Record]:
    """Yield the records of a JSON Lines file, validating each line (blank lines skipped).

    Every line is validated, also those of the other split; `split` only filters what is yielded.

    Raises:
        RecordError: on invalid JSON, an invalid record, or a repeated `user_id`.
        ValueError: if `split` is not 'train', 'test', 'all' or None.
    """
    want = _check_split(split)
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8-sig") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise RecordError(f"invalid JSON: {exc.msg} (column {exc.colno})",
                                  line=lineno) from None
            record = validate_record(obj, line=lineno)
            if record.user_id in seen:
                raise RecordError(f"duplicate user_id {record.user_id!r} (first on line "
                                  f"{seen[record.user_id]})", line=lineno, field="user_id")
            seen[record.user_id] = lineno
            if want is None or record.split == want:
                yield record


def load_records(path: str | Path, split: Literal["train", "test", "dev", "all"] | None = None
                 ) -> list[Record]:
    """All records of a JSON Lines file (optionally one split); see `iter_records`."""
    return list(iter_records(path, split))


BUNDLED_NAMES = ("mini", "broad", "dev")


def bundled_path(name: str = "mini") -> Path:
    """Path of a bundled file: the mini benchmark (`fpps/eval/data/pfqabench-mini.jsonl`, the
    default), the broad calibration set (`broad`) or the hand-written dev set (`dev`)."""
    if name not in BUNDLED_NAMES:
        raise ValueError(f"bundled data name must be one of {', '.join(BUNDLED_NAMES)}, not {name!r}")
    return Path(__file__).resolve().parent / "data" / (BUNDLED_FILE if name == "mini" else f"pfqabench-{name}.jsonl")
