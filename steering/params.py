"""Per-request option objects: `SteeringParams` (how to steer) and `SamplingParams` (how to decode).

Both are frozen and validate themselves on construction, raising `SteeringValidationError`
that names the field, so a bad request never reaches the model. Change them with
`dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal, Mapping, get_args

from .errors import SteeringValidationError

__all__ = ["Mode", "MODES", "Reach", "REACHES", "SteeringParams", "SamplingParams", "PAPER_DEFAULTS"]

Mode = Literal["off", "hard", "soft", "mixed"]
MODES: tuple[str, ...] = get_args(Mode)
Reach = Literal["layer", "all"]
REACHES: tuple[str, ...] = get_args(Reach)

#: Used when neither the request nor the artifact gives a value (Qwen2.5-7B RAG row of the paper).
PAPER_DEFAULTS: Mapping[str, float] = {"gamma": 0.3, "tau_hard": 0.2, "tau_mixed": 0.3}

GAMMA_MAX = 10.0


def _check_number(name: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SteeringValidationError(name, value, "must be a number")
    v = float(value)
    if not math.isfinite(v):
        raise SteeringValidationError(name, value, "must be finite")
    if not lo <= v <= hi:
        raise SteeringValidationError(name, value, f"must be in [{lo}, {hi}]")
    return v


@dataclass(frozen=True, kw_only=True)
class SteeringParams:
    """How one request is steered at layer L (fpps-method.md §6)."""

    mode: Mode = "mixed"
    """`off`, `hard` (FPPS-H), `soft` (FPPS-S) or `mixed` (FPPS-M, the default)."""
    alpha: float = 1.0
    """Strength in [0, 1]; 0 is byte-identical to no steering, 1 is the paper's method."""
    gamma: float | None = None
    """Soft-branch gain in [0, 10]; None takes the artifact's calibrated value."""
    tau: float | None = None
    """Hard-branch threshold on p_hat in [0, 1]; None takes the artifact's value for the mode."""
    reach: Reach | None = None
    """How far the hard branch restores the twin: `layer` (block L only, the paper's edit) or
    `all` (blocks L..N-1: at strength 1 the answer is the twin's own, the history-free one);
    None takes the artifact's `hard_reach` (`layer` for artifacts without one). A hard strength
    below 1 is always the block-L blend."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SteeringValidationError("mode", self.mode, f"must be one of {list(MODES)}")
        object.__setattr__(self, "alpha", _check_number("alpha", self.alpha, 0.0, 1.0))
        if self.gamma is not None:
            object.__setattr__(self, "gamma", _check_number("gamma", self.gamma, 0.0, GAMMA_MAX))
        if self.tau is not None:
            object.__setattr__(self, "tau", _check_number("tau", self.tau, 0.0, 1.0))
        if self.reach is not None and self.reach not in REACHES:
            raise SteeringValidationError("reach", self.reach, f"must be one of {list(REACHES)}")

    @property
    def is_active(self) -> bool:
        """Whether this request edits anything at all (mode not off and alpha > 0)."""
        return self.mode != "off" and self.alpha > 0.0

    @property
    def can_go_hard(self) -> bool:
        """Whether the hard branch is reachable, so the request needs a twin stream at prefill."""
        return self.is_active and self.mode in ("hard", "mixed")

    @property
    def follows_twin(self) -> bool:
        """Whether a hard-gated row answers from its twin (reach `all` at strength 1): blocks
        L..N-1 all take the twin's state, so the row's tokens are the twin's tokens."""
        return self.reach == "all" and self.alpha == 1.0 and self.can_go_hard

    def resolved(self, defaults: Mapping[str, object] | None = None) -> "SteeringParams":
        """Fill gamma/tau/reach: request value, then artifact default, then paper default.

        The grid search picks gamma per mode: soft reads `gamma_soft` when the artifact has one,
        every other mode (and older artifacts) `gamma`."""
        d: dict[str, object] = dict(PAPER_DEFAULTS)
        d.update(defaults or {})
        gamma_key = "gamma_soft" if self.mode == "soft" and "gamma_soft" in d else "gamma"
        gamma = self.gamma if self.gamma is not None else d[gamma_key]
        tau_key = "tau_hard" if self.mode == "hard" else "tau_mixed"
        tau = self.tau if self.tau is not None else d[tau_key]
        reach = self.reach if self.reach is not None else d.get("hard_reach", "layer")
        if reach not in REACHES:
            raise SteeringValidationError("hard_reach", reach, f"must be one of {list(REACHES)}")
        return dataclasses.replace(self, gamma=gamma, tau=tau, reach=reach)


@dataclass(frozen=True, kw_only=True)
class SamplingParams:
    """How one request is decoded. Greedy (temperature 0) is the default and deterministic."""

    max_tokens: int = 64
    """Maximum number of new tokens, in [1, 4096]."""
    temperature: float = 0.0
    """0 means greedy; otherwise in (0, 5]."""
    top_p: float = 1.0
    """Nucleus mass in (0, 1]."""
    seed: int | None = None
    """Seed of this request's own generator (sampling only); the same seed gives the same text."""
    stop: tuple[str, ...] = field(default_factory=tuple)
    """Up to 8 stop strings; generation ends before the first one and it is not returned."""
    ignore_eos: bool = False
    """Keep generating after an end-of-sequence token, to exactly `max_tokens` (vLLM's
    `ignore_eos`): benchmarks use it so that every scenario decodes the same number of tokens."""

    def __post_init__(self) -> None:
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int):
            raise SteeringValidationError("max_tokens", self.max_tokens, "must be an integer")
        if not 1 <= self.max_tokens <= 4096:
            raise SteeringValidationError("max_tokens", self.max_tokens, "must be in [1, 4096]")
        object.__setattr__(self, "temperature", _check_number("temperature", self.temperature, 0.0, 5.0))
        top_p = _check_number("top_p", self.top_p, 0.0, 1.0)
        if top_p <= 0.0:
            raise SteeringValidationError("top_p", self.top_p, "must be > 0")
        object.__setattr__(self, "top_p", top_p)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or not 0 <= self.seed < 2**63):
            raise SteeringValidationError("seed", self.seed, "must be an integer in [0, 2**63)")
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
        if len(stop) > 8:
            raise SteeringValidationError("stop", self.stop, "at most 8 stop strings")
        for s in stop:
            if not isinstance(s, str) or not s or len(s) > 200:
                raise SteeringValidationError("stop", s, "each stop must be a non-empty string of <= 200 chars")
        object.__setattr__(self, "stop", stop)
        if not isinstance(self.ignore_eos, bool):
            raise SteeringValidationError("ignore_eos", self.ignore_eos, "must be true or false")

    @property
    def is_greedy(self) -> bool:
        return self.temperature == 0.0
