"""The default correctness judge: normalized containment of any gold alias (fpps-method.md §8.6).

Normalization lower-cases, strips accents and punctuation, drops the articles a/an/the and
maps number words (zero..twenty, plus tens) to digits, so "The answer is eight." contains "8".
A judge is any callable `(question, answers, response) -> bool`; the LLM judge lives in
`fpps.eval.judges`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol, Sequence

__all__ = ["Judge", "contains_answer", "normalize_answer", "ContainsJudge"]

_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
                      "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100"})
_ARTICLES = {"a", "an", "the"}


class Judge(Protocol):
    """Decides whether `response` answers `question` with one of `answers`."""

    def __call__(self, question: str, answers: Sequence[str], response: str) -> bool: ...


def normalize_answer(text: str) -> str:
    """Lower-case, strip accents and punctuation, drop articles, number words to digits."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    text = re.sub(r"[^\w\s]", " ", text)
    words = [_NUMBER_WORDS.get(w, w) for w in text.split() if w not in _ARTICLES]
    return " ".join(words)


def contains_answer(response: str, answers: Sequence[str]) -> bool:
    """True if the normalized response contains any normalized alias as whole words."""
    resp = f" {normalize_answer(response)} "
    for answer in answers:
        gold = normalize_answer(answer)
        if gold and f" {gold} " in resp:
            return True
    return False


class ContainsJudge:
    """`contains_answer` as a `Judge`."""

    name = "contains"

    def __call__(self, question: str, answers: Sequence[str], response: str) -> bool:
        return contains_answer(response, answers)
