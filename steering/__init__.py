"""fpps.steering: the FPPS method — model adapter, prompts, probe, vector, artifact, reference edit."""

from .adapter import DEFAULT_MODEL, ModelAdapter, default_model_dir, find_blocks, load_model, wrap_model
from .errors import (ArtifactMismatchError, SteeringValidationError, UnknownArtifactError,
                     UnsupportedModelError)
from .judge import ContainsJudge, Judge, contains_answer, normalize_answer
from .params import MODES, Mode, SamplingParams, SteeringParams
from .personalize import RagPersonalizer, history_free_messages, rag_messages

__all__ = [
    "DEFAULT_MODEL", "ModelAdapter", "default_model_dir", "find_blocks", "load_model", "wrap_model",
    "ArtifactMismatchError", "SteeringValidationError", "UnknownArtifactError",
    "UnsupportedModelError", "ContainsJudge", "Judge", "contains_answer", "normalize_answer",
    "MODES", "Mode", "SamplingParams", "SteeringParams", "RagPersonalizer",
    "history_free_messages", "rag_messages",
]
