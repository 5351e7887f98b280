"""Per-request option objects: `SteeringParams` (how to steer) and `SamplingParams` (how to decode).

Both are frozen and validate themselves on construction, raising `SteeringValidationError`
that names the field, so a bad request never reaches the model. Change them with
`dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Literal, Mapping, get_args

from .errors import SteeringValidationError

__all__ = ["Branch", "Mode", "MODES", "Reach", "REACHES", "SteeringParams", "SamplingParams", "PAPER_DEFAULTS"]

Mode = Literal["off", "hard", "soft", "mixed"]
Branch = Literal["none", "soft", "hard"]
"""What the edit did to a request: nothing, a soft shift, or the history-free state."""
MODES: tuple[str, ...] = get_args(Mode)
Reach = Literal["layer", "all"]
REACHES: tuple[str, ...] = get_args(Reach)

#: Used when neither the request nor the artifact gives a value (Qwen2.5-7B RAG row of the paper).
PAPER_DEFAULTS: Mapping[str, float] = {"gamma": 0.3, "tau_hard": 0.2, "tau_mixed": 0.3}

GAMMA_MAX = 10.0
MAX_LOGIT_BIAS = 300
"""Entries of `SamplingParams.logit_bias` (OpenAI's limit)."""
MAX_TOP_LOGPROBS = 20
"""Alternatives per token in `SamplingParams.logprobs` (OpenAI's limit)."""


def _check_number(name: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SteeringValidationError(name, value, "must be a number")
    v = float(value)
    if not math.isfinite(v):
        raise SteeringValidationError(name, value, "must be finite")
    if not lo <= v <= hi:
        raise SteeringValidationError(name, value, f"must be in [{lo}, {hi}]")
    return v


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SteeringValidationError(name, value, "must be an integer")
    if not lo <= value <= hi:
        raise SteeringValidationError(name, value, f"must be in [{lo}, {hi}]")
    return value


def _check_logit_bias(value: object) -> tuple[tuple[int, float], ...]:
    """`logit_bias` as sorted (token id, bias) pairs: a mapping or pairs, at most 300 entries,
    ids >= 0, biases finite in [-100, 100] (OpenAI's limits)."""
    items = list(value.items()) if isinstance(value, Mapping) else value
    if not isinstance(items, (list, tuple)):
        raise SteeringValidationError("logit_bias", value, "must map token ids to biases")
    if len(items) > MAX_LOGIT_BIAS:
        raise SteeringValidationError("logit_bias", f"{len(items)} entries", f"at most {MAX_LOGIT_BIAS} entries")
    out: dict[int, float] = {}
    for item in items:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise SteeringValidationError("logit_bias", item, "entries must be (token id, bias) pairs")
        out[_check_int("logit_bias", item[0], 0, 2**31 - 1)] = _check_number("logit_bias", item[1], -100.0, 100.0)
    return tuple(sorted(out.items()))


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
    presence_penalty: float = 0.0
    """OpenAI's: subtracted once from the logit of every token already generated, in [-2, 2]."""
    frequency_penalty: float = 0.0
    """OpenAI's: subtracted from each token's logit per time it was generated, in [-2, 2]."""
    repetition_penalty: float = 1.0
    """vLLM's (CTRL): logits of tokens seen in the prompt or the output are divided by it when
    positive and multiplied when negative, in (0, 2]; 1 is off."""
    logit_bias: tuple[tuple[int, float], ...] = field(default_factory=tuple)
    """OpenAI's: (token id, bias in [-100, 100]) pairs added to the logits, at most 300; a
    mapping is accepted and stored sorted. Ids past the vocabulary are refused by the engine."""
    min_tokens: int = 0
    """vLLM's: end-of-sequence tokens are masked until this many tokens were generated
    (stop strings still apply), in [0, max_tokens]."""
    logprobs: int | None = None
    """Return each generated token's log-probability and this many top alternatives, in
    [0, 20]; None returns none. Log-probabilities are the model's (steered) distribution before
    penalties, bias and temperature, as vLLM reports by default."""
    prompt_logprobs: int | None = None
    """vLLM's: also score the prompt: each prompt token's log-probability given the tokens
    before it, with this many alternatives, in [0, 20] (`/v1/completions` with `echo`). The
    prompt is then prefilled whole, without prefix reuse."""
    response_format: Literal["text", "json_object", "json_schema"] = "text"
    """OpenAI's: free text, any JSON object, or JSON matching `json_schema` (a grammar mask)."""
    json_schema: str | None = None
    """The JSON Schema (as JSON text) of `response_format` json_schema; None otherwise."""

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
        for name in ("presence_penalty", "frequency_penalty"):
            object.__setattr__(self, name, _check_number(name, getattr(self, name), -2.0, 2.0))
        rep = _check_number("repetition_penalty", self.repetition_penalty, 0.0, 2.0)
        if rep <= 0.0:
            raise SteeringValidationError("repetition_penalty", self.repetition_penalty, "must be > 0")
        object.__setattr__(self, "repetition_penalty", rep)
        object.__setattr__(self, "logit_bias", _check_logit_bias(self.logit_bias))
        _check_int("min_tokens", self.min_tokens, 0, self.max_tokens)
        if self.logprobs is not None:
            _check_int("logprobs", self.logprobs, 0, MAX_TOP_LOGPROBS)
        if self.response_format not in ("text", "json_object", "json_schema"):
            raise SteeringValidationError("response_format", self.response_format,
                                          "must be text, json_object or json_schema")
        if (self.response_format == "json_schema") != (self.json_schema is not None):
            raise SteeringValidationError("response_format", self.json_schema,
                                          "json_schema needs a schema, and only it takes one")
        if self.json_schema is not None:
            try:
                schema = json.loads(self.json_schema)
            except (TypeError, ValueError):
                schema = None
            if not isinstance(schema, dict):
                raise SteeringValidationError("response_format", self.json_schema, "the schema must be a JSON object")
        if self.prompt_logprobs is not None:
            _check_int("prompt_logprobs", self.prompt_logprobs, 0, MAX_TOP_LOGPROBS)

    @property
    def has_logits_processing(self) -> bool:
        """Whether any option changes the logits before the choice (penalties, bias,
        min_tokens); without one the engine picks from the raw logits, byte for byte as before."""
        return bool(self.presence_penalty or self.frequency_penalty or self.repetition_penalty != 1.0
                    or self.logit_bias or self.min_tokens)

    @property
    def is_greedy(self) -> bool:
        return self.temperature == 0.0
