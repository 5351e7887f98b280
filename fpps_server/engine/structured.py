"""Structured output: a per-row grammar mask from xgrammar (`response_format` json_object or
json_schema), the way vLLM does it.

A `Grammars` compiler belongs to one engine (the tokenizer's vocabulary is compiled once, on
the first structured request, and compiled grammars are cached by xgrammar). Each structured
row gets a `RowGrammar`: before a token is chosen its bitmask sets every token the grammar
forbids to -inf in that row's logits only, so it composes with steering (which edits the state
that produced the logits) and with the penalties of `sampling.py` (applied before the mask);
after the choice the matcher accepts the token. End-of-sequence is allowed only where the
document is complete. Rows without a grammar are never touched.

xgrammar runs on the CPU (its bitmask kernel has a CPU path) and imports transformers itself
to read the tokenizer; it is imported here only when a request asks for structure.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Collection

import torch

from fpps.steering.errors import SteeringValidationError

__all__ = ["Grammars", "RowGrammar"]


class RowGrammar:
    """One row's grammar state: `mask` its logits, `accept` its tokens."""

    def __init__(self, matcher: Any, vocab: int) -> None:
        import xgrammar as xgr

        self._xgr, self._matcher, self._vocab = xgr, matcher, vocab
        self._bitmask = xgr.allocate_token_bitmask(1, vocab)  # [1, ceil(vocab / 32)] int32

    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        """A float32 copy of the row's logits `[vocab]` with the forbidden tokens at -inf."""
        lg = logits.float().clone()[None]  # [1, vocab]
        self._matcher.fill_next_token_bitmask(self._bitmask)
        self._xgr.apply_token_bitmask_inplace(lg, self._bitmask.to(lg.device), vocab_size=self._vocab)
        return lg[0]

    def accept(self, token: int) -> None:
        if not self._matcher.accept_token(token):  # the mask allowed it, so this is a bug
            raise RuntimeError(f"grammar rejected token {token} it had allowed")

    @property
    def is_done(self) -> bool:
        """The document is complete and nothing more may follow."""
        return bool(self._matcher.is_terminated())


class Grammars:
    """Compiles `response_format` grammars for one tokenizer (lazily, thread-safe)."""

    def __init__(self, tokenizer: Any, vocab: int, eos: Collection[int]) -> None:
        self._tokenizer, self._vocab, self._eos = tokenizer, vocab, sorted(eos)
        self._compiler: Any = None
        self._lock = threading.Lock()

    def _get_compiler(self) -> Any:
        with self._lock:
            if self._compiler is None:
                import xgrammar as xgr

                info = xgr.TokenizerInfo.from_huggingface(self._tokenizer, vocab_size=self._vocab,
                                                          stop_token_ids=self._eos)
                self._compiler = xgr.GrammarCompiler(info, max_threads=1)
            return self._compiler

    def row(self, json_schema: str | None) -> RowGrammar:
        """A fresh `RowGrammar` for a JSON schema (text), or for any JSON object when None.
        Raises `SteeringValidationError` naming `response_format` for a schema xgrammar
        cannot compile."""
        import xgrammar as xgr

        # No free whitespace: a small model left to choose it can emit newlines forever.
        schema = json_schema if json_schema is not None else json.dumps({"type": "object"})
        try:
            compiled = self._get_compiler().compile_json_schema(schema, any_whitespace=False)
        except Exception as e:  # noqa: BLE001 - xgrammar raises RuntimeError/ValueError for bad schemas
            reason = re.sub(r"^\[[^\]]*\]\s*\S+:\d+:\s*", "", str(e).strip().splitlines()[-1] if str(e).strip() else "")
            raise SteeringValidationError("response_format", schema, f"schema not usable: {reason or type(e).__name__}") from None
        return RowGrammar(xgr.GrammarMatcher(compiled), self._vocab)
