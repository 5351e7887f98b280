"""Value types of the `fpps` flags: argparse `type=` functions that check ranges while parsing.

What: each function turns one flag's text into its value or raises `argparse.ArgumentTypeError`,
so that argparse itself prints the usage and one `fpps CMD: error: argument --flag: ...` line
and exits with status 2.
Why: a value out of range (`--port 70000`, `--replicas 0`, `--shard 3/2`) otherwise passes
parsing and fails much later, inside Ray or the engine, as a traceback (issue 21). The bounds
are those the consumers enforce (`ServerArgs`, `SteeringParams`, `SamplingParams`,
`split_users`), stated once here for the command line.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable

__all__ = ["MODES", "encoder_spec", "float_in", "floats_in", "int_in", "mode_list", "shard_spec"]

MODES = ("off", "hard", "soft", "mixed")
"""Steering modes (`fpps.steering.params.MODES`; repeated here so parsing imports no torch)."""

_Bad = argparse.ArgumentTypeError


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An integer in [lo, hi] (no upper bound when `hi` is None)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise _Bad(f"expected an integer, got {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            raise _Bad(f"must be {_range(lo, hi)}, got {v}")
        return v
    parse.__name__ = "int"
    return parse


def float_in(lo: float, hi: float | None = None, *, name: str = "value",
             open_lo: bool = False, open_hi: bool = False) -> Callable[[str], float]:
    """A finite number in [lo, hi] (or open at either end); `name` is the quantity's symbol
    (`alpha` for `--strength`), so that the message speaks the method's language."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise _Bad(f"expected a number, got {text!r}") from None
        too_low = v <= lo if open_lo else v < lo
        too_high = hi is not None and (v >= hi if open_hi else v > hi)
        if not math.isfinite(v) or too_low or too_high:
            left, right = "(" if open_lo else "[", ")" if open_hi else "]"
            bound = f"in {left}{lo:g}, {hi:g}{right}" if hi is not None else f"{'>' if open_lo else '>='} {lo:g}"
            raise _Bad(f"{name} must be {bound}, got {text}")
        return v
    parse.__name__ = "float"
    return parse


def floats_in(lo: float, hi: float, *, name: str = "value") -> Callable[[str], tuple[float, ...]]:
    """Comma-separated numbers, each in [lo, hi]; empty items are skipped (`""` is `()`)."""
    one = float_in(lo, hi, name=name)

    def parse(text: str) -> tuple[float, ...]:
        return tuple(one(v.strip()) for v in text.split(",") if v.strip())
    parse.__name__ = "floats"
    return parse


def mode_list(text: str) -> tuple[str, ...]:
    """Comma-separated steering modes, at least one, each off | hard | soft | mixed."""
    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise _Bad(f"expected comma-separated modes from {'|'.join(MODES)}, got {text!r}")
    return modes


def shard_spec(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N) with 0 <= I < N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        i, n = -1, 0
    if not 0 <= i < n:
        raise _Bad(f"must be I/N with 0 <= I < N, got {text!r}")
    return i, n


def encoder_spec(text: str) -> str:
    """`tfidf` or `st:MODEL` (what `fpps.eval.pfqabench.make_encoder` accepts)."""
    if text == "tfidf" or (text.startswith("st:") and len(text) > 3):
        return text
    raise _Bad(f"expected tfidf or st:MODEL, got {text!r}")


def _range(lo: int, hi: int | None) -> str:
    return f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
