"""fpps.steering: the FPPS method — model adapter, prompts, probe, vector, artifact, reference edit.

The package root imports nothing eagerly (PEP 562): `fpps.steering.params` and
`fpps.steering.errors` are torch-free, and the HTTP edge validates requests with them without
loading torch or transformers. The names below resolve on first use.
"""

from __future__ import annotations

from fpps.lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_MODEL": "adapter", "ModelAdapter": "adapter", "default_model_dir": "adapter",
    "find_blocks": "adapter", "load_model": "adapter", "wrap_model": "adapter",
    "ArtifactMismatchError": "errors", "CalibrationDataError": "errors", "SteeringValidationError": "errors",
    "UnknownArtifactError": "errors", "UnsupportedModelError": "errors",
    "ContainsJudge": "judge", "Judge": "judge", "contains_answer": "judge", "normalize_answer": "judge",
    "MODES": "params", "Mode": "params", "SamplingParams": "params", "SteeringParams": "params",
    "RagPersonalizer": "personalize", "history_free_messages": "personalize", "rag_messages": "personalize",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
