"""Typed errors raised by the steering library.

Library code raises these and never builds HTTP responses; `fpps.server.http.errors` maps them
to status codes in one place. They pickle as themselves, so they cross Ray's process boundary.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SteeringValidationError",
    "UnknownArtifactError",
    "ArtifactMismatchError",
    "UnsupportedModelError",
    "CalibrationDataError",
]


class SteeringValidationError(ValueError):
    """A per-request or per-artifact value is out of range or of the wrong type.

    Attributes:
        parameter: the field name, as a client spells it (e.g. ``"alpha"``).
        value: the offending value (repr-truncated in the message).
    """

    def __init__(self, parameter: str, value: Any, reason: str) -> None:
        self.parameter = parameter
        self.value = value
        self.reason = reason
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"invalid '{parameter}' = {shown}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled across the Ray hop (model replica -> ingress): rebuilt from its own fields,
        # not from `args` (the formatted message), so it re-raises as itself there. The value
        # travels as its repr: a client's value may not pickle.
        return type(self), (self.parameter, _Shown(repr(self.value)), self.reason)


class _Shown(str):
    """A value already rendered: its repr is the text itself (the message reads the same)."""

    def __repr__(self) -> str:
        return str(self)


class UnknownArtifactError(LookupError):
    """A named steering artifact does not exist."""


class ArtifactMismatchError(ValueError):
    """An artifact does not fit the loaded model, or its files fail their checksum."""


class UnsupportedModelError(ValueError):
    """The model's decoder blocks could not be found; the message says how to fix it."""


class CalibrationDataError(ValueError):
    """The training data cannot calibrate this model (an empty contrastive group, a probe with
    no fold to fit); the message says what was missing and what to try."""
