"""Bundled factual questions: the `Fact` record and the parser of the generators' fact tables.

Shared by the mini and broad benchmark generators (`minibench`, `broadbench`) and the
history-free probe of the default model (`minibench_measure`); it sits below all three so
that none of them imports another for a record type.
"""

from __future__ import annotations

from dataclasses import dataclass

from .minibench_words import FACT_TABLE

__all__ = ["Fact", "fact_bank", "parse_facts"]


@dataclass(frozen=True)
class Fact:
    """One bundled factual question and the misleading belief the user's history holds about it."""

    id: str
    category: str
    question: str
    answers: tuple[str, ...]
    subject: str  # a noun phrase whose referent is the answer ("the capital of Australia")
    wrong: str  # what the user believes instead ("Sydney")
    topic: str  # what the history talks about ("Australia")


def parse_facts(table: str) -> tuple[Fact, ...]:
    """Facts from a table of `id|category|question|answers (;)|subject|wrong|topic` rows."""
    out = []
    for row in table.strip().splitlines():
        fid, cat, question, answers, subject, wrong, topic = row.split("|")
        out.append(Fact(fid, cat, question, tuple(answers.split(";")), subject, wrong, topic))
    return tuple(out)


def fact_bank() -> tuple[Fact, ...]:
    """The bundled facts, parsed from `FACT_TABLE`."""
    return parse_facts(FACT_TABLE)
